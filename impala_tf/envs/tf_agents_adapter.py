"""Runs a TF-Agents ``PyEnvironment`` behind impala_tf's ``BatchedEnv``.

Optional interop: TF-Agents is *not* a dependency of impala_tf's core. It is
installed by the ``tf-agents`` extra in a virtualenv of its own (see
``.ci/tf_agents.sh``), and with TensorFlow 2.16+ it only imports when
``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is first imported and the
``tf-keras`` package is installed. Nothing in ``impala_tf`` imports this module;
import it explicitly::

    from impala_tf.envs.tf_agents_adapter import TFAgentsEnv
    env = TFAgentsEnv(my_py_env, name='my_level')

Protocol translation
--------------------
TF-Agents signals an episode end with a ``LAST`` time step and starts the next
episode one call *later*: the ``step`` after ``LAST`` ignores its action and
returns a ``FIRST`` time step. impala_tf's convention (``spec.py``) is a
same-step reset: the step that ends an episode returns ``done=True``, that
step's reward, and already the first observation of the next episode. So when
an element comes back ``LAST``, this adapter resets that element at once and
puts the ``FIRST`` observation into the output; the ``LAST`` observation is
dropped, as in the original scalable_agent. A ``LAST`` with a non-zero discount
(a time-limit truncation) is reported as ``done=True`` like a termination:
``EnvOutput`` has no discount field. There are no lives, so ``game_over`` is
``done``.

How an element is reset depends on the environment:

* unbatched ``PyEnvironment`` (``batched`` False): ``num_envs`` is 1 and the
  environment's ``reset()`` is called;
* batched environment with an ``envs`` attribute holding one unbatched
  environment per batch element (``BatchedPyEnvironment``,
  ``ParallelPyEnvironment``): only the ended elements are reset, through
  ``envs[i].reset()``, and the others carry on (when every element ends at
  the same step, the batch's own ``reset()`` is called instead);
* any other batched environment: TF-Agents' batched API can only reset the
  whole batch, so ``reset()`` is called when *every* element ended at the same
  step (episodes of equal length); a step on which only some elements end
  raises ``RuntimeError``. Use ``BatchedPyEnvironment`` to batch such
  environments instead.

Supported specs
---------------
* Observation: a ``uint8`` array spec of shape ``[H, W, C]``, or ``[H, W]``
  (a channel axis of size 1 is added), or a dict of such specs. For a dict the
  image entry is ``observation_key``, which may be omitted when the dict has a
  single entry; the other entries are not passed on (``EnvOutput`` carries one
  frame, and no text instruction).
* Action: a scalar (shape ``()``) integer ``BoundedArraySpec``. The network
  chooses among ``num_actions = maximum - minimum + 1`` actions numbered from
  0; action ``a`` is sent to the environment as ``minimum + a``.
* Reward: a scalar spec (TF-Agents' default).

Anything else raises ``ValueError`` naming what was found and what is required;
an object that is not a ``PyEnvironment`` (for example a ``TFPyEnvironment``)
raises ``TypeError``.

``frames_per_step`` is recorded in the ``EnvSpec`` only (the paper counts
environment frames, so frame budgets divide by it); the adapter does not
repeat actions. Wrap the environment in TF-Agents' ``ActionRepeat`` and pass
the same number here if you want action repeats.
"""

import collections.abc
import importlib
import re
from typing import Any, List, Optional, Tuple

import numpy as np

from impala_tf.envs.spec import EnvOutput, EnvSpec

__all__ = ['TFAgentsEnv', 'import_tf_agents']

_INSTALL_HINT = (
    "Install the optional extra in its own virtualenv (bash .ci/tf_agents.sh "
    "does it: pip install -e '.[tf-agents]' then pip install --no-deps "
    "tf-agents==0.19.0), and set TF_USE_LEGACY_KERAS=1 before TensorFlow is "
    "first imported.")


def import_tf_agents():
  """Imports ``tf_agents`` or raises ImportError with installation advice."""
  try:
    return importlib.import_module('tf_agents')
  except Exception as e:  # Keras 3 without TF_USE_LEGACY_KERAS: AttributeError.
    raise ImportError(
        f'tf_agents could not be imported ({type(e).__name__}: {e}). '
        f'{_INSTALL_HINT}') from e


