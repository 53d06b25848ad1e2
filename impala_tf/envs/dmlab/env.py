"""Batched DeepMind Lab environment with the paper's DMLab settings.

``DmLabEnv`` holds ``num_envs`` ``deepmind_lab.Lab`` objects and steps them one
after another in a loop. That is all an actor needs: the paper's throughput
comes from running many actors (processes or machines) at once, not from
batching inside one of them.

Settings (paper Tables D.2 and D.3; scalable_agent environments.py and
dmlab30.py): RGB_INTERLEAVED frames of width 96 and
height 72 plus the INSTR string; every agent step is ``lab.step(action,
num_steps=4)`` (DMLab applies the action on 4 frames and returns the summed
reward); the 9-action set of ``actions.ACTION_SET``; level script
``contributed/dmlab30/<level>``. In test mode the evaluation level of the
train->test mapping is loaded with ``allowHoldOutLevels='true'`` and
``mixerSeed=0x600D5EED``.

Shapes (B = num_envs), see ``impala_tf.envs.spec.EnvOutput``:
  step(actions [B] int in [0, 9)) -> EnvOutput with observation [B, 72, 96, 3]
  uint8, instruction [B] object (str), reward/episode_return [B] float32,
  done/game_over [B] bool (identical for DMLab), episode_step [B] int32.

``deepmind_lab`` is imported when a ``DmLabEnv`` is built, never at import time.
"""

import importlib
import os
from typing import Any, Dict, Optional

import numpy as np

from impala_tf.envs.dmlab import actions as actions_lib
from impala_tf.envs.dmlab import levels as levels_lib
from impala_tf.envs.spec import EnvOutput, EnvSetupError, EnvSpec

WIDTH = 96
HEIGHT = 72
OBSERVATION_SHAPE = (HEIGHT, WIDTH, 3)
ACTION_REPEATS = 4
RGB_OBSERVATION = 'RGB_INTERLEAVED'
INSTRUCTION_OBSERVATION = 'INSTR'
TEST_MIXER_SEED = 0x600D5EED
OPTION_NAMES = ('dataset_path', 'renderer', 'level_cache', 'extra_config')

_MAX_SEED = 2**31 - 1


class DeepMindLabNotInstalledError(EnvSetupError, ImportError):
  """Raised when a DMLab level is requested but ``deepmind_lab`` is missing."""


class DatasetPathRequiredError(EnvSetupError, ValueError):
  """A psychlab level that needs the brady_konkle_oliva2008 dataset lacks it."""


def missing_module_message(cause: Optional[BaseException] = None) -> str:
  """Text of DeepMindLabNotInstalledError (also used by docs and tests)."""
  reason = f' (import failed with: {cause})' if cause is not None else ''
  return (
      'DMLab levels need DeepMind Lab\'s Python module `deepmind_lab`, which '
      f'could not be imported{reason}. It is not published on PyPI, so '
      '`pip install` cannot fetch it. Build it from source: clone '
      'https://github.com/google-deepmind/lab, install Bazel and the '
      'dependencies listed in its README, run '
      '`bazel build -c opt //python/pip_package:build_pip_package` and then '
      '`./bazel-bin/python/pip_package/build_pip_package /tmp/dmlab_pkg` from '
      'the repository root, and install the wheel it produces into this '
      'Python environment with `pip install /tmp/dmlab_pkg/*.whl` (details in '
      'python/pip_package/README.md of that repository). Atari and catch '
      'levels do not need it.')


def import_deepmind_lab():
  """Imports and returns ``deepmind_lab`` or raises the explained error."""
  try:
    return importlib.import_module('deepmind_lab')
  except ImportError as e:
    raise DeepMindLabNotInstalledError(missing_module_message(e)) from e


def check_options(options: Dict[str, Any]) -> None:
  """Rejects option names this family does not understand."""
  unknown = sorted(set(options) - set(OPTION_NAMES))
  if unknown:
    raise TypeError(f'Unknown DMLab option(s) {unknown}; valid options are '
                    f'{list(OPTION_NAMES)}.')


