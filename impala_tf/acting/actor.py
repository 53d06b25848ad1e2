"""An actor thread: steps its environments, records unrolls, enqueues them.

  ActorThread(index, make_envs, policy, store, queue, stats, unroll_length,
              stop, max_env_restarts).run()

Each unroll is a Trajectory (impala_tf.trajectory) of T + 1 entries over the
thread's G actors: entry 0 repeats the last entry of the previous unroll and
``core_state`` is the state before entry 0, as in scalable_agent
experiment.py. Parameters are refreshed from the ParameterStore once per
unroll, so an unroll is acted by one parameter version. Unrolls leave in
actor order (EnvGroup.actor_order), which mixes levels in multi-task runs. An
environment whose reset or step raises is rebuilt and counted; the partial
unroll is dropped and the actors start new episodes. Any other fault (the
queue or parameter store, remote or local, or inference) goes to
``stop.fail``.

``store`` needs ``pull_into(variables, have_version)``, ``out_queue``
``put(trajectory)`` and ``stats`` ``record(task_id, return, length)``: the
one-process runtime passes its ParameterStore, TrajectoryQueue and
EpisodeStats, an actor process their remote counterparts.
"""

import threading
import time
import traceback

import numpy as np
import tensorflow as tf

from impala_tf import trajectory as trajectory_lib
from impala_tf.trajectory_queue import run_until_closed


class EnvRestartLimit(RuntimeError):
  """An actor's environment failed more often than allowed."""


class _EnvironmentFailed(Exception):
  """An environment's reset or step raised (the cause is attached)."""


def _env_call(fn, *args):
  try:
    return fn(*args)
  except Exception as e:  # pylint: disable=broad-except
    raise _EnvironmentFailed() from e


class ActorThread(threading.Thread):
  """One thread stepping a group of G actors in lockstep."""

  def __init__(self, index, make_envs, policy, store, out_queue, stats,
               unroll_length, stop, max_env_restarts=100):
    super().__init__(name=f'actor-{index}', daemon=True)
    self.index = index
    self._make_envs = make_envs
    self._policy = policy
    self._store = store
    self._queue = out_queue
    self._stats = stats
    self._unroll_length = unroll_length
    self._stop_signal = stop
    self._max_env_restarts = max_env_restarts
    self.env_restarts = 0
    self.agent_steps = 0
    self.unrolls = 0
    self.env_seconds = 0.0
    self.inference_seconds = 0.0
    self.error = None  # The exception that ended the thread, if any.

  def run(self):
    self.error = run_until_closed(self._loop, f'actor thread {self.index}',
                                  self._stop_signal)

  def _loop(self):
    env = self._make_envs(self.env_restarts)
    try:
      while not self._stop_signal.is_set():
        try:
          self._run_episodes(env)
        except _EnvironmentFailed as failure:
          if self._stop_signal.is_set():
            return
          self.env_restarts += 1
          cause = failure.__cause__
          trace = ''.join(traceback.format_exception(
              type(cause), cause, cause.__traceback__, limit=3))
          print(f'[actor {self.index}] environment error, restarting '
                f'({self.env_restarts}/{self._max_env_restarts}):\n{trace}',
                flush=True)
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

  def _infer(self, env_output, last_action, state):
    start = time.perf_counter()
    action, logits, ids, new_state = self._policy.step(
        last_action, env_output.reward, env_output.done,
        env_output.observation, env_output.instruction, state)
    self.inference_seconds += time.perf_counter() - start
    return action.numpy(), logits.numpy(), ids.numpy(), new_state

  @staticmethod
  def _record(unroll, t, env_output, last_action, inferred):
    action, logits, ids, _ = inferred
    unroll.frame[t] = env_output.observation
    unroll.reward[t] = env_output.reward
    unroll.done[t] = env_output.done
    unroll.last_action[t] = last_action
    unroll.instruction[t] = ids
    unroll.action[t] = action
    unroll.behaviour_logits[t] = logits

  def _run_episodes(self, env):
    """Produces unrolls until stopped or the environment raises."""
    size = env.num_envs
    env_output = _env_call(env.reset)
    last_action = np.zeros(size, np.int32)
    state = self._policy.initial_state(size)
    self._policy.refresh(self._store)
    inferred = self._infer(env_output, last_action, state)
    unroll = trajectory_lib.empty(env.spec, self._unroll_length, size,
                                  inferred[2].shape[1], ())
    self._record(unroll, 0, env_output, last_action, inferred)
    state_at_entry0 = state
    state = inferred[3]
    while not self._stop_signal.is_set():
      version = self._policy.version
      for t in range(1, self._unroll_length + 1):
        if self._stop_signal.is_set():
          return  # Drop the partial unroll; slow environments stop sooner.
        last_action = inferred[0]
        state_before = state
        start = time.perf_counter()
        env_output = _env_call(env.step, last_action)
        self.env_seconds += time.perf_counter() - start
        self._record_episodes(env_output, env.task_ids)
        inferred = self._infer(env_output, last_action, state)
        state = inferred[3]
        self._record(unroll, t, env_output, last_action, inferred)
      self.agent_steps += size * self._unroll_length
      finished = unroll._replace(
          core_state=tf.nest.map_structure(lambda s: s.numpy(),
                                           state_at_entry0),
          task_id=env.task_ids,
          policy_version=np.full(size, version, np.int64))
      # take() copies, so the buffers can be refilled at once.
      self._queue.put(trajectory_lib.take(finished, env.actor_order))
      self.unrolls += 1
      trajectory_lib.carry_last_entry(unroll)
      state_at_entry0 = state_before
      self._policy.refresh(self._store)

  def _record_episodes(self, env_output, task_ids):
    if not env_output.game_over.any():
      return
    for b in np.flatnonzero(env_output.game_over):
      self._stats.record(int(task_ids[b]), float(env_output.episode_return[b]),
                         int(env_output.episode_step[b]))
