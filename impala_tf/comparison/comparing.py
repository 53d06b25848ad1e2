"""An entry (a run or a group of runs) made ready to compare with the paper:
its final score per level and the bootstrap samples behind its intervals.

  settings = Settings(final_episodes=100, ...)
  comparison = compare_entry(entry, settings)
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from impala_tf.comparison import final as final_lib
from impala_tf.comparison import paper
from impala_tf.comparison import runs as runs_lib
from impala_tf.comparison import statistics


@dataclasses.dataclass(frozen=True)
class Settings:
  """How scores are formed and resampled (the binary's flags)."""
  final_episodes: int = 100
  paper_columns: Tuple[Tuple[str, str], ...] = tuple(
      paper.DEFAULT_COLUMNS.items())
  num_resamples: int = 1000
  seed: int = 0
  confidence: float = 0.95
  smooth: float = 0.9

  def column(self, family: str) -> Optional[str]:
    return dict(self.paper_columns).get(family)


@dataclasses.dataclass
class EntryComparison:
  """An entry with its final scores and per-level bootstrap samples
  ([num_resamples] each; None where that resampling is not possible)."""
  entry: runs_lib.Entry
  results: Dict[runs_lib.Level, final_lib.LevelResult]
  over_episodes: Dict[runs_lib.Level, Optional[np.ndarray]]
  over_runs: Dict[runs_lib.Level, Optional[np.ndarray]]

  @property
  def label(self) -> str:
    return self.entry.label

  def families(self) -> List[str]:
    return sorted({level.family for level in self.results})

  def suite_scores(self, family: str) -> Dict[str, float]:
    """{level key: our score} of one suite."""
    return {level.key: result.mean for level, result in self.results.items()
            if level.family == family}


def compare_entry(entry: runs_lib.Entry,
                  settings: Settings) -> EntryComparison:
  """Final scores and bootstrap samples of one entry. Each kind of resampling
  starts a fresh generator seeded with ``settings.seed``, levels in order."""
  results = final_lib.entry_results(entry, settings.final_episodes)
  episodes_rng = np.random.default_rng(settings.seed)
  runs_rng = np.random.default_rng(settings.seed)
  over_episodes, over_runs = {}, {}
  for level in sorted(results):
    result = results[level]
    over_episodes[level] = statistics.level_over_episodes(
        [s.returns for s in result.scores], settings.num_resamples,
        episodes_rng)
    over_runs[level] = statistics.level_over_runs(
        [s.mean for s in result.scores], settings.num_resamples, runs_rng)
  return EntryComparison(entry, results, over_episodes, over_runs)


def paper_value(level: runs_lib.Level, settings: Settings) -> Optional[float]:
  column = settings.column(level.family)
  return None if column is None else paper.paper_score(level.family, column,
                                                       level.key)


def paper_reference(level: runs_lib.Level,
                    settings: Settings) -> Optional[Tuple[float, str]]:
  """(the paper's score, a label naming its table and column), or None: the
  dashed line of the plots."""
  value = paper_value(level, settings)
  return None if value is None else (
      value, paper.describe(level.family, settings.column(level.family)))
