"""The distributed runtime with real processes on 127.0.0.1.

Learner and actor jobs of ``python -m impala_tf.train`` (TF's RPC layer, TF's
MultiWorkerMirroredStrategy), real checkpoints on disk. Every child is
started through tests.processes.Child: output read with deadlines, and the
process killed and reaped when the test leaves its ``with`` block.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import plot
from tests.processes import Child, free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
CATCH = ['--flagfile=' + os.path.join(REPO, 'paper_configs/catch.cfg'),
         '--progress_secs=1']


def _job(logdir, learners, actors, job, task, *extra):
  return [sys.executable, '-m', 'impala_tf.train', *CATCH,
          f'--logdir={logdir}', f'--learner_addresses={",".join(learners)}',
          f'--num_actor_processes={actors}', f'--job_name={job}',
          f'--task={task}', *extra]


class _Cluster:
  """Starts learners and actor processes; stops all of them on exit."""

  def __init__(self, tmp_path, num_learners=1, num_actors=2, extra=()):
    port = free_port(2 * num_learners)
    self.learners = [f'127.0.0.1:{port + 2 * i}' for i in range(num_learners)]
    self.logdir = str(tmp_path / 'run')
    self.num_actors = num_actors
    self.extra = list(extra)
    self._stack = contextlib.ExitStack()

  def command(self, job, task, *extra):
    return _job(self.logdir, self.learners, self.num_actors, job, task,
                *self.extra, *extra)

  def start(self, job, task, *extra):
    return self._stack.enter_context(
        Child(self.command(job, task, *extra), cwd=REPO, env=ENV))

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self._stack.close()


def _frames_of(line):
  """Frames of a progress line '[ 12.34K / ...' in units of 1."""
  value = line.split('[', 1)[1].split('/')[0].strip()
  scale = {'K': 1e3, 'M': 1e6, 'G': 1e9}.get(value[-1], 1)
  return float(value.rstrip('KMG')) * scale


def _rounding_of(line):
  """Half the last printed digit of a progress line's frames, in frames
  (e.g. '0.00M' stands for anything below 5,000)."""
  value = line.split('[', 1)[1].split('/')[0].strip()
  scale = {'K': 1e3, 'M': 1e6, 'G': 1e9}.get(value[-1], 1)
  decimals = len(value.rstrip('KMG').partition('.')[2])
  return 0.5 * 10.0**-decimals * scale


# Slow: Learning needs ~150K frames through 2 cores shared by 3 processes;
# test_experiments runs a learner + 2 actor processes to the end by default.
@pytest.mark.slow
def test_learner_and_two_actor_processes_learn_catch(tmp_path):
  with _Cluster(tmp_path) as cluster:
    learner = cluster.start('learner', 0)
    actors = [cluster.start('actor', k) for k in range(2)]
    assert learner.wait(timeout=600) == 0, learner.stderr.text()[-3000:]
    for actor in actors:
      assert actor.wait(timeout=60) == 0, actor.output()
      out, _ = actor.output()
      assert 'done: sent' in out  # It stopped because the learner finished.
  out, _ = learner.output()
  assert 'Stopped: finished at 150,' in out
  curves = plot.read_curves(os.path.join(cluster.logdir, 'metrics.csv'),
                            'episode_return/')
  _, returns = curves['catch']
  first, last = np.mean(returns[:200]), np.mean(returns[-200:])
  assert first < 0.0 and last > 0.5, (first, last)


# Slow: test_launcher kills an actor with SIGKILL and sees it rejoin by default.
@pytest.mark.slow
def test_a_killed_actor_is_not_missed_and_rejoins(tmp_path):
  with _Cluster(tmp_path, extra=['--total_environment_frames=100000000',
                                 '--checkpoint_secs=1000']) as cluster:
    learner = cluster.start('learner', 0)
    actors = [cluster.start('actor', k) for k in range(2)]
    learner.stdout.wait_for(' fps ', timeout=300)
    os.kill(actors[0].pid, signal.SIGKILL)
    assert actors[0].wait(timeout=30) == -signal.SIGKILL
    # Training goes on with the other actor.
    seen = learner.stdout.wait_for(' fps ', timeout=120)
    learner.stdout.wait_for(' fps ', timeout=120, count=seen + 3)
    again = cluster.start('actor', 0)  # The same command: it rejoins.
    again.stdout.wait_for('first unrolls accepted', timeout=300)
    seen = learner.stdout.wait_for(' fps ', timeout=120)
    learner.stdout.wait_for(' fps ', timeout=120, count=seen + 3)
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=60) == 0
    out, err = again.output()
    sent = int(out.split('done: sent ')[1].split(' unrolls')[0].replace(',', ''))
    assert sent > 0, out
    assert 'Traceback' not in err
    assert learner.process.poll() is None  # Never stopped.


def test_a_killed_learner_resumes_and_the_same_actors_reconnect(tmp_path):
  with _Cluster(tmp_path, extra=['--total_environment_frames=100000000',
                                 '--checkpoint_secs=1']) as cluster:
    learner = cluster.start('learner', 0)
    actors = [cluster.start('actor', k) for k in range(2)]
    learner.stdout.wait_for(' fps ', timeout=300, count=3)
    latest = os.path.join(cluster.logdir, 'checkpoints', 'LATEST')
    assert os.path.exists(latest)
    os.kill(learner.pid, signal.SIGKILL)
    assert learner.wait(timeout=30) == -signal.SIGKILL
    for actor in actors:
      actor.stdout.wait_for('lost the learner', timeout=120)
    restarted = cluster.start('learner', 0)
    restarted.stdout.wait_for('Resumed from', timeout=300)
    out = restarted.stdout.text()
    resumed = int(out.split('Resumed from ')[1].split(' at ')[1].split(
        ' frames')[0].replace(',', ''))
    assert resumed > 0
    for actor in actors:  # Not restarted: they reconnect by themselves.
      actor.stdout.wait_for('connected to a restarted learner', timeout=300)
      assert actor.process.poll() is None
    restarted.stdout.wait_for(' fps ', timeout=300, count=3)
    lines = [l for l in restarted.stdout.text().splitlines() if ' fps ' in l]
    assert all(_frames_of(l) >= resumed - _rounding_of(l) for l in lines), (
      resumed, lines)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=120) == 0
  # The logged frame counter never goes back: rows past the checkpoint the
  # killed learner wrote are gone, and the resumed rows continue from it.
  with open(os.path.join(cluster.logdir, 'metrics.csv')) as f:
    steps = [int(line.split(',')[0]) for line in f.read().splitlines()[1:]]
  assert steps == sorted(steps)
  assert max(steps) > resumed


def _parameters(address):
  """(version, [numpy]) from a learner's service, as an actor would get it."""
  from impala_tf.distributed import wire  # pylint: disable=g-import-not-at-top
  client = tf.distribute.experimental.rpc.Client.create(
      'grpc', address, timeout_in_ms=30_000)
  specs = [tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64),
           tf.TensorSpec([], tf.string)]
  chunks, version, count = [], -1, 1
  while len(chunks) < count:
    result = client.call('parameters', [tf.constant(version, tf.int64),
                                        tf.constant(len(chunks), tf.int64)],
                         output_specs=specs)
    got, count, data = result.get_value()
    if version >= 0 and int(got) != version:
      chunks, version = [], -1
      continue
    version, count = int(got), int(count)
    chunks.append(data.numpy())
  leaves = tf.io.parse_tensor(b''.join(chunks), tf.string)
  return version, [tf.io.parse_tensor(x, tf.float32).numpy() for x in leaves]


