"""The unit of data between actors and learner: a batch of unrolls.

An unroll holds T + 1 entries: the last entry of the previous unroll followed
by T new ones (scalable_agent experiment.py), time-major. Entry t has:

  frame [T+1, B, H, W, C] uint8   observation x_t
  reward [T+1, B] float32         reward received on arriving at x_t (raw)
  done [T+1, B] bool              x_t starts a new episode (the transition
                                  into it ended one)
  last_action [T+1, B] int32      action taken before x_t
  instruction [T+1, B, W] int32   instruction ids (width 0 without language)
  action [T+1, B] int32           action the actor chose at x_t
  behaviour_logits [T+1, B, A]    mu(.|x_t)
  core_state: nest of [B, ...]    core state before entry 0
  task_id [B] int32               index of the level in the task set
  policy_version [B] int64        learner update the behaviour params came from

The learner aligns it as: logits/values at x_0..x_{T-1}, bootstrap V(x_T),
actions action[:-1], rewards reward[1:], dones done[1:].

  empty(spec, unroll_length, batch_size, instruction_width, core_state)
      -> Trajectory of zeros (ids -1), the buffers an actor fills
  carry_last_entry(trajectory)  entry 0 <- entry T, in place, for the next unroll
  concat(trajectories), slice_batch(trajectory, start, stop), take(trajectory, index)
"""

import collections

import numpy as np
import tensorflow as tf

Trajectory = collections.namedtuple(
    'Trajectory', ['frame', 'reward', 'done', 'last_action', 'instruction',
                   'action', 'behaviour_logits', 'core_state', 'task_id',
                   'policy_version'])

_TIME_MAJOR = ('frame', 'reward', 'done', 'last_action', 'instruction',
               'action', 'behaviour_logits')


def empty(spec, unroll_length, batch_size, instruction_width, core_state):
  """A zero Trajectory of T + 1 = unroll_length + 1 entries.

  Args:
    spec: the EnvSpec (observation shape, number of actions).
    unroll_length: T.
    batch_size: B.
    instruction_width: W, the width of instruction ids (0 without language).
    core_state: nest of [B, ...] arrays, the core state before entry 0.

  Returns:
    Trajectory of numpy arrays; instruction ids are -1 (padding), the rest
    zeros; task_id and policy_version zeros.
  """
  steps = unroll_length + 1
  return Trajectory(
      frame=np.zeros((steps, batch_size) + tuple(spec.observation_shape),
                     np.uint8),
      reward=np.zeros((steps, batch_size), np.float32),
      done=np.zeros((steps, batch_size), bool),
      last_action=np.zeros((steps, batch_size), np.int32),
      instruction=np.full((steps, batch_size, instruction_width), -1,
                          np.int32),
      action=np.zeros((steps, batch_size), np.int32),
      behaviour_logits=np.zeros((steps, batch_size, spec.num_actions),
                                np.float32),
      core_state=tf.nest.map_structure(np.asarray, core_state),
      task_id=np.zeros((batch_size,), np.int32),
      policy_version=np.zeros((batch_size,), np.int64))


def carry_last_entry(trajectory):
  """Copies entry T into entry 0 of every time-major field (in place), so the
  next unroll starts with the last entry of this one."""
  for name in _TIME_MAJOR:
    buffer = getattr(trajectory, name)
    buffer[0] = buffer[-1]


def batch_size_of(trajectory):
  return trajectory.task_id.shape[0]


def _map_fields(fn_time_major, fn_batch_major, trajectory):
  values = {}
  for name in Trajectory._fields:
    value = getattr(trajectory, name)
    fn = fn_time_major if name in _TIME_MAJOR else fn_batch_major
    values[name] = tf.nest.map_structure(fn, value)
  return Trajectory(**values)


def concat(trajectories):
  """Concatenates unroll batches along the batch axis (numpy)."""
  if len(trajectories) == 1:
    return trajectories[0]
  fields = {}
  for name in Trajectory._fields:
    axis = 1 if name in _TIME_MAJOR else 0
    parts = [getattr(t, name) for t in trajectories]
    fields[name] = tf.nest.map_structure(
        lambda *xs, axis=axis: np.concatenate(xs, axis=axis), *parts)
  return Trajectory(**fields)


def slice_batch(trajectory, start, stop):
  """Entries [start, stop) of the batch axis (numpy views)."""
  return _map_fields(lambda x: x[:, start:stop], lambda x: x[start:stop],
                     trajectory)


def take(trajectory, index):
  """The unrolls at ``index`` ([n] ints) of the batch axis, as copies."""
  return _map_fields(lambda x: x[:, index], lambda x: x[index], trajectory)
