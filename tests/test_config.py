"""Config validation: every bad value names its flag."""

import pytest

from impala_tf.config import Config, ConfigError


@pytest.mark.parametrize('changes,flag', [
    (dict(batch_size=0), 'batch_size'),
    (dict(unroll_length=-1), 'unroll_length'),
    (dict(network='resnet'), 'network'),
    (dict(core='gru'), 'core'),
    (dict(reward_clipping='tanh'), 'reward_clipping'),
    (dict(correction='retrace'), 'correction'),
    (dict(discounting=1.5), 'discounting'),
    (dict(vtrace_lambda=-0.1), 'vtrace_lambda'),
    (dict(epsilon=0.0), 'epsilon'),
    (dict(decay=1.0), 'decay'),
    (dict(entropy_cost=-1.0), 'entropy_cost'),
    (dict(sticky_actions=1.0), 'sticky_actions'),
    (dict(num_actors=2, actor_threads=3), 'actor_threads'),
    (dict(num_learner_devices=2), 'num_learner_devices'),
    (dict(strategy='mirrored', num_learner_devices=3), 'batch_size'),
    (dict(total_environment_frames=0), 'total_environment_frames'),
    (dict(logdir=''), 'logdir'),
    (dict(learning_rate=float('inf')), 'learning_rate'),
    (dict(entropy_cost=float('inf')), 'entropy_cost'),
    (dict(epsilon=float('nan')), 'epsilon'),
    (dict(max_grad_norm=float('inf')), 'max_grad_norm'),
    (dict(checkpoint_secs=float('inf')), 'checkpoint_secs'),
])
def test_bad_values_name_the_flag(changes, flag):
  with pytest.raises(ConfigError) as info:
    Config(**changes).validate()
  assert info.value.flag == flag
  assert str(info.value).startswith(f'--{flag}: ')


def test_defaults_are_the_paper_atari_settings():
  config = Config().validate()
  assert (config.unroll_length, config.batch_size) == (20, 32)
  assert (config.entropy_cost, config.learning_rate) == (0.01, 0.0006)
  assert (config.epsilon, config.max_grad_norm) == (0.01, 40.0)
  assert config.discounting == 0.99 and config.baseline_cost == 0.5
  assert config.frames_per_update == 32 * 20 * 4


def test_round_trip_through_a_dict():
  config = Config(level_name='catch', batch_size=8)
  assert Config.from_dict(config.to_dict()) == config
  with pytest.raises(ConfigError, match='--batchsize'):
    Config.from_dict({'batchsize': 3})


def test_every_paper_config_parses_and_validates():
  """Each flagfile names only known flags and passes validation."""
  import glob  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  from impala_tf import flags as flags_lib  # pylint: disable=g-import-not-at-top
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  paths = sorted(glob.glob(os.path.join(repo, 'paper_configs', '*.cfg')))
  assert len(paths) >= 5
  for path in paths:
    config = flags_lib.config_from_flagfile(path).validate()
    task_set = builder.make_task_set(config)  # Level names and repeats.
    assert config.logdir.startswith('logs/'), path
    assert task_set.spec.num_actions > 0


def test_the_dmlab_single_level_config_is_the_released_deep_example():
  """scalable_agent's single-level example (and the returns its README
  quotes) is the deep ResNet agent with an LSTM, 48 actors, batch 32."""
  import os  # pylint: disable=g-import-not-at-top
  from impala_tf import flags as flags_lib  # pylint: disable=g-import-not-at-top
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  config = flags_lib.config_from_flagfile(os.path.join(
      repo, 'paper_configs', 'dmlab_explore_goal_locations_small.cfg'))
  assert (config.network, config.core) == ('deep', 'lstm')
  assert (config.num_actors, config.batch_size) == (48, 32)
  assert (config.learning_rate, config.entropy_cost) == (0.00048, 0.00025)
  assert config.epsilon == 0.1 and config.unroll_length == 100


def test_config_and_flags_do_not_import_tensorflow():
  """--help and flag errors must not wait for TensorFlow to load."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys; import impala_tf.flags, impala_tf.stopping, '
          'impala_tf.run_directory; from impala_tf import builder; '
          'builder.make_task_set(impala_tf.config.Config()); '
          'print(sorted(m for m in ("tensorflow", "sonnet") '
          'if m in sys.modules))')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, check=True)
  assert result.stdout.strip() == '[]', result.stdout


def _paper_configs():
  import glob  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  return sorted(glob.glob(os.path.join(repo, 'paper_configs', '*.cfg')))


@pytest.mark.parametrize('path', _paper_configs(),
                         ids=lambda p: p.rsplit('/', 1)[-1])
def test_every_paper_config_builds_its_learner(path):
  """Each experiment's config loads, validates, names its paper table or
  figure and frame cost in its comments, and builds its learner (DMLab
  specs are known without DeepMind Lab)."""
  import os  # pylint: disable=g-import-not-at-top
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  from impala_tf import flags as flags_lib  # pylint: disable=g-import-not-at-top
  repo = os.path.dirname(os.path.dirname(path))
  cwd = os.getcwd()
  os.chdir(repo)  # Nested flag files are relative to the repository.
  try:
    config = flags_lib.config_from_flagfile(path).validate()
  finally:
    os.chdir(cwd)
  text = open(path).read()
  comments = ' '.join(l for l in text.splitlines() if l.startswith('#'))
  assert 'paper' in comments.lower() or 'catch' in path, path
  if 'catch' not in path:
    assert 'Cost here' in comments, path
  task_set = builder.make_task_set(config)
  learner = builder.make_learner(
      config.replace(strategy='default', num_learner_devices=1,
                     batch_size=config.batch_size // config.num_learners),
      task_set.spec, builder.make_agent_factory(config, task_set))
  assert learner.variables


def test_the_paper_configs_cover_every_experiment():
  names = {p.rsplit('/', 1)[-1] for p in _paper_configs()}
  tasks = ('rooms_watermaze', 'rooms_keys_doors_puzzle',
           'lasertag_three_opponents_small', 'explore_goal_locations_small',
           'seekavoid_arena_01')
  for task in tasks:
    assert f'table2_{task}.cfg' in names
    for network in ('shallow', 'deep'):
      assert f'dmlab_{task}_{network}_sweep.cfg' in names
  for name in ('dmlab30_expert_deep.cfg', 'dmlab30_shallow_multitask.cfg',
               'dmlab30_deep_multitask.cfg', 'dmlab30_deep_pbt.cfg',
               'dmlab30_deep_pbt_8_learners.cfg',
               'atari_shallow_expert_breakout.cfg',
               'atari_deep_expert_breakout.cfg',
               'atari57_multitask_deep_pbt.cfg',
               'table1_single_machine_48_actors.cfg',
               'table1_distributed_150_actors.cfg',
               'table1_optimised_500_actors_batch_128.cfg',
               'table2_atari_breakout.cfg'):
    assert name in names, name
