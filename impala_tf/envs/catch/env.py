"""Catch: a ball falls down a 10x5 grid; a paddle on the bottom row catches it.

    CatchEnv(num_envs, seed)   (a BatchedEnv, pure numpy, vectorised)
      reset()        -> EnvOutput, observation [B, 40, 40, 1] uint8
      step([B] int)  -> EnvOutput; actions 0 = left, 1 = stay, 2 = right

Dynamics (per copy): at the start of an episode the ball is on the top row in
a column drawn uniformly from the 5 columns and the paddle is in the middle
column of the bottom row. Each step first moves the paddle (clipped to the
grid), then the ball falls one row. When the ball reaches the bottom row
(after 9 steps) the reward is +1 if the paddle is under it, else -1, the
episode ends (done = game_over = True) and, per spec.py, the same step
returns the first observation of the next episode. Other steps give 0.
A perfect policy earns +1 per episode; a uniformly random one catches with
probability exactly 1/5 (the ball column is uniform and independent of the
paddle's random walk), i.e. an expected return of -0.6.

Rendering: lit cells (ball, paddle) are 255 on black, each grid cell drawn as
a 4 (high) x 8 (wide) pixel block, giving a 40x40x1 image. 40x40 leaves room
for the shallow torso (Conv 16 8x8 stride 4 VALID -> 9x9, then Conv 32 4x4
stride 2 VALID -> 3x3) and the deep ResNet torso (three 3x3 stride-2 max
pools: 40 -> 20 -> 10 -> 5); a cell height of 4 = the first stride makes each
fall of the ball move the conv features by exactly one position.

Randomness: copy i's ball columns come from a counter-based hash of a key
derived from (seed, i) and the copy's episode number, so runs are
deterministic given the seed, independent of the batch size, and vectorised.
frames_per_step is 1.
"""

import numpy as np

from impala_tf.envs.spec import EnvOutput, EnvSpec

ROWS = 10
COLUMNS = 5
CELL_HEIGHT = 4
CELL_WIDTH = 8
NUM_ACTIONS = 3
OBSERVATION_SHAPE = (ROWS * CELL_HEIGHT, COLUMNS * CELL_WIDTH, 1)
SPEC = EnvSpec(name='catch', observation_shape=OBSERVATION_SHAPE,
               num_actions=NUM_ACTIONS, has_instruction=False,
               frames_per_step=1)


def _splitmix64(x: np.ndarray) -> np.ndarray:
  """Bijective 64-bit mixer (uint64 arrays; wrap-around is intended)."""
  x = x + np.uint64(0x9E3779B97F4A7C15)
  x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
  x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  return x ^ (x >> np.uint64(31))


def copy_keys(seed: int, num_envs: int) -> np.ndarray:
  """[num_envs] uint64 keys, copy i's derived from (seed, i)."""
  return np.array([np.random.SeedSequence([int(seed) % (1 << 64), i])
                   .generate_state(1, np.uint64)[0] for i in range(num_envs)],
                  dtype=np.uint64)


class CatchEnv:
  """``num_envs`` copies of Catch stepped together with numpy."""

  def __init__(self, num_envs: int, seed: int = 0):
    if num_envs < 1:
      raise ValueError(f'num_envs must be >= 1, got {num_envs}')
    self.spec = SPEC
    self.num_envs = num_envs
    self._keys = copy_keys(seed, num_envs)
    self._episode = np.zeros(num_envs, np.uint64)  # Episodes started so far.
    self._ball_row = np.zeros(num_envs, np.int64)
    self._ball_col = np.zeros(num_envs, np.int64)
    self._paddle = np.zeros(num_envs, np.int64)
    self._return = np.zeros(num_envs, np.float32)
    self._steps = np.zeros(num_envs, np.int32)
    self._started = False

  def _start_episodes(self, mask: np.ndarray) -> None:
    draws = _splitmix64(self._keys[mask] ^ _splitmix64(self._episode[mask]))
    self._ball_col[mask] = (draws % np.uint64(COLUMNS)).astype(np.int64)
    self._ball_row[mask] = 0
    self._paddle[mask] = COLUMNS // 2
    self._episode[mask] += np.uint64(1)
    self._return[mask] = 0
    self._steps[mask] = 0

  def _render(self) -> np.ndarray:
    board = np.zeros((self.num_envs, ROWS, COLUMNS), np.uint8)
    index = np.arange(self.num_envs)
    board[index, self._ball_row, self._ball_col] = 255
    board[index, ROWS - 1, self._paddle] = 255
    image = board.repeat(CELL_HEIGHT, axis=1).repeat(CELL_WIDTH, axis=2)
    return image[..., None]

  def reset(self) -> EnvOutput:
    self._start_episodes(np.ones(self.num_envs, bool))
    self._started = True
    b = self.num_envs
    return EnvOutput(reward=np.zeros(b, np.float32), done=np.zeros(b, bool),
                     observation=self._render(), instruction=None,
                     episode_return=self._return.copy(),
                     episode_step=self._steps.copy(),
                     game_over=np.zeros(b, bool))

  def step(self, actions) -> EnvOutput:
    if not self._started:
      raise RuntimeError('reset() must be called before step().')
    actions = np.asarray(actions)
    if (actions.shape != (self.num_envs,) or
        not np.issubdtype(actions.dtype, np.integer)):
      raise ValueError(f'actions must be {self.num_envs} integers, got shape '
                       f'{actions.shape} dtype {actions.dtype}')
    if actions.min() < 0 or actions.max() >= NUM_ACTIONS:
      raise ValueError(f'actions must be in [0, {NUM_ACTIONS}), got '
                       f'{actions.tolist()}')
    self._paddle = np.clip(self._paddle + actions.astype(np.int64) - 1, 0,
                           COLUMNS - 1)
    self._ball_row += 1
    done = self._ball_row == ROWS - 1
    caught = self._ball_col == self._paddle
    reward = np.where(done, np.where(caught, 1.0, -1.0), 0.0).astype(
        np.float32)
    self._return += reward
    self._steps += 1
    episode_return = self._return.copy()
    episode_step = self._steps.copy()
    if done.any():
      self._start_episodes(done)
    return EnvOutput(reward=reward, done=done, observation=self._render(),
                     instruction=None, episode_return=episode_return,
                     episode_step=episode_step, game_over=done.copy())

  def close(self) -> None:
    self._started = False
