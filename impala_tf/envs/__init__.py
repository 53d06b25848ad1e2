"""Environment families behind one factory.

    make_env(level_name, num_envs, seed, mode, options) -> BatchedEnv
    env_spec(level_name, options) -> EnvSpec

Families live in their own folders (``atari/``, ``dmlab/``, ``catch/``) and each
exposes ``LEVELS`` (canonical names), ``spec(level, **options)`` and
``make(level, num_envs, seed, mode, **options)``. Families are imported lazily
so that, for example, DeepMind Lab is only needed when a DMLab level is asked for.
"""

import difflib
import importlib
from typing import Any, Dict, Optional

from impala_tf.envs.spec import BatchedEnv, EnvOutput, EnvSetupError, EnvSpec

__all__ = ['BatchedEnv', 'EnvOutput', 'EnvSetupError', 'EnvSpec', 'UnknownLevelError',
           'family_of', 'make_env', 'env_spec', 'all_level_names']

_FAMILIES = ('catch', 'atari', 'dmlab')
MODES = ('train', 'test')


class UnknownLevelError(ValueError):
  """A level name that no family knows."""


def _family_module(family: str):
  return importlib.import_module(f'impala_tf.envs.{family}')


def all_level_names():
  """Every level name of every family (does not import emulators)."""
  names = []
  for family in _FAMILIES:
    names.extend(_family_module(family).LEVELS)
  return names


def family_of(level_name: str) -> str:
  """Returns the family that owns ``level_name``, or raises UnknownLevelError."""
  for family in _FAMILIES:
    module = _family_module(family)
    if level_name in getattr(module, 'ACCEPTED_LEVELS', module.LEVELS):
      return family
  close = difflib.get_close_matches(level_name, all_level_names(), n=5,
                                    cutoff=0.5)
  hint = (' Closest valid names: ' + ', '.join(close) + '.') if close else (
      ' Valid names are Atari-57 games in snake_case (e.g. pong), DMLab-30 '
      'levels (e.g. rooms_watermaze) and catch.')
  raise UnknownLevelError(f'Unknown level {level_name!r}.{hint}')


def env_spec(level_name: str,
             options: Optional[Dict[str, Any]] = None) -> EnvSpec:
  """The EnvSpec of a level, without starting an emulator."""
  family = family_of(level_name)
  return _family_module(family).spec(level_name, **(options or {}))


def make_env(level_name: str, num_envs: int = 1, seed: int = 0,
             mode: str = 'train',
             options: Optional[Dict[str, Any]] = None) -> BatchedEnv:
  """Builds ``num_envs`` copies of a level as one BatchedEnv.

  Args:
    level_name: canonical name of the level.
    num_envs: batch size of the environment.
    seed: base seed; copy i uses a seed derived from (seed, i).
    mode: 'train' or 'test' (test = evaluation protocol: no life-loss
      episode ends for Atari, held-out levels for DMLab).
    options: family-specific keyword options.
  """
  if mode not in MODES:
    raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
  if num_envs < 1:
    raise ValueError(f'num_envs must be >= 1, got {num_envs}')
  family = family_of(level_name)
  return _family_module(family).make(level_name, num_envs=num_envs, seed=seed,
                                     mode=mode, **(options or {}))
