"""The training loop: Catch is learned; an Atari game trains end to end.

The Catch test is the learning-regression test: the full pipeline (actor
threads, queue, staging, learner, parameter store) must turn a random policy
(expected return -0.6) into a good one within paper_configs/catch.cfg's
150K frames (about a minute on 2 cores).
"""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from impala_tf import flags as flags_lib
from impala_tf import plot
from impala_tf import training_loop
from impala_tf.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_config_field_has_a_flag_with_help():
  flag_values = flags.FlagValues()
  flags_lib.define_config_flags(flag_values)
  for field in dataclasses.fields(Config):
    assert flag_values[field.name].help == field.metadata['help']
    assert len(field.metadata['help']) > 10, field.name


def test_catch_is_learned(tmp_path):
  config = flags_lib.config_from_flagfile(
      os.path.join(REPO, 'paper_configs/catch.cfg'), logdir=str(tmp_path),
      progress_secs=10.0)
  result = training_loop.train(config, install_signal_handlers=False)
  assert result.num_frames >= config.total_environment_frames
  curves = plot.read_curves(os.path.join(tmp_path, 'metrics.csv'),
                            'episode_return/')
  _, returns = curves['catch']
  first, last = np.mean(returns[:200]), np.mean(returns[-200:])
  # Random play scores -0.6 on average; a learned policy close to +1.
  assert first < 0.0, first
  assert last > 0.5, (first, last)


def test_an_atari_game_trains_end_to_end(tmp_path):
  config = Config(level_name='breakout', logdir=str(tmp_path), num_actors=4,
                  actor_threads=2, batch_size=4, unroll_length=20,
                  progress_secs=100, summary_secs=0.001)
  first = training_loop.train(config, max_updates=1,
                              install_signal_handlers=False)
  second = training_loop.train(config, max_updates=4,
                               install_signal_handlers=False)
  assert second.num_frames == 5 * 4 * 20 * 4  # 1,600 frames, resumed.
  reader_a = tf.train.load_checkpoint(os.path.join(first.checkpoint,
                                                   'variables'))
  reader_b = tf.train.load_checkpoint(os.path.join(second.checkpoint,
                                                   'variables'))
  agent_vars = [n for n in reader_a.get_variable_to_shape_map()
                if n.startswith('agent/') and 'VARIABLE_VALUE' in n]
  assert agent_vars
  changed = [n for n in agent_vars
             if np.any(reader_a.get_tensor(n) != reader_b.get_tensor(n))]
  assert len(changed) == len(agent_vars)
  losses = plot.read_curves(os.path.join(tmp_path, 'metrics.csv'),
                            'loss/total')
  values = np.concatenate([v for _, v in losses.values()])
  assert len(values) == 5  # One summary per update; NaN would stop the run.
  tags = {line.split(',')[2] for line in open(
      os.path.join(tmp_path, 'metrics.csv')).read().splitlines()[1:]}
  for tag in ('loss/policy_gradient', 'loss/baseline', 'loss/entropy',
              'policy/entropy', 'vtrace/rho_clip_fraction', 'policy_lag/mean',
              'policy_lag/max', 'queue/fill', 'queue/learner_wait_seconds',
              'throughput/frames_per_second', 'learner/learning_rate',
              'system/rss_megabytes'):
    assert tag in tags, tag


def test_a_custom_environment_factory_trains(tmp_path):
  """Any BatchedEnv can be trained through env_factory (SEED-style)."""
  from impala_tf.envs import make_env  # pylint: disable=g-import-not-at-top
  made = []

  def env_factory(num_envs, seed):
    made.append((num_envs, seed))
    return make_env('catch', num_envs=num_envs, seed=seed)

  config = Config(level_name='my_env', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  logdir=str(tmp_path), progress_secs=100)
  result = training_loop.train(config, max_updates=2,
                               install_signal_handlers=False,
                               env_factory=env_factory)
  assert result.num_updates == 2
  # Spec probe, a one-env preflight, then the actors' batch of two.
  assert made[0] == (1, 0)
  assert made[1][0] == 1 and made[2][0] == 2


def test_silent_actors_are_reported_as_a_stall(tmp_path):
  """No unrolls arrive: the learner gives up after stall_timeout_secs."""
  import time  # pylint: disable=g-import-not-at-top
  from impala_tf.envs import make_env  # pylint: disable=g-import-not-at-top

  class Frozen:
    """An environment whose step hangs (a stand-in for a stuck emulator)."""

    def __init__(self, num_envs, seed):
      self._env = make_env('catch', num_envs=num_envs, seed=seed)
      self.spec, self.num_envs = self._env.spec, num_envs

    def reset(self):
      return self._env.reset()

    def step(self, actions):
      time.sleep(4.0)
      return self._env.step(actions)

    def close(self):
      self._env.close()

  config = Config(level_name='frozen', num_action_repeats=1, num_actors=1,
                  actor_threads=1, batch_size=1, unroll_length=5,
                  logdir=str(tmp_path), progress_secs=100,
                  stall_timeout_secs=1.5)
  start = time.monotonic()
  with pytest.raises(training_loop.TrainingError,
                     match='actors (are not producing|or the staging '
                     'thread stalled)'):
    training_loop.train(config, install_signal_handlers=False,
                        env_factory=Frozen)
  assert time.monotonic() - start < 60


def test_resume_drops_metrics_logged_after_the_checkpoint(tmp_path, capsys):
  """A run killed after its last checkpoint left rows for frames that the
  resumed run trains again; they must not appear twice."""
  config = Config(level_name='catch', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  logdir=str(tmp_path), progress_secs=100, summary_secs=0.001)
  first = training_loop.train(config, max_updates=2,
                              install_signal_handlers=False)
  assert first.num_frames == 20
  path = os.path.join(tmp_path, 'metrics.csv')
  before = open(path).read()
  with open(path, 'a') as f:  # What the killed run logged past frame 20.
    f.write('30,1.0,loss/total,0.5\n40,2.0,loss/total,0.25\n')
  training_loop.train(config, max_updates=1, install_signal_handlers=False)
  assert 'Dropped 2 metrics.csv rows logged after frame 20' in (
      capsys.readouterr().out)
  rows = open(path).read()
  assert rows.startswith(before)
  assert '30,1.0,loss/total' not in rows and '40,2.0,loss/total' not in rows
  steps = [int(line.split(',')[0]) for line in rows.splitlines()[1:]]
  assert max(steps) == 30 and steps.count(30) >= 1  # Logged anew.


def test_a_restart_request_checkpoints_and_a_hold_is_waited_for(tmp_path):
  """The run-directory protocol of a controller on another machine (PBT)."""
  import threading  # pylint: disable=g-import-not-at-top
  from impala_tf import run_directory  # pylint: disable=g-import-not-at-top
  config = Config(level_name='catch', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  logdir=str(tmp_path), progress_secs=100)
  training_loop.train(config, max_updates=2, install_signal_handlers=False)
  hold = tmp_path / run_directory.HOLD_FILE
  hold.write_text('')
  (tmp_path / run_directory.RESTART_FILE).write_text('')
  released = []

  def release():
    released.append(True)
    hold.unlink()

  import time  # pylint: disable=g-import-not-at-top
  timer = threading.Timer(2.0, release)
  start = time.monotonic()
  timer.start()
  result = training_loop.train(config, install_signal_handlers=False)
  timer.join()
  # It waited for the hold (a lower bound: slowness cannot break it).
  assert released and time.monotonic() - start >= 2.0
  assert result.stopped_because == training_loop.RESTART_REQUESTED
  assert not (tmp_path / run_directory.RESTART_FILE).exists()
