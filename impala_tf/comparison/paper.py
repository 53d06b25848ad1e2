"""The paper's per-level results, as the comparison uses them.

The numbers are those shipped in ``impala_tf.scoring.paper_tables``:
  * Atari-57: Table C.1 (scores after 200M frames per game), columns
    impala_shallow_expert, impala_deep_expert, impala_deep_multitask;
  * DMLab-30: Table B.1 (test-level scores), columns impala_experts_deep,
    impala_deep_pbt_multitask (its human/random columns are references, not
    agents, and are not offered).
One column per suite is compared; ``choose_columns`` turns --paper_column into
that choice.
"""

import functools
from typing import Dict, Optional, Sequence

from impala_tf import scoring
from impala_tf.scoring import paper_tables

DEFAULT_COLUMNS = {scoring.ATARI57: 'impala_shallow_expert',
                   scoring.DMLAB30: 'impala_experts_deep'}
TABLE_NAMES = {scoring.ATARI57: 'Table C.1', scoring.DMLAB30: 'Table B.1'}
_REFERENCE_COLUMNS = ('human_paper', 'random_paper')


@functools.lru_cache(maxsize=None)
def _tables():
  return {
      scoring.ATARI57: paper_tables.atari57_table_c1(),
      scoring.DMLAB30: {column: values for column, values
                        in paper_tables.dmlab30_table_b1().items()
                        if column not in _REFERENCE_COLUMNS},
  }


def columns(family: str) -> Sequence[str]:
  """The agent columns of a suite's table (empty for other families)."""
  return tuple(_tables().get(family, {}))


def choose_columns(requested: Sequence[str]) -> Dict[str, str]:
  """{suite: column}: the defaults, replaced by each requested column in the
  suite whose table has it.

  Raises:
    ValueError: naming --paper_column, if a name is in neither table or two
      names are given for one suite.
  """
  chosen = dict(DEFAULT_COLUMNS)
  given: Dict[str, str] = {}
  for name in requested:
    suite = next((s for s in DEFAULT_COLUMNS if name in columns(s)), None)
    if suite is None:
      valid = ', '.join(c for s in DEFAULT_COLUMNS for c in columns(s))
      raise ValueError(f'--paper_column: unknown column {name!r}; valid: '
                       f'{valid}.')
    if suite in given:
      raise ValueError(f'--paper_column: {given[suite]!r} and {name!r} are '
                       f'both {TABLE_NAMES[suite]} columns; give one per '
                       'table.')
    given[suite] = chosen[suite] = name
  return chosen


def paper_score(family: str, column: str, key: str) -> Optional[float]:
  """The paper's score of a level in ``column`` (None: not in the table)."""
  return _tables().get(family, {}).get(column, {}).get(key)


def column_scores(family: str, column: str) -> Dict[str, float]:
  """{level key: score} of a whole column."""
  return dict(_tables()[family][column])


def describe(family: str, column: str) -> str:
  """E.g. 'paper Table C.1, impala_shallow_expert'."""
  return f'paper {TABLE_NAMES[family]}, {column}'
