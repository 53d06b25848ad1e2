"""Tests for impala_tf.scoring: HNS, name handling and the paper's aggregates."""

import pytest

from impala_tf import scoring
from impala_tf.envs.dmlab import levels as dmlab_levels
from impala_tf.scoring import paper_tables, references


def test_reference_tables_are_complete():
  dmlab = scoring.reference_scores('dmlab30')
  atari = scoring.reference_scores('atari57')
  assert len(dmlab) == 30 and len(atari) == 57
  # The DMLab references are keyed by the evaluation levels of the env family.
  assert set(dmlab) == set(dmlab_levels.TEST_LEVELS)
  assert dmlab['rooms_watermaze'] == scoring.Reference(54.0, 4.065)
  assert atari['pong'] == scoring.Reference(14.6, -20.7)
  assert all(ref.human > ref.random for ref in [*dmlab.values(),
                                                 *atari.values()])


def test_hand_computed_hns():
  # pong: 100 * (0 - (-20.7)) / (14.6 - (-20.7)) = 2070 / 35.3
  assert scoring.human_normalized_score('pong', 0.0) == pytest.approx(
      58.64022662889518, abs=1e-9)
  # rooms_watermaze: (29.0325 - 4.065) / (54 - 4.065) = 24.9675 / 49.935 = 0.5
  assert scoring.human_normalized_score('rooms_watermaze', 29.0325) == (
      pytest.approx(50.0, abs=1e-9))
  assert scoring.human_normalized_score('breakout', 30.5) == pytest.approx(100)
  assert scoring.human_normalized_score('breakout', 1.7) == pytest.approx(0)
  # Below random is negative: 1.7 - 0.1 * (30.5 - 1.7) = -1.18.
  assert scoring.human_normalized_score('breakout', -1.18) == pytest.approx(-10)


def test_training_level_scored_against_test_references():
  # (5.0365 - 0.073) / (10 - 0.073) = 4.9635 / 9.927 = 0.5
  for name in ('rooms_collect_good_objects_train',
               'rooms_collect_good_objects_test'):
    assert scoring.human_normalized_score(name, 5.0365) == pytest.approx(50.0)


@pytest.mark.parametrize('name,canonical', [
    ('Pong', 'pong'),
    ('ALE/Pong-v5', 'pong'),
    ('PongNoFrameskip-v4', 'pong'),
    ("Montezuma's Revenge", 'montezuma_revenge'),
    ('MontezumaRevenge', 'montezuma_revenge'),
    ('UpNDown', 'up_n_down'),
    ("Up'n Down", 'up_n_down'),
    ('JamesBond', 'jamesbond'),
    ('MsPacman', 'ms_pacman'),
    ('Kung-Fu Master', 'kung_fu_master'),
    ('space_invaders', 'space_invaders'),
])
def test_atari_name_spellings(name, canonical):
  assert scoring.canonical_atari_game(name) == canonical
  assert scoring.canonical_name(name) == ('atari57', canonical)


@pytest.mark.parametrize('name,canonical', [
    ('rooms_watermaze', 'rooms_watermaze'),
    ('contributed/dmlab30/rooms_watermaze', 'rooms_watermaze'),
    ('rooms_exploit_deferred_effects_train',
     'rooms_exploit_deferred_effects_test'),
    ('pyschlab_visual_search', 'psychlab_visual_search'),
    ('lasertag_three_oponents_large', 'lasertag_three_opponents_large'),
    ('Explore Goal Locations Small', 'explore_goal_locations_small'),
])
def test_dmlab_name_spellings(name, canonical):
  assert scoring.canonical_dmlab_level(name) == canonical
  assert scoring.canonical_name(name) == ('dmlab30', canonical)


def test_every_dmlab30_level_name_is_scorable():
  for name in dmlab_levels.LEVELS + dmlab_levels.HELD_OUT_LEVELS:
    scoring.human_normalized_score(name, 1.0)


def test_the_other_dmlab_levels_have_no_human_reference():
  # seekavoid_arena_01 (paper Tables 1 and 2) is trainable but not in
  # DMLab-30, whose human and random scores are the only ones published.
  for name in dmlab_levels.OTHER_LEVELS:
    with pytest.raises(ValueError, match='Unknown level'):
      scoring.human_normalized_score(name, 1.0)


def test_unknown_names_raise_value_error():
  with pytest.raises(ValueError, match="'pongg'.*pong"):
    scoring.human_normalized_score('pongg', 1.0)
  with pytest.raises(ValueError, match='rooms_watermaze'):
    scoring.canonical_dmlab_level('rooms_watermase')
  with pytest.raises(ValueError, match='Atari-57'):
    scoring.human_normalized_score('rooms_watermaze', 1.0, family='atari57')
  with pytest.raises(ValueError, match='family'):
    scoring.human_normalized_score('pong', 1.0, family='atari')


def _table_b1(column, lasertag_labels='sa'):
  return paper_tables.dmlab30_table_b1(lasertag_labels)[column]


def _table_c1(column):
  return paper_tables.atari57_table_c1()[column]


