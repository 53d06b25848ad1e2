"""The Atari-57 multi-task set plays every game with all 18 actions.

The paper's multi-task Atari agent ("IMPALA, deep, multi-task", Table 4) has
one policy head of 18 actions for all 57 games. These tests build the task
set as the trainer does (``TaskSet.from_spec('atari57', options)``), make
each level's env with the task set's options on both env paths, and step it
with every action index. Training a multi-task subset is covered elsewhere.
"""

import numpy as np
import pytest

from impala_tf import envs
from impala_tf.envs import atari
from impala_tf.envs import tasks
from impala_tf.envs.atari import actions as actions_lib

ale_py = pytest.importorskip('ale_py')

BOTH_PATHS = pytest.mark.parametrize('vectorized', [True, False],
                                     ids=['native', 'python'])
NUM_ENVS = 2
# [9, 2]: every one of the 18 indices once over 9 steps of 2 copies.
ALL_ACTIONS = np.arange(18).reshape(9, NUM_ENVS)


@pytest.fixture(scope='module')
def atari57():
  # False is what the trainer passes when --full_action_space is not given.
  return tasks.TaskSet.from_spec(
      'atari57', {'full_action_space': False, 'sticky_actions': 0.0})


def _play_every_action(task_set, level, vectorized):
  """Makes ``level`` as an actor of ``task_set`` would; steps all 18 actions.

  Returns the last EnvOutput (observation [2, 84, 84, 4] uint8).
  """
  env = envs.make_env(level, num_envs=NUM_ENVS, seed=task_set.task_id(level),
                      options=dict(task_set.options, vectorized=vectorized))
  try:
    assert env.spec == task_set.specs[level], level
    assert env.spec.num_actions == 18, level
    out = env.reset()
    for actions in ALL_ACTIONS:
      out = env.step(actions)
      assert out.observation.shape == (NUM_ENVS, 84, 84, 4), level
      assert out.observation.dtype == np.uint8, level
      assert out.reward.shape == (NUM_ENVS,), level
      assert out.done.shape == out.game_over.shape == (NUM_ENVS,), level
  finally:
    env.close()
  np.testing.assert_array_equal(out.episode_step, len(ALL_ACTIONS))
  return out


def test_atari57_has_18_actions_on_every_game(atari57):
  assert atari57.options['full_action_space'] is True
  assert len(atari57.levels) == 57 and atari57.spec.num_actions == 18
  assert {spec.num_actions for spec in atari57.specs.values()} == {18}


@BOTH_PATHS
@pytest.mark.parametrize('level', ['skiing', 'pong', 'breakout',
                                   'montezuma_revenge'])
def test_some_games_take_all_18_actions(atari57, level, vectorized):
  # Skiing has 9 legal actions in ALE; pong and breakout small minimal sets.
  _play_every_action(atari57, level, vectorized)


@pytest.mark.slow
def test_all_57_games_take_all_18_actions(atari57):
  # ~50-65 s on 2 busy cores for both paths (building a game dominates), hence
  # slow; the test above runs Skiing and 3 others by default.
  for vectorized in (True, False):
    for level in atari57.levels:
      _play_every_action(atari57, level, vectorized)


@pytest.mark.slow
def test_only_skiing_lacks_legal_actions():
  # ale-py 0.12.1 facts behind actions.py: 56 games have all 18 actions.
  ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
  lacking = {}
  for level in atari.LEVELS:
    ale = ale_py.ALEInterface()
    ale.loadROM(str(atari.rom_path(level)))
    legal = [action.value for action in ale.getLegalActionSet()]
    if legal != list(range(18)):
      lacking[level] = [actions_lib.FULL_ACTIONS[a] for a in legal]
  assert lacking == {'skiing': ['NOOP', 'UP', 'RIGHT', 'LEFT', 'DOWN',
                                'UPRIGHT', 'UPLEFT', 'DOWNRIGHT', 'DOWNLEFT']}


def test_trainer_flags_give_the_full_action_space():
  # --level_name=atari57 without --full_action_space (which defaults to False).
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
  task_set = builder.make_task_set(Config(level_name='atari57'))
  assert task_set.options['full_action_space'] is True
  assert task_set.spec.num_actions == 18


def test_trainer_actor_envs_take_all_18_actions():
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
  # Actors 0..3 play alien (18 minimal actions), amidar (10), assault (7)
  # and asterix (9).
  config = Config(level_name='atari57', num_actors=4, actor_threads=1)
  task_set = builder.make_task_set(config)
  group = builder.make_env_group_factory(config, task_set, thread=0)(0)
  try:
    assert group.num_envs == 4
    group.reset()
    group.step(np.full(4, 17))
  finally:
    group.close()
