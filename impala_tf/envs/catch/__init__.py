"""Catch family: one tiny pixel level for fast end-to-end checks of IMPALA.

    LEVELS                                        -> ('catch',)
    spec(level)                                   -> EnvSpec((40, 40, 1), 3)
    make(level, num_envs, seed, mode)             -> CatchEnv (a BatchedEnv)

Train and test modes behave the same. Catch takes no options. See ``env.py``
for the dynamics and the choice of image size.
"""

from impala_tf.envs.catch.env import (COLUMNS, NUM_ACTIONS, OBSERVATION_SHAPE,
                                      ROWS, SPEC, CatchEnv)
from impala_tf.envs.spec import EnvSpec

__all__ = ['COLUMNS', 'CatchEnv', 'LEVELS', 'NUM_ACTIONS', 'OBSERVATION_SHAPE',
           'ROWS', 'SPEC', 'make', 'spec']

LEVELS = ('catch',)


def _check(level: str, options) -> None:
  if level not in LEVELS:
    raise ValueError(f'{level!r} is not a Catch level; use {LEVELS[0]!r}.')
  if options:
    raise TypeError(f'Catch takes no options, got {sorted(options)}.')


def spec(level: str = 'catch', **options) -> EnvSpec:
  """EnvSpec of Catch."""
  _check(level, options)
  return SPEC


def make(level: str = 'catch', num_envs: int = 1, seed: int = 0,
         mode: str = 'train', **options) -> CatchEnv:
  """``num_envs`` copies of Catch; copy i is seeded from (seed, i)."""
  _check(level, options)
  if mode not in ('train', 'test'):
    raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
  return CatchEnv(num_envs, seed)
