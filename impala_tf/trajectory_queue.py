"""The bounded queue between actors and the learner.

Actors ``put`` batches of unrolls (numpy Trajectory objects); the staging
thread ``get``s them. The capacity bounds memory (backpressure: a full queue
makes actors wait). Every wait has a deadline: a wait longer than
``stall_timeout`` raises StallError naming the side that stalled, and every
wait gives up as soon as the run's stop signal (impala_tf.stopping) is set.
"""

import queue
import threading
import time
import traceback


class StallError(RuntimeError):
  """A blocking wait exceeded its deadline."""


class QueueClosed(Exception):
  """The run is stopping; nothing more will come through."""


class SourceUnavailable(Exception):
  """The far side of the data path refused or could not be reached (a
  remote learner); the message says why in one sentence."""


def run_until_closed(body, name, stop):
  """Runs a worker thread's ``body``; a closed queue is a normal end.

  A stall or an unavailable source stops the run through
  ``stop.fail(message)`` (a StopSignal) with its one-sentence message; any
  other exception with its traceback. Returns the exception, or None.
  """
  try:
    body()
  except QueueClosed:
    pass
  except (StallError, SourceUnavailable) as e:
    stop.fail(str(e))
    return e
  except Exception as e:  # pylint: disable=broad-except
    stop.fail(f'{name} failed: {e!r}\n{traceback.format_exc()}')
    return e
  return None


class TrajectoryQueue:
  """A bounded FIFO with stop-aware, time-limited put/get and wait statistics."""

  _POLL = 0.1

  def __init__(self, capacity, stop, stall_timeout=300.0):
    if capacity < 1:
      raise ValueError(f'capacity must be >= 1, got {capacity}.')
    self._queue = queue.Queue(maxsize=capacity)
    self._stop = stop
    self._stall_timeout = stall_timeout
    self.capacity = capacity
    self._lock = threading.Lock()
    self.put_wait_seconds = 0.0  # Actors blocked on a full queue.
    self.get_wait_seconds = 0.0  # Learner side blocked on an empty queue.

  def size(self):
    return self._queue.qsize()

  def put(self, item):
    start = time.monotonic()
    while True:
      if self._stop.is_set():
        raise QueueClosed()
      try:
        self._queue.put(item, timeout=self._POLL)
        break
      except queue.Full:
        if time.monotonic() - start > self._stall_timeout:
          raise StallError(
              f'actors waited {self._stall_timeout:.0f}s to enqueue an unroll:'
              ' the learner is not consuming (stalled or too slow).') from None
    with self._lock:
      self.put_wait_seconds += time.monotonic() - start

  def try_put(self, item, timeout):
    """Puts ``item`` if there is room within ``timeout`` seconds.

    For producers that can retry (remote actors): True if enqueued, False
    if the queue stayed full. Raises QueueClosed when the run stops.
    """
    start = time.monotonic()
    while time.monotonic() - start < timeout:
      if self._stop.is_set():
        raise QueueClosed()
      try:
        self._queue.put(item, timeout=min(self._POLL, timeout))
      except queue.Full:
        continue
      with self._lock:
        self.put_wait_seconds += time.monotonic() - start
      return True
    with self._lock:
      self.put_wait_seconds += time.monotonic() - start
    return False

  def get(self):
    start = time.monotonic()
    while True:
      if self._stop.is_set():
        raise QueueClosed()
      try:
        item = self._queue.get(timeout=self._POLL)
        break
      except queue.Empty:
        if time.monotonic() - start > self._stall_timeout:
          raise StallError(
              f'the learner waited {self._stall_timeout:.0f}s for unrolls: '
              'the actors are not producing (stalled or crashed).') from None
    with self._lock:
      self.get_wait_seconds += time.monotonic() - start
    return item
