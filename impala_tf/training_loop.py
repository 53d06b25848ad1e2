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
from impala_tf.acting.local_actors import LocalActors
from impala_tf.config import Config
from impala_tf.params import ParameterStore
from impala_tf.replay import ReplayBuffer
from impala_tf.staging import StagingArea
from impala_tf.trajectory_queue import QueueClosed, StallError, TrajectoryQueue


RESTART_REQUESTED = 'restart requested'


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
  """Holds the parts of one run; ``close`` releases the run directory.

  ``make_actors(config, task_set, agent_factory, learner)`` gives the source
  of unrolls (default: LocalActors, threads in this process). Only the chief
  (the one learner of a one-process run) touches the run directory: lock,
  checkpoints, config.json, metrics; with several learners the others take
  the chief's state through an all-reduce after it restored.
  """

  def __init__(self, config: Config, stop, strategy=None, env_factory=None,
               make_actors=None, chief=True, signals=None):
    self.config = config.validate()
    self.stop = stop
    # Stop requests from outside (SIGTERM/SIGINT). One-process runs use the
    # pipeline's own signal; several learners keep them apart, so that a
    # request does not close this learner's pipeline before they agree.
    self.signals = signals or stop
    self.chief = chief
    self.task_set = builder.make_task_set(config, env_factory)
    self.lock = None
    if chief:
      run_directory.prepare(config.logdir)
      self.lock = run_directory.RunLock(config.logdir).acquire()
      run_directory.wait_while_held(config.logdir, self.signals)
    try:
      self._build(strategy, make_actors or _local_actors)
    except BaseException:
      self.close()
      raise

  def _build(self, strategy, make_actors):
    config = self.config
    builder.preflight(config, self.task_set)
    self.strategy = strategy or builder.make_strategy(config)
    agent_factory = builder.make_agent_factory(config, self.task_set)
    self.learner = builder.make_learner(config, self.task_set.spec,
                                        agent_factory, self.strategy)
    self.actors = make_actors(config, self.task_set, agent_factory,
                              self.learner)
    self.episodes = metrics.EpisodeStats(list(self.task_set.levels))
    self.generation = 0
    self.env_restarts_before = 0
    self.checkpoints = None
    if self.chief:
      self.checkpoints = checkpointing.CheckpointManager(
          os.path.join(config.logdir, 'checkpoints'))
      self._restore()
      _save_config(config)  # Only now: a refused restore leaves it alone.
    self.learner.sync_from_chief(self.chief)
    self.store = ParameterStore(self.learner.variables,
                                version=self.learner.updates,
                                lag=config.actor_policy_lag)

  def trackables(self):
    return dict(self.learner.trackables(), **self.actors.trackables())

  def _restore(self):
    restored = self.checkpoints.restore_latest(self.trackables())
    frames = 0
    if restored is not None:
      _, extra = restored
      self.episodes.load_state_dict(extra['episodes'])
      self.generation = extra['generation'] + 1
      self.env_restarts_before = extra.get('env_restarts', 0)
      # Hyperparameters come from the flags, also on a resume (a sweep or
      # PBT member may resume with new ones); epsilon is the one the
      # optimiser keeps in a variable, so it would be restored.
      self.learner.optimizer.epsilon.assign(self.config.epsilon)
      frames = self.learner.frames
      print(f'Resumed from {self.checkpoints.latest()} at {frames:,} frames, '
            f'{self.learner.updates:,} updates.', flush=True)
    dropped = metrics.drop_rows_after(self.config.logdir, frames)
    if dropped:
      print(f'Dropped {dropped:,} metrics.csv rows logged after frame '
            f'{frames:,} (by a run that stopped without a checkpoint).',
            flush=True)

  def save(self):
    """Writes a checkpoint (chief only); returns its path or None."""
    if not self.chief:
      return None
    extra = dict(episodes=self.episodes.state_dict(),
                 generation=self.generation,
                 env_restarts=self.env_restarts(),
                 config=self.config.to_dict())
    return self.checkpoints.save(self.learner.updates,
                                 self.trackables(), extra)

  def env_restarts(self):
    return self.env_restarts_before + self.actors.env_restarts()

  def start_threads(self):
    config = self.config
    self.queue = TrajectoryQueue(config.queue_capacity, self.stop,
                                 config.stall_timeout_secs)
    self.actors.start(self.queue, self.store, self.episodes, self.stop,
                      self.generation)
    self.staging = StagingArea(
        self.queue, self.learner.local_batch_size, self.learner.place,
        self.stop, config.stall_timeout_secs,
        max_policy_lag=config.max_policy_lag,
        learner_version=lambda: self.store.version,
        replay=_replay_buffer(config, self.generation),
        replay_proportion=config.replay_proportion)
    self.staging.start()

  def stop_threads(self, timeout=30.0):
    self.stop.request('the run ended')  # No-op if a stop was requested.
    alive = self.actors.join(timeout)
    if alive:
      print(f'Warning: threads still running after {timeout:.0f}s: {alive}',
            flush=True)

  def close(self):
    if self.lock is not None:
      self.lock.release()


