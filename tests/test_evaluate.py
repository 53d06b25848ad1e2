"""Evaluation protocol, the evaluate binary, and the SavedModel export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import evaluation
from impala_tf import export
from impala_tf import networks
from impala_tf import training_loop
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import Config
from impala_tf.envs import env_spec, make_env

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
