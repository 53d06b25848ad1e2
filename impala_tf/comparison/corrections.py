"""A sweep over the off-policy corrections, laid out as the paper's Table 2.

When the members of a settings group differ in ``correction`` (the Table 2
and Fig. E.1 analogues of results/), the report adds, per level, a table with
a row per correction in the paper's order and a column per combination of the
other fields that differ (replay capacity, policy lag, ...; never the seed):
each cell is the arm's final return pooled over its seeds, with the bootstrap
interval of ``arms`` and the arm's rank in its column (#1 = highest). The
paper's Table 2 (section 5.2.2, five DMLab tasks) follows once, with its
ranks, so the two orderings can be read side by side.
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np

from impala_tf.comparison import arms as arms_lib
from impala_tf.comparison import comparing
from impala_tf.comparison import markdown as md
from impala_tf.config import CORRECTIONS
from impala_tf.scoring import paper_tables

CORRECTION_FIELD = 'correction'


def is_correction_sweep(fields: Sequence[str]) -> bool:
  """Whether the members differ in their off-policy correction."""
  return CORRECTION_FIELD in fields


def ranks(values: Dict[str, float]) -> Dict[str, int]:
  """{name: rank}, 1 for the highest value; equal values share a rank."""
  return {name: 1 + sum(other > value for other in values.values())
          for name, value in values.items()}


def _column_label(keys: Sequence[str], values: Sequence) -> str:
  parts = [f'{k} {md.fmt_value(v)}' for k, v in zip(keys, values)
           if k != CORRECTION_FIELD]
  return ', '.join(parts) or 'all members'


def _sort_key(values: Sequence) -> tuple:
  """Numbers in numeric order, before anything else in text order."""
  return tuple((0, v, '') if isinstance(v, (int, float)) and
               not isinstance(v, bool) else (1, 0, str(v)) for v in values)


def pivot(keys: Sequence[str], rows) -> Tuple[List[str], Dict]:
  """Turns ``arms.arm_rows`` output into (column labels ordered by the other
  fields' values, {(correction, column label): (mean, bounds, runs,
  frames)})."""
  where = list(keys).index(CORRECTION_FIELD)
  columns, cells = {}, {}
  for values, count, mean, bounds, _, frames in rows:
    others = [v for i, v in enumerate(values) if i != where]
    column = _column_label(keys, values)
    columns[column] = _sort_key(others)
    cells[(values[where], column)] = (mean, bounds, count, frames)
  return sorted(columns, key=columns.get), cells


def _behind(frames, most) -> bool:
  """Whether an arm is short of the most trained arm (a running sweep)."""
  return frames is not None and most is not None and frames < 0.99 * most


def _order(keys_in_column: Dict[str, float]) -> str:
  """'a > b > c' by value (ties keep the paper's order)."""
  names = sorted(keys_in_column, key=lambda n: (-keys_in_column[n],
                                                _position(n)))
  return ' > '.join(names)


def _position(correction) -> int:
  return (CORRECTIONS.index(correction) if correction in CORRECTIONS
          else len(CORRECTIONS))


def ours_lines(c: comparing.EntryComparison, settings: comparing.Settings,
               configs, fields) -> List[str]:
  """Our arms per level, a row per correction and a column per setting of
  the other differing fields."""
  keys = arms_lib.arm_fields(fields)
  rng = np.random.default_rng(settings.seed)  # As arms_lines: same numbers.
  lines = [f'Off-policy corrections, laid out as paper Table 2 (final return '
           f'pooled over seeds, {settings.confidence:.0%} interval over seeds '
           'and episodes, rank in the column):', '']
  for level in sorted(c.results):
    rows = arms_lib.arm_rows(configs, keys, c.results[level],
                             settings.num_resamples, rng,
                             settings.confidence)
    columns, cells = pivot(keys, rows)
    corrections = sorted({name for name, _ in cells}, key=_position)
    column_ranks = {
        column: ranks({name: cells[(name, column)][0] for name in corrections
                       if (name, column) in cells}) for column in columns}
    known = [cell[3] for cell in cells.values() if cell[3] is not None]
    most = max(known) if known else None
    table_rows = []
    for name in corrections:
      row = [name]
      for column in columns:
        if (name, column) not in cells:
          row.append(md.NA)
          continue
        mean, bounds, count, frames = cells[(name, column)]
        seeds = '' if count == 1 else f', {count} runs'
        short = (f', only {md.fmt_frames(frames)} frames'
                 if _behind(frames, most) else '')
        row.append(f'{md.fmt_return(mean)} {md.fmt_interval(bounds)} '
                   f'(#{column_ranks[column][name]}{seeds}{short})')
      table_rows.append(row)
    lines += [f'{level.key}:', '']
    lines += md.table(['correction'] + columns, table_rows) + ['']
    lines += [f'- {column}: ' + _order(
        {name: cells[(name, column)][0] for name in corrections
         if (name, column) in cells}) for column in columns] + ['']
  return lines


def paper_lines() -> List[str]:
  """Paper Table 2 with each value's rank among the corrections."""
  table = paper_tables.table2()
  tasks = list(next(iter(table.values())))
  lines = ['Paper Table 2 (section 5.2.2; DMLab, shallow network, mean final '
           'return of the 3 best of 24 settings), rank among the corrections '
           'in brackets:', '']
  for replay in (False, True):
    corrections = sorted({name for r, name in table if r == replay},
                         key=_position)
    per_task = {task: ranks({name: table[(replay, name)][task]
                             for name in corrections}) for task in tasks}
    rows = [[name] + [f'{table[(replay, name)][task]:g} '
                      f'(#{per_task[task][name]})' for task in tasks]
            for name in corrections]
    title = 'with replay' if replay else 'without replay'
    firsts = {name: sum(per_task[t][name] == 1 for t in tasks)
              for name in corrections}
    lines += [f'{title.capitalize()}:', '']
    lines += md.table(['correction'] + tasks, rows) + ['']
    lines += [f'- first {title}: ' + ', '.join(
        f'{name} in {count} of {len(tasks)} tasks'
        for name, count in firsts.items() if count) + '.', '']
  return lines
