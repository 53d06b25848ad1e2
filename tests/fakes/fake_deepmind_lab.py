"""A stand-in for the ``deepmind_lab`` module, for tests only.

DeepMind Lab cannot be installed here: it is not on PyPI and has to be built
from source with Bazel. This module fakes just the part of its Python API that
``impala_tf.envs.dmlab`` uses (``Lab`` with ``reset``, ``step``,
``is_running``, ``observations``, ``action_spec`` and ``close``), so the adapter
can be tested without it. Tests put it into ``sys.modules['deepmind_lab']``.

Behaviour (deterministic, nothing is rendered):
  * The constructor checks its arguments like DMLab does (known observation
    names, string config values) and records them; every ``Lab`` is appended
    to the module-level ``instances`` list.
  * An episode lasts ``EPISODE_LENGTH`` calls to ``step``; then
    ``is_running()`` is False and ``observations``/``step`` raise until
    ``reset`` is called, as in DMLab.
  * Frame ``k`` (counted over all ``step`` calls' ``num_steps``) of an episode
    gives reward ``REWARD_PER_FRAME * (k + 1)``; ``step`` returns the sum over
    its frames.
  * The RGB observation is a (height, width, 3) uint8 array filled with
    ``frame_value(episode_seed, steps_in_episode)``; the instruction is
    ``f'instruction {episode_seed}'`` as bytes (DMLab may hand back either).
"""

import numpy as np

EPISODE_LENGTH = 3
REWARD_PER_FRAME = 0.5
ACTION_NAMES = ('LOOK_LEFT_RIGHT_PIXELS_PER_FRAME',
                'LOOK_DOWN_UP_PIXELS_PER_FRAME', 'STRAFE_LEFT_RIGHT',
                'MOVE_BACK_FORWARD', 'FIRE', 'JUMP', 'CROUCH')
_KNOWN_OBSERVATIONS = ('RGB_INTERLEAVED', 'RGBD_INTERLEAVED', 'INSTR')

instances = []


def frame_value(episode_seed, steps_in_episode):
  """The value every pixel has after ``steps_in_episode`` steps."""
  return (episode_seed * 7 + steps_in_episode * 31) % 256


class Lab:
  """Records how it is driven and plays fixed-length, predictable episodes."""

  def __init__(self, level, observations, config=None, renderer='software',
               level_cache=None):
    for name in observations:
      if name not in _KNOWN_OBSERVATIONS:
        raise ValueError(f'Unknown observation {name!r}')
    for key, value in (config or {}).items():
      if not isinstance(key, str) or not isinstance(value, str):
        raise TypeError(f'config entries must be str -> str, got {key!r}: '
                        f'{value!r}')
    self.level = level
    self.observation_names = list(observations)
    self.config = dict(config or {})
    self.renderer = renderer
    self.level_cache = level_cache
    self.width = int(self.config.get('width', 320))
    self.height = int(self.config.get('height', 240))
    self.reset_seeds = []   # seed passed to each reset()
    self.step_calls = []    # (action copy, dtype, num_steps) of each step()
    self.closed = False
    self._running = False
    self._steps_in_episode = 0
    self._frames_in_episode = 0
    self._seed = None
    instances.append(self)

  def reset(self, episode=-1, seed=None):
    self._check_open()
    self.reset_seeds.append(seed)
    self._seed = 0 if seed is None else int(seed)
    self._running = True
    self._steps_in_episode = 0
    self._frames_in_episode = 0

  def is_running(self):
    return self._running

  def step(self, action, num_steps=1):
    self._check_open()
    if not self._running:
      raise RuntimeError('step() called while the episode is not running')
    action = np.asarray(action)
    if action.shape != (len(ACTION_NAMES),):
      raise ValueError(f'action must have shape (7,), got {action.shape}')
    self.step_calls.append((action.copy(), action.dtype, num_steps))
    reward = 0.0
    for _ in range(num_steps):
      self._frames_in_episode += 1
      reward += REWARD_PER_FRAME * self._frames_in_episode
    self._steps_in_episode += 1
    if self._steps_in_episode >= EPISODE_LENGTH:
      self._running = False
    return reward

  def observations(self):
    self._check_open()
    if not self._running:
      raise RuntimeError('observations() called while not running')
    result = {}
    value = frame_value(self._seed, self._steps_in_episode)
    for name in self.observation_names:
      if name == 'INSTR':
        result[name] = f'instruction {self._seed}'.encode('utf-8')
      else:
        channels = 4 if name.startswith('RGBD') else 3
        result[name] = np.full((self.height, self.width, channels), value,
                               np.uint8)
    return result

  def action_spec(self):
    bounds = [(-512, 512), (-512, 512), (-1, 1), (-1, 1), (0, 1), (0, 1),
              (0, 1)]
    return [{'name': name, 'min': lo, 'max': hi}
            for name, (lo, hi) in zip(ACTION_NAMES, bounds)]

  def num_steps(self):
    return self._frames_in_episode

  def close(self):
    self.closed = True

  def _check_open(self):
    if self.closed:
      raise RuntimeError('Lab is closed')
