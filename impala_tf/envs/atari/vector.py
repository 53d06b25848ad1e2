"""Native path: ale-py's C++ ``AtariVectorEnv`` behind the BatchedEnv interface.

    NativeAtariEnv(name, num_envs, seed, config, spec)   (a BatchedEnv)
      reset()        -> EnvOutput, observation [B, 84, 84, 4] uint8
      step([B] int)  -> EnvOutput (same-step auto-reset, see spec.py)

The vector env does the whole Table G.1 preprocessing in C++ threads. It is
built with: 84x84 greyscale, frameskip 4 with max-pool, stack 4,
``reward_clipping=False`` (raw rewards; the learner clips),
``use_fire_reset=False`` (no FIRE press, as in the paper and the Python path),
``episodic_life=False`` (it would *reset the game* on a life loss) but
``life_loss_info=True`` in train mode (a life loss reports terminated=True while
play goes on), ``autoreset_mode='SameStep'`` (the step that ends a game returns
the first observation of the next one, which is spec.py's convention), and
``max_num_frames_per_episode`` = the frame cap (ale-py counts it in emulator
frames after the no-ops, despite its docstring saying steps).

With full_action_space the agent's 18 indices are translated to the vector
env's own action indices before each step (``actions.py``: Skiing has only
9 legal actions; the Python path plays the same ALE actions).

It returns observations as [B, stack, H, W]; they are transposed to
[B, H, W, stack]. Its ``terminated`` does not say whether the game was reset
(a life loss also sets it), so a game end is recognised by ALE's episode frame
counter: without a reset it advances exactly by the 4 repeated frames, after a
reset it restarts at the number of no-op frames. A truncation with a
simultaneous life loss is reported by ale-py as terminated, not truncated,
hence the frame cap is also tracked here.
"""

import numpy as np

from impala_tf.envs.atari import actions as actions_lib
from impala_tf.envs.atari import config as config_lib
from impala_tf.envs.atari import episodes
from impala_tf.envs.atari import games
from impala_tf.envs.spec import EnvOutput, EnvSpec


def _native_action_indices(action_set, full_action_space: bool) -> np.ndarray:
  """[A] int32: the vector env's action index for each agent action index.

  ``action_set`` is the vector env's own (ale-py's ``get_action_set()``): the
  minimal set, or the legal set with full_action_space. Minimal: identity.
  Full: 18 entries mapped as in actions.py, because the vector env takes only
  indices below its ``single_action_space.n`` (9 for Skiing; ale-py 0.12.1
  does not return from a step with a larger one).
  """
  if not full_action_space:
    return np.arange(len(action_set), dtype=np.int32)
  return actions_lib.full_to_legal([a.value for a in action_set])


class NativeAtariEnv:
  """``num_envs`` copies of one game stepped by ale_py's AtariVectorEnv."""

  def __init__(self, name: str, num_envs: int, seed: int,
               config: config_lib.AtariConfig, spec: EnvSpec):
    from ale_py import vector_env  # pylint: disable=g-import-not-at-top
    games.rom_path(name)  # A clear MissingRomError before any C++ assertion.
    self.spec = spec
    self.num_envs = num_envs
    self._seeds = config_lib.copy_seeds(seed, num_envs)
    self._max_frames = int(config.max_episode_frames)
    self._venv = vector_env.AtariVectorEnv(
        games.GAMES[name].rom_id, num_envs,
        num_threads=int(config.num_threads),
        max_num_frames_per_episode=self._max_frames,
        repeat_action_probability=float(config.sticky_actions),
        full_action_space=bool(config.full_action_space),
        autoreset_mode='SameStep',
        img_height=config_lib.FRAME_HEIGHT, img_width=config_lib.FRAME_WIDTH,
        grayscale=True, stack_num=config_lib.STACK,
        frameskip=config_lib.FRAMESKIP, maxpool=True,
        noop_max=int(config.noop_max), episodic_life=False,
        life_loss_info=bool(config.life_loss_ends_episode),
        reward_clipping=False, use_fire_reset=False)
    self._native_index = _native_action_indices(
        self._venv.ale.get_action_set(), bool(config.full_action_space))
    if len(self._native_index) != spec.num_actions:
      self.close()
      raise RuntimeError(f'{name}: ale-py offers {len(self._native_index)} '
                         f'actions, the spec says {spec.num_actions}.')
    self._totals = episodes.GameTotals(num_envs)
    self._episode_frame = np.zeros(num_envs, np.int64)  # ALE's counter.
    self._game_frames = np.zeros(num_envs, np.int64)    # Ours, after no-ops.
    self._seeded = False
    self._started = False

  def _observation(self, obs: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(obs.transpose(0, 2, 3, 1))

  def reset(self) -> EnvOutput:
    if self._venv is None:
      raise RuntimeError('reset() called on a closed environment.')
    obs, info = self._venv.reset(seed=None if self._seeded else self._seeds)
    self._seeded = self._started = True
    self._episode_frame[:] = info['episode_frame_number']
    self._game_frames[:] = 0
    return self._totals.reset_output(self._observation(obs))

  def step(self, actions) -> EnvOutput:
    if not self._started:
      raise RuntimeError('reset() must be called before step().')
    actions = config_lib.check_actions(actions, self.num_envs,
                                       self.spec.num_actions)
    obs, reward, terminated, truncated, info = self._venv.step(
        self._native_index[actions])
    episode_frame = info['episode_frame_number'].astype(np.int64)
    played_on = episode_frame == self._episode_frame + config_lib.FRAMESKIP
    capped = self._game_frames + config_lib.FRAMESKIP >= self._max_frames
    done = terminated | truncated
    game_over = (done & ~played_on) | capped
    self._episode_frame = episode_frame
    self._game_frames += config_lib.FRAMESKIP
    self._game_frames[game_over] = 0
    return self._totals.step_output(reward, done | game_over, game_over,
                                    self._observation(obs))

  def close(self) -> None:
    if self._venv is not None:
      self._venv.close()
      self._venv = None  # Dropping it joins the C++ worker threads.
    self._started = False
