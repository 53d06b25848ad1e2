"""Evaluation protocol, the evaluate binary, and the SavedModel export."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import builder
from impala_tf import checkpointing
from impala_tf import evaluate
from impala_tf import evaluation
from impala_tf import export
from impala_tf import networks
from impala_tf import training_loop
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import Config
from impala_tf.envs import env_spec, make_env
from tests.listing import listing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_each_env_plays_its_quota():
  spec = env_spec('catch')
  policy = ActingPolicy(networks.build_agent('shallow', spec), spec, seed=0)
  episodes = evaluation.evaluate_level(policy, 'catch', num_episodes=7,
                                       num_envs=3)
  assert len(episodes) == 7
  assert all(r in (-1.0, 1.0) and n == 9 for r, n in episodes)


def test_atari_evaluation_plays_whole_games():
  spec = env_spec('breakout')
  policy = ActingPolicy(networks.build_agent('shallow', spec,
                                             core='feedforward'), spec, 0)
  episodes = evaluation.evaluate_level(policy, 'breakout', num_episodes=2,
                                       num_envs=2)
  # Test mode: 5 lives per game, so far more steps than a single life.
  assert len(episodes) == 2
  assert all(n > 100 for _, n in episodes)


def test_summary_scores_and_aggregates():
  summary = evaluation.summarize({'pong': [(-21.0, 800), (-19.0, 900)],
                                  'catch': [(1.0, 9)]})
  pong = summary['levels']['pong']
  assert pong['mean_return'] == -20.0 and pong['episodes'] == 2
  # HNS = 100 (score - random) / (human - random), random -20.7, human 14.6.
  assert pong['human_normalized_score'] == pytest.approx(
      100 * (-20.0 + 20.7) / (14.6 + 20.7), rel=1e-6)
  assert summary['levels']['catch']['human_normalized_score'] is None
  assert 'atari57_median_hns' not in summary


def test_saved_model_matches_the_agent(tmp_path):
  spec = env_spec('catch')
  agent = networks.build_agent('shallow', spec, core='lstm')
  export.export_policy(agent, spec, str(tmp_path / 'policy'))
  loaded = tf.saved_model.load(str(tmp_path / 'policy'))
  rng = np.random.default_rng(0)
  frame = rng.integers(0, 256, (3,) + spec.observation_shape, dtype=np.uint8)
  args = [tf.constant([0, 1, 2], tf.int32), tf.constant([0.0, 1.0, -1.0]),
          tf.constant([True, False, False]), tf.constant(frame)]
  state = loaded.initial_state(tf.constant(3))
  out = loaded.step(*args, *[state[f'state_{i}'] for i in range(len(state))])
  expected, _ = agent.unroll(
      networks.AgentInput(*[a[None] for a in args], None),
      agent.initial_state(3))
  np.testing.assert_allclose(out['policy_logits'], expected.policy_logits[0],
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(
      out['greedy_action'], np.argmax(expected.policy_logits[0], -1))
  assert set(out) >= {'policy_logits', 'baseline', 'state_0', 'state_1'}


def _evaluate(*args):
  return subprocess.run(
      [sys.executable, '-m', 'impala_tf.evaluate', *args], cwd=REPO,
      capture_output=True, text=True, timeout=180)


def test_evaluate_binary_writes_csv_and_json(tmp_path):
  config = Config(level_name='catch', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  logdir=str(tmp_path / 'run'), progress_secs=100)
  training_loop.train(config, max_updates=2, install_signal_handlers=False)
  result = _evaluate(f'--logdir={tmp_path / "run"}', '--num_episodes=5',
                     '--num_envs=2',
                     f'--export_saved_model={tmp_path / "saved"}')
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / 'run' / 'eval' / 'summary.json') as f:
    summary = json.load(f)
  assert summary['levels']['catch']['episodes'] == 5
  assert summary['update'] == 2
  rows = open(tmp_path / 'run' / 'eval' / 'episodes.csv').read().splitlines()
  assert rows[0] == 'level,episode,return,length' and len(rows) == 6
  assert os.path.exists(tmp_path / 'saved' / 'saved_model.pb')


def test_evaluate_binary_rejects_a_non_run_directory(tmp_path):
  result = _evaluate(f'--logdir={tmp_path}')
  assert result.returncode != 0
  assert 'no config.json' in result.stderr
  assert 'Traceback' not in result.stderr


# ------------------------------------------------ evaluating a finished run

_TINY = dict(level_name='catch', num_action_repeats=1, num_actors=2,
             actor_threads=1, batch_size=2, unroll_length=5, progress_secs=100)


def _make_run(logdir, update):
  """A catch run directory as impala_tf.train leaves it: config.json and a
  checkpoint (of an untrained agent) at learner update ``update``."""
  config = Config(logdir=str(logdir), **_TINY)
  os.makedirs(logdir)
  with open(os.path.join(logdir, 'config.json'), 'w') as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)
  task_set = builder.make_task_set(config)
  agent = builder.make_agent_factory(config, task_set)()
  ActingPolicy(agent, task_set.spec, seed=0)  # Builds the variables.
  checkpointing.CheckpointManager(os.path.join(logdir, 'checkpoints')).save(
      update, {'agent': agent}, extra={})


def _set_writable(root, writable):
  for directory, _, files in os.walk(root):
    for path in [directory] + [os.path.join(directory, f) for f in files]:
      mode = os.lstat(path).st_mode
      write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
      os.chmod(path, (mode | stat.S_IWUSR) if writable else (mode & ~write))


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  logdir = tmp_path_factory.mktemp('evaluate') / 'run'
  _make_run(logdir, update=2)
  return logdir


@pytest.fixture(scope='module')
def read_only_evaluation(tiny_run, tmp_path_factory):
  """Evaluates ``tiny_run`` made read-only, with the default episode count.

  Root ignores permission bits, so what is checked is the listing (names,
  sizes, modification times) of the run before and after.
  """
  output_dir = tmp_path_factory.mktemp('evaluate_output')
  before = listing(tiny_run)
  _set_writable(tiny_run, False)
  try:
    result = _evaluate(f'--logdir={tiny_run}', f'--output_dir={output_dir}',
                       '--num_envs=4')
  finally:
    _set_writable(tiny_run, True)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(output_dir / 'summary.json') as f:
    summary = json.load(f)
  return dict(before=before, after=listing(tiny_run), summary=summary)


def test_evaluating_a_read_only_run_writes_only_output_dir(
    read_only_evaluation):
  assert read_only_evaluation['after'] == read_only_evaluation['before']
  assert read_only_evaluation['summary']['update'] == 2


def test_episodes_default_to_the_paper_protocol(read_only_evaluation):
  summary = read_only_evaluation['summary']  # Run without --num_episodes.
  assert summary['levels']['catch']['episodes'] == 100
  assert evaluate.default_num_episodes('atari') == 200
  assert evaluate.default_num_episodes('dmlab') == 500
  assert evaluate.default_num_episodes('catch') == 100


def test_summary_names_the_checkpoint_relative_to_the_logdir(
    read_only_evaluation, tmp_path):
  summary = read_only_evaluation['summary']
  assert summary['checkpoint'] == os.path.join('checkpoints',
                                               'ckpt-000000000002')
  logdir = tmp_path / 'run'
  assert evaluate.checkpoint_label(
      str(logdir / 'checkpoints' / 'ckpt-1'), str(logdir)) == os.path.join(
          'checkpoints', 'ckpt-1')
  # A --checkpoint from elsewhere (even a sibling named like the run) stays
  # absolute rather than becoming '../...'.
  elsewhere = str(tmp_path / 'run2' / 'ckpt-1')
  assert evaluate.checkpoint_label(elsewhere, str(logdir)) == elsewhere


def test_committed_pong_summary_names_a_relative_checkpoint():
  with open(os.path.join(REPO, 'results', 'pong_eval', 'summary.json')) as f:
    summary = json.load(f)
  assert summary['checkpoint'] == 'checkpoints/ckpt-000000020508'
  assert summary['update'] == 20508


def test_export_to_an_existing_file_is_one_sentence(tiny_run, tmp_path):
  blocker = tmp_path / 'policy'
  blocker.write_text('')
  result = _evaluate(f'--logdir={tiny_run}', f'--output_dir={tmp_path / "out"}',
                     '--num_episodes=1', f'--export_saved_model={blocker}')
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith(
      'impala_tf.evaluate: error: --export_saved_model: '), result.stderr
  assert str(blocker) in last_line
  assert not os.path.exists(tmp_path / 'out')  # Checked before evaluating.


def test_export_destination_problems(tmp_path):
  a_file = tmp_path / 'a_file'
  a_file.write_text('')
  assert 'existing file' in export.destination_problem(a_file)
  assert str(a_file) in export.destination_problem(a_file / 'sub' / 'model')
  assert export.destination_problem(tmp_path) is None
  assert export.destination_problem(tmp_path / 'new' / 'model') is None