def _spec_text(spec: Any) -> str:
  """Short description of a spec (or nest of specs) for error messages."""
  if isinstance(spec, collections.abc.Mapping):
    inner = ', '.join(f'{k!r}: {_spec_text(v)}' for k, v in spec.items())
    return f'dict {{{inner}}}'
  if isinstance(spec, (list, tuple)):
    kind = type(spec).__name__
    return f'{kind} ({", ".join(_spec_text(v) for v in spec)})'
  shape = getattr(spec, 'shape', None)
  dtype = getattr(spec, 'dtype', None)
  if shape is None or dtype is None:
    return repr(spec)
  text = f'{type(spec).__name__}(shape={tuple(shape)}, dtype={np.dtype(dtype)}'
  if hasattr(spec, 'minimum') and hasattr(spec, 'maximum'):
    text += f', minimum={spec.minimum}, maximum={spec.maximum}'
  return text + ')'


def _snake_case(text: str) -> str:
  text = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', text)
  return re.sub(r'[^0-9a-zA-Z]+', '_', text).strip('_').lower() or 'tf_agents'


def _observation_layout(observation_spec: Any, observation_key: Optional[str],
                        array_spec_module) -> Tuple[Optional[str], bool,
                                                    Tuple[int, int, int]]:
  """Validates the observation spec.

  Returns:
    (key or None, whether a channel axis must be added, (H, W, C)).
  """
  required = ('required: a uint8 ArraySpec of shape [H, W, C] or [H, W], or a '
              'dict holding one')
  key = None
  spec = observation_spec
  if isinstance(observation_spec, collections.abc.Mapping):
    keys = list(observation_spec.keys())
    if observation_key is not None:
      if observation_key not in observation_spec:
        raise ValueError(
            f'observation_key={observation_key!r} is not in the observation '
            f'spec, whose keys are {keys}.')
      key = observation_key
    elif len(keys) == 1:
      key = keys[0]
    else:
      raise ValueError(
          f'Unsupported observation spec: found {_spec_text(observation_spec)}'
          f'; a dict with several entries needs observation_key=... naming '
          f'the uint8 image entry (one of {keys}).')
    spec = observation_spec[key]
  elif observation_key is not None:
    raise ValueError(
        f'observation_key={observation_key!r} was given but the observation '
        f'spec is not a dict: found {_spec_text(observation_spec)}.')

  where = f' (entry {key!r})' if key is not None else ''
  if not isinstance(spec, array_spec_module.ArraySpec):
    raise ValueError(
        f'Unsupported observation spec{where}: found {_spec_text(spec)}; '
        f'{required}.')
  shape = tuple(spec.shape)
  if np.dtype(spec.dtype) != np.uint8 or len(shape) not in (2, 3):
    raise ValueError(
        f'Unsupported observation spec{where}: found {_spec_text(spec)}; '
        f'{required}.')
  if any(d is None or int(d) < 1 for d in shape):
    raise ValueError(
        f'Unsupported observation spec{where}: found {_spec_text(spec)}; every '
        'dimension must be a known size >= 1.')
  add_channel = len(shape) == 2
  height, width = int(shape[0]), int(shape[1])
  channels = 1 if add_channel else int(shape[2])
  return key, add_channel, (height, width, channels)


def _action_layout(action_spec: Any, array_spec_module) -> Tuple[int, int,
                                                                 np.dtype]:
  """Validates the action spec; returns (minimum, num_actions, dtype)."""
  required = ('required: a scalar discrete action, i.e. a BoundedArraySpec of '
              'shape () with an integer dtype and minimum <= maximum')
  if not isinstance(action_spec, array_spec_module.BoundedArraySpec):
    raise ValueError(
        f'Unsupported action spec: found {_spec_text(action_spec)}; '
        f'{required}.')
  dtype = np.dtype(action_spec.dtype)
  if (tuple(action_spec.shape) != () or not np.issubdtype(dtype, np.integer)):
    raise ValueError(
        f'Unsupported action spec: found {_spec_text(action_spec)}; '
        f'{required}.')
  minimum = int(np.asarray(action_spec.minimum))
  maximum = int(np.asarray(action_spec.maximum))
  if maximum < minimum:
    raise ValueError(
        f'Unsupported action spec: found {_spec_text(action_spec)}; '
        f'{required}.')
  return minimum, maximum - minimum + 1, dtype


