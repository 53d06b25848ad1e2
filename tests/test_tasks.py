"""Tests for impala_tf.envs.tasks (multi-task task sets)."""

import pytest

from impala_tf import envs
from impala_tf.envs import tasks
from impala_tf.envs.dmlab import levels as dmlab_levels
from impala_tf.envs.spec import EnvSpec
from impala_tf.scoring import references

THREE = ('rooms_watermaze', 'rooms_keys_doors_puzzle',
         'explore_goal_locations_small')


def test_single_level():
  task_set = tasks.TaskSet.from_spec('rooms_watermaze')
  assert task_set.levels == ('rooms_watermaze',)
  assert task_set.num_tasks == 1
  assert task_set.level_for_actor(0) == task_set.level_for_actor(7) == (
      'rooms_watermaze')
  assert task_set.task_id('rooms_watermaze') == 0
  assert task_set.spec == EnvSpec('rooms_watermaze', (72, 96, 3), 9, True, 4)


def test_comma_list_keeps_order_and_strips_spaces():
  task_set = tasks.TaskSet.from_spec(' rooms_watermaze, rooms_keys_doors_puzzle,'
                                     'explore_goal_locations_small ')
  assert task_set.levels == THREE
  assert [task_set.task_id(level) for level in THREE] == [0, 1, 2]


def test_round_robin_actor_assignment():
  task_set = tasks.TaskSet(THREE)
  assigned = [task_set.level_for_actor(i) for i in range(7)]
  assert assigned == [THREE[0], THREE[1], THREE[2], THREE[0], THREE[1],
                      THREE[2], THREE[0]]
  assert [task_set.task_for_actor(i) for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]
  for bad in (-1, 1.5):
    with pytest.raises(ValueError, match='actor_index'):
      task_set.level_for_actor(bad)


def test_dmlab30():
  task_set = tasks.TaskSet.from_spec('dmlab30')
  assert task_set.levels == dmlab_levels.LEVELS
  assert len(task_set) == 30
  assert task_set.levels[0] == 'rooms_collect_good_objects_train'
  assert sorted(task_set.task_id(l) for l in task_set.levels) == list(range(30))
  assert task_set.spec == EnvSpec('dmlab30', (72, 96, 3), 9, True, 4)
  # 150 actors (paper) -> 5 per level.
  counts = {}
  for i in range(150):
    level = task_set.level_for_actor(i)
    counts[level] = counts.get(level, 0) + 1
  assert set(counts.values()) == {5} and len(counts) == 30


def test_task_id_of_unknown_level():
  task_set = tasks.TaskSet(THREE)
  with pytest.raises(ValueError, match='rooms_watermaze'):
    task_set.task_id('rooms_watermase')
  with pytest.raises(ValueError, match='not in task set'):
    task_set.task_id('explore_goal_locations_large')


@pytest.mark.parametrize('bad', ['', ' , ', 'rooms_watermaze,,rooms_watermaze'])
def test_malformed_specs(bad):
  with pytest.raises(ValueError):
    tasks.TaskSet.from_spec(bad)


def test_unknown_and_duplicate_levels():
  with pytest.raises(envs.UnknownLevelError):
    tasks.TaskSet.from_spec('rooms_watermase')
  with pytest.raises(ValueError, match='more than once'):
    tasks.TaskSet.from_spec('rooms_watermaze,rooms_watermaze')
  with pytest.raises(ValueError, match='more than once'):
    tasks.TaskSet.from_spec('dmlab30,rooms_watermaze')


def test_mismatched_specs_are_rejected(monkeypatch):
  def fake_spec(level, options=None):
    actions = 9 if level == THREE[0] else 7
    return EnvSpec(level, (72, 96, 3), actions, True, 4)
  monkeypatch.setattr(tasks.envs, 'env_spec', fake_spec)
  with pytest.raises(ValueError, match=r'differ in num_actions.*9: rooms_'):
    tasks.TaskSet(THREE)

  def fake_shape(level, options=None):
    shape = (72, 96, 3) if level == THREE[1] else (84, 84, 4)
    return EnvSpec(level, shape, 9, True, 4)
  monkeypatch.setattr(tasks.envs, 'env_spec', fake_shape)
  with pytest.raises(ValueError, match='observation_shape'):
    tasks.TaskSet(THREE)


def test_families_cannot_be_mixed():
  with pytest.raises(ValueError, match='one family'):
    tasks.TaskSet.from_spec('pong,rooms_watermaze')


# ---------------------------------------------------------------- Atari-57


def test_atari57_levels_are_the_57_scored_games():
  assert tasks.parse_task_spec('atari57') == references.names('atari57')


def test_atari57_implies_full_action_space(caplog):
  caplog.set_level('INFO', logger=tasks.__name__)
  task_set = tasks.TaskSet.from_spec('atari57')
  assert len(task_set) == 57
  assert task_set.options['full_action_space'] is True
  assert task_set.spec.num_actions == 18
  assert task_set.spec.name == 'atari57'
  tasks.TaskSet.from_spec('atari57', {'full_action_space': True})
  assert not caplog.records  # Nothing to say when nothing is overridden.


def test_atari57_overrides_the_flag_default_false(caplog):
  # The --full_action_space flag defaults to False and the builder always
  # passes it, so False must not stop an atari57 run.
  caplog.set_level('INFO', logger=tasks.__name__)
  task_set = tasks.TaskSet.from_spec(
      'atari57', {'full_action_space': False, 'sticky_actions': 0.25})
  assert task_set.options == {'full_action_space': True,
                              'sticky_actions': 0.25}
  assert task_set.spec.num_actions == 18
  assert all(spec.num_actions == 18 for spec in task_set.specs.values())
  messages = [record.getMessage() for record in caplog.records]
  assert len(messages) == 1 and 'full_action_space=False' in messages[0]


def test_atari_list_with_minimal_action_sets_needs_full_action_space():
  # pong and breakout have minimal action sets of 6 and 4 actions.
  with pytest.raises(ValueError, match='full_action_space'):
    tasks.TaskSet.from_spec('pong,breakout')
  task_set = tasks.TaskSet.from_spec('pong,breakout',
                                     {'full_action_space': True})
  assert task_set.spec.num_actions == 18
  assert task_set.task_id('breakout') == 1