def test_two_learners_keep_identical_parameters(tmp_path):
  with _Cluster(tmp_path, num_learners=2, extra=[
      '--total_environment_frames=100000000',
      '--checkpoint_secs=1000']) as cluster:
    learners = [cluster.start('learner', i) for i in range(2)]
    actors = [cluster.start('actor', k) for k in range(2)]
    learners[0].stdout.wait_for(' fps ', timeout=300, count=2)
    compared = 0
    for _ in range(200):
      (v0, p0), (v1, p1) = (_parameters(a) for a in cluster.learners)
      if v0 != v1 or v0 < 5:
        continue
      for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)
      compared += 1
      if compared == 3:
        break
    assert compared == 3, 'never caught both learners at the same version'
    for learner in learners:
      learner.send_signal(signal.SIGTERM)
    for learner in learners:
      assert learner.wait(timeout=120) == 0, learner.stderr.text()[-3000:]
    out, _ = learners[0].output()
    assert 'Stopped: stop requested' in out
    checkpoints = os.listdir(os.path.join(cluster.logdir, 'checkpoints'))
    assert any(c.startswith('ckpt-') for c in checkpoints)  # The chief's.
    del actors


def test_two_learners_equal_one_learner_on_the_whole_batches(tmp_path):
  """Under MultiWorkerMirroredStrategy, two learner processes each training
  on half of every batch end with the parameters of one learner trained on
  the whole batches (summed losses: the all-reduced gradient is the same)."""
  from tests import two_learner_worker as worker  # pylint: disable=g-import-not-at-top
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  port = free_port(4)
  addresses = f'127.0.0.1:{port},127.0.0.1:{port + 2}'
  children = [Child([sys.executable, '-m', 'tests.two_learner_worker',
                     str(task), addresses, str(tmp_path)], cwd=REPO, env=ENV)
              for task in range(2)]
  with contextlib.ExitStack() as stack:
    for child in children:
      stack.enter_context(child)
    for child in children:
      assert child.wait(timeout=300) == 0, child.stderr.text()[-3000:]
  initial = np.load(tmp_path / 'initial.npz')
  finals = [np.load(tmp_path / f'final_{t}.npz') for t in range(2)]
  reference = builder.make_learner(worker.CONFIG, worker.SPEC,
                                   worker.agent_factory)
  for i, variable in enumerate(reference.variables):
    variable.assign(initial[str(i)])
  for update in range(worker.NUM_UPDATES):
    reference.step(reference.place(
        worker.global_batch(update, reference.agent)))
  for final in finals:
    assert int(final['updates']) == worker.NUM_UPDATES
    assert int(final['frames']) == reference.frames
    for i, variable in enumerate(reference.variables):
      np.testing.assert_allclose(final[str(i)], variable.numpy(), rtol=1e-4,
                                 atol=1e-4)
  changed = [np.any(finals[0][str(i)] != initial[str(i)])
             for i in range(len(reference.variables))]
  assert all(changed)


