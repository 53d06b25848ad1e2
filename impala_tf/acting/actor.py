"""An actor thread: steps its environments, records unrolls, enqueues them.

  ActorThread(index, make_envs, policy, store, queue, stats, ...).run()

Each unroll is a Trajectory of T + 1 entries over the thread's G actors; entry
0 repeats the last entry of the previous unroll, and ``core_state`` is the
state before entry 0 (paper_facts 1.3). Parameters are refreshed from the
ParameterStore once per unroll. An environment that raises is rebuilt and
counted; the partial unroll is dropped and the actors start new episodes.
"""

import threading
import time
import traceback

import numpy as np
import tensorflow as tf

from impala_tf import trajectory as trajectory_lib
from impala_tf.trajectory_queue import QueueClosed, StallError
from impala_tf.trajectory_queue import run_until_closed


class EnvRestartLimit(RuntimeError):
  """An actor's environment failed more often than allowed."""


class ActorThread(threading.Thread):
  """One thread stepping a group of G actors in lockstep."""

  def __init__(self, index, make_envs, policy, store, out_queue, stats,
               unroll_length, stop_event, max_env_restarts=100,
               on_error=None):
    super().__init__(name=f'actor-{index}', daemon=True)
    self.index = index
    self._make_envs = make_envs
    self._policy = policy
    self._store = store
    self._queue = out_queue
    self._stats = stats
    self._unroll_length = unroll_length
    self._halt = stop_event
    self._max_env_restarts = max_env_restarts
    self._on_error = on_error
    self.env_restarts = 0
    self.agent_steps = 0
    self.unrolls = 0
    self.env_seconds = 0.0
    self.inference_seconds = 0.0

  def run(self):
    run_until_closed(self._loop, f'actor thread {self.index}', self._on_error)

  def _loop(self):
    env = self._make_envs(self.env_restarts)
    try:
      while not self._halt.is_set():
        try:
          self._run_episodes(env)
        except (QueueClosed, StallError):
          raise  # Not the environment's fault: stop, don't restart it.
        except Exception:  # pylint: disable=broad-except
          if self._halt.is_set():
            return
          self.env_restarts += 1
          print(f'[actor {self.index}] environment error, restarting '
                f'({self.env_restarts}/{self._max_env_restarts}):\n'
                f'{traceback.format_exc(limit=3)}', flush=True)
          if self.env_restarts > self._max_env_restarts:
            raise EnvRestartLimit(
                f'actor {self.index}: more than {self._max_env_restarts} '
                'environment restarts') from None
          try:
            env.close()
          except Exception:  # pylint: disable=broad-except
            pass
          env = self._make_envs(self.env_restarts)
    finally:
      env.close()

  def _allocate(self, env, first):
    """Pre-allocated [T + 1, G, ...] buffers for one unroll."""
    size, spec = env.num_envs, env.spec
    steps = self._unroll_length + 1
    width = first[2].shape[1]
    return dict(
        frame=np.zeros((steps, size) + spec.observation_shape, np.uint8),
        reward=np.zeros((steps, size), np.float32),
        done=np.zeros((steps, size), bool),
        last_action=np.zeros((steps, size), np.int32),
        instruction=np.zeros((steps, size, width), np.int32),
        action=np.zeros((steps, size), np.int32),
        behaviour_logits=np.zeros((steps, size, spec.num_actions),
                                  np.float32))

  def _infer(self, env_output, last_action, state):
    start = time.perf_counter()
    action, logits, ids, new_state = self._policy.step(
        last_action, env_output.reward, env_output.done,
        env_output.observation, env_output.instruction, state)
    self.inference_seconds += time.perf_counter() - start
    return action.numpy(), logits.numpy(), ids.numpy(), new_state

  def _record(self, buffers, t, env_output, last_action, inferred):
    action, logits, ids, _ = inferred
    buffers['frame'][t] = env_output.observation
    buffers['reward'][t] = env_output.reward
    buffers['done'][t] = env_output.done
    buffers['last_action'][t] = last_action
    buffers['instruction'][t] = ids
    buffers['action'][t] = action
    buffers['behaviour_logits'][t] = logits

  def _run_episodes(self, env):
    """Produces unrolls until stopped or the environment raises."""
    task_ids = env.task_ids
    size = env.num_envs
    env_output = env.reset()
    last_action = np.zeros(size, np.int32)
    state = self._policy.initial_state(size)
    self._policy.refresh(self._store)
    inferred = self._infer(env_output, last_action, state)
    buffers = self._allocate(env, inferred)
    self._record(buffers, 0, env_output, last_action, inferred)
    state_at_entry0 = state
    state = inferred[3]
    while not self._halt.is_set():
      version = self._policy.version
      for t in range(1, self._unroll_length + 1):
        last_action = inferred[0]
        state_before = state
        start = time.perf_counter()
        env_output = env.step(last_action)
        self.env_seconds += time.perf_counter() - start
        self._record_episodes(env_output, task_ids)
        inferred = self._infer(env_output, last_action, state)
        state = inferred[3]
        self._record(buffers, t, env_output, last_action, inferred)
      self.agent_steps += size * self._unroll_length
      self._queue.put(trajectory_lib.Trajectory(
          **{k: v.copy() for k, v in buffers.items()},
          core_state=tf.nest.map_structure(lambda s: s.numpy(),
                                           state_at_entry0),
          task_id=task_ids.copy(),
          policy_version=np.full(size, version, np.int64)))
      self.unrolls += 1
      for buffer in buffers.values():
        buffer[0] = buffer[-1]
      state_at_entry0 = state_before
      self._policy.refresh(self._store)

  def _record_episodes(self, env_output, task_ids):
    if not env_output.game_over.any():
      return
    for b in np.flatnonzero(env_output.game_over):
      self._stats.record(int(task_ids[b]), float(env_output.episode_return[b]),
                         int(env_output.episode_step[b]))
