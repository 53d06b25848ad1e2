"""A rate-limited one-line console progress report for the learner loop.

  [  1.23M / 200.00M  0.6%]  6,412 fps  ETA 8h41m  return(100) -20.31  loss 12.3

fps is measured over the frames and time since the previous printed line (so
it follows the current speed, not the average since start) and the ETA is the
remaining frames at that speed.
"""

import math
import time

_UNITS = ((1e9, 'G'), (1e6, 'M'), (1e3, 'K'))


def _unit_for(total):
  for scale, suffix in _UNITS:
    if total >= scale:
      return scale, suffix
  return 1.0, ''


def format_duration(seconds):
  """Compact duration: '45s', '12m05s', '8h41m', '3d04h'; '?' if unknown."""
  if seconds is None or not math.isfinite(seconds) or seconds < 0:
    return '?'
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds}s'
  minutes, seconds = divmod(seconds, 60)
  if minutes < 60:
    return f'{minutes}m{seconds:02d}s'
  hours, minutes = divmod(minutes, 60)
  if hours < 24:
    return f'{hours}h{minutes:02d}m'
  days, hours = divmod(hours, 24)
  return f'{days}d{hours:02d}h'


def _format_value(value):
  if isinstance(value, bool):
    return str(value)
  if isinstance(value, int):
    return f'{value:,}'
  try:
    return f'{float(value):.4g}'
  except (TypeError, ValueError):
    return str(value)


class ProgressLine:
  """Prints a progress line at most every ``interval_seconds``.

  The first ``maybe_print`` call only starts the clock (there is no speed to
  report yet) unless ``force`` is given.
  """

  def __init__(self, total_frames, interval_seconds=5.0, print_fn=print,
               clock=time.monotonic, return_window=100):
    """Creates the reporter.

    Args:
      total_frames: the run's frame budget (for the percentage and ETA).
      interval_seconds: minimum time between two printed lines.
      print_fn: called with each line (a str).
      clock: monotonic clock in seconds (injectable for tests).
      return_window: the episode window shown as ``return(N)``.
    """
    if total_frames <= 0:
      raise ValueError(f'total_frames must be positive, got {total_frames}.')
    if interval_seconds < 0:
      raise ValueError(f'interval_seconds must be >= 0, got '
                       f'{interval_seconds}.')
    self._total = total_frames
    self._interval = float(interval_seconds)
    self._print_fn = print_fn
    self._clock = clock
    self._return_window = return_window
    self._last_time = None
    self._last_frames = None
    self._scale, self._suffix = _unit_for(total_frames)

  def maybe_print(self, frames, recent_return, extra=None, force=False):
    """Prints a line if ``interval_seconds`` have passed since the last one.

    Args:
      frames: environment frames consumed so far.
      recent_return: mean return over the recent episodes, None if none yet.
      extra: optional {name: value} appended as ``name value``.
      force: print now, whatever the time since the last line.

    Returns:
      The printed line, or None if nothing was printed.
    """
    now = self._clock()
    if self._last_time is None and not force:
      self._last_time, self._last_frames = now, frames
      return None
    if not force and now - self._last_time < self._interval:
      return None
    fps = None
    if self._last_time is not None and now > self._last_time:
      fps = (frames - self._last_frames) / (now - self._last_time)
    line = self.format_line(frames, fps, recent_return, extra)
    self._last_time, self._last_frames = now, frames
    self._print_fn(line)
    return line

  def format_line(self, frames, fps, recent_return, extra=None):
    """The line for the given numbers (``fps`` None if unknown)."""
    total_text = f'{self._total / self._scale:.2f}'
    frames_text = f'{frames / self._scale:.2f}'.rjust(len(total_text))
    percent = 100.0 * frames / self._total
    parts = [f'[{frames_text}{self._suffix} / {total_text}{self._suffix}  '
             f'{percent:.1f}%]']
    remaining = max(0, self._total - frames)
    if fps is None or not math.isfinite(fps):
      parts.append('- fps')
      eta = 0.0 if remaining == 0 else None
    else:
      parts.append(f'{fps:,.0f} fps')
      if remaining == 0:
        eta = 0.0
      elif fps > 0:
        eta = remaining / fps
      else:
        eta = None
    parts.append(f'ETA {format_duration(eta)}')
    return_text = ('n/a' if recent_return is None
                   else f'{float(recent_return):.2f}')
    parts.append(f'return({self._return_window}) {return_text}')
    for name, value in (extra or {}).items():
      parts.append(f'{name} {_format_value(value)}')
    return '  '.join(parts)
