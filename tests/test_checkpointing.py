"""Tests for impala_tf.checkpointing, with real files on disk."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import sonnet as snt
import tensorflow as tf

from impala_tf import checkpointing  # pylint: disable=unused-import
from impala_tf import durable_files
from impala_tf.checkpointing import CheckpointDirectoryError
from impala_tf.checkpointing import CheckpointManager
from impala_tf.checkpointing import CheckpointMismatchError
from impala_tf.optimizer import RMSProp
from tests.listing import listing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fast_fsync(request, monkeypatch):
  """fsync only matters for power loss, which no test can simulate; make it
  free (the calls still happen) except in tests decorated with _real_fsync."""
  if not getattr(request.function, 'real_fsync', False):
    monkeypatch.setattr(os, 'fsync', lambda fd: None)


def _real_fsync(test):
  test.real_fsync = True
  return test


def _state(seed, out=4, inp=3):
  """A small 'training state': sonnet module, optimiser slots, RNG, step."""
  model = snt.Linear(out, name='policy')
  model(tf.zeros([1, inp]))
  optimizer = RMSProp(decay=0.9, momentum=0.5, epsilon=0.1)
  optimizer.create_slots(model.trainable_variables)
  rng = tf.random.Generator.from_seed(seed)
  frames = tf.Variable(0, dtype=tf.int64, name='frames')
  return {'model': model, 'optimizer': optimizer, 'rng': rng,
          'frames': frames}


def _train(state, steps):
  """Changes every variable: weights, both slots, RNG state, counter."""
  model, optimizer = state['model'], state['optimizer']
  for _ in range(steps):
    x = state['rng'].normal([2, 3])
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.square(model(x)))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables, 0.01)
    state['frames'].assign_add(2)


def _values(state):
  module_vars = list(state['model'].variables) + list(
      state['optimizer'].variables)
  return ([v.numpy().copy() for v in module_vars] +
          [state['rng'].state.numpy().copy(), state['frames'].numpy()])


def _assert_same(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


def _filled(value, shape=(5,)):
  return {'v': tf.Variable(np.full(shape, value, np.float32))}


# ------------------------------------------------------------- round trip


@_real_fsync
def test_round_trip_restores_every_kind_of_state(tmp_path):
  manager = CheckpointManager(tmp_path / 'ckpts')
  state = _state(seed=1)
  _train(state, 3)
  saved = _values(state)
  path = manager.save(6, state, extra={'frames': 6, 'note': 'x'})
  assert os.path.basename(path) == 'ckpt-000000000006'
  assert sorted(os.listdir(path)) == [
      'extra.json', 'meta.json', 'variables.data-00000-of-00001',
      'variables.index']
  meta = manager.read_meta(path)
  assert meta['step'] == 6
  assert meta['trackables'] == ['frames', 'model', 'optimizer', 'rng']
  assert meta['tensorflow_version'] == tf.__version__
  assert abs(meta['wall_time'] - time.time()) < 60
  next_normal = state['rng'].normal([3]).numpy()

  fresh = _state(seed=99)
  _train(fresh, 1)
  with pytest.raises(AssertionError):
    _assert_same(_values(fresh), saved)
  # A new manager, as after a restart.
  step, extra = CheckpointManager(tmp_path / 'ckpts').restore_latest(fresh)
  assert step == 6
  assert extra == {'frames': 6, 'note': 'x'}
  _assert_same(_values(fresh), saved)
  # The RNG continues the same stream.
  np.testing.assert_array_equal(fresh['rng'].normal([3]).numpy(), next_normal)
  # Training continues identically from the restored optimiser slots.
  _train(state, 2)
  _train(fresh, 2)
  _assert_same(_values(fresh), _values(state))


@pytest.fixture
def strategy(request):
  # Share the session's strategy when conftest provides one (several
  # MirroredStrategy objects in a process can collide on collective keys).
  try:
    return request.getfixturevalue('mirrored_strategy')
  except pytest.FixtureLookupError:
    return tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])


def test_round_trip_under_mirrored_strategy(tmp_path, strategy):
  with strategy.scope():
    state = _state(seed=3)
  state['model'].w.assign(tf.fill(state['model'].w.shape, 0.5))
  state['optimizer']._ms[0].assign(tf.fill([4], 2.0))
  manager = CheckpointManager(tmp_path)
  manager.save(1, state)
  with strategy.scope():
    fresh = _state(seed=4)
  manager.restore_latest(fresh)
  _assert_same(_values(fresh), _values(state))
  for replica_value in strategy.experimental_local_results(fresh['model'].w):
    np.testing.assert_array_equal(replica_value.numpy(), np.full([3, 4], 0.5))


def test_restore_latest_on_empty_directory_is_none(tmp_path):
  manager = CheckpointManager(tmp_path)
  assert manager.latest() is None
  assert manager.restore_latest(_filled(0.0)) is None


def test_subset_restore_for_evaluation(tmp_path):
  manager = CheckpointManager(tmp_path)
  state = _state(seed=1)
  _train(state, 2)
  manager.save(1, state)
  model_only = {'model': _state(seed=5)['model']}
  manager.restore(manager.latest(), model_only)
  _assert_same([v.numpy() for v in model_only['model'].variables],
               [v.numpy() for v in state['model'].variables])


def test_save_rejects_bad_arguments(tmp_path):
  manager = CheckpointManager(tmp_path)
  with pytest.raises(TypeError, match='JSON'):
    manager.save(1, _filled(1.0), extra={'x': object()})
  with pytest.raises(ValueError, match='step'):
    manager.save(-1, _filled(1.0))
  with pytest.raises(TypeError, match='step'):
    manager.save(True, _filled(1.0))
  with pytest.raises(ValueError, match='non-empty'):
    manager.save(1, {})
  assert os.listdir(tmp_path) == []  # Nothing half-written left behind.
  # numpy integers are fine.
  assert manager.save(np.int64(3), _filled(1.0)).endswith('ckpt-000000000003')


# ------------------------------------------------------------------ pruning


def test_max_to_keep_prunes_oldest(tmp_path):
  manager = CheckpointManager(tmp_path, max_to_keep=2)
  for step in (10, 20, 30, 40):
    manager.save(step, _filled(step), extra={'step': step})
  assert [os.path.basename(p) for p in manager.checkpoints()] == [
      'ckpt-000000000030', 'ckpt-000000000040']
  assert sorted(os.listdir(tmp_path)) == [
      'LATEST', 'ckpt-000000000030', 'ckpt-000000000040']
  assert (tmp_path / 'LATEST').read_text().strip() == 'ckpt-000000000040'
  target = _filled(0.0)
  assert manager.restore_latest(target) == (40, {'step': 40})
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 40.0))


def test_max_to_keep_never_deletes_the_latest(tmp_path):
  manager = CheckpointManager(tmp_path, max_to_keep=1)
  manager.save(50, _filled(50.0))
  # A restarted run saving a smaller step (e.g. after restoring an older
  # checkpoint): LATEST moves to it and it must survive pruning.
  manager.save(5, _filled(5.0))
  assert manager.latest().endswith('ckpt-000000000005')
  assert os.path.isdir(manager.latest())


def test_keep_all_and_invalid_max_to_keep(tmp_path):
  manager = CheckpointManager(tmp_path, max_to_keep=None)
  for step in range(5):
    manager.save(step, _filled(step))
  assert len(manager.checkpoints()) == 5
  with pytest.raises(ValueError, match='max_to_keep'):
    CheckpointManager(tmp_path, max_to_keep=0)


def test_saving_the_same_step_again_replaces_it(tmp_path):
  manager = CheckpointManager(tmp_path)
  manager.save(7, _filled(1.0), extra={'value': 1})
  manager.save(7, _filled(2.0), extra={'value': 2})
  target = _filled(0.0)
  assert manager.restore_latest(target) == (7, {'value': 2})
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 2.0))
  assert sorted(os.listdir(tmp_path)) == ['LATEST', 'ckpt-000000000007']


# --------------------------------------------------------- LATEST fallback


@pytest.mark.parametrize('corruption', ['missing', 'garbage', 'dangling',
                                        'empty', 'binary'])
def test_latest_falls_back_to_newest_complete_checkpoint(tmp_path,
                                                         corruption):
  manager = CheckpointManager(tmp_path)
  manager.save(1, _filled(1.0))
  manager.save(2, _filled(2.0))
  latest_file = tmp_path / 'LATEST'
  if corruption == 'missing':
    latest_file.unlink()
  elif corruption == 'garbage':
    latest_file.write_text('../../etc/passwd\n')
  elif corruption == 'dangling':
    latest_file.write_text('ckpt-000000000099\n')
  elif corruption == 'empty':
    latest_file.write_text('')
  else:
    latest_file.write_bytes(b'\xff\xfe\x00garbage')
  # Work-in-progress and incomplete directories are never chosen.
  (tmp_path / '.tmp-ckpt-000000000003-otherhost-1-abc').mkdir()
  (tmp_path / 'ckpt-000000000004').mkdir()  # No files: incomplete.
  assert manager.latest() == str(tmp_path / 'ckpt-000000000002')
  target = _filled(0.0)
  assert manager.restore_latest(target)[0] == 2
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 2.0))


def test_latest_prefers_pointer_over_higher_step(tmp_path):
  manager = CheckpointManager(tmp_path)
  manager.save(1, _filled(1.0))
  manager.save(2, _filled(2.0))
  (tmp_path / 'LATEST').write_text('ckpt-000000000001\n')
  assert manager.latest() == str(tmp_path / 'ckpt-000000000001')


# ------------------------------------------------------------------ crashes


def test_failed_directory_rename_keeps_previous_checkpoint(tmp_path,
                                                           monkeypatch):
  manager = CheckpointManager(tmp_path)
  manager.save(1, _filled(1.0), extra={'value': 1})
  real_replace = os.replace

  def failing_replace(src, dst, *args, **kwargs):
    if os.path.basename(os.fspath(src)).startswith('.tmp-ckpt-'):
      raise OSError(28, 'No space left on device')
    return real_replace(src, dst, *args, **kwargs)

  monkeypatch.setattr(os, 'replace', failing_replace)
  with pytest.raises(OSError, match='No space') as info:
    manager.save(2, _filled(2.0), extra={'value': 2})
  assert any('ckpt-000000000002' in note
             for note in getattr(info.value, '__notes__', []))
  monkeypatch.undo()
  # The half-done save left nothing behind and LATEST is the old one.
  assert sorted(os.listdir(tmp_path)) == ['LATEST', 'ckpt-000000000001']
  target = _filled(0.0)
  assert CheckpointManager(tmp_path).restore_latest(target) == (
      1, {'value': 1})
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 1.0))


class _Crash(BaseException):
  """Stands for the process dying: nothing after it touches the disk."""


_HOOKED = [(os, 'replace'), (os, 'rename'), (os, 'fsync'), (os, 'open'),
           (os, 'mkdir'), (os, 'unlink'), (os, 'remove'), (os, 'rmdir'),
           (shutil, 'rmtree')]


def _crash_at(monkeypatch, crash_index):
  """Makes the crash_index-th file-system call (and every later one) die."""
  calls = {'n': 0}

  def wrap(original):
    def hooked(*args, **kwargs):
      calls['n'] += 1
      if calls['n'] > crash_index:
        raise _Crash()
      return original(*args, **kwargs)
    return hooked

  for module, name in _HOOKED:
    monkeypatch.setattr(module, name, wrap(getattr(module, name)))
  return calls


@pytest.mark.parametrize('same_step', [False, True])
def test_crash_at_every_point_of_a_save_leaves_a_valid_latest(
    tmp_path, same_step):
  """Kills a save after each of its file-system operations in turn."""
  new_step = 1 if same_step else 2
  crash_index = 0
  while True:
    directory = tmp_path / f'run{crash_index}'
    manager = CheckpointManager(directory, max_to_keep=1)
    manager.save(1, _filled(1.0), extra={'value': 1.0})
    with pytest.MonkeyPatch.context() as crash_patch:
      _crash_at(crash_patch, crash_index)
      try:
        manager.save(new_step, _filled(2.0), extra={'value': 2.0})
        crashed = False
      except _Crash:
        crashed = True
    # Restart: clean-up, then restore whatever LATEST is.
    restarted = CheckpointManager(directory, max_to_keep=1)
    assert not [e for e in os.listdir(directory) if e.startswith('.tmp-')]
    # Every ckpt-* directory is whole (not half-written, not half-deleted).
    for name in os.listdir(directory):
      if name.startswith('ckpt-'):
        restarted.restore(directory / name, _filled(0.0))
    # The pointer itself is valid: no fallback needed.
    pointer = (directory / 'LATEST').read_text().strip()
    assert restarted.latest() == str(directory / pointer), crash_index
    target = _filled(0.0)
    step, extra = restarted.restore_latest(target)
    value = float(target['v'].numpy()[0])
    assert value in (1.0, 2.0), crash_index
    # Variables and extra come from the same save, and the step fits.
    assert extra == {'value': value}, crash_index
    if not same_step:
      assert step == int(value), crash_index
    if not crashed:
      assert value == 2.0
      break
    # The restarted manager keeps working.
    restarted.save(3, _filled(3.0), extra={'value': 3.0})
    assert restarted.restore_latest(target) == (3, {'value': 3.0})
    crash_index += 1
    assert crash_index < 200
  print('crash points exercised:', crash_index)
  assert crash_index >= 8  # Every step of the save was exercised.


_SAVER = textwrap.dedent("""
    import os, sys
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import numpy as np
    import tensorflow as tf
    from impala_tf.checkpointing import CheckpointManager
    manager = CheckpointManager(sys.argv[1], max_to_keep=2)
    v = tf.Variable(np.zeros(300_000, np.float32))
    step = 0
    while True:
      step += 1
      v.assign(tf.fill([300_000], float(step)))
      manager.save(step, {'v': v}, extra={'step': step})
      print(step, flush=True)