def _replay_buffer(config, generation):
  """The learner's ReplayBuffer, or None without --replay_capacity."""
  if config.replay_capacity == 0:
    return None
  return ReplayBuffer(config.replay_capacity, seed=(config.seed, generation))


def _local_actors(config, task_set, agent_factory, learner):
  del learner
  return LocalActors(config, task_set, agent_factory)


def _rss_megabytes():
  """Resident set size of this process now (Linux), else NaN."""
  try:
    with open('/proc/self/statm') as f:
      pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
  except (OSError, ValueError, IndexError):
    return float('nan')


def _summary_scalars(run, stats, lags, replayed, fps):
  """The periodic TensorBoard/CSV scalars (beside per-episode returns).

  ``lags``: [B] policy lags of each batch (replayed unrolls included);
  ``replayed``: the replayed share of each batch, since the last summary.
  """
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
      'queue/unrolls_dropped_for_lag': run.staging.dropped_for_lag,
      'queue/replayed_fraction': float(np.mean(replayed)) if replayed else 0.0,
      'queue/replayed_unrolls': run.staging.replayed_unrolls,
      'system/rss_megabytes': _rss_megabytes(),
  })
  scalars.update(run.actors.scalars())
  return scalars


def _non_finite(stats):
  return {k: v for k, v in stats.items() if not math.isfinite(v)}


