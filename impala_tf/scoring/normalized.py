"""Human-normalised scores and the paper's DMLab-30 / Atari-57 aggregates.

    HNS(level, score) = 100 * (score - random) / (human - random)   [percent]

``score`` is a level's mean episode return (a float). Aggregates take a mapping
{level or game name: mean return} that must cover every level of the suite:
  * DMLab-30: mean over the 30 levels of min(HNS, 100) ("mean capped"); a
    ``*_train`` level is scored against its ``*_test`` references, as the
    original scalable_agent did.
  * Atari-57: median (the paper's headline) and mean of uncapped HNS.
Names are canonicalised (see ``references``); an unknown name, two names for
the same level, or a missing level raises ValueError naming them.
"""

from typing import Dict, Mapping, Optional

import numpy as np

from impala_tf.scoring import references

CAP = 100.0


def human_normalized_score(name: str, score: float,
                           family: Optional[str] = None) -> float:
  """HNS in percent of one level/game ('dmlab30'/'atari57' inferred if None)."""
  family, key = references.canonical_name(name, family)
  ref = references.reference_scores(family)[key]
  return 100.0 * (float(score) - ref.random) / (ref.human - ref.random)


def human_normalized_scores(scores: Mapping[str, float],
                            family: Optional[str] = None) -> Dict[str, float]:
  """{canonical name: HNS} for any subset of levels of one family."""
  result: Dict[str, float] = {}
  given: Dict[str, str] = {}
  fam = family
  for name, score in scores.items():
    # The first name fixes the family when none is given.
    fam, key = references.canonical_name(name, fam)
    if key in given:
      raise ValueError(f'{given[key]!r} and {name!r} are both the level '
                       f'{key!r}; give each level once.')
    given[key] = name
    result[key] = human_normalized_score(key, score, fam)
  return result


def _complete(scores: Mapping[str, float], family: str) -> Dict[str, float]:
  """HNS of every level of ``family``; raises ValueError if any is missing."""
  hns = human_normalized_scores(scores, family)
  missing = [name for name in references.names(family) if name not in hns]
  if missing:
    total = len(references.names(family))
    raise ValueError(f'{family} aggregate needs all {total} levels; missing '
                     f'{len(missing)}: {", ".join(missing)}')
  return hns


def dmlab30_capped_scores(scores: Mapping[str, float]) -> Dict[str, float]:
  """{level: min(HNS, 100)} for all 30 DMLab-30 levels (test-level keys)."""
  return {name: min(value, CAP)
          for name, value in _complete(scores, references.DMLAB30).items()}


def dmlab30_mean_capped_score(scores: Mapping[str, float]) -> float:
  """Mean over the 30 levels of min(HNS, 100), in percent."""
  return float(np.mean(list(dmlab30_capped_scores(scores).values())))


def atari57_median_score(scores: Mapping[str, float]) -> float:
  """Median HNS over the 57 Atari games, in percent."""
  return float(np.median(list(_complete(scores, references.ATARI57).values())))


def atari57_mean_score(scores: Mapping[str, float]) -> float:
  """Mean HNS over the 57 Atari games, in percent (uncapped)."""
  return float(np.mean(list(_complete(scores, references.ATARI57).values())))
