"""Builder: actors spread over threads and levels the way the original did."""

import numpy as np
import pytest

from impala_tf import builder
from impala_tf import training_loop
from impala_tf.config import Config, ConfigError
from impala_tf.stopping import StopSignal


def test_actors_are_spread_round_robin_over_threads_and_levels():
  config = Config(level_name='pong,breakout', full_action_space=True,
                  num_actors=6, actor_threads=2)
  task_set = builder.make_task_set(config)
  assert builder.actors_of_thread(config, 0) == [0, 1, 2]
  assert builder.actors_of_thread(config, 1) == [3, 4, 5]
  # Actor i plays levels[i % 2]; each thread holds both games, grouped by
  # level in its slots, and actor_order puts them back in actor order.
  group0 = builder.make_env_group_factory(config, task_set, 0)(0)
  group1 = builder.make_env_group_factory(config, task_set, 1)(0)
  try:
    np.testing.assert_array_equal(group0.task_ids, [1, 0, 0])  # breakout 1st.
    np.testing.assert_array_equal(group0.task_ids[group0.actor_order],
                                  [0, 1, 0])
    np.testing.assert_array_equal(group1.task_ids[group1.actor_order],
                                  [1, 0, 1])
    assert group0.spec.num_actions == 18  # Shared full action set.
  finally:
    group0.close()
    group1.close()


def test_a_thread_with_several_levels_steps_them_as_one_batch():
  config = Config(level_name='pong,breakout',
                  full_action_space=True, num_actors=4, actor_threads=1)
  task_set = builder.make_task_set(config)
  group = builder.make_env_group_factory(config, task_set, 0)(0)
  try:
    np.testing.assert_array_equal(sorted(group.task_ids), [0, 0, 1, 1])
    out = group.reset()
    assert out.observation.shape == (4, 84, 84, 4)
    out = group.step(np.zeros(4, np.int32))
    assert out.reward.shape == (4,)
  finally:
    group.close()


def test_multi_game_atari_needs_the_full_action_set():
  with pytest.raises(ConfigError, match='--level_name'):
    builder.make_task_set(Config(level_name='pong,breakout'))


def test_multi_task_training_runs_and_keeps_per_task_statistics(tmp_path):
  config = Config(level_name='pong,breakout', full_action_space=True,
                  num_actors=4, actor_threads=2, batch_size=4,
                  unroll_length=5, logdir=str(tmp_path), progress_secs=100)
  result = training_loop.train(config, max_updates=2,
                               install_signal_handlers=False)
  assert result.num_updates == 2
  run = training_loop._Run(config, StopSignal())  # pylint: disable=protected-access
  run.close()
  assert run.episodes.task_names == ['pong', 'breakout']