def train(config: Config, max_updates: Optional[int] = None,
          strategy=None, install_signal_handlers=True,
          max_seconds: Optional[float] = None,
          on_update=None, env_factory=None, stop=None, make_actors=None,
          chief=True, signals=None) -> RunResult:
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
    make_actors: (config, task_set, agent_factory, learner) -> the source of
      unrolls (default: actor threads in this process; the distributed
      learner job passes its RPC service).
    chief: this learner writes checkpoints, summaries and config.json.
    signals: stop requests from outside, if they must not close the pipeline
      at once (several learners); default: ``stop``.

  Raises:
    ConfigError, EnvSetupError, CheckpointMismatchError: before training.
    TrainingError: the run stopped on a fault.
  """
  owns_handlers = stop is None and install_signal_handlers
  stop = stop or stopping.StopSignal()
  if owns_handlers:
    stop.install()
  try:
    run = _Run(config, stop, strategy, env_factory, make_actors, chief,
               signals)
    try:
      return _loop(run, max_updates, max_seconds, on_update)
    finally:
      run.close()
  finally:
    if owns_handlers:
      stop.uninstall()


class _NoWriter:
  """What a non-chief learner writes: nothing."""

  def scalars(self, step, values):
    del step, values

  def close(self):
    pass


def _reason_to_stop(run, updates, elapsed, max_updates, max_seconds):
  """Why this learner wants to stop now, or None."""
  if run.stop.failure:
    return 'failure'
  if run.signals.requested or run.stop.requested:
    return f'stop requested ({run.signals.reason or run.stop.reason})'
  if run.chief and run_directory.restart_requested(run.config.logdir):
    return RESTART_REQUESTED
  if run.learner.frames >= run.config.total_environment_frames:
    return 'finished'
  if max_updates is not None and updates >= max_updates:
    return 'max_updates'
  if max_seconds is not None and elapsed > max_seconds:
    return 'max_seconds'
  return None


def _loop(run, max_updates, max_seconds, on_update):
  """The learner's main loop; the only place that ends the run.

  With several learners every one asks the others before each update, so
  that all stop after the same update (a stop only some of them saw would
  leave the others waiting in the all-reduce).
  """
  config, learner, stop = run.config, run.learner, run.stop
  writer = (metrics.MetricsWriter(config.logdir) if run.chief else
            _NoWriter())
  progress = metrics.ProgressLine(config.total_environment_frames,
                                  interval_seconds=config.progress_secs)
  run.start_threads()
  updates_this_run = 0
  last_checkpoint = loop_start = time.monotonic()
  last_summary = 0.0
  frames_at_summary = learner.frames
  time_at_summary = time.monotonic()
  lags = []  # Policy lag of every batch since the last summary.
  replayed = []  # Replayed share of every batch since the last summary.
  try:
    while True:
      stopped_because = _reason_to_stop(run, updates_this_run,
                                        time.monotonic() - loop_start,
                                        max_updates, max_seconds)
      if learner.num_workers > 1 and learner.agree_to_stop(
          stopped_because is not None) and stopped_because is None:
        stopped_because = 'another learner stopped'
      if stopped_because is not None:
        break
      try:
        batch, placed = run.staging.get()
      except QueueClosed:
        continue  # The loop head says why.
      except StallError as e:
        stop.fail(str(e))
        continue
      version_before = learner.updates
      stats = learner.step(placed)
      updates_this_run += 1
      if _non_finite(stats):
        kept = run.checkpoints.latest() if run.chief else 'the chief\'s'
        stop.fail(f'Non-finite loss at update {version_before + 1} '
                  f'({_non_finite(stats)}); stopping. The last good '
                  f'checkpoint is kept: {kept}')
        continue
      run.store.publish(version_before + 1)
      frames = learner.frames
      if on_update is not None:
        on_update(frames, stats)
      lags.append(version_before - batch.policy_version)
      replayed.append(run.staging.replayed_in_last_batch /
                      len(batch.policy_version))
      for task_name, episode_return, length in run.episodes.drain_new():
        writer.scalars(frames, {f'episode_return/{task_name}': episode_return,
                                f'episode_length/{task_name}': length})
      now = time.monotonic()
      if run.chief:
        progress.maybe_print(frames, run.episodes.recent_mean(),
                             {'loss': stats['total']})
      if now - last_summary >= config.summary_secs:
        fps = (frames - frames_at_summary) / max(now - time_at_summary, 1e-9)
        frames_at_summary, time_at_summary = frames, now
        writer.scalars(frames, _summary_scalars(run, stats, lags, replayed,
                                                fps))
        lags, replayed = [], []
        last_summary = now
      if now - last_checkpoint >= config.checkpoint_secs:
        run.save()
        last_checkpoint = now
  finally:
    run.stop_threads()
    writer.close()
  checkpoint = run.checkpoints.latest() if run.chief else None
  if stopped_because == 'failure':
    raise TrainingError(stop.failure)
  if updates_this_run:
    checkpoint = run.save()
  if stopped_because == RESTART_REQUESTED:
    run_directory.clear_restart_request(config.logdir)  # After the save.
  print(f'Stopped: {stopped_because} at {learner.frames:,} frames; '
        f'checkpoint {checkpoint}', flush=True)
  return RunResult(num_frames=learner.frames,
                   num_updates=learner.updates,
                   stopped_because=stopped_because, checkpoint=checkpoint,
                   env_restarts=run.env_restarts())
