"""The measuring window of a training run, picked out of its updates.

  window = UpdateWindow(warmup_updates, warmup_seconds, min_updates,
                        min_seconds)
  window.add(reading, frames) -> True once the window is complete
  window.measurement(frames_per_step) -> Measurement

Used by the end-to-end row (one process) and the distributed rows (several);
``reading`` is anything with ``wall`` and ``cpu`` seconds (a ClockReading).
Does not import TensorFlow.
"""

from impala_tf.benchmarks.measure import Measurement


class UpdateWindow:
  """Picks the measuring window out of the stream of learner updates.

  ``add(reading, frames)`` is called after every update with the clock and
  the learner's frame counter. The window starts at the first update that is
  at least the ``warmup_updates``-th and at least ``warmup_seconds`` after the
  first update (the first update includes tracing and the actors' start), and
  ends at the first update after which BOTH ``min_updates`` updates and
  ``min_seconds`` have passed since the start. ``add`` returns True then.
  """

  def __init__(self, warmup_updates, warmup_seconds, min_updates,
               min_seconds):
    if warmup_updates < 1 or min_updates < 1:
      raise ValueError('warmup_updates and min_updates must be >= 1, got '
                       f'{warmup_updates} and {min_updates}')
    self._warmup = (warmup_updates, warmup_seconds)
    self._minimum = (min_updates, min_seconds)
    self.updates = 0
    self.first_wall = None
    self.start = None  # (updates, reading, frames) at the window's start.
    self.end = None

  def add(self, reading, frames) -> bool:
    self.updates += 1
    if self.first_wall is None:
      self.first_wall = reading.wall
    if self.start is None:
      if (self.updates >= self._warmup[0] and
          reading.wall - self.first_wall >= self._warmup[1]):
        self.start = (self.updates, reading, frames)
      return False
    if self.end is None and (
        self.updates - self.start[0] >= self._minimum[0] and
        reading.wall - self.start[1].wall >= self._minimum[1]):
      self.end = (self.updates, reading, frames)
    return self.end is not None

  def measurement(self, frames_per_step):
    """The Measurement of the complete window (agent steps consumed)."""
    (u0, r0, f0), (u1, r1, f1) = self.start, self.end
    return Measurement.between(
        r0, r1, (f1 - f0) / frames_per_step, frames_per_step,
        notes=f'{(u1 - u0) / (r1.wall - r0.wall):.2f} updates/s')
