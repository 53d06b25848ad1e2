"""The one-machine training run: actors -> queue -> staging -> learner.

  train(config, max_updates=None, ...) -> RunResult

Data path: ActorThreads step environments and run batched inference with
their ActingPolicy, then enqueue unrolls into the TrajectoryQueue; the
StagingArea assembles and places the next batch while the Learner updates;
after each update the learner publishes a snapshot to the ParameterStore,
from which actors pull at the start of every unroll.

Every thread shares one StopSignal (impala_tf.stopping): SIGTERM/SIGINT and
the end of the budget ask for a clean stop; a fault anywhere (a thread that
died, a stall, a non-finite loss) calls ``stop.fail`` and the loop head turns
it into a TrainingError.

The run takes ``<logdir>`` for itself (impala_tf.run_directory) and resumes
from the newest intact checkpoint in ``<logdir>/checkpoints`` (learner
network, optimiser slots, frame and update counters, actors' sampling RNGs,
per-task episode statistics); only then does it write ``config.json`` and
drop metrics rows logged after that checkpoint. It checkpoints every
checkpoint_secs, on a stop request and at the end; a fault stops it without
overwriting the last good checkpoint.
"""

import dataclasses
import json
import math
import os
import time
from typing import Optional

import numpy as np

from impala_tf import builder
from impala_tf import checkpointing
from impala_tf import metrics
from impala_tf import run_directory
from impala_tf import stopping
from impala_tf.acting.actor import ActorThread
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import Config
from impala_tf.params import ParameterStore
from impala_tf.staging import StagingArea
from impala_tf.trajectory_queue import QueueClosed, StallError, TrajectoryQueue


class TrainingError(RuntimeError):
  """The run stopped on a fault (non-finite loss, a failed thread, a stall)."""


@dataclasses.dataclass
class RunResult:
  num_frames: int
  num_updates: int
  stopped_because: str
  checkpoint: Optional[str]
  env_restarts: int


def _save_config(config: Config):
  path = os.path.join(config.logdir, 'config.json')
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)
  os.replace(tmp, path)


