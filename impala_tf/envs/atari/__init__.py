"""Atari-57 family on ale-py, with the paper's preprocessing (Table G.1).

    LEVELS                                        -> the 57 snake_case names
    spec(level, **options)                        -> EnvSpec((84, 84, 4), A)
    make(level, num_envs, seed, mode, **options)  -> BatchedEnv

Observations are [B, 84, 84, 4] uint8 (4 stacked greyscale frames, newest
last); one agent step = 4 emulator frames (max over the last 2); rewards are
raw; games are capped at 108,000 frames (27,000 agent steps) and start with
0..29 random no-op frames. In mode 'train' a lost life ends the learner's
episode (``done``) without resetting the emulator; in mode 'test' only the end
of the game does. ``game_over`` marks real game ends (and the frame cap).
A = the game's minimal action set, or 18 with ``full_action_space=True``
(ALE's action i for index i; an action a game lacks, i.e. Skiing's FIRE
actions, is played as its nearest legal one, see ``actions.py``).

The options and the choice between the C++ vector env (``vector.py``, the
default for num_envs > 1) and the Python loop (``single.py``, the default for
one copy) are described in ``config.py``.
Importing this package or calling ``spec`` does not import ale-py; ``make``
does, and raises ``MissingRomError`` (one sentence) when a ROM is missing.
"""

from impala_tf.envs.atari.config import AtariConfig
from impala_tf.envs.atari.games import (FULL_ACTION_SET_SIZE, GAMES, LEVELS,
                                        MissingRomError, rom_path)
from impala_tf.envs.spec import BatchedEnv, EnvSpec

__all__ = ['GAMES', 'LEVELS', 'MissingRomError', 'make', 'rom_path', 'spec']


def _check_level(level: str) -> None:
  if level not in GAMES:
    raise ValueError(f'{level!r} is not one of the 57 Atari games.')


def spec(level: str, **options) -> EnvSpec:
  """EnvSpec of an Atari game, without starting an emulator."""
  _check_level(level)
  config = AtariConfig.from_options(**options)
  num_actions = (FULL_ACTION_SET_SIZE if config.full_action_space
                 else GAMES[level].num_minimal_actions)
  return EnvSpec(name=level, observation_shape=(84, 84, 4),
                 num_actions=num_actions, has_instruction=False,
                 frames_per_step=4)


def make(level: str, num_envs: int = 1, seed: int = 0, mode: str = 'train',
         **options) -> BatchedEnv:
  """``num_envs`` copies of an Atari game; copy i is seeded from (seed, i)."""
  _check_level(level)
  config = AtariConfig.from_options(mode=mode, **options)
  if num_envs < 1:
    raise ValueError(f'num_envs must be >= 1, got {num_envs}')
  env_spec = spec(level, **options)
  rom_path(level)  # MissingRomError here rather than deep inside ale-py.
  vectorized = (num_envs > 1 if config.vectorized is None
                else bool(config.vectorized))
  if vectorized:
    from impala_tf.envs.atari import vector  # pylint: disable=g-import-not-at-top
    return vector.NativeAtariEnv(level, num_envs, seed, config, env_spec)
  from impala_tf.envs.atari import single  # pylint: disable=g-import-not-at-top
  return single.PythonAtariEnv(level, num_envs, seed, config, env_spec)