def test_a_mismatched_actor_is_refused_with_the_difference_named(tmp_path):
  with _Cluster(tmp_path, extra=['--total_environment_frames=100000000']
                ) as cluster:
    learner = cluster.start('learner', 0)
    learner.stdout.wait_for('serving actors at', timeout=300)
    actor = cluster.start('actor', 0, '--network=deep')
    assert actor.wait(timeout=300) == 3
    out, err = actor.output()
    assert "refused this actor: network: learner 'shallow', actor 'deep'" in (
        out), out
    assert 'Traceback' not in err


def test_an_unreachable_learner_is_named_and_retried_without_a_traceback(
    tmp_path):
  port = free_port()  # Nobody listens there.
  command = _job(tmp_path / 'run', [f'127.0.0.1:{port}'], 1, 'actor', 0,
                 '--connect_timeout_secs=12')
  with Child(command, cwd=REPO, env=ENV) as actor:
    assert actor.wait(timeout=300) == 4
    out, err = actor.output()
  assert f'cannot reach the learner at 127.0.0.1:{port}' in out
  assert 'retrying in' in out and 'gave up after' in out
  assert 'Traceback' not in err


def _listening(port):
  """Local addresses (hex IP) of sockets listening on ``port`` (IPv4/6)."""
  found = []
  for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    with open(table) as f:
      for line in f.read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(':')
        if state == '0A' and int(hex_port, 16) == port:  # 0A = LISTEN.
          found.append(address)
  return found


def test_the_learner_listens_on_loopback_only_and_a_busy_port_is_one_sentence(
    tmp_path):
  with _Cluster(tmp_path, extra=['--total_environment_frames=100000000']
                ) as cluster:
    learner = cluster.start('learner', 0)
    learner.stdout.wait_for('serving actors at', timeout=300)
    port = int(cluster.learners[0].split(':')[1])
    addresses = _listening(port)
    assert addresses, 'nothing listens on the learner port'
    loopback = ('0100007F', '0000000000000000FFFF00000100007F')
    assert all(a in loopback for a in addresses), addresses
    second = subprocess.run(
        _job(tmp_path / 'other', cluster.learners, 2, 'learner', 0),
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
  assert second.returncode != 0
  assert f'cannot listen on {cluster.learners[0]}' in second.stderr, (
      second.stderr[-2000:])
  assert 'Traceback' not in second.stderr