class TFAgentsEnv:
  """A TF-Agents ``PyEnvironment`` as an impala_tf ``BatchedEnv``.

  See the module docstring for the episode-end translation and the supported
  specs.

  Attributes:
    spec: the EnvSpec (observation [H, W, C], num_actions, frames_per_step).
    num_envs: the environment's ``batch_size``, or 1 when it is unbatched.
    py_env: the wrapped environment.
    action_minimum: the environment action sent for our action 0.
  """

  def __init__(self, py_env: Any, frames_per_step: int = 1,
               name: Optional[str] = None,
               observation_key: Optional[str] = None):
    """Wraps ``py_env``.

    Args:
      py_env: a tf_agents ``PyEnvironment``, batched or not.
      frames_per_step: environment frames per agent step, recorded in the spec.
      name: level name for the spec; defaults to the snake_case class name of
        the (first) wrapped environment.
      observation_key: for a dict observation spec, the uint8 image entry;
        optional when the dict has a single entry.

    Raises:
      TypeError: ``py_env`` is not a tf_agents PyEnvironment.
      ValueError: unsupported observation, action or reward spec, or bad
        arguments.
    """
    import_tf_agents()
    py_environment = importlib.import_module(
        'tf_agents.environments.py_environment')
    array_spec = importlib.import_module('tf_agents.specs.array_spec')
    step_types = importlib.import_module(
        'tf_agents.trajectories.time_step').StepType
    self._first = int(step_types.FIRST)
    self._last = int(step_types.LAST)

    if not isinstance(py_env, py_environment.PyEnvironment):
      hint = ''
      if hasattr(py_env, 'pyenv'):
        hint = (' It looks like a TFPyEnvironment: pass its Python '
                'environment (.pyenv) instead.')
      raise TypeError(
          f'TFAgentsEnv needs a tf_agents PyEnvironment, got '
          f'{type(py_env).__module__}.{type(py_env).__name__}.{hint}')
    if int(frames_per_step) < 1:
      raise ValueError(f'frames_per_step must be >= 1, got {frames_per_step}')

    self.py_env = py_env
    self._batched = bool(py_env.batched)
    if self._batched:
      batch_size = py_env.batch_size
      if batch_size is None or int(batch_size) < 1:
        raise ValueError(
            f'{type(py_env).__name__} is batched but reports batch_size='
            f'{batch_size!r}; a batch size >= 1 is required.')
      self.num_envs = int(batch_size)
    else:
      self.num_envs = 1

    self._obs_key, self._add_channel, obs_shape = _observation_layout(
        py_env.observation_spec(), observation_key, array_spec)
    self.action_minimum, num_actions, self._action_dtype = _action_layout(
        py_env.action_spec(), array_spec)
    reward_spec = py_env.reward_spec()
    if (not isinstance(reward_spec, array_spec.ArraySpec) or
        tuple(reward_spec.shape) != ()):
      raise ValueError(
          f'Unsupported reward spec: found {_spec_text(reward_spec)}; '
          'required: a scalar ArraySpec of shape ().')

    # Per-element resets, when the batched environment exposes its elements.
    self._element_envs: Optional[List[Any]] = None
    if self._batched and self.num_envs > 1:
      envs = getattr(py_env, 'envs', None)
      if (isinstance(envs, collections.abc.Sequence) and
          len(envs) == self.num_envs and
          all(callable(getattr(e, 'reset', None)) for e in envs)):
        self._element_envs = list(envs)

    if name is None:
      named = py_env
      envs = getattr(py_env, 'envs', None)
      if (self._batched and isinstance(envs, collections.abc.Sequence) and
          envs and isinstance(envs[0], py_environment.PyEnvironment)):
        named = envs[0]  # Not ParallelPyEnvironment's process handles.
      name = _snake_case(type(named).__name__)
    self.spec = EnvSpec(name=str(name), observation_shape=obs_shape,
                        num_actions=num_actions, has_instruction=False,
                        frames_per_step=int(frames_per_step))

    self._episode_return = np.zeros(self.num_envs, np.float32)
    self._episode_step = np.zeros(self.num_envs, np.int32)
    self._started = False
    self._closed = False

  # -- conversions ----------------------------------------------------------

  def _frames(self, observation: Any, batched: bool) -> np.ndarray:
    """Image frames of a (possibly nested) observation as [N, H, W, C]."""
    if self._obs_key is not None:
      observation = observation[self._obs_key]
    frames = np.asarray(observation)
    if not batched:
      frames = frames[None]
    if self._add_channel:
      frames = frames[..., None]
    expected = self.spec.observation_shape
    if frames.shape[1:] != expected or frames.dtype != np.uint8:
      raise RuntimeError(
          f'{type(self.py_env).__name__} returned an observation of shape '
          f'{frames.shape[1:]} and dtype {frames.dtype}; its spec promised '
          f'{expected} uint8.')
    return frames

  def _fields(self, time_step: Any) -> Tuple[np.ndarray, np.ndarray,
                                             np.ndarray]:
    """(step_type [B] int, reward [B] float32, frames [B,H,W,C] uint8)."""
    step_type = np.asarray(time_step.step_type).reshape(-1).astype(np.int32)
    reward = np.asarray(time_step.reward, np.float32).reshape(-1)
    frames = self._frames(time_step.observation, self._batched)
    n = self.num_envs
    if step_type.shape != (n,) or reward.shape != (n,) or len(frames) != n:
      raise RuntimeError(
          f'{type(self.py_env).__name__} returned a time step for '
          f'{step_type.shape[0]} element(s); expected {n}.')
    return step_type, reward, frames

  # -- BatchedEnv -----------------------------------------------------------

  def reset(self) -> EnvOutput:
    """Resets every element; reward 0, done False, game_over False."""
    self._check_open()
    _, _, frames = self._fields(self.py_env.reset())
    self._episode_return[:] = 0
    self._episode_step[:] = 0
    self._started = True
    n = self.num_envs
    return EnvOutput(
        reward=np.zeros(n, np.float32), done=np.zeros(n, bool),
        observation=np.array(frames, np.uint8), instruction=None,
        episode_return=np.zeros(n, np.float32),
        episode_step=np.zeros(n, np.int32), game_over=np.zeros(n, bool))

  def step(self, actions: np.ndarray) -> EnvOutput:
    """Steps every element with ``actions`` ([B] ints in [0, num_actions)).

    An element whose time step is ``LAST`` is reset in the same call: its
    ``reward``, ``episode_return`` and ``episode_step`` belong to the finished
    episode, ``done`` and ``game_over`` are True, and its ``observation`` is
    the first observation of the next episode.
    """
    self._check_open()
    if not self._started:
      raise RuntimeError('Call reset() before step().')
    actions = np.asarray(actions)
    n, num_actions = self.num_envs, self.spec.num_actions
    if actions.shape != (n,):
      raise ValueError(f'actions must have shape ({n},), got {actions.shape}')
    if not np.issubdtype(actions.dtype, np.integer):
      raise ValueError(f'actions must be integers, got dtype {actions.dtype}')
    if np.any((actions < 0) | (actions >= num_actions)):
      raise ValueError(f'actions must be in [0, {num_actions}), got {actions}')

    env_actions = (actions.astype(np.int64) + self.action_minimum).astype(
        self._action_dtype)
    if not self._batched:
      env_actions = env_actions[0]  # 0-d array, shape () as the spec says.
    step_type, reward, frames = self._fields(self.py_env.step(env_actions))
    frames = np.array(frames, np.uint8)  # Own copy: envs may reuse buffers.

    if np.any(step_type == self._first):
      raise RuntimeError(
          f'{type(self.py_env).__name__} restarted element(s) '
          f'{np.flatnonzero(step_type == self._first).tolist()} on a step that '
          'followed no LAST time step (its action was ignored). Was the '
          'environment stepped or reset outside of TFAgentsEnv?')
    done = step_type == self._last
    if np.any(done):
      self._reset_ended(done, frames)

    self._episode_return += reward
    self._episode_step += 1
    episode_return = self._episode_return.copy()
    episode_step = self._episode_step.copy()
    self._episode_return[done] = 0
    self._episode_step[done] = 0
    return EnvOutput(
        reward=reward, done=done, observation=frames, instruction=None,
        episode_return=episode_return, episode_step=episode_step,
        game_over=done.copy())

  def _reset_ended(self, done: np.ndarray, frames: np.ndarray) -> None:
    """Resets the ended elements; writes their FIRST frames into ``frames``."""
    ended = np.flatnonzero(done)
    if self._element_envs is not None and len(ended) < self.num_envs:
      for i in ended:
        time_step = self._element_envs[i].reset()
        frames[i] = self._frames(time_step.observation, batched=False)[0]
      return
    if len(ended) < self.num_envs:
      raise RuntimeError(
          f'Elements {ended.tolist()} of the batched '
          f'{type(self.py_env).__name__} ended an episode while others did '
          'not, and it exposes no per-element environments (an `envs` '
          'attribute) to reset them one by one; TF-Agents can only reset a '
          'batched environment as a whole. Batch unbatched environments with '
          'tf_agents BatchedPyEnvironment instead.')
    # Every element ended: reset the batch as a whole, which also keeps the
    # batched environment's own record of the current time step consistent.
    _, _, first_frames = self._fields(self.py_env.reset())
    frames[:] = first_frames

  def _check_open(self) -> None:
    if self._closed:
      raise RuntimeError('This TFAgentsEnv is closed.')

  def close(self) -> None:
    """Closes the wrapped environment; safe to call more than once."""
    if self._closed:
      return
    self._closed = True
    self.py_env.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()