class _Run:
  """Holds the parts of one run; ``close`` releases the run directory."""

  def __init__(self, config: Config, stop, strategy=None, env_factory=None):
    self.config = config.validate()
    self.stop = stop
    self.task_set = builder.make_task_set(config, env_factory)
    run_directory.prepare(config.logdir)
    self.lock = run_directory.RunLock(config.logdir).acquire()
    try:
      self._build(strategy)
    except BaseException:
      self.lock.release()
      raise

  def _build(self, strategy):
    config = self.config
    self._preflight()
    self.strategy = strategy or builder.make_strategy(config)
    agent_factory = builder.make_agent_factory(config, self.task_set)
    self.learner = builder.make_learner(config, self.task_set.spec,
                                        agent_factory, self.strategy)
    self.policies = [
        ActingPolicy(agent_factory(), self.task_set.spec,
                     seed=config.seed * 7919 + thread)
        for thread in range(config.actor_threads)]
    self.episodes = metrics.EpisodeStats(list(self.task_set.levels))
    self.checkpoints = checkpointing.CheckpointManager(
        os.path.join(config.logdir, 'checkpoints'))
    self.generation = 0
    self.env_restarts_before = 0
    self.actors = []
    self._restore()
    _save_config(config)  # Only now: a refused restore leaves it alone.
    self.store = ParameterStore(self.learner.variables,
                                version=int(self.learner.num_updates))

  def _preflight(self):
    """Makes one environment of the first level in this thread, so that a
    missing emulator, ROM or data set is reported (EnvSetupError) before any
    thread starts."""
    make = builder.make_env_group_factory(
        self.config.replace(num_actors=1, actor_threads=1), self.task_set, 0)
    make(0).close()

  def trackables(self):
    trackables = dict(self.learner.trackables())
    for i, policy in enumerate(self.policies):
      trackables[f'actor_rng_{i}'] = policy.generator
    return trackables

  def _restore(self):
    restored = self.checkpoints.restore_latest(self.trackables())
    frames = 0
    if restored is not None:
      _, extra = restored
      self.episodes.load_state_dict(extra['episodes'])
      self.generation = extra['generation'] + 1
      self.env_restarts_before = extra.get('env_restarts', 0)
      frames = int(self.learner.num_frames)
      print(f'Resumed from {self.checkpoints.latest()} at {frames:,} frames, '
            f'{int(self.learner.num_updates):,} updates.', flush=True)
    dropped = metrics.drop_rows_after(self.config.logdir, frames)
    if dropped:
      print(f'Dropped {dropped:,} metrics.csv rows logged after frame '
            f'{frames:,} (by a run that stopped without a checkpoint).',
            flush=True)

  def save(self):
    extra = dict(episodes=self.episodes.state_dict(),
                 generation=self.generation,
                 env_restarts=self.env_restarts(),
                 config=self.config.to_dict())
    return self.checkpoints.save(int(self.learner.num_updates),
                                 self.trackables(), extra)

  def env_restarts(self):
    return self.env_restarts_before + sum(
        a.env_restarts for a in self.actors)

  def start_threads(self):
    config = self.config
    self.queue = TrajectoryQueue(config.queue_capacity, self.stop,
                                 config.stall_timeout_secs)
    self.actors = []
    for thread in range(config.actor_threads):
      make_envs = builder.make_env_group_factory(config, self.task_set, thread,
                                                 self.generation)
      self.actors.append(ActorThread(
          thread, make_envs, self.policies[thread], self.store, self.queue,
          self.episodes, config.unroll_length, self.stop,
          max_env_restarts=config.max_env_restarts))
    self.staging = StagingArea(self.queue, config.batch_size,
                               self.learner.place, self.stop,
                               config.stall_timeout_secs)
    for actor in self.actors:
      actor.start()
    self.staging.start()

  def stop_threads(self, timeout=30.0):
    self.stop.request('the run ended')  # No-op if a stop was requested.
    deadline = time.monotonic() + timeout
    for actor in self.actors:
      actor.join(max(0.0, deadline - time.monotonic()))
    alive = [a.name for a in self.actors if a.is_alive()]
    if alive:
      print(f'Warning: threads still running after {timeout:.0f}s: {alive}',
            flush=True)

  def close(self):
    self.lock.release()


def _rss_megabytes():
  """Resident set size of this process now (Linux), else NaN."""
  try:
    with open('/proc/self/statm') as f:
      pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
  except (OSError, ValueError, IndexError):
    return float('nan')


def _summary_scalars(run, stats, lags, fps):
  """The periodic TensorBoard/CSV scalars (beside per-episode returns)."""
  scalars = {f'loss/{k}': stats[k]
             for k in ('total', 'policy_gradient', 'baseline', 'entropy')}
  all_lags = np.concatenate(lags) if lags else np.zeros(1)
  scalars.update({
      'learner/learning_rate': stats['learning_rate'],
      'learner/grad_norm': stats['grad_norm'],
      'vtrace/rho_clip_fraction': stats['rho_clip_fraction'],
      'vtrace/mean_log_rho': stats['mean_log_rho'],
      'policy/entropy': stats['policy_entropy'],
      'policy_lag/mean': float(np.mean(all_lags)),
      'policy_lag/max': float(np.max(all_lags)),
      'queue/fill': run.queue.size() / run.queue.capacity,
      'queue/actor_put_wait_seconds': run.queue.put_wait_seconds,
      'queue/staging_get_wait_seconds': run.queue.get_wait_seconds,
      'queue/learner_wait_seconds': run.staging.wait_seconds,
      'throughput/frames_per_second': fps,
      'actors/env_restarts': run.env_restarts(),
      'system/rss_megabytes': _rss_megabytes(),
  })
  return scalars


def _non_finite(stats):
  return {k: v for k, v in stats.items() if not math.isfinite(v)}


