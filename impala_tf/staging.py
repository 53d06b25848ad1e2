"""StagingArea-style double buffering between the queue and the learner.

A background thread takes unroll chunks from the TrajectoryQueue, assembles
exactly ``batch_size`` unrolls (a chunk larger than needed is split and its
rest kept for the next batch), turns them into tensors placed for the learner
(one device, or split over the replicas of a MirroredStrategy) and parks the
result in a one-slot buffer. So batch k + 1 is assembled and transferred while
the learner runs step k.

  StagingArea(queue, batch_size, place_fn, stop, ...).get()
      -> (batch [T+1, batch_size] numpy, placed batch)

With ``max_policy_lag`` > 0, unrolls acted with parameters more than that many
updates older than the learner's (``learner_version()``) are dropped here,
whichever source they came from, and counted in ``dropped_for_lag``.

With a ``replay`` buffer (impala_tf.replay, paper section 5.2.2), each batch is
replayed_per_batch(batch_size, replay_proportion) unrolls sampled from the
buffer after the fresh ones from the queue; until the buffer holds that many,
batches are all fresh. Every fresh unroll of a batch then enters the buffer
(after the sampling, so a batch never holds an unroll twice). The policy-lag
filter applies to fresh unrolls only: replayed ones are old by design.
``replayed_in_last_batch`` is the number of replayed unrolls in the batch
``get`` returned last; ``replayed_unrolls`` counts them over the run.
"""

import numpy as np

import queue as queue_lib
import threading
import time

from impala_tf import replay as replay_lib
from impala_tf import trajectory as trajectory_lib
from impala_tf.trajectory_queue import QueueClosed, StallError
from impala_tf.trajectory_queue import run_until_closed


class StagingArea:
  """Prefetches one placed batch ahead of the learner."""

  _POLL = 0.1

  def __init__(self, source, batch_size, place_fn, stop,
               stall_timeout=300.0, max_policy_lag=0,
               learner_version=lambda: 0, replay=None, replay_proportion=0.5):
    self._source = source
    self._batch_size = batch_size
    self._place = place_fn
    self._stop = stop
    self._stall_timeout = stall_timeout
    self._ready = queue_lib.Queue(maxsize=1)
    self._leftover = None
    self._max_policy_lag = max_policy_lag
    self._learner_version = learner_version
    self.dropped_for_lag = 0
    self._replay = replay
    self._replay_per_batch = (
        replay_lib.replayed_per_batch(batch_size, replay_proportion)
        if replay is not None else 0)
    self.replayed_in_last_batch = 0
    self.replayed_unrolls = 0
    self.wait_seconds = 0.0
    self._thread = threading.Thread(target=self._run, name='staging',
                                    daemon=True)

  def start(self):
    self._thread.start()
    return self

  def _fresh(self, chunk):
    """The unrolls of ``chunk`` within the allowed policy lag (all if 0)."""
    if self._max_policy_lag <= 0:
      return chunk
    lag = self._learner_version() - chunk.policy_version
    keep = np.flatnonzero(lag <= self._max_policy_lag)
    if len(keep) == len(lag):
      return chunk
    self.dropped_for_lag += len(lag) - len(keep)
    return trajectory_lib.take(chunk, keep)

  def _take_fresh(self, count):
    """``count`` unrolls from the queue (lag-filtered), in arrival order."""
    parts, have = [], 0
    while have < count:
      chunk = self._leftover if self._leftover is not None else (
          self._fresh(self._source.get()))
      self._leftover = None
      size = trajectory_lib.batch_size_of(chunk)
      if size == 0:
        continue
      need = count - have
      if size > need:
        self._leftover = trajectory_lib.slice_batch(chunk, need, size)
        chunk = trajectory_lib.slice_batch(chunk, 0, need)
        size = need
      parts.append(chunk)
      have += size
    return trajectory_lib.concat(parts)

  def _assemble(self):
    """(batch [T+1, batch_size], number of replayed unrolls in it)."""
    replayed = self._replay_per_batch
    if self._replay is None or len(self._replay) < replayed:
      replayed = 0
    fresh = self._take_fresh(self._batch_size - replayed)
    if self._replay is None:
      return fresh, 0
    batch = fresh
    if replayed:
      batch = trajectory_lib.concat([fresh, self._replay.sample(replayed)])
    self._replay.add(fresh)
    return batch, replayed

  def _run(self):
    run_until_closed(self._fill, 'staging thread', self._stop)

  def _fill(self):
    while not self._stop.is_set():
      batch, replayed = self._assemble()
      item = (batch, self._place(batch), replayed)
      while not self._stop.is_set():
        try:
          self._ready.put(item, timeout=self._POLL)
          break
        except queue_lib.Full:
          continue

  def get(self):
    """(numpy batch, placed batch) for the next learner step.

    Raises QueueClosed when the run stops.
    """
    start = time.monotonic()
    while True:
      if self._stop.is_set():
        raise QueueClosed()
      try:
        batch, placed, replayed = self._ready.get(timeout=self._POLL)
        self.wait_seconds += time.monotonic() - start
        self.replayed_in_last_batch = replayed
        self.replayed_unrolls += replayed
        return batch, placed
      except queue_lib.Empty:
        if time.monotonic() - start > self._stall_timeout:
          raise StallError(
              f'the learner waited {self._stall_timeout:.0f}s for a staged '
              'batch: the actors or the staging thread stalled.') from None