def test_missing_level_is_named():
  scores = _table_b1('impala_experts_deep')
  del scores['rooms_watermaze']
  del scores['psychlab_visual_search']
  with pytest.raises(ValueError,
                     match=r'missing 2: rooms_watermaze, psychlab_visual_search'):
    scoring.dmlab30_mean_capped_score(scores)
  games = _table_c1('impala_deep_expert')
  del games['pong']
  with pytest.raises(ValueError, match='all 57 levels; missing 1: pong'):
    scoring.atari57_median_score(games)
  with pytest.raises(ValueError, match='pong'):
    scoring.atari57_mean_score(games)


def test_same_level_twice_is_rejected():
  scores = _table_b1('impala_experts_deep')
  scores['rooms_collect_good_objects_train'] = 1.0  # Same level as _test.
  with pytest.raises(ValueError, match='both the level'):
    scoring.dmlab30_mean_capped_score(scores)


def test_capping_applies_only_above_100():
  scores = {name: ref.random
            for name, ref in scoring.reference_scores('dmlab30').items()}
  scores['rooms_watermaze'] = 1000.0                 # far above human
  scores['natlab_fixed_large_map'] = -100.0          # far below random
  capped = scoring.dmlab30_capped_scores(scores)
  assert capped['rooms_watermaze'] == 100.0
  assert capped['natlab_fixed_large_map'] < -100
  expected = (100.0 + capped['natlab_fixed_large_map']) / 30
  assert scoring.dmlab30_mean_capped_score(scores) == pytest.approx(expected)


# ------------------------------------------------ the paper's own aggregates


@pytest.mark.parametrize('column,paper_median', [
    ('impala_deep_expert', 191.8),
    ('impala_shallow_expert', 93.2),
    ('impala_deep_multitask', 59.7),
])
def test_atari57_medians_match_paper_table_4(column, paper_median):
  median = scoring.atari57_median_score(_table_c1(column))
  assert round(median, 1) == paper_median


def test_atari57_means_differ_from_paper_as_documented():
  # With these references (DQN Zoo's) the means are 1592.5/707.4/179.4
  # (paper: 957.6/466.4/176.9); video_pinball's reference explains the gap.
  means = [scoring.atari57_mean_score(_table_c1(c)) for c in
           ('impala_deep_expert', 'impala_shallow_expert',
            'impala_deep_multitask')]
  assert [round(m, 1) for m in means] == [1592.5, 707.4, 179.4]


@pytest.mark.parametrize('column,paper_mean', [
    ('impala_experts_deep', 44.4),        # paper Table 3: 44.5
    ('impala_deep_pbt_multitask', 49.4),  # paper Table 3: 49.4
])
def test_dmlab30_mean_capped_matches_paper(column, paper_mean):
  score = scoring.dmlab30_mean_capped_score(_table_b1(column))
  assert round(score, 1) == paper_mean


def test_lasertag_label_order_matters():
  # With the paper's printed lasertag labels the IMPALA score would be 50.1.
  printed = scoring.dmlab30_mean_capped_score(
      _table_b1('impala_deep_pbt_multitask', lasertag_labels='printed'))
  assert round(printed, 1) == 50.1
  with pytest.raises(ValueError, match='lasertag_labels'):
    paper_tables.dmlab30_table_b1('paper')


@pytest.mark.parametrize('order,agrees', [('sa', True), ('printed', False)])
def test_table_b1_references_agree_with_csv_only_in_sa_order(order, agrees):
  table = paper_tables.dmlab30_table_b1(order)
  exact = scoring.reference_scores('dmlab30')
  # Table B.1 prints references rounded to 0.1.
  close = all(
      abs(table['human_paper'][name] - exact[name].human) <= 0.05 + 1e-9 and
      abs(table['random_paper'][name] - exact[name].random) <= 0.05 + 1e-9
      for name in exact)
  assert close == agrees


def test_package_data_is_readable():
  rows = references.read_data_csv('dmlab30_impala_paper_tableB1.csv')
  assert len(rows) == 30
  assert len(references.read_data_csv('atari57_impala_paper_tableC1.csv')) == 57


def test_table2_has_every_correction_with_and_without_replay():
  from impala_tf.config import CORRECTIONS  # pylint: disable=g-import-not-at-top
  table = paper_tables.table2()
  assert sorted(table) == sorted((replay, name) for replay in (False, True)
                                 for name in CORRECTIONS)
  dmlab30 = set(references.names('dmlab30'))
  for values in table.values():
    # The five tasks of section 5.2.2, all DMLab-30 levels.
    assert list(values) == ['rooms_watermaze', 'rooms_keys_doors_puzzle',
                            'lasertag_three_opponents_small',
                            'explore_goal_locations_small',
                            'seekavoid_arena_01']
    assert set(values) - {'seekavoid_arena_01'} <= dmlab30
  # Spot values as printed in the paper.
  assert table[(True, 'vtrace')]['explore_goal_locations_small'] == 250.8
  assert table[(False, 'no-correction')]['seekavoid_arena_01'] == 16.1
