"""Aggregates as the paper computes them, on any subset of a suite, with
bootstrap confidence intervals; and the paper's Table 2 statistic.

Human-normalised score (HNS) of a mean return x on a level with human and
random reference returns h and r: 100 * (x - r) / (h - r), in percent, with
the references of ``impala_tf.scoring``. Aggregates (paper Table 4 and
Table 3):
  * Atari-57: median and mean HNS over the games;
  * DMLab-30: mean over the levels of min(HNS, 100) ("mean capped").
Computed here over whichever levels were run; the paper's aggregates are over
all 57 games / 30 levels.

Bootstrap (percentile intervals). Levels are resampled independently of each
other (a stratified bootstrap): for each level, either the episodes behind
each run's final score are drawn with replacement (over episodes), or the
runs' final scores are (over runs, for groups of runs); each resample gives a
mean return per level and then an aggregate.

Paper Table 2 statistic: the mean of the final returns of the 3 best of the
24 hyperparameter settings of a sweep (``top_k_mean``).
"""

from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from impala_tf import scoring
from impala_tf.scoring import references

CAP = 100.0
TABLE2_BEST = 3
_MAX_PICKS = 4_000_000  # Indices drawn at once by resample_means.


def hns(family: str, keys: Sequence[str], returns: np.ndarray) -> np.ndarray:
  """HNS in percent. returns: [..., L] mean returns of levels ``keys`` [L]."""
  refs = scoring.reference_scores(family)
  human = np.array([refs[k].human for k in keys], np.float64)
  random = np.array([refs[k].random for k in keys], np.float64)
  return 100.0 * (np.asarray(returns, np.float64) - random) / (human - random)


def _median(h):
  return np.median(h, axis=-1)


def _mean(h):
  return np.mean(h, axis=-1)


def _mean_capped(h):
  return np.mean(np.minimum(h, CAP), axis=-1)


# Suite -> ((name, function of HNS [..., L] -> [...]), ...).
AGGREGATES: Dict[str, Tuple[Tuple[str, Callable], ...]] = {
    scoring.ATARI57: (('median HNS', _median), ('mean HNS', _mean)),
    scoring.DMLAB30: (('mean capped HNS', _mean_capped),),
}


def aggregates(family: str, keys: Sequence[str],
               returns: np.ndarray) -> Dict[str, np.ndarray]:
  """{aggregate name: value [...]} of mean returns [..., L] on ``keys``."""
  h = hns(family, keys, returns)
  return {name: fn(h) for name, fn in AGGREGATES[family]}


def subset_aggregates(family: str,
                      scores: Mapping[str, float]) -> Dict[str, float]:
  """{aggregate name: percent} of {level key: mean return} (any subset)."""
  keys = sorted(scores)
  values = np.array([scores[k] for k in keys], np.float64)
  return {name: float(v) for name, v in
          aggregates(family, keys, values).items()}


def suite_size(family: str) -> int:
  """Number of levels of a suite (57 or 30)."""
  return len(references.names(family))


def missing_levels(family: str, keys) -> List[str]:
  """The suite's levels not in ``keys``, in table order."""
  have = set(keys)
  return [name for name in references.names(family) if name not in have]


def resample_means(values: np.ndarray, num_resamples: int,
                   rng: np.random.Generator) -> np.ndarray:
  """Means of ``num_resamples`` resamples with replacement of values [n];
  returns [num_resamples]."""
  values = np.asarray(values, np.float64)
  if values.ndim != 1 or not len(values):
    raise ValueError(f'values must be a non-empty vector, got shape '
                     f'{values.shape}.')
  n = len(values)
  per_chunk = max(1, _MAX_PICKS // n)  # Bounds memory for long vectors.
  means = []
  for start in range(0, num_resamples, per_chunk):
    size = min(per_chunk, num_resamples - start)
    means.append(values[rng.integers(0, n, size=(size, n))].mean(axis=1))
  return np.concatenate(means)


def level_over_episodes(run_returns: Sequence[np.ndarray], num_resamples: int,
                        rng: np.random.Generator) -> Optional[np.ndarray]:
  """Bootstrap of a level's score, the mean over runs of each run's mean
  episode return, resampling each run's episodes [n_i]; [num_resamples], or
  None if a run has no episodes to resample."""
  if not run_returns or any(len(r) == 0 for r in run_returns):
    return None
  return np.mean([resample_means(r, num_resamples, rng) for r in run_returns],
                 axis=0)


def level_over_runs(run_means: Sequence[float], num_resamples: int,
                    rng: np.random.Generator) -> Optional[np.ndarray]:
  """Bootstrap of a level's score resampling the runs' final scores [m];
  [num_resamples], or None with fewer than 2 runs."""
  if len(run_means) < 2:
    return None
  return resample_means(np.asarray(run_means), num_resamples, rng)


def interval(samples: np.ndarray, confidence: float) -> Tuple[float, float]:
  """Percentile interval of bootstrap samples [num_resamples]."""
  if not 0.0 < confidence < 1.0:
    raise ValueError(f'confidence must be in (0, 1), got {confidence}.')
  tail = 100.0 * (1.0 - confidence) / 2.0
  low, high = np.percentile(samples, [tail, 100.0 - tail])
  return float(low), float(high)


def aggregate_intervals(family: str, level_samples: Mapping[str, np.ndarray],
                        confidence: float) -> Dict[str, Tuple[float, float]]:
  """Intervals of each aggregate from per-level bootstrap samples
  {key: [num_resamples]} (the same number for every level)."""
  keys = sorted(level_samples)
  stacked = np.stack([level_samples[k] for k in keys], axis=-1)  # [R, L]
  return {name: interval(values, confidence)
          for name, values in aggregates(family, keys, stacked).items()}


def top_k_mean(values: Sequence[float], k: int = TABLE2_BEST) -> float:
  """Mean of the ``k`` largest values (of all of them if fewer)."""
  if not len(values):
    raise ValueError('top_k_mean needs at least one value.')
  ordered = np.sort(np.asarray(values, np.float64))[::-1]
  return float(np.mean(ordered[:k]))


def over_runs_and_episodes(run_returns: Sequence[np.ndarray],
                           num_resamples: int,
                           rng: np.random.Generator) -> Optional[np.ndarray]:
  """Two-stage bootstrap of the mean over runs (seeds) of each run's mean
  episode return: every resample draws the runs with replacement, then each
  drawn run's episodes with replacement. run_returns: [m] vectors [n_i];
  returns [num_resamples], or None if a run has no episodes. With one run it
  is the bootstrap over that run's episodes."""
  if not run_returns or any(len(r) == 0 for r in run_returns):
    return None
  per_run = np.stack([resample_means(r, num_resamples, rng)
                      for r in run_returns])  # [m, R]
  picks = rng.integers(0, len(run_returns),
                       size=(num_resamples, len(run_returns)))  # [R, m]
  return per_run[picks, np.arange(num_resamples)[:, None]].mean(axis=1)
