"""DMLab adapter tests, run against tests/fakes/fake_deepmind_lab.py.

DeepMind Lab is not installable here, so a fake module is injected as
``sys.modules['deepmind_lab']``. One smoke test at the end runs against the
real module and is skipped when it cannot be imported.
"""

import importlib.util
import sys

import numpy as np
import pytest

from impala_tf.envs import dmlab
from impala_tf.envs.dmlab import env as dmlab_env
from impala_tf.envs.dmlab import levels as dmlab_levels


# Paper Table D.2, written out independently of the implementation, in DMLab's
# native order (look_lr, look_du, strafe_lr, move_bf, fire, jump, crouch).
PAPER_ACTIONS = [
    (0, 0, 0, 1, 0, 0, 0),      # forward
    (0, 0, 0, -1, 0, 0, 0),     # backward
    (0, 0, -1, 0, 0, 0, 0),     # strafe left
    (0, 0, 1, 0, 0, 0, 0),      # strafe right
    (-20, 0, 0, 0, 0, 0, 0),    # look left
    (20, 0, 0, 0, 0, 0, 0),     # look right
    (-20, 0, 0, 1, 0, 0, 0),    # look left + forward
    (20, 0, 0, 1, 0, 0, 0),     # look right + forward
    (0, 0, 0, 0, 1, 0, 0),      # fire
]


@pytest.fixture
def no_lab(monkeypatch):
  """Makes `import deepmind_lab` fail, whatever is installed."""
  monkeypatch.setitem(sys.modules, 'deepmind_lab', None)


# ----------------------------------------------------------------- names/spec


def test_levels_are_the_30_training_names():
  assert len(dmlab.LEVELS) == 30
  assert len(set(dmlab.LEVELS)) == 30
  assert 'rooms_collect_good_objects_train' in dmlab.LEVELS
  assert 'rooms_exploit_deferred_effects_train' in dmlab.LEVELS
  assert 'rooms_collect_good_objects_test' not in dmlab.LEVELS
  assert 'rooms_watermaze' in dmlab.LEVELS
  assert set(dmlab.ACCEPTED_LEVELS) == set(dmlab.LEVELS) | {
      'rooms_collect_good_objects_test', 'rooms_exploit_deferred_effects_test'} | {'seekavoid_arena_01'}


def test_train_to_test_mapping():
  changed = {k: v for k, v in dmlab.LEVEL_MAPPING.items() if k != v}
  assert changed == {
      'rooms_collect_good_objects_train': 'rooms_collect_good_objects_test',
      'rooms_exploit_deferred_effects_train':
          'rooms_exploit_deferred_effects_test',
  }
  assert dmlab_levels.evaluation_level('rooms_collect_good_objects_train') == (
      'rooms_collect_good_objects_test')
  assert dmlab_levels.training_level('rooms_exploit_deferred_effects_test') == (
      'rooms_exploit_deferred_effects_train')


def test_spec_does_not_import_deepmind_lab(no_lab):
  spec = dmlab.spec('rooms_watermaze')
  assert spec.name == 'rooms_watermaze'
  assert spec.observation_shape == (72, 96, 3)
  assert spec.num_actions == 9
  assert spec.has_instruction is True
  assert spec.frames_per_step == 4
  assert dmlab.spec('rooms_collect_good_objects_test').num_actions == 9


def test_unknown_level_and_option_are_rejected():
  with pytest.raises(ValueError, match='rooms_watermaze'):
    dmlab.spec('rooms_watermase')
  with pytest.raises(TypeError, match='full_action_space'):
    dmlab.spec('rooms_watermaze', full_action_space=True)


# ---------------------------------------------------------------- construction


def test_constructor_arguments_train_mode(fake_lab):
  env = dmlab.make('rooms_watermaze', num_envs=2, seed=3)
  assert len(fake_lab.instances) == 2
  for lab in fake_lab.instances:
    assert lab.level == 'contributed/dmlab30/rooms_watermaze'
    assert lab.observation_names == ['RGB_INTERLEAVED', 'INSTR']
    assert lab.config == {'width': '96', 'height': '72', 'logLevel': 'WARN'}
    assert lab.renderer == 'software'
  env.close()


@pytest.mark.parametrize('train_name', sorted(dmlab.LEVEL_MAPPING))
def test_test_mode_loads_mapped_level_with_holdout_config(fake_lab, train_name,
                                                          tmp_path):
  env = dmlab.make(train_name, mode='test', dataset_path=str(tmp_path))
  (lab,) = fake_lab.instances
  expected = 'contributed/dmlab30/' + dmlab.LEVEL_MAPPING[train_name]
  assert lab.level == expected
  assert lab.config['allowHoldOutLevels'] == 'true'
  assert lab.config['mixerSeed'] == str(0x600D5EED) == '1611489005'
  assert lab.config['width'] == '96' and lab.config['height'] == '72'
  env.close()