""")


def test_killed_saving_process_leaves_restorable_checkpoint(tmp_path):
  directory = tmp_path / 'ckpts'
  proc = subprocess.Popen([sys.executable, '-c', _SAVER, str(directory)],
                          cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
  try:
    for _ in range(3):  # Let it complete a few saves, then kill it mid-way.
      assert proc.stdout.readline().strip(), 'saver died'
    time.sleep(0.013)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=20)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
  manager = CheckpointManager(directory)  # pid is dead: temp dirs go.
  assert not [e for e in os.listdir(directory) if e.startswith('.tmp-')]
  target = {'v': tf.Variable(np.zeros(300_000, np.float32))}
  step, extra = manager.restore_latest(target)
  assert step >= 3 and extra == {'step': step}
  np.testing.assert_array_equal(target['v'].numpy(),
                                np.full(300_000, step, np.float32))


# ---------------------------------------------------------------- mismatch


def test_restore_into_different_shapes_names_checkpoint_and_variables(
    tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(1, _state(seed=1, out=4))
  wrong = _state(seed=1, out=5)
  before = _values(wrong)
  with pytest.raises(CheckpointMismatchError) as info:
    manager.restore(path, wrong)
  message = str(info.value)
  assert path in message
  assert 'model/w is float32[3, 4] in the checkpoint but float32[3, 5]' in (
      message)
  assert 'optimizer/_ms/1' in message
  _assert_same(_values(wrong), before)  # Nothing was overwritten.


def test_restore_into_different_dtype_fails_clearly(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(1, {'step': tf.Variable(1.0)})
  with pytest.raises(CheckpointMismatchError, match='float32.*int64'):
    manager.restore(path, {'step': tf.Variable(1, dtype=tf.int64)})


def test_restore_into_unbuilt_or_smaller_model_fails(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(1, _state(seed=1))
  with pytest.raises(CheckpointMismatchError, match='not built') as info:
    manager.restore(path, {'model': snt.Linear(4, name='policy')})
  assert path in str(info.value)
  bigger = _state(seed=1)
  bigger['model'].extra = tf.Variable(1.0)
  with pytest.raises(CheckpointMismatchError,
                     match='not in the checkpoint: model/extra'):
    manager.restore(path, bigger)


def test_restore_unknown_name_or_missing_path(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(1, _filled(1.0))
  with pytest.raises(CheckpointMismatchError, match=r"no \['w'\]"):
    manager.restore(path, {'w': tf.Variable(1.0)})
  with pytest.raises(FileNotFoundError, match='No complete checkpoint'):
    manager.restore(tmp_path / 'ckpt-000000000009', _filled(1.0))


# ------------------------------------------------------ damaged checkpoints


def _rewrite(path, change):
  with open(path, 'rb') as f:
    data = f.read()
  with open(path, 'wb') as f:
    f.write(change(data))


def _flip_bit(data):
  data = bytearray(data)
  data[len(data) // 2] ^= 0x08
  return bytes(data)


_DATA_FILE = 'variables.data-00000-of-00001'
# (damage, a word the warning must give as the reason).
_DAMAGE = {
    'data truncated': (_DATA_FILE, lambda d: d[:len(d) // 2], 'variables'),
    'data bit flip': (_DATA_FILE, _flip_bit, 'Checksum'),
    'meta.json invalid': ('meta.json', lambda d: d[:-3], 'meta.json'),
    'extra.json invalid': ('extra.json', lambda d: b'{"value": 2,',
                           'extra.json'),
    'index truncated': ('variables.index', lambda d: d[:len(d) // 2],
                        'variables'),
}


def _damage(checkpoint, kind):
  file_name, change, _ = _DAMAGE[kind]
  _rewrite(os.path.join(checkpoint, file_name), change)


def _warnings(caplog):
  return [r.getMessage() for r in caplog.records
          if r.levelno >= logging.WARNING]


@pytest.mark.parametrize('kind', sorted(_DAMAGE))
def test_damaged_newest_checkpoint_falls_back_to_older(tmp_path, caplog,
                                                       kind):
  manager = CheckpointManager(tmp_path)
  older = manager.save(1, _filled(1.0), extra={'value': 1})
  newest = manager.save(2, _filled(2.0), extra={'value': 2})
  _damage(newest, kind)
  restarted = CheckpointManager(tmp_path)
  before = listing(tmp_path)
  target = _filled(0.0)
  with caplog.at_level(logging.WARNING):
    assert restarted.restore_latest(target) == (1, {'value': 1})
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 1.0))
  about_newest = [m for m in _warnings(caplog) if newest in m]
  assert len(about_newest) == 1, _warnings(caplog)
  assert _DAMAGE[kind][2] in about_newest[0]
  assert listing(tmp_path) == before  # Nothing deleted or rewritten.
  # What the run reports as resumed from is the checkpoint restored.
  assert restarted.latest() == older


def test_every_checkpoint_damaged_is_one_clear_error(tmp_path):
  manager = CheckpointManager(tmp_path)
  first = manager.save(1, _filled(1.0))
  second = manager.save(2, _filled(2.0))
  _damage(first, 'data bit flip')
  _damage(second, 'meta.json invalid')
  before = listing(tmp_path)
  with pytest.raises(checkpointing.CheckpointCorruptError) as info:
    manager.restore_latest(_filled(0.0))
  assert not isinstance(info.value, CheckpointMismatchError)
  message = str(info.value)
  assert 'ckpt-000000000001' in message and 'ckpt-000000000002' in message
  assert '\n' not in message
  assert [path for path, _ in info.value.problems] == [second, first]
  assert listing(tmp_path) == before


def test_mismatch_never_falls_back_to_an_older_checkpoint(tmp_path):
  manager = CheckpointManager(tmp_path)
  # The older checkpoint would fit; the newest is of a different model. That
  # is a wrong --logdir, not damage: restoring step 1 would hide it.
  manager.save(1, _state(seed=1, out=5))
  manager.save(2, _state(seed=1, out=4))
  live = _state(seed=2, out=5)
  before = _values(live)
  with pytest.raises(CheckpointMismatchError, match='ckpt-000000000002'):
    manager.restore_latest(live)
  _assert_same(_values(live), before)


def test_restore_of_a_damaged_checkpoint_says_so(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(1, _filled(1.0))
  _damage(path, 'data bit flip')
  with pytest.raises(checkpointing.CheckpointCorruptError, match=path):
    manager.restore(path, _filled(0.0))


def test_reader_finds_and_restores_without_writing(tmp_path):
  directory = tmp_path / 'ckpts'
  manager = CheckpointManager(directory)
  manager.save(3, _filled(3.0), extra={'value': 3})
  # A stale temporary entry, which a CheckpointManager would remove.
  stale = directory / '.tmp-ckpt-000000000004-otherhost-1-abcd'
  stale.mkdir()
  os.utime(stale, (time.time() - 3600,) * 2)
  before = listing(tmp_path)
  reader = checkpointing.CheckpointReader(directory)
  assert reader.latest() == str(directory / 'ckpt-000000000003')
  target = _filled(0.0)
  restored = reader.restore_newest(target)
  assert restored == (str(directory / 'ckpt-000000000003'), 3, {'value': 3})
  np.testing.assert_array_equal(target['v'].numpy(), np.full(5, 3.0))
  missing = checkpointing.CheckpointReader(tmp_path / 'missing')
  assert missing.latest() is None
  assert missing.restore_latest(_filled(0.0)) is None
  assert listing(tmp_path) == before  # Nothing created, probed or cleaned.


# ------------------------------------------------------------ housekeeping


def test_stale_tmp_cleanup(tmp_path):
  host = durable_files.host_tag()
  dead = subprocess.Popen([sys.executable, '-c', 'pass'])
  dead.wait()
  entries = {
      # A local process that is gone: removed.
      f'.tmp-ckpt-000000000005-{host}-{dead.pid}-aaaa': 'dir',
      f'.tmp-LATEST-{host}-{dead.pid}-bbbb': 'file',
      # Same pid as us but not being written by us: an earlier incarnation.
      f'.tmp-ckpt-000000000006-{host}-{os.getpid()}-cccc': 'dir',
      # A live process (our parent) on this host: kept while fresh.
      f'.tmp-ckpt-000000000007-{host}-{os.getppid()}-dddd': 'dir',
      # Another host's process: kept while fresh, removed when old.
      '.tmp-ckpt-000000000008-otherhost-1-eeee': 'dir',
      '.tmp-ckpt-000000000009-otherhost-1-ffff': 'old dir',
  }
  for name, kind in entries.items():
    path = tmp_path / name
    if kind == 'file':
      path.write_text('ckpt-000000000005\n')
    else:
      path.mkdir()
      (path / 'variables.index').write_bytes(b'partial')
      if kind == 'old dir':
        old = time.time() - 3600
        os.utime(path, (old, old))
  (tmp_path / 'unrelated.txt').write_text('keep me')
  CheckpointManager(tmp_path, stale_tmp_seconds=600)
  assert sorted(os.listdir(tmp_path)) == sorted([
      f'.tmp-ckpt-000000000007-{host}-{os.getppid()}-dddd',
      '.tmp-ckpt-000000000008-otherhost-1-eeee',
      'unrelated.txt'])


def test_interrupted_same_step_replacement_is_rolled_back(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(4, _filled(4.0), extra={'value': 4})
  # As if the process died after moving the old checkpoint aside.
  aside = tmp_path / (
      f'.tmp-old-ckpt-000000000004-{durable_files.host_tag()}-'
      f'{os.getpid()}-0000')
  os.replace(path, aside)
  target = _filled(0.0)
  assert CheckpointManager(tmp_path).restore_latest(target) == (
      4, {'value': 4})
  assert sorted(os.listdir(tmp_path)) == ['LATEST', 'ckpt-000000000004']


def test_unwritable_directory_gives_one_clear_sentence(tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('')
  target = blocker / 'ckpts'
  with pytest.raises(CheckpointDirectoryError) as info:
    CheckpointManager(target)
  message = str(info.value)
  assert message.startswith(f'Cannot write checkpoints to {target}: ')
  assert message.endswith('.') and '\n' not in message
  assert isinstance(info.value, OSError)


@pytest.mark.skipif(os.geteuid() == 0, reason='root can write anywhere')
def test_read_only_directory_is_reported(tmp_path):
  read_only = tmp_path / 'ro'
  read_only.mkdir()
  read_only.chmod(0o500)
  try:
    with pytest.raises(CheckpointDirectoryError, match=str(read_only)):
      CheckpointManager(read_only)
  finally:
    read_only.chmod(0o700)


def test_extra_is_plain_json_on_disk(tmp_path):
  manager = CheckpointManager(tmp_path)
  path = manager.save(2, _filled(1.0), extra={'a': [1, 2], 'b': None})
  with open(os.path.join(path, 'extra.json')) as f:
    assert json.load(f) == {'a': [1, 2], 'b': None}
