"""Markdown tables and number formats of the comparison report."""

import math
import re
from typing import List, Optional, Sequence, Tuple

NA = '—'  # A value that does not exist (no paper score, no interval, ...).


def cell(text) -> str:
  """A Markdown table cell (pipes escaped)."""
  return str(text).replace('|', '\\|').replace('\n', ' ')


def table(header: Sequence[str], rows: Sequence[Sequence]) -> List[str]:
  lines = ['| ' + ' | '.join(cell(h) for h in header) + ' |',
           '|' + '|'.join('---' for _ in header) + '|']
  lines += ['| ' + ' | '.join(cell(c) for c in row) + ' |' for row in rows]
  return lines


def fmt_return(value: Optional[float]) -> str:
  return NA if value is None or not math.isfinite(value) else f'{value:.2f}'


def fmt_percent(value: Optional[float]) -> str:
  return NA if value is None or not math.isfinite(value) else f'{value:.1f}%'


def fmt_interval(bounds: Optional[Tuple[float, float]], percent=False,
                 missing: str = NA) -> str:
  if bounds is None:
    return missing
  fmt = fmt_percent if percent else fmt_return
  return f'[{fmt(bounds[0])}, {fmt(bounds[1])}]'


def fmt_value(value) -> str:
  """A config value: floats with 4 significant digits."""
  return f'{value:.4g}' if isinstance(value, float) else str(value)


def fmt_frames(frames: Optional[float]) -> str:
  if frames is None:
    return NA
  if frames >= 1e6:
    return f'{frames / 1e6:.2f}M'
  if frames >= 1e3:
    return f'{frames / 1e3:.1f}K'
  return f'{frames:.0f}'


def slug(text: str) -> str:
  """A file-name-safe version of a label or level name."""
  return re.sub(r'[^A-Za-z0-9_.-]+', '_', text).strip('_') or 'x'