def train(config: Config, max_updates: Optional[int] = None,
          strategy=None, install_signal_handlers=True,
          max_seconds: Optional[float] = None,
          on_update=None, env_factory=None, stop=None) -> RunResult:
  """Trains until total_environment_frames (or max_updates, or a stop).

  Args:
    config: the run's Config.
    max_updates: stop after this many updates in this call.
    strategy: a tf.distribute strategy (default: from config).
    install_signal_handlers: SIGTERM/SIGINT checkpoint and stop (main thread;
      ignored when ``stop`` is given).
    max_seconds: stop after this much wall time in the learner loop.
    on_update: optional callback(frames, stats) after every update (used by
      the throughput benchmark).
    env_factory: optional (num_envs, seed) -> BatchedEnv for an environment
      that is not a named level (see builder.CustomTask).
    stop: a StopSignal the caller installed already (the training binary
      installs it before TensorFlow loads); default: a new one.

  Raises:
    ConfigError, EnvSetupError, CheckpointMismatchError: before training.
    TrainingError: the run stopped on a fault.
  """
  owns_handlers = stop is None and install_signal_handlers
  stop = stop or stopping.StopSignal()
  if owns_handlers:
    stop.install()
  try:
    run = _Run(config, stop, strategy, env_factory)
    try:
      return _loop(run, max_updates, max_seconds, on_update)
    finally:
      run.close()
  finally:
    if owns_handlers:
      stop.uninstall()


def _loop(run, max_updates, max_seconds, on_update):
  """The learner's main loop; the only place that ends the run."""
  config, learner, stop = run.config, run.learner, run.stop
  writer = metrics.MetricsWriter(config.logdir)
  progress = metrics.ProgressLine(config.total_environment_frames,
                                  interval_seconds=config.progress_secs)
  run.start_threads()
  updates_this_run = 0
  last_checkpoint = loop_start = time.monotonic()
  last_summary = 0.0
  frames_at_summary = int(learner.num_frames)
  time_at_summary = time.monotonic()
  lags = []  # Policy lag of every batch since the last summary.
  try:
    while True:
      if stop.requested:
        stopped_because = ('failure' if stop.failure else
                           f'stop requested ({stop.reason})')
        break
      if int(learner.num_frames) >= config.total_environment_frames:
        stopped_because = 'finished'
        break
      if max_updates is not None and updates_this_run >= max_updates:
        stopped_because = 'max_updates'
        break
      if max_seconds is not None and (
          time.monotonic() - loop_start > max_seconds):
        stopped_because = 'max_seconds'
        break
      try:
        batch, placed = run.staging.get()
      except QueueClosed:
        continue  # The loop head says why.
      except StallError as e:
        stop.fail(str(e))
        continue
      version_before = int(learner.num_updates)
      stats = learner.step(placed)
      updates_this_run += 1
      if _non_finite(stats):
        stop.fail(f'Non-finite loss at update {version_before + 1} '
                  f'({_non_finite(stats)}); stopping. The last good '
                  f'checkpoint is kept: {run.checkpoints.latest()}')
        continue
      run.store.publish(version_before + 1)
      frames = int(learner.num_frames)
      if on_update is not None:
        on_update(frames, stats)
      lags.append(version_before - batch.policy_version)
      for task_name, episode_return, length in run.episodes.drain_new():
        writer.scalars(frames, {f'episode_return/{task_name}': episode_return,
                                f'episode_length/{task_name}': length})
      now = time.monotonic()
      progress.maybe_print(frames, run.episodes.recent_mean(),
                           {'loss': stats['total']})
      if now - last_summary >= config.summary_secs:
        fps = (frames - frames_at_summary) / max(now - time_at_summary, 1e-9)
        frames_at_summary, time_at_summary = frames, now
        writer.scalars(frames, _summary_scalars(run, stats, lags, fps))
        lags = []
        last_summary = now
      if now - last_checkpoint >= config.checkpoint_secs:
        run.save()
        last_checkpoint = now
  finally:
    run.stop_threads()
    writer.close()
  checkpoint = run.checkpoints.latest()
  if stopped_because == 'failure':
    raise TrainingError(stop.failure)
  if updates_this_run:
    checkpoint = run.save()
  print(f'Stopped: {stopped_because} at {int(learner.num_frames):,} frames; '
        f'checkpoint {checkpoint}', flush=True)
  return RunResult(num_frames=int(learner.num_frames),
                   num_updates=int(learner.num_updates),
                   stopped_because=stopped_because, checkpoint=checkpoint,
                   env_restarts=run.env_restarts())
