"""PBT's exploit/explore rules against hand-computed cases (paper App. F)."""

import numpy as np
import pytest

from impala_tf.experiments import pbt_rules


class _Scripted:
  """An rng whose draws are given in advance (to hand-compute outcomes)."""

  def __init__(self, integers=(), uniforms=()):
    self._integers, self._uniforms = list(integers), list(uniforms)

  def integers(self, high):
    value = self._integers.pop(0)
    assert 0 <= value < high
    return value

  def uniform(self):
    return self._uniforms.pop(0)


def test_ready_after_burn_in_and_enough_episodes():
  assert not pbt_rules.is_ready(19_999_999, 10_000)
  assert not pbt_rules.is_ready(20_000_000, 4_999)
  assert pbt_rules.is_ready(20_000_000, 5_000)
  assert pbt_rules.is_ready(100, 3, burn_in_frames=100, ready_episodes=3)


@pytest.mark.parametrize('theirs,copies', [
    (15.0, False),        # Exactly 5 points more: not "more than 5".
    (15.0001, True),
    (30.0, True),
    (9.0, False),
    (None, False),
])
def test_exploit_copies_only_when_more_than_5_points_better(theirs, copies):
  fitness = [10.0, theirs, 50.0]
  # Member 0 draws index 0 of its others [1, 2], i.e. member 1.
  donor = pbt_rules.exploit(0, fitness, _Scripted(integers=[0]))
  assert donor == (1 if copies else None)


def test_exploit_never_picks_itself_and_picks_uniformly():
  rng = np.random.default_rng(0)
  picks = [pbt_rules.exploit(2, [100.0] * 2 + [0.0] + [100.0] * 3, rng)
           for _ in range(6000)]
  counts = np.bincount(picks, minlength=6)
  assert counts[2] == 0
  assert all(abs(c - 1200) < 150 for i, c in enumerate(counts) if i != 2)


def test_explore_by_hand():
  hp = dict(learning_rate=1e-3, entropy_cost=1e-2, epsilon=0.1, other=7)
  # learning rate: perturbed (0.1 < 1/3), up (0.2 < 0.5); entropy: not
  # perturbed (0.9); epsilon: perturbed (0.3), down (0.7).
  new = pbt_rules.explore(hp, _Scripted(uniforms=[0.1, 0.2, 0.9, 0.3, 0.7]))
  assert new['learning_rate'] == pytest.approx(1.2e-3)
  assert new['entropy_cost'] == 1e-2
  assert new['epsilon'] == pytest.approx(0.1 / 1.2)
  assert new['other'] == 7 and hp['learning_rate'] == 1e-3


def test_explore_is_unbiased_and_perturbs_a_third():
  rng = np.random.default_rng(1)
  factors = [pbt_rules.explore({'learning_rate': 1.0}, rng,
                               names=['learning_rate'])['learning_rate']
             for _ in range(30_000)]
  factors = np.array(factors)
  up, down = np.isclose(factors, 1.2), np.isclose(factors, 1 / 1.2)
  same = factors == 1.0
  assert up.sum() + down.sum() + same.sum() == len(factors)
  assert abs(same.mean() - 2 / 3) < 0.015
  assert abs(up.sum() - down.sum()) < 0.05 * (up.sum() + down.sum())
  # Unbiased in log space: the mean log factor is about 0.
  assert abs(np.mean(np.log(factors))) < 0.01


def test_atari_explores_the_clip_threshold_too():
  assert 'max_grad_norm' in pbt_rules.ATARI_HYPERPARAMETERS
  assert 'max_grad_norm' not in pbt_rules.DMLAB_HYPERPARAMETERS


def test_fitness_kinds():
  assert pbt_rules.fitness('mean_return', {'catch': [1.0, -1.0, 1.0]}) == (
      pytest.approx(1 / 3))
  from impala_tf import scoring  # pylint: disable=g-import-not-at-top
  levels = scoring.reference_scores('dmlab30')
  returns = {name: [ref.human] for name, ref in levels.items()}
  assert pbt_rules.fitness('dmlab30', returns) == pytest.approx(100.0)
  games = scoring.reference_scores('atari57')
  returns = {name: [ref.random] for name, ref in games.items()}
  assert pbt_rules.fitness('atari57', returns) == pytest.approx(0.0)
  with pytest.raises(ValueError):
    pbt_rules.fitness('dmlab30', {'rooms_watermaze': [1.0]})
  with pytest.raises(ValueError, match='no episodes'):
    pbt_rules.fitness('mean_return', {'catch': []})
