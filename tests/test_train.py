"""The training binary end to end: bad flags, SIGTERM + exact resume, NaN stop.

These start real `python -m impala_tf.train` processes on Catch and read the
real checkpoints they write.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import learning
from impala_tf import optimizer as optimizer_lib
from impala_tf import training_loop
from impala_tf.config import Config
from impala_tf.stopping import StopSignal
from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH_FLAGS = ['--flagfile=' + os.path.join(REPO, 'paper_configs/catch.cfg'),
               '--num_actors=4', '--batch_size=4', '--unroll_length=10',
               '--progress_secs=1', '--summary_secs=1']


def _train_cmd(*args):
  return [sys.executable, '-m', 'impala_tf.train', *CATCH_FLAGS, *args]


def _run(args, timeout=120):
  return subprocess.run(_train_cmd(*args), cwd=REPO, capture_output=True,
                        text=True, timeout=timeout)


@pytest.mark.parametrize('flag_args,needle', [
    (['--batch_size=0'], '--batch_size: must be > 0'),
    (['--level_name=pongg'], "Closest valid names: pong"),
    (['--network=resnet'], "--network: must be one of ['shallow', 'deep']"),
    (['--num_action_repeats=4'], '--num_action_repeats: catch levels use a '
     'fixed action repeat of 1'),
    (['--reward_clipping=tanh'], '--reward_clipping: must be one of'),
    (['--num_actors=1', '--actor_threads=2'], '--actor_threads:'),
])
def test_bad_flags_fail_before_starting_with_the_flag_named(tmp_path,
                                                            flag_args, needle):
  result = _run([f'--logdir={tmp_path}', *flag_args], timeout=60)
  assert result.returncode != 0
  assert needle in result.stderr, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr
  assert not os.path.exists(tmp_path / 'checkpoints')


def test_missing_deepmind_lab_is_one_clear_sentence(tmp_path):
  try:
    import deepmind_lab  # pylint: disable=g-import-not-at-top,unused-import
    pytest.skip('deepmind_lab is installed here')
  except ImportError:
    pass
  result = _run([f'--logdir={tmp_path}', '--level_name=rooms_watermaze',
                 '--num_action_repeats=4'], timeout=60)
  assert result.returncode != 0
  assert 'impala_tf.train: error:' in result.stderr
  assert 'deepmind_lab' in result.stderr.lower()
  assert 'Traceback' not in result.stderr


def test_a_logdir_of_another_model_is_refused_clearly(tmp_path):
  first = _run([f'--logdir={tmp_path}', '--max_updates=1'])
  assert first.returncode == 0, first.stderr[-2000:]
  config_json = (tmp_path / 'config.json').read_text()
  second = _run([f'--logdir={tmp_path}', '--max_updates=1',
                 '--network=deep'])
  assert second.returncode != 0
  assert 'holds a checkpoint of a different model' in second.stderr
  assert 'Traceback' not in second.stderr
  # The refused run must not rewrite the run's description.
  assert (tmp_path / 'config.json').read_text() == config_json
  assert json.loads(config_json)['network'] == 'shallow'


def _read_checkpoint(path):
  reader = tf.train.load_checkpoint(os.path.join(path, 'variables'))
  get = lambda name: reader.get_tensor(name + '/.ATTRIBUTES/VARIABLE_VALUE')
  names = [n for n, _ in tf.train.list_variables(
      os.path.join(path, 'variables'))]
  slots = sorted(n.split('/.ATTRIBUTES')[0] for n in names
                 if n.startswith('optimizer/_ms/'))
  with open(os.path.join(path, 'extra.json')) as f:
    extra = json.load(f)
  return dict(
      num_frames=int(get('num_frames')), num_updates=int(get('num_updates')),
      rng=[get(f'actor_rng_{i}/_state_var') for i in range(2)],
      ms={s: get(s) for s in slots}, extra=extra)


def test_sigterm_checkpoints_and_the_rerun_resumes_exactly(tmp_path):
  logdir = str(tmp_path / 'run')
  with Child(_train_cmd(f'--logdir={logdir}',
                        '--total_environment_frames=10000000',
                        '--checkpoint_secs=1000'), cwd=REPO) as child:
    child.stdout.wait_for(' fps ', timeout=300, count=3)  # Several updates.
    child.send_signal(signal.SIGTERM)
    returncode = child.wait(timeout=120)
    rest, err = child.output()
  assert returncode == 0, err[-3000:]
  assert 'Stopped: stop requested' in rest
  latest = open(os.path.join(logdir, 'checkpoints', 'LATEST')).read().strip()
  saved = _read_checkpoint(os.path.join(logdir, 'checkpoints', latest))
  assert saved['num_updates'] > 0
  assert saved['num_frames'] == saved['num_updates'] * 4 * 10 * 1
  assert sum(saved['extra']['episodes']['counts']) > 0 if isinstance(
      saved['extra']['episodes'].get('counts'), list) else True
  assert any(np.any(v != 1.0) for v in saved['ms'].values())  # Slots moved.

  # A new run on the same logdir restores every piece of that state.
  config = Config.from_dict(saved['extra']['config'])
  run = training_loop._Run(config, StopSignal())  # pylint: disable=protected-access
  run.close()  # Releases the logdir for the binary below.
  assert int(run.learner.num_frames) == saved['num_frames']
  assert int(run.learner.num_updates) == saved['num_updates']
  for i, policy in enumerate(run.actors.policies):
    np.testing.assert_array_equal(policy.generator.state.numpy(),
                                  saved['rng'][i])
  for name, value in saved['ms'].items():
    index = int(name.split('/')[-1])
    np.testing.assert_array_equal(
        run.learner.optimizer.slots['rms'][index].numpy(), value)
  assert run.episodes.state_dict() == saved['extra']['episodes']
  expected_lr = 0.002 * (1 - saved['num_frames'] / 10_000_000)
  assert float(optimizer_lib.linear_learning_rate(
      config.learning_rate, run.learner.num_frames,
      config.total_environment_frames)) == pytest.approx(expected_lr)

  # And the binary, run again, continues from that frame count.
  result = _run([f'--logdir={logdir}', '--total_environment_frames=10000000',
                 '--max_updates=2'])
  assert result.returncode == 0, result.stderr[-3000:]
  out = result.stdout + result.stderr
  assert f'at {saved["num_frames"]:,} frames' in out
  assert f'Stopped: max_updates at {saved["num_frames"] + 2 * 40:,} frames' in (
      out)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    tmp_path, monkeypatch):
  config = Config(level_name='catch', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  total_environment_frames=100_000, logdir=str(tmp_path),
                  progress_secs=100, summary_secs=100)
  first = training_loop.train(config, max_updates=3,
                              install_signal_handlers=False)
  assert first.num_updates == 3 and first.checkpoint.endswith('00003')

  real_step = learning.Learner.step
  calls = []

  def poisoned_step(self, batch):
    stats = real_step(self, batch)
    calls.append(1)
    if len(calls) == 2:
      stats['total'] = float('nan')
    return stats

  monkeypatch.setattr(learning.Learner, 'step', poisoned_step)
  with pytest.raises(training_loop.TrainingError,
                     match='Non-finite loss at update 5'):
    training_loop.train(config, install_signal_handlers=False)
  latest = open(tmp_path / 'checkpoints' / 'LATEST').read().strip()
  assert latest.endswith('00003')


def test_flag_errors_come_before_tensorflow_loads(tmp_path):
  """A tensorflow package that refuses to import shadows the real one: flag
  errors must still be reported, so they cannot depend on TensorFlow."""
  fake = tmp_path / 'no_tf' / 'tensorflow'
  fake.mkdir(parents=True)
  (fake / '__init__.py').write_text(
      "raise ImportError('this test forbids importing tensorflow')\n")
  env = dict(os.environ, PYTHONPATH=str(tmp_path / 'no_tf'))
  for args, needle in ((['--batch_size=0'], '--batch_size: must be > 0'),
                       (['--learning_rate=inf'], '--learning_rate: must be '
                        'a finite number'),
                       (['--level_name=pongg'], 'Closest valid names: pong')):
    result = subprocess.run(_train_cmd(f'--logdir={tmp_path / "run"}', *args),
                            cwd=REPO, capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode != 0
    assert needle in result.stderr, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr


def test_a_logdir_that_is_a_file_is_one_sentence(tmp_path):
  path = tmp_path / 'a_file'
  path.write_text('not a directory')
  result = _run([f'--logdir={path}', '--max_updates=1'], timeout=60)
  assert result.returncode != 0
  assert f'--logdir: {path} is a file, not a directory.' in result.stderr
  assert 'Traceback' not in result.stderr


def test_a_read_only_logdir_is_one_sentence(tmp_path):
  logdir = tmp_path / 'read_only'
  logdir.mkdir()
  logdir.chmod(0o555)
  command = _train_cmd(f'--logdir={logdir}', '--max_updates=1')
  if os.geteuid() == 0:  # Root writes anywhere: drop that power for the run.
    setpriv = shutil.which('setpriv')
    if setpriv is None:
      pytest.skip('running as root without setpriv to drop the capability')
    command = [setpriv, '--bounding-set', '-dac_override,-dac_read_search',
               *command]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          timeout=60)
  assert result.returncode != 0
  assert f'--logdir: cannot use {logdir}: not writable' in result.stderr, (
      result.stderr[-2000:])
  assert 'Traceback' not in result.stderr


def test_a_second_trainer_on_the_same_logdir_is_refused(tmp_path):
  from impala_tf import run_directory  # pylint: disable=g-import-not-at-top
  with run_directory.RunLock(str(tmp_path)):  # "Another trainer" (this test).
    result = _run([f'--logdir={tmp_path}', '--max_updates=1'], timeout=60)
  assert result.returncode != 0
  assert f'--logdir: {tmp_path} is in use by another trainer (pid ' in (
      result.stderr)
  assert f'pid {os.getpid()} on host' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not os.path.exists(tmp_path / 'checkpoints')
  # Free again, the same command trains.
  again = _run([f'--logdir={tmp_path}', '--max_updates=1'])
  assert again.returncode == 0, again.stderr[-2000:]


def test_ctrl_c_while_starting_up_is_quiet(tmp_path):
  """SIGINT during start-up (TensorFlow loading, building the learner) stops
  the run without a traceback and without writing a checkpoint."""
  with Child(_train_cmd(f'--logdir={tmp_path}'), cwd=REPO) as child:
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    returncode = child.wait(timeout=120)
    out, err = child.output()
  assert returncode in (0, 130), err[-2000:]
  assert 'Traceback' not in err and 'KeyboardInterrupt' not in err
  assert not os.path.exists(tmp_path / 'checkpoints' / 'LATEST'), out


def test_a_second_ctrl_c_exits_at_once_and_quietly(tmp_path):
  """The binary wires the second Ctrl-C to an immediate exit (the mechanism,
  including "no checkpoint", is tested in test_stopping)."""
  with Child(_train_cmd(f'--logdir={tmp_path}',
                        '--total_environment_frames=10000000',
                        '--checkpoint_secs=1000'), cwd=REPO) as child:
    child.stdout.wait_for(' fps ', timeout=300)  # Training is under way.
    child.send_signal(signal.SIGINT)
    # Two quick SIGINTs would merge into one: wait until the first is seen.
    child.stderr.wait_for('received SIGINT', timeout=60)
    child.send_signal(signal.SIGINT)
    returncode = child.wait(timeout=60)
    out, err = child.output()
  assert returncode == 130, err[-2000:]
  assert 'second Ctrl-C: exiting now, without a checkpoint' in err
  assert 'Traceback' not in err and 'KeyboardInterrupt' not in err
  assert 'Stopped:' not in out