def test_test_name_in_train_mode_allows_holdout_without_mixer_seed(fake_lab):
  dmlab.make('rooms_exploit_deferred_effects_test').close()
  (lab,) = fake_lab.instances
  assert lab.level == (
      'contributed/dmlab30/rooms_exploit_deferred_effects_test')
  assert lab.config['allowHoldOutLevels'] == 'true'
  assert 'mixerSeed' not in lab.config


def test_renderer_and_extra_config_are_forwarded(fake_lab):
  dmlab.make('rooms_watermaze', renderer='hardware',
             extra_config={'fps': 30}).close()
  (lab,) = fake_lab.instances
  assert lab.renderer == 'hardware'
  assert lab.config['fps'] == '30'


# -------------------------------------------------------------------- stepping


@pytest.mark.parametrize('index', range(9))
def test_each_action_index_sends_the_paper_vector(fake_lab, index):
  env = dmlab.make('rooms_watermaze')
  env.reset()
  env.step(np.array([index]))
  (lab,) = fake_lab.instances
  (action, dtype, num_steps) = lab.step_calls[-1]
  assert tuple(action.tolist()) == PAPER_ACTIONS[index]
  assert dtype == np.intc
  assert num_steps == 4
  env.close()


def test_action_set_table():
  assert dmlab.ACTION_SET.shape == (9, 7)
  assert dmlab.ACTION_SET.dtype == np.intc
  np.testing.assert_array_equal(dmlab.ACTION_SET, np.array(PAPER_ACTIONS))


def test_reset_output(fake_lab):
  env = dmlab.make('language_select_described_object', num_envs=2, seed=0)
  out = env.reset()
  assert out.observation.shape == (2, 72, 96, 3)
  assert out.observation.dtype == np.uint8
  assert out.reward.dtype == np.float32 and not out.reward.any()
  assert out.done.dtype == bool and not out.done.any()
  assert not out.game_over.any()
  assert out.episode_return.dtype == np.float32 and not out.episode_return.any()
  assert out.episode_step.dtype == np.int32 and not out.episode_step.any()
  for i, lab in enumerate(fake_lab.instances):
    seed = lab.reset_seeds[-1]
    assert out.instruction[i] == f'instruction {seed}'  # bytes decoded to str
    assert (out.observation[i] == fake_lab.frame_value(seed, 0)).all()
  env.close()


def test_summed_reward_and_same_step_auto_reset(fake_lab):
  assert fake_lab.EPISODE_LENGTH == 3
  env = dmlab.make('rooms_watermaze', seed=5)
  env.reset()
  (lab,) = fake_lab.instances
  first_seed = lab.reset_seeds[-1]
  # Fake frame k gives 0.5*k; a step sums its 4 frames.
  expected_rewards = [0.5 * (1 + 2 + 3 + 4), 0.5 * (5 + 6 + 7 + 8),
                      0.5 * (9 + 10 + 11 + 12)]
  outs = [env.step(np.array([0])) for _ in range(3)]
  for k, out in enumerate(outs):
    assert out.reward[0] == pytest.approx(expected_rewards[k])
  for k in range(2):
    assert not outs[k].done[0] and not outs[k].game_over[0]
    assert outs[k].episode_step[0] == k + 1
    assert outs[k].episode_return[0] == pytest.approx(
        sum(expected_rewards[:k + 1]))
    assert (outs[k].observation[0] ==
            fake_lab.frame_value(first_seed, k + 1)).all()
  last = outs[2]
  assert last.done[0] and last.game_over[0]
  assert last.episode_return[0] == pytest.approx(sum(expected_rewards))
  assert last.episode_step[0] == 3
  # The observation is already the first one of the next episode.
  assert len(lab.reset_seeds) == 2
  new_seed = lab.reset_seeds[-1]
  assert new_seed != first_seed
  assert (last.observation[0] == fake_lab.frame_value(new_seed, 0)).all()
  assert last.instruction[0] == f'instruction {new_seed}'
  # The next step starts counting the new episode from scratch.
  nxt = env.step(np.array([0]))
  assert not nxt.done[0]
  assert nxt.reward[0] == pytest.approx(expected_rewards[0])
  assert nxt.episode_return[0] == pytest.approx(expected_rewards[0])
  assert nxt.episode_step[0] == 1
  env.close()


def test_batch_copies_are_independent_and_seeded_by_seed_and_index(fake_lab):
  env = dmlab.make('rooms_watermaze', num_envs=3, seed=11)
  env.reset()
  seeds = [lab.reset_seeds[0] for lab in fake_lab.instances]
  assert len(set(seeds)) == 3
  out = env.step(np.array([0, 4, 8]))
  sent = [tuple(lab.step_calls[-1][0].tolist()) for lab in fake_lab.instances]
  assert sent == [PAPER_ACTIONS[0], PAPER_ACTIONS[4], PAPER_ACTIONS[8]]
  assert out.observation.shape == (3, 72, 96, 3)
  env.close()

  again = dmlab.make('rooms_watermaze', num_envs=3, seed=11)
  again.reset()
  assert [lab.reset_seeds[0] for lab in fake_lab.instances[3:]] == seeds
  again.close()
  other = dmlab.make('rooms_watermaze', num_envs=3, seed=12)
  other.reset()
  assert [lab.reset_seeds[0] for lab in fake_lab.instances[6:]] != seeds
  other.close()