def spec(level: str, **options) -> EnvSpec:
  """EnvSpec of a DMLab-30 level: (72, 96, 3) frames, 9 actions, text input."""
  check_options(options)
  levels_lib.check_level(level)
  return EnvSpec(name=level, observation_shape=OBSERVATION_SHAPE,
                 num_actions=actions_lib.NUM_ACTIONS, has_instruction=True,
                 frames_per_step=ACTION_REPEATS)


def lab_config(level: str, mode: str = 'train',
               dataset_path: Optional[str] = None,
               extra_config: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
  """The DMLab ``config`` dict (all values strings, as DMLab requires)."""
  config: Dict[str, Any] = {'width': WIDTH, 'height': HEIGHT,
                            'logLevel': 'WARN'}
  if dataset_path:
    config['datasetPath'] = dataset_path
  if mode == 'test' or level in levels_lib.HELD_OUT_LEVELS:
    config['allowHoldOutLevels'] = 'true'
  if mode == 'test':
    config['mixerSeed'] = TEST_MIXER_SEED
  config.update(extra_config or {})
  return {key: str(value) for key, value in config.items()}


def _check_dataset(level: str, dataset_path: Optional[str]) -> None:
  if not levels_lib.needs_dataset(level):
    return
  how = (f'Download it as described in data/{levels_lib.DATASET_NAME}/'
         'README.md of the DeepMind Lab repository (object stimuli of Brady, '
         'Konkle, Alvarez & Oliva 2008) and pass the directory holding '
         '0001.png... as dataset_path=... (sent to DMLab as the datasetPath '
         'setting).')
  if not dataset_path:
    raise DatasetPathRequiredError(
        f'Level {level!r} shows images from the {levels_lib.DATASET_NAME} '
        f'dataset and cannot run without it. {how}')
  if not os.path.isdir(dataset_path):
    raise DatasetPathRequiredError(
        f'dataset_path={dataset_path!r} for level {level!r} is not a '
        f'directory. {how}')


class DmLabEnv:
  """``num_envs`` DeepMind Lab copies of one level, stepped in a loop.

  Implements ``impala_tf.envs.spec.BatchedEnv``. Copy ``i`` draws the seed of
  each of its episodes from a generator seeded with ``(seed, i)``.
  """

  def __init__(self, level: str, num_envs: int = 1, seed: int = 0,
               mode: str = 'train', dataset_path: Optional[str] = None,
               renderer: str = 'software', level_cache: Any = None,
               extra_config: Optional[Dict[str, Any]] = None):
    if mode not in ('train', 'test'):
      raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    if num_envs < 1:
      raise ValueError(f'num_envs must be >= 1, got {num_envs}')
    self.spec = spec(level)
    self.num_envs = int(num_envs)
    self.mode = mode
    # The level actually loaded: test mode evaluates on the held-out variant.
    self.level = (levels_lib.evaluation_level(level) if mode == 'test'
                  else level)
    self.level_path = levels_lib.level_path(self.level)
    _check_dataset(self.level, dataset_path)
    self.config = lab_config(self.level, mode, dataset_path, extra_config)
    deepmind_lab = import_deepmind_lab()

    self._rngs = [np.random.default_rng(np.random.SeedSequence([seed, i]))
                  for i in range(self.num_envs)]
    self._labs = []
    self._closed = False
    try:
      for _ in range(self.num_envs):
        lab_kwargs = dict(level=self.level_path,
                          observations=[RGB_OBSERVATION,
                                        INSTRUCTION_OBSERVATION],
                          config=dict(self.config), renderer=renderer)
        if level_cache is not None:
          lab_kwargs['level_cache'] = level_cache
        self._labs.append(deepmind_lab.Lab(**lab_kwargs))
      self._check_action_spec(self._labs[0])
    except BaseException:
      self.close()
      raise

    self._frames = np.zeros((self.num_envs,) + OBSERVATION_SHAPE, np.uint8)
    self._instructions = np.full(self.num_envs, '', dtype=object)
    self._episode_return = np.zeros(self.num_envs, np.float32)
    self._episode_step = np.zeros(self.num_envs, np.int32)
    self._started = False

  @staticmethod
  def _check_action_spec(lab) -> None:
    """Fails loudly if this DMLab build orders its action vector differently."""
    action_spec = getattr(lab, 'action_spec', None)
    if action_spec is None:
      return
    names = tuple(entry['name'] for entry in action_spec())
    if names != actions_lib.NATIVE_ACTION_NAMES:
      raise RuntimeError(
          f'DeepMind Lab reports action layout {names}, expected '
          f'{actions_lib.NATIVE_ACTION_NAMES}; the 9-action set would be '
          'sent to the wrong controls.')

  def _new_episode(self, i: int) -> None:
    self._labs[i].reset(seed=int(self._rngs[i].integers(0, _MAX_SEED)))

  def _read_observation(self, i: int) -> None:
    observations = self._labs[i].observations()
    self._frames[i] = observations[RGB_OBSERVATION]
    instruction = observations[INSTRUCTION_OBSERVATION]
    if isinstance(instruction, bytes):
      instruction = instruction.decode('utf-8')
    self._instructions[i] = str(instruction)

  def _output(self, reward, done, episode_return, episode_step) -> EnvOutput:
    return EnvOutput(
        reward=reward,
        done=done,
        observation=self._frames.copy(),
        instruction=self._instructions.copy(),
        episode_return=episode_return,
        episode_step=episode_step,
        game_over=done.copy())

  def reset(self) -> EnvOutput:
    """Starts a new episode in every copy."""
    self._check_open()
    for i in range(self.num_envs):
      self._new_episode(i)
      self._read_observation(i)
    self._episode_return[:] = 0
    self._episode_step[:] = 0
    self._started = True
    zeros = np.zeros(self.num_envs, np.float32)
    return self._output(zeros, np.zeros(self.num_envs, bool), zeros.copy(),
                        np.zeros(self.num_envs, np.int32))

  def step(self, actions: np.ndarray) -> EnvOutput:
    """Applies action indices ``actions`` ([B]) for 4 frames each.

    A copy whose episode ends is reset in the same call: its ``reward`` and
    ``episode_return``/``episode_step`` belong to the finished episode, its
    ``done`` is True and its ``observation`` is the new episode's first frame.
    """
    self._check_open()
    if not self._started:
      raise RuntimeError('Call reset() before step().')
    actions = np.asarray(actions)
    if actions.shape != (self.num_envs,):
      raise ValueError(f'actions must have shape ({self.num_envs},), got '
                       f'{actions.shape}')
    if not np.issubdtype(actions.dtype, np.integer):
      raise ValueError(f'actions must be integers, got dtype {actions.dtype}')
    if np.any((actions < 0) | (actions >= actions_lib.NUM_ACTIONS)):
      raise ValueError(f'actions must be in [0, {actions_lib.NUM_ACTIONS}), '
                       f'got {actions}')

    reward = np.zeros(self.num_envs, np.float32)
    done = np.zeros(self.num_envs, bool)
    episode_return = np.zeros(self.num_envs, np.float32)
    episode_step = np.zeros(self.num_envs, np.int32)
    for i, action in enumerate(actions):
      lab = self._labs[i]
      reward[i] = lab.step(actions_lib.ACTION_SET[int(action)],
                           num_steps=ACTION_REPEATS)
      self._episode_return[i] += reward[i]
      self._episode_step[i] += 1
      episode_return[i] = self._episode_return[i]
      episode_step[i] = self._episode_step[i]
      if not lab.is_running():
        done[i] = True
        self._episode_return[i] = 0
        self._episode_step[i] = 0
        self._new_episode(i)
      self._read_observation(i)
    return self._output(reward, done, episode_return, episode_step)

  def _check_open(self) -> None:
    if self._closed:
      raise RuntimeError('This DmLabEnv is closed.')

  def close(self) -> None:
    """Closes every Lab; safe to call more than once."""
    if self._closed:
      return
    self._closed = True
    labs, self._labs = self._labs, []
    for lab in labs:
      lab.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()


def make(level: str, num_envs: int = 1, seed: int = 0, mode: str = 'train',
         **options) -> DmLabEnv:
  """Builds a DmLabEnv; see ``OPTION_NAMES`` for the accepted options."""
  check_options(options)
  return DmLabEnv(level, num_envs=num_envs, seed=seed, mode=mode, **options)
