"""The one-machine training run: actors -> queue -> staging -> learner.

  train(config, max_updates=None) -> RunResult

Data path: ActorThreads step environments and run batched inference with
their ActingPolicy, then enqueue unrolls into the TrajectoryQueue; the
StagingArea assembles and places the next batch while the Learner updates;
the Learner publishes each new version to the ParameterStore, from which
actors pull at the start of every unroll.

The run resumes from the newest checkpoint in ``<logdir>/checkpoints``
(learner network, optimiser slots, frame and update counters, actors' sampling
RNGs, per-task episode statistics). It checkpoints every checkpoint_secs, on
SIGTERM/SIGINT and at the end; a non-finite loss stops it without
overwriting the last good checkpoint.
"""

import dataclasses
import json
import math
import os
import threading
import time
from typing import Optional

import numpy as np

from impala_tf import builder
from impala_tf import checkpointing
from impala_tf import metrics
from impala_tf import stopping
from impala_tf.acting.actor import ActorThread
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import Config
from impala_tf.learning import Learner
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
  os.makedirs(config.logdir, exist_ok=True)
  path = os.path.join(config.logdir, 'config.json')
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)
  os.replace(tmp, path)


class _Run:
  """Holds the parts of one run; ``loop`` is the learner's main loop."""

  def __init__(self, config: Config, strategy=None, env_factory=None):
    self.config = config.validate()
    self.task_set = builder.make_task_set(config, env_factory)
    self._preflight()
    _save_config(config)
    self.strategy = strategy or builder.make_strategy(config)
    agent_factory = builder.make_agent_factory(config, self.task_set)
    self.learner = Learner(config, self.task_set.spec, agent_factory,
                           self.strategy)
    self.policies = [
        ActingPolicy(agent_factory(), self.task_set.spec,
                     seed=config.seed * 7919 + thread)
        for thread in range(config.actor_threads)]
    self.episodes = metrics.EpisodeStats(list(self.task_set.levels))
    self.checkpoints = checkpointing.CheckpointManager(
        os.path.join(config.logdir, 'checkpoints'))
    self.generation = 0
    self.env_restarts_before = 0
    self._restore()
    self.halt = threading.Event()
    self.errors = []
    self.actors = []
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
    if restored is None:
      return
    _, extra = restored
    self.episodes.load_state_dict(extra['episodes'])
    self.generation = extra['generation'] + 1
    self.env_restarts_before = extra.get('env_restarts', 0)
    print(f'Resumed from {self.checkpoints.latest()} at '
          f'{int(self.learner.num_frames):,} frames, '
          f'{int(self.learner.num_updates):,} updates.', flush=True)

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

  def on_thread_error(self, message):
    self.errors.append(message)
    self.halt.set()

  def start_threads(self):
    config = self.config
    self.queue = TrajectoryQueue(config.queue_capacity, self.halt,
                                 config.stall_timeout_secs)
    self.actors = []
    for thread in range(config.actor_threads):
      make_envs = builder.make_env_group_factory(config, self.task_set, thread,
                                                 self.generation)
      self.actors.append(ActorThread(
          thread, make_envs, self.policies[thread], self.store, self.queue,
          self.episodes, config.unroll_length, self.halt,
          max_env_restarts=config.max_env_restarts,
          on_error=self.on_thread_error))
    self.staging = StagingArea(self.queue, config.batch_size,
                               self.learner.place, self.halt,
                               config.stall_timeout_secs,
                               on_error=self.on_thread_error)
    for actor in self.actors:
      actor.start()
    self.staging.start()

  def stop_threads(self, timeout=30.0):
    self.halt.set()
    deadline = time.monotonic() + timeout
    for actor in self.actors:
      actor.join(max(0.0, deadline - time.monotonic()))
    alive = [a.name for a in self.actors if a.is_alive()]
    if alive:
      print(f'Warning: threads still running after {timeout:.0f}s: {alive}',
            flush=True)


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


def _finite(stats):
  return all(math.isfinite(v) for v in stats.values())


def train(config: Config, max_updates: Optional[int] = None,
          strategy=None, install_signal_handlers=True,
          max_seconds: Optional[float] = None,
          on_update=None, env_factory=None) -> RunResult:
  """Trains until total_environment_frames (or max_updates, or a stop).

  Args:
    config: the run's Config.
    max_updates: stop after this many updates in this call.
    strategy: a tf.distribute strategy (default: from config).
    install_signal_handlers: SIGTERM/SIGINT checkpoint and stop (main thread).
    max_seconds: stop after this much wall time in the learner loop.
    on_update: optional callback(frames, stats) after every update (used by
      the throughput benchmark).
    env_factory: optional (num_envs, seed) -> BatchedEnv for an environment
      that is not a named level (see builder.CustomTask).
  """
  run = _Run(config, strategy, env_factory)
  learner = run.learner
  writer = metrics.MetricsWriter(config.logdir)
  progress = metrics.ProgressLine(config.total_environment_frames,
                                  interval_seconds=config.progress_secs)
  stop = stopping.StopSignal()
  if install_signal_handlers:
    stop.install()
  run.start_threads()
  stopped_because = 'finished'
  last_checkpoint = time.monotonic()
  last_summary = 0.0
  good_to_save = True
  updates_this_run = 0
  loop_start = time.monotonic()
  frames_at_summary = int(learner.num_frames)
  time_at_summary = time.monotonic()
  lags = []  # Policy lag of every batch since the last summary.
  try:
    while True:
      if int(learner.num_frames) >= config.total_environment_frames:
        break
      if max_updates is not None and updates_this_run >= max_updates:
        stopped_because = 'max_updates'
        break
      if max_seconds is not None and time.monotonic() - loop_start > (
          max_seconds):
        stopped_because = 'max_seconds'
        break
      if stop.requested:
        stopped_because = f'stop requested ({stop.reason})'
        break
      if run.errors or run.halt.is_set():
        break
      try:
        batch, placed = run.staging.get(interrupted=lambda: stop.requested)
      except QueueClosed:
        continue  # Loop head reports why (stop or a thread error).
      except StallError as e:
        stopped_because = 'stall'
        raise TrainingError(str(e)) from None
      version_before = int(learner.num_updates)
      stats = learner.step(placed)
      updates_this_run += 1
      if not _finite(stats):
        good_to_save = False
        stopped_because = 'non-finite loss'
        raise TrainingError(
            f'Non-finite loss at update {version_before + 1} '
            f'({ {k: v for k, v in stats.items() if not math.isfinite(v)} }); '
            'stopping. The last good checkpoint is kept: '
            f'{run.checkpoints.latest()}')
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
    if run.errors:
      stopped_because = 'thread error'
      raise TrainingError(run.errors[0])
  finally:
    run.stop_threads()
    checkpoint = run.checkpoints.latest()
    if good_to_save and not run.errors:
      checkpoint = run.save()
    writer.close()
    if install_signal_handlers:
      stop.uninstall()
  print(f'Stopped: {stopped_because} at {int(learner.num_frames):,} frames; '
        f'checkpoint {checkpoint}', flush=True)
  return RunResult(num_frames=int(learner.num_frames),
                   num_updates=int(learner.num_updates),
                   stopped_because=stopped_because, checkpoint=checkpoint,
                   env_restarts=run.env_restarts())
