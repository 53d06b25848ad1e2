"""Final scores: one number per run and level, then per entry (run or group).

A run's final score on a level is
  * the evaluation's mean return when the run has an evaluation of that level
    (``eval/summary.json``, or the directory given with --eval_dir), the
    returns of ``episodes.csv`` being the episodes it averages;
  * otherwise the mean return of its last ``final_episodes`` training
    episodes (all of them, flagged as few, when there are fewer).
An entry's score on a level is the mean of its runs' final scores (the runs
that have one).
"""

import collections
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from impala_tf.comparison import runs as runs_lib

EVALUATION = 'evaluation'
TRAINING = 'training'


@dataclasses.dataclass(frozen=True)
class FinalScore:
  """A run's final score on one level.

  mean: the score; returns: [n] the episode returns it averages (empty when
  an evaluation summary came without episodes.csv); source: 'evaluation' or
  'training'; requested: --final_episodes (training) or the summary's count
  (evaluation); frames: frames of the evaluated checkpoint or of the last
  training episode (None if unknown).
  """
  mean: float
  returns: np.ndarray
  source: str
  requested: int
  frames: Optional[float]

  @property
  def few(self) -> bool:
    """Training score from fewer episodes than requested."""
    return self.source == TRAINING and len(self.returns) < self.requested


def final_score(run: runs_lib.Run, level: runs_lib.Level,
                final_episodes: int) -> Optional[FinalScore]:
  """The run's final score on ``level`` (None: no episode of it at all)."""
  evaluation = run.evaluation
  if evaluation is not None and level in evaluation.levels:
    found = evaluation.levels[level]
    returns = (found.returns if found.returns is not None
               else np.zeros([0], np.float64))
    return FinalScore(found.mean_return, returns, EVALUATION,
                      found.episodes or len(returns), evaluation.num_frames)
  return training_score(run, level, final_episodes)


def training_score(run: runs_lib.Run, level: runs_lib.Level,
                   final_episodes: int) -> Optional[FinalScore]:
  """Mean of the last ``final_episodes`` training episodes (None: none)."""
  curve = run.training.get(level)
  if curve is None or not len(curve.returns):
    return None
  last = curve.returns[-final_episodes:]
  return FinalScore(float(np.mean(last)), last, TRAINING, final_episodes,
                    float(curve.steps[-1]))


def describe(score: FinalScore) -> str:
  """How a score was obtained, for the report's 'source' column."""
  n = len(score.returns)
  if score.source == EVALUATION:
    return f'evaluation, {score.requested} episodes'
  if score.few:
    return f'training, only {n} episodes (< {score.requested})'
  return f'training, last {n} episodes'


@dataclasses.dataclass(frozen=True)
class LevelResult:
  """An entry's result on one level.

  per_run: [(run name, FinalScore)] for the runs with a score; mean: the
  mean of their means.
  """
  level: runs_lib.Level
  per_run: Tuple[Tuple[str, FinalScore], ...]

  @property
  def mean(self) -> float:
    return float(np.mean([score.mean for _, score in self.per_run]))

  @property
  def scores(self) -> List[FinalScore]:
    return [score for _, score in self.per_run]

  @property
  def few(self) -> bool:
    return any(score.few for score in self.scores)

  def source(self, group_size: int = 1) -> str:
    """A single run's description, or for a group of ``group_size`` runs
    how many runs' scores came from each source."""
    if group_size == 1:
      return describe(self.per_run[0][1])
    counts = collections.Counter(
        describe(s) if s.source == EVALUATION else
        (f'training, < {s.requested} episodes' if s.few
         else f'training, last {s.requested} episodes')
        for s in self.scores)
    return '; '.join(f'{text} ({n} of {group_size} runs)'
                     for text, n in sorted(counts.items()))


def entry_results(entry: runs_lib.Entry,
                  final_episodes: int) -> Dict[runs_lib.Level, LevelResult]:
  """{level: LevelResult} for every level any run of the entry has."""
  results = {}
  for level in entry.levels:
    per_run = []
    for run in entry.runs:
      score = final_score(run, level, final_episodes)
      if score is not None:
        per_run.append((run.name, score))
    if per_run:
      results[level] = LevelResult(level, tuple(per_run))
  return results
