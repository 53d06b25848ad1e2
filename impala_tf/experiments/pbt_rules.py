"""Population based training's rules (paper Appendix F), as pure functions.

  is_ready(frames, episodes_since_ready, burn_in_frames, ready_episodes)
  exploit(member, fitness, rng, threshold) -> donor index or None
  explore(hyperparameters, rng, names, factor, probability) -> new dict
  fitness(kind, returns_by_level) -> float

Paper Appendix F (DMLab-30; the Atari-57 multi-task agent likewise):
  * no evolution during a burn-in of 20M frames;
  * a member is ready once it has collected 5,000 episode returns since it
    last evolved; its fitness is then computed on those episodes;
  * exploit: compare with one other member chosen uniformly at random; if
    that member's fitness is more than 5 points higher (absolute), copy its
    weights and hyperparameters;
  * explore (whether or not it copied): each of the learning rate, entropy
    cost and RMSProp epsilon (and, for Atari, the gradient-clipping
    threshold) is multiplied, with probability 1/3 each, by 1.2 or 1/1.2
    (equally likely: unbiased, unlike the 0.8/1.2 of Jaderberg et al.).
Fitness: the mean capped human-normalised score for DMLab-30, the median
human-normalised score for Atari-57, the mean return for a single level.
"""

import math
from typing import Dict, Mapping, Optional, Sequence

from impala_tf import scoring

BURN_IN_FRAMES = 20_000_000
READY_EPISODES = 5_000
EXPLOIT_THRESHOLD = 5.0
PERTURB_FACTOR = 1.2
PERTURB_PROBABILITY = 1.0 / 3.0
DMLAB_HYPERPARAMETERS = ('learning_rate', 'entropy_cost', 'epsilon')
ATARI_HYPERPARAMETERS = DMLAB_HYPERPARAMETERS + ('max_grad_norm',)
FITNESS_KINDS = ('dmlab30', 'atari57', 'mean_return')


def is_ready(frames, episodes_since_ready, burn_in_frames=BURN_IN_FRAMES,
             ready_episodes=READY_EPISODES):
  """A member evolves once past the burn-in with enough new episodes."""
  return frames >= burn_in_frames and episodes_since_ready >= ready_episodes


def exploit(member: int, fitness: Sequence[Optional[float]], rng,
            threshold: float = EXPLOIT_THRESHOLD) -> Optional[int]:
  """The member to copy from, or None.

  One other member is drawn uniformly (``rng.integers``); it is the donor
  if its fitness is more than ``threshold`` above ``member``'s (strictly:
  exactly ``threshold`` more does not copy). Members without a fitness yet
  (None) never win and are never beaten.
  """
  others = [i for i in range(len(fitness)) if i != member]
  if not others:
    return None
  other = others[int(rng.integers(len(others)))]
  mine, theirs = fitness[member], fitness[other]
  if mine is None or theirs is None:
    return None
  return other if theirs - mine > threshold else None


def explore(hyperparameters: Mapping[str, float], rng,
            names: Sequence[str] = DMLAB_HYPERPARAMETERS,
            factor: float = PERTURB_FACTOR,
            probability: float = PERTURB_PROBABILITY) -> Dict[str, float]:
  """Each of ``names`` multiplied by factor or 1/factor w.p. ``probability``.

  Two draws per name (``rng.uniform``): whether to perturb, then which way,
  so up and down are equally likely. Other keys are copied unchanged.
  """
  result = dict(hyperparameters)
  for name in names:
    if rng.uniform() < probability:
      up = rng.uniform() < 0.5
      result[name] = hyperparameters[name] * (factor if up else 1.0 / factor)
  return result


def fitness(kind: str, returns_by_level: Mapping[str, Sequence[float]]):
  """Fitness of a member from its recent episode returns per level.

  Raises:
    ValueError: unknown kind, no episodes, or (dmlab30/atari57) levels of
      the suite without episodes.
  """
  if kind not in FITNESS_KINDS:
    raise ValueError(f'fitness must be one of {FITNESS_KINDS}, got {kind!r}.')
  means = {level: sum(r) / len(r) for level, r in returns_by_level.items()
           if len(r)}
  if not means:
    raise ValueError('no episodes to compute a fitness from.')
  if kind == 'dmlab30':
    return scoring.dmlab30_mean_capped_score(means)
  if kind == 'atari57':
    return scoring.atari57_median_score(means)
  total = sum(sum(r) for r in returns_by_level.values())
  count = sum(len(r) for r in returns_by_level.values())
  value = total / count
  if not math.isfinite(value):
    raise ValueError(f'non-finite mean return {value}.')
  return value
