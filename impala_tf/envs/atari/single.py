"""Python path: one gymnasium ALE env (frameskip=1) per copy, stepped in a loop.

    PythonAtariEnv(name, num_envs, seed, config, spec)   (a BatchedEnv)
      reset()        -> EnvOutput, observation [B, 84, 84, 4] uint8
      step([B] int)  -> EnvOutput (same-step auto-reset, see spec.py)

Each copy (``AtariCopy``) owns an ``ale_py.env.AtariEnv`` made through
gymnasium with ``frameskip=1`` and no ALE frame cap, and does the Table G.1
preprocessing itself on the env's ALE interface, replaying step by step what
ale-py 0.12's C++ ``PreprocessedEnv`` does (so both paths give identical
observations, rewards and flags for the same seeds and actions):

* seeding: ALE ``random_seed`` = copy seed, ROM reloaded, and a
  ``std::mt19937`` replica (``NoopSampler``) seeded with the same number;
* reset: ``reset_game``, then N NOOP frames, N ~ U{0..noop_max-1} (a game
  over during no-ops resets the game again); no FIRE press; the stack is
  three black frames and the first frame;
* actions: the game's minimal set, or with full_action_space all 18 ALE
  actions, those a game lacks played as their nearest legal action
  (``actions.py``; the vector path maps them the same way);
* step: the action is repeated 4 frames; each frame adds its reward, checks
  game over, the frame cap and the lives; frames 3 and 4 are kept, their
  pixel-wise max is resized to 84x84 with cv2 INTER_AREA and pushed on the
  stack (newest last). The repeat stops early only when the game ends
  (game over or frame cap);
* life loss (lives went down and are still > 0) makes ``done`` in train mode
  but never resets the emulator.
"""

from typing import Optional

import numpy as np

from impala_tf.envs.atari import actions as actions_lib
from impala_tf.envs.atari import config as config_lib
from impala_tf.envs.atari import episodes
from impala_tf.envs.atari import games
from impala_tf.envs.atari import noop_sampler
from impala_tf.envs.spec import EnvOutput, EnvSpec

_RAW_SHAPE = (210, 160)


def _playable_actions(ale, full_action_space: bool) -> list:
  """The ale_py.Action played for each agent action index.

  Minimal set: getMinimalActionSet(). Full set: 18 entries, index i being
  ALE action i, or its nearest legal action where the game lacks it (see
  actions.py; only Skiing, whose FIRE actions ALE declares illegal).
  """
  if not full_action_space:
    return list(ale.getMinimalActionSet())
  legal = list(ale.getLegalActionSet())
  positions = actions_lib.full_to_legal([a.value for a in legal])
  return [legal[i] for i in positions]


