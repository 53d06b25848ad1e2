"""`python -m impala_tf.train --flagfile=paper_configs/<any>` starts the
experiment the config names: one run, a sweep, a population or a local
cluster (real processes, bounded times)."""

import json
import os
import signal
import subprocess
import sys

from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
TINY = ['--num_actors=4', '--actor_threads=1', '--batch_size=4',
        '--unroll_length=5']


def _train(*args):
  return [sys.executable, '-m', 'impala_tf.train', *args]


def test_a_dmlab_sweep_config_says_deepmind_lab_is_missing(tmp_path):
  try:
    import deepmind_lab  # pylint: disable=g-import-not-at-top,unused-import
    return  # Installed: nothing to check here.
  except ImportError:
    pass
  result = subprocess.run(
      _train('--flagfile=paper_configs/dmlab_rooms_watermaze_shallow_sweep.cfg',
             f'--logdir={tmp_path}'),
      cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert 'impala_tf.train: error:' in result.stderr
  assert 'deepmind_lab' in result.stderr.lower()
  assert 'Traceback' not in result.stderr
  assert 'handing over' not in result.stdout


def test_a_sweep_config_runs_the_sweep(tmp_path):
  settings = tmp_path / 'two.json'
  settings.write_text(json.dumps([
      dict(entropy_cost=0.01, learning_rate=0.002, epsilon=0.01),
      dict(entropy_cost=0.001, learning_rate=0.0005, epsilon=0.1)]))
  with Child(_train('--flagfile=paper_configs/catch_sweep.cfg',
                    f'--logdir={tmp_path / "sweep"}', f'--settings={settings}',
                    '--total_environment_frames=2000', *TINY),
             cwd=REPO, env=ENV) as child:
    assert child.wait(timeout=600) == 0, child.stderr.text()[-3000:]
    out, _ = child.output()
  assert 'handing over to python -m impala_tf.sweep' in out
  rows = (tmp_path / 'sweep' / 'results.csv').read_text().splitlines()
  assert len(rows) == 3 and all(',finished,' in r for r in rows[1:]), rows


def test_a_pbt_config_starts_the_population(tmp_path):
  with Child(_train('--flagfile=paper_configs/catch_pbt.cfg',
                    f'--logdir={tmp_path / "pbt"}', *TINY),
             cwd=REPO, env=ENV) as child:
    child.stdout.wait_for('[pbt] 4 members in', timeout=300)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=300) == 0, child.stderr.text()[-3000:]
    out, _ = child.output()
  assert 'handing over to python -m impala_tf.pbt' in out
  state = json.loads((tmp_path / 'pbt' / 'population.json').read_text())
  assert len(state['members']) == 4


def test_actor_processes_in_a_config_start_a_local_cluster(tmp_path):
  with Child(_train('--flagfile=paper_configs/catch.cfg',
                    f'--logdir={tmp_path / "run"}', '--num_actor_processes=2',
                    '--total_environment_frames=3000', *TINY),
             cwd=REPO, env=ENV) as child:
    assert child.wait(timeout=600) == 0, child.stderr.text()[-3000:]
    out, _ = child.output()
  assert 'handing over to python -m impala_tf.launch' in out
  assert os.path.exists(tmp_path / 'run' / 'checkpoints' / 'LATEST')