def test_invalid_actions_are_rejected(fake_lab):
  env = dmlab.make('rooms_watermaze', num_envs=2)
  with pytest.raises(RuntimeError, match='reset'):
    env.step(np.array([0, 0]))
  env.reset()
  with pytest.raises(ValueError, match='shape'):
    env.step(np.array([0]))
  with pytest.raises(ValueError, match=r'\[0, 9\)'):
    env.step(np.array([0, 9]))
  with pytest.raises(ValueError, match='integers'):
    env.step(np.array([0.0, 1.0]))
  env.close()


def test_close_is_idempotent_and_closes_every_lab(fake_lab):
  env = dmlab.make('rooms_watermaze', num_envs=2)
  env.close()
  env.close()
  assert all(lab.closed for lab in fake_lab.instances)
  with pytest.raises(RuntimeError, match='closed'):
    env.reset()


def test_factory_routes_dmlab_levels(fake_lab):
  from impala_tf import envs  # pylint: disable=g-import-not-at-top
  assert envs.family_of('rooms_watermaze') == 'dmlab'
  assert envs.env_spec('rooms_watermaze') == dmlab.spec('rooms_watermaze')
  env = envs.make_env('rooms_keys_doors_puzzle', num_envs=2, seed=1,
                      mode='test')
  assert isinstance(env, dmlab.DmLabEnv)
  assert env.reset().observation.shape == (2, 72, 96, 3)
  assert [lab.config['mixerSeed'] for lab in fake_lab.instances] == [
      '1611489005'] * 2
  env.close()


# --------------------------------------------------------- missing DMLab / data


def test_missing_module_gives_one_clear_error(no_lab):
  with pytest.raises(dmlab.DeepMindLabNotInstalledError) as info:
    dmlab.make('rooms_watermaze')
  assert isinstance(info.value, ImportError)
  message = str(info.value)
  assert 'deepmind_lab' in message
  assert 'not published on PyPI' in message
  assert 'bazel build' in message
  assert 'github.com/google-deepmind/lab' in message
  assert 'pip install /tmp/dmlab_pkg/*.whl' in message


def test_psychlab_dataset_levels_require_dataset_path(fake_lab, tmp_path):
  for level in ('psychlab_continuous_recognition',
                'psychlab_arbitrary_visuomotor_mapping'):
    with pytest.raises(dmlab.DatasetPathRequiredError,
                       match='brady_konkle_oliva2008') as info:
      dmlab.make(level)
    assert 'dataset_path' in str(info.value)
    with pytest.raises(dmlab.DatasetPathRequiredError, match='not a directory'):
      dmlab.make(level, dataset_path=str(tmp_path / 'missing'))
  assert not fake_lab.instances  # Nothing was constructed.

  dmlab.make('psychlab_continuous_recognition',
             dataset_path=str(tmp_path)).close()
  (lab,) = fake_lab.instances
  assert lab.config['datasetPath'] == str(tmp_path)
  assert lab.level == (
      'contributed/dmlab30/psychlab_continuous_recognition')


def test_procedural_psychlab_levels_run_without_dataset(fake_lab):
  dmlab.make('psychlab_visual_search').close()
  dmlab.make('psychlab_sequential_comparison').close()
  assert all('datasetPath' not in lab.config for lab in fake_lab.instances)


# ------------------------------------------------------------------ real DMLab


_HAVE_DMLAB = importlib.util.find_spec('deepmind_lab') is not None


@pytest.mark.skipif(
    not _HAVE_DMLAB,
    reason='deepmind_lab is not importable (not on PyPI; build it from '
    'github.com/google-deepmind/lab with Bazel to run this smoke test)')
def test_real_deepmind_lab_smoke():
  env = dmlab.make('explore_goal_locations_small', num_envs=1, seed=1)
  try:
    out = env.reset()
    assert out.observation.shape == (1, 72, 96, 3)
    for action in range(9):
      out = env.step(np.array([action]))
      assert out.observation.shape == (1, 72, 96, 3)
      assert out.observation.dtype == np.uint8
      assert isinstance(out.instruction[0], str)
  finally:
    env.close()


def test_seekavoid_arena_01_is_a_level_outside_dmlab30(fake_lab):
  """Paper Table 1 Task 1 and Table 2 Task 5: DeepMind Lab's own level."""
  del fake_lab
  assert 'seekavoid_arena_01' not in dmlab.LEVELS  # Not in the suite.
  assert dmlab_levels.level_path('seekavoid_arena_01') == 'seekavoid_arena_01'
  assert dmlab.spec('seekavoid_arena_01').num_actions == 9
  env = dmlab.make('seekavoid_arena_01', num_envs=1)
  try:
    assert env.reset().observation.shape == (1, 72, 96, 3)
  finally:
    env.close()
