"""Arms of a settings group: the members that differ only in their seed.

A sweep whose settings repeat with several seeds (the Table 2 and Fig. E.1
analogues of results/) is read per arm: the arm's score is the mean over its
runs of each run's final score, with a bootstrap interval that resamples the
runs and, inside each, the episodes. Arms are listed best first, so the
ordering the paper's Table 2 discusses can be read off.
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np

from impala_tf.comparison import final as final_lib
from impala_tf.comparison import runs as runs_lib
from impala_tf.comparison import statistics

SEED_FIELD = runs_lib.SEED_FIELD


def arm_fields(fields: Sequence[str]) -> List[str]:
  """The differing config fields that define an arm (all but the seed)."""
  return [f for f in fields if f != SEED_FIELD]


def group_arms(configs: Dict[str, dict],
               fields: Sequence[str]) -> List[Tuple[tuple, List[str]]]:
  """[(arm key: values of ``fields``, [run names])], in order of first
  appearance. configs: {run name: config dict}."""
  arms: Dict[tuple, List[str]] = {}
  for name, config in configs.items():
    key = tuple(repr((config or {}).get(f)) for f in fields)
    arms.setdefault(key, []).append(name)
  return list(arms.items())


def has_repeated_arms(configs: Dict[str, dict], fields: Sequence[str]) -> bool:
  """Whether some arm has more than one run (the seeds differ)."""
  return SEED_FIELD in fields and any(
      len(names) > 1 for _, names in group_arms(configs, arm_fields(fields)))


def arm_rows(configs: Dict[str, dict], fields: Sequence[str],
             result: final_lib.LevelResult, num_resamples: int,
             rng: np.random.Generator, confidence: float):
  """Rows (values of ``fields``, runs, mean, (low, high) or None, per-run
  means, frames of the arm's least trained run or None) of one level, best
  mean first; arms without a score are left out."""
  scores = dict(result.per_run)
  rows = []
  for _, names in group_arms(configs, fields):
    scored = [scores[n] for n in names if n in scores]
    if not scored:
      continue
    samples = statistics.over_runs_and_episodes(
        [s.returns for s in scored], num_resamples, rng)
    bounds = (None if samples is None else
              statistics.interval(samples, confidence))
    values = [configs[names[0]].get(f) if configs[names[0]] else None
              for f in fields]
    frames = [s.frames for s in scored if s.frames is not None]
    rows.append((values, len(scored), float(np.mean([s.mean for s in scored])),
                 bounds, [s.mean for s in scored],
                 min(frames) if frames else None))
  rows.sort(key=lambda row: -row[2])
  return rows