class AtariCopy:
  """One emulator with its own frame stack (a view given by the batch)."""

  def __init__(self, name: str, config: config_lib.AtariConfig,
               stack: np.ndarray):
    import ale_py  # pylint: disable=g-import-not-at-top
    import cv2  # pylint: disable=g-import-not-at-top
    import gymnasium  # pylint: disable=g-import-not-at-top
    gymnasium.register_envs(ale_py)
    self._cv2 = cv2
    self._rom = str(games.rom_path(name))
    self._env = gymnasium.make(
        games.GAMES[name].gym_id, frameskip=1,
        repeat_action_probability=float(config.sticky_actions),
        full_action_space=bool(config.full_action_space),
        max_num_frames_per_episode=None, disable_env_checker=True)
    self._ale = self._env.unwrapped.ale
    self._actions = _playable_actions(self._ale, config.full_action_space)
    self._noop = ale_py.Action.NOOP
    self._noops = noop_sampler.NoopSampler(config.noop_max)
    self._max_frames = int(config.max_episode_frames)
    self._life_loss_ends_episode = config.life_loss_ends_episode
    self._stack = stack                                  # [84, 84, 4] view.
    self._raw = np.zeros((2,) + _RAW_SHAPE, np.uint8)    # Frames 4 and 3.
    self._elapsed_frames = 0
    self._lives = 0
    self._seeded = False

  @property
  def num_actions(self) -> int:
    return len(self._actions)

  def reset(self, seed: Optional[int] = None) -> None:
    ale = self._ale
    if seed is not None:
      ale.setInt('random_seed', int(seed))
      self._noops.seed(int(seed))
      ale.loadROM(self._rom)
      self._seeded = True
    elif not self._seeded:
      raise RuntimeError('The first reset of an AtariCopy needs a seed.')
    ale.reset_game()
    for _ in range(self._noops.sample()):
      ale.act(self._noop)
      if ale.game_over():
        ale.reset_game()
    ale.getScreenGrayscale(self._raw[0])
    self._raw[1] = 0
    self._stack[:] = 0
    self._push_frame()
    self._elapsed_frames = 0
    self._lives = ale.lives()

  def step(self, action_index: int):
    """Plays one agent step; returns (reward, done, game_over)."""
    ale = self._ale
    action = self._actions[action_index]
    reward = 0
    game_over = life_lost = False
    for frames_left in range(config_lib.FRAMESKIP, 0, -1):
      reward += ale.act(action, 1.0)
      game_over = ale.game_over()
      self._elapsed_frames += 1
      lives = ale.lives()
      life_lost = 0 < lives < self._lives
      if game_over or self._elapsed_frames >= self._max_frames:
        break
      if frames_left <= 2:
        ale.getScreenGrayscale(self._raw[frames_left - 1])
    truncated = self._elapsed_frames >= self._max_frames
    done = game_over or truncated or (self._life_loss_ends_episode and
                                      life_lost)
    if game_over or truncated:
      self.reset()
    else:
      self._push_frame()
      self._lives = lives
    return reward, done, game_over or truncated

  def _push_frame(self) -> None:
    pooled = np.maximum(self._raw[0], self._raw[1])
    frame = self._cv2.resize(
        pooled, (config_lib.FRAME_WIDTH, config_lib.FRAME_HEIGHT),
        interpolation=self._cv2.INTER_AREA)
    self._stack[:, :, :-1] = self._stack[:, :, 1:]
    self._stack[:, :, -1] = frame

  def close(self) -> None:
    if self._env is not None:
      self._env.close()
      self._env = self._ale = None


class PythonAtariEnv:
  """``num_envs`` AtariCopy objects behind the BatchedEnv interface."""

  def __init__(self, name: str, num_envs: int, seed: int,
               config: config_lib.AtariConfig, spec: EnvSpec):
    self.spec = spec
    self.num_envs = num_envs
    self._seeds = config_lib.copy_seeds(seed, num_envs)
    self._obs = np.zeros((num_envs,) + config_lib.OBSERVATION_SHAPE, np.uint8)
    self._copies = []
    try:
      for b in range(num_envs):
        self._copies.append(AtariCopy(name, config, self._obs[b]))
    except BaseException:
      self.close()
      raise
    if self._copies[0].num_actions != spec.num_actions:
      self.close()
      raise RuntimeError(f'{name}: ALE has {self._copies[0].num_actions} '
                         f'actions, the spec says {spec.num_actions}.')
    self._totals = episodes.GameTotals(num_envs)
    self._seeded = False
    self._started = False

  def reset(self) -> EnvOutput:
    for b, copy in enumerate(self._copies):
      copy.reset(None if self._seeded else int(self._seeds[b]))
    self._seeded = self._started = True
    return self._totals.reset_output(self._obs.copy())

  def step(self, actions) -> EnvOutput:
    if not self._started:
      raise RuntimeError('reset() must be called before step().')
    actions = config_lib.check_actions(actions, self.num_envs,
                                       self.spec.num_actions)
    reward = np.zeros(self.num_envs, np.float32)
    done = np.zeros(self.num_envs, bool)
    game_over = np.zeros(self.num_envs, bool)
    for b, copy in enumerate(self._copies):
      reward[b], done[b], game_over[b] = copy.step(int(actions[b]))
    return self._totals.step_output(reward, done, game_over, self._obs.copy())

  def close(self) -> None:
    for copy in self._copies:
      copy.close()
    self._started = False
