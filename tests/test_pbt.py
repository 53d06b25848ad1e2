"""Population based training: the controller with real member processes."""

import json
import os
import signal
import sys

import pytest

from impala_tf.config import Config
from impala_tf.experiments import pbt
from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')


def test_episode_tail_reads_new_rows_and_starts_over_after_a_rewrite(
    tmp_path):
  path = tmp_path / 'metrics.csv'
  path.write_text('step,wall_time,tag,value\n10,1,episode_return/catch,1.0\n'
                  '10,1,loss/total,3.0\n20,2,episode_return/catch,-1.0\n'
                  '30,3,episode_return/cat')  # Last row still being written.
  tail = pbt.EpisodeTail(str(path))
  assert tail.read() == [(10, 'catch', 1.0), (20, 'catch', -1.0)]
  with open(path, 'a') as f:
    f.write('ch,1.0\n')
  assert tail.read() == [(30, 'catch', 1.0)]
  assert tail.read() == []
  path.write_text('step,wall_time,tag,value\n10,1,episode_return/catch,1.0\n')
  assert tail.read() == [(10, 'catch', 1.0)]  # Rewritten: from the start.


def test_fitness_follows_the_suite():
  assert pbt.fitness_kind(Config(level_name='dmlab30')) == 'dmlab30'
  assert pbt.fitness_kind(Config(level_name='atari57')) == 'atari57'
  assert pbt.fitness_kind(Config(level_name='pong')) == 'mean_return'
  assert pbt.fitness_kind(Config(level_name='pong'), 'atari57') == 'atari57'


def _command(logdir):
  return [sys.executable, '-m', 'impala_tf.pbt',
          '--flagfile=' + os.path.join(REPO, 'paper_configs/catch.cfg'),
          f'--logdir={logdir}', '--population_size=4', '--num_actors=4',
          '--actor_threads=1', '--batch_size=4', '--unroll_length=5',
          '--total_environment_frames=10000000', '--pbt_burn_in_frames=0',
          '--pbt_ready_episodes=60', '--pbt_exploit_threshold=0.05',
          '--progress_secs=5', '--summary_secs=1', '--checkpoint_secs=1000']


def test_a_catch_population_exploits_through_checkpoints_and_resumes(
    tmp_path):
  logdir = tmp_path / 'population'
  with Child(_command(logdir), cwd=REPO, env=ENV) as controller:
    controller.stdout.wait_for(') copied member_', timeout=900)
    controller.send_signal(signal.SIGINT)
    assert controller.wait(timeout=300) == 0, controller.stderr.text()
    out, err = controller.output()
  assert 'Traceback' not in err
  state = json.loads((logdir / 'population.json').read_text())
  copies = [e for e in state['events'] if e['donor'] is not None]
  assert copies, state['events']
  event = copies[0]
  assert event['donor_fitness'] - event['fitness'] > 0.05
  recipient = logdir / f'member_{event["member"]:02d}'
  extras = [json.loads((recipient / 'checkpoints' / c / 'extra.json')
                       .read_text())
            for c in os.listdir(recipient / 'checkpoints')
            if c.startswith('ckpt-')]
  assert any('pbt_copied_from' in e for e in extras)
  # Its flag file holds the explored hyperparameters.
  flags_text = (recipient / 'pbt.flags').read_text()
  for name, value in state['members'][event['member']][
      'hyperparameters'].items():
    assert f'--{name}={value!r}' in flags_text or f'--{name}={value}' in (
        flags_text)
  for name, new in event['new'].items():  # Explored from the donor's.
    ratio = new / event['start'][name]
    assert min(abs(ratio - r) for r in (1.0, 1.2, 1 / 1.2)) < 1e-9, ratio
  # The population resumes: same events, members start again.
  before = len(state['events'])
  with Child(_command(logdir), cwd=REPO, env=ENV) as controller:
    controller.stdout.wait_for('4 members in', timeout=300)
    controller.send_signal(signal.SIGINT)
    assert controller.wait(timeout=300) == 0, controller.stderr.text()
  state = json.loads((logdir / 'population.json').read_text())
  assert len(state['events']) >= before


def test_a_population_with_other_flags_is_refused(tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  logdir = tmp_path / 'population'
  logdir.mkdir()
  (logdir / 'population.json').write_text(json.dumps(dict(
      version=1, base_config={'network': 'deep'}, members=[], events=[])))
  result = subprocess.run(_command(logdir), cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert 'is a population with other training flags' in result.stderr
  assert 'Traceback' not in result.stderr
