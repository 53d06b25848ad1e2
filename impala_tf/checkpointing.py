"""Atomic, crash-safe checkpoints of a training run on local disk.

Layout of a checkpoint directory::

  <directory>/
    LATEST                      name of the newest complete checkpoint
    ckpt-000000001000/          one complete checkpoint per saved step
      variables.index           tf.train.Checkpoint(**trackables).write(...)
      variables.data-00000-of-00001
      extra.json                caller's JSON-serialisable state
      meta.json                 step, wall time, versions, trackable names
    .tmp-...                    work in progress (ignored, cleaned up)

A checkpoint is written completely into a ``.tmp-*`` directory, fsynced, and
only then renamed to ``ckpt-<step>``; ``LATEST`` is replaced atomically
afterwards and old checkpoints are pruned last. A crash at any moment
therefore leaves ``LATEST`` (or, failing that, the newest complete
``ckpt-*``) naming a checkpoint that was written entirely.

Restoring is strict: every variable of the given objects must be in the
checkpoint with the same shape and dtype, and every checkpointed variable
under those names must have a live variable to go into (so models and
optimiser slots must be built before restoring). A mismatch raises
``CheckpointMismatchError`` naming the checkpoint and the variables, before
any variable is overwritten.
"""

import functools
import importlib.metadata
import json
import logging
import operator
import os
import re
import shutil
import socket
import threading
import time
import uuid

import tensorflow as tf

from impala_tf import checkpoint_compatibility
from impala_tf import durable_files

_log = logging.getLogger(__name__)

# Re-exported: callers catch checkpointing.CheckpointMismatchError.
CheckpointMismatchError = checkpoint_compatibility.CheckpointMismatchError

LATEST_FILE = 'LATEST'
_TF_PREFIX = 'variables'
_EXTRA_FILE = 'extra.json'
_META_FILE = 'meta.json'
_TMP_PREFIX = '.tmp-'
_CKPT_RE = re.compile(r'^ckpt-(\d{12,})$')
_OLD_RE = re.compile(r'^\.tmp-old-(ckpt-\d{12,})-')

# Temporary entries being written by this process (any manager instance);
# the stale-entry clean-up never touches these.
_IN_PROGRESS = set()
_IN_PROGRESS_LOCK = threading.Lock()


class CheckpointDirectoryError(OSError):
  """The checkpoint directory cannot be created or written."""



@functools.lru_cache(maxsize=None)
def _package_version():
  try:
    return importlib.metadata.version('impala_tf')
  except importlib.metadata.PackageNotFoundError:
    return None


def _as_step(step):
  if isinstance(step, bool):
    raise TypeError(f'step must be an integer, got {step!r}.')
  try:
    step = operator.index(step)
  except TypeError:
    raise TypeError(f'step must be an integer, got {step!r}.') from None
  if step < 0:
    raise ValueError(f'step must be >= 0, got {step}.')
  return step


class CheckpointManager:
  """Saves and restores whole-run checkpoints in one directory.

  Args:
    directory: where checkpoints live; created if needed.
    max_to_keep: how many complete checkpoints to keep (newest steps, plus
      always the one LATEST names); None keeps all.
    stale_tmp_seconds: a ``.tmp-*`` entry left by a process that may still
      be alive (another host, or an unrelated process that reused the pid)
      is removed only once it is this old. Entries of dead local processes
      are removed at once.
  """

  def __init__(self, directory, max_to_keep=3, stale_tmp_seconds=900.0):
    if max_to_keep is not None:
      if isinstance(max_to_keep, bool) or operator.index(max_to_keep) < 1:
        raise ValueError(f'max_to_keep must be >= 1 or None, got '
                         f'{max_to_keep!r}.')
      max_to_keep = operator.index(max_to_keep)
    self._directory = os.path.abspath(os.fspath(directory))
    self._max_to_keep = max_to_keep
    self._stale_tmp_seconds = float(stale_tmp_seconds)
    self._host = durable_files.host_tag()
    self._lock = threading.Lock()
    self._check_writable()
    self._clean_stale_tmp()

  @property
  def directory(self):
    return self._directory

  @property
  def max_to_keep(self):
    return self._max_to_keep

  # ---------------------------------------------------------------- saving

  def save(self, step, trackables, extra=None):
    """Writes checkpoint ``ckpt-<step>`` atomically and points LATEST at it.

    Args:
      step: non-negative int identifying the checkpoint (e.g. learner
        updates or environment frames). Saving an existing step replaces it.
      trackables: non-empty {name: trackable} (tf.Module, tf.Variable,
        tf.random.Generator, ...), passed as ``tf.train.Checkpoint(**...)``.
      extra: JSON-serialisable dict stored next to the variables.

    Returns:
      The path of the new checkpoint directory.
    """
    step = _as_step(step)
    trackables = self._check_trackables(trackables)
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
      raise TypeError(f'extra must be a dict, got {type(extra).__name__}.')
    try:
      extra_text = json.dumps(extra, indent=1, sort_keys=True)
    except (TypeError, ValueError) as e:
      raise TypeError(f'extra must be JSON-serialisable: {e}') from e
    now = time.time()
    meta = {
        'step': step,
        'wall_time': now,
        'time_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)),
        'impala_tf_version': _package_version(),
        'tensorflow_version': tf.__version__,
        'trackables': sorted(trackables),
    }
    name = f'ckpt-{step:012d}'
    final = os.path.join(self._directory, name)
    with self._lock:
      tmp = self._claim_tmp_name(name)
      try:
        os.mkdir(tmp)
        tf.train.Checkpoint(**trackables).write(os.path.join(tmp, _TF_PREFIX))
        durable_files.write_durably(os.path.join(tmp, _EXTRA_FILE), extra_text)
        durable_files.write_durably(os.path.join(tmp, _META_FILE),
                       json.dumps(meta, indent=1, sort_keys=True))
        for entry in os.listdir(tmp):
          if entry not in (_EXTRA_FILE, _META_FILE):  # Those are synced.
            durable_files.fsync_file(os.path.join(tmp, entry))
        durable_files.fsync_dir(tmp)
        self._move_into_place(tmp, final)
        self._write_latest(name)
      except BaseException as e:
        try:
          if os.path.lexists(tmp):
            durable_files.remove(tmp)
        except OSError:
          pass
        if isinstance(e, (OSError, tf.errors.OpError)):
          e.add_note(f'(while saving checkpoint {final})')
        raise
      finally:
        self._release_tmp_name(tmp)
      self._prune(keep=name)
    return final

  def _check_trackables(self, trackables):
    if not isinstance(trackables, dict) or not trackables:
      raise ValueError('trackables must be a non-empty dict of name -> '
                       'trackable object.')
    for key in trackables:
      if not isinstance(key, str) or not key.isidentifier():
        raise ValueError(f'trackable names must be Python identifiers, got '
                         f'{key!r}.')
    return dict(trackables)

  def _move_into_place(self, tmp, final):
    """Renames the finished temporary directory to ``final``."""
    if not os.path.lexists(final):
      os.replace(tmp, final)
      durable_files.fsync_dir(self._directory)
      return
    # Replacing an existing checkpoint of the same step: move it aside as a
    # .tmp-old-* entry first (a directory rename cannot replace a non-empty
    # directory). A crash in between is rolled back on the next start-up.
    old = self._claim_tmp_name('old-' + os.path.basename(final))
    try:
      os.replace(final, old)
      try:
        os.replace(tmp, final)
      except BaseException:
        try:
          os.replace(old, final)
        except OSError:
          pass
        raise
      durable_files.fsync_dir(self._directory)
      shutil.rmtree(old, ignore_errors=True)
    finally:
      self._release_tmp_name(old)

  def _write_latest(self, name):
    tmp = self._claim_tmp_name(LATEST_FILE)
    try:
      durable_files.write_durably(tmp, name + '\n')
      os.replace(tmp, os.path.join(self._directory, LATEST_FILE))
      durable_files.fsync_dir(self._directory)
    except BaseException:
      try:
        if os.path.lexists(tmp):
          os.unlink(tmp)
      except OSError:
        pass
      raise
    finally:
      self._release_tmp_name(tmp)

  def _prune(self, keep):
    if self._max_to_keep is None:
      return
    names = [os.path.basename(p) for p in self.checkpoints()]
    for name in names[:-self._max_to_keep]:
      if name == keep or name == self._read_latest_name():
        continue
      # Rename first so that a crash during the (non-atomic) deletion never
      # leaves a half-deleted ckpt-* directory.
      doomed = self._claim_tmp_name('del-' + name)
      try:
        os.replace(os.path.join(self._directory, name), doomed)
        shutil.rmtree(doomed)
      except OSError as e:
        _log.warning('Could not delete old checkpoint %s: %s',
                     os.path.join(self._directory, name), e)
      finally:
        self._release_tmp_name(doomed)

  # ----------------------------------------------------------- temp entries

  def _claim_tmp_name(self, kind):
    name = (f'{_TMP_PREFIX}{kind}-{self._host}-{os.getpid()}-'
            f'{uuid.uuid4().hex[:8]}')
    path = os.path.join(self._directory, name)
    with _IN_PROGRESS_LOCK:
      _IN_PROGRESS.add(path)
    return path

  def _release_tmp_name(self, path):
    with _IN_PROGRESS_LOCK:
      _IN_PROGRESS.discard(path)

  def _is_stale(self, name, path):
    with _IN_PROGRESS_LOCK:
      if path in _IN_PROGRESS:
        return False
    parts = name.rsplit('-', 2)
    if len(parts) == 3 and parts[1].isdigit():
      pid = int(parts[1])
      if parts[0].endswith('-' + self._host):
        # Ours but not in progress: left by an earlier process that had the
        # same pid (common in containers).
        if pid == os.getpid() or not durable_files.pid_alive(pid):
          return True
    try:
      age = time.time() - os.lstat(path).st_mtime
    except OSError:
      return False
    return age > self._stale_tmp_seconds

  def _clean_stale_tmp(self):
    """Removes ``.tmp-*`` leftovers of crashed saves; rolls back a crash in
    the middle of replacing a checkpoint of the same step."""
    try:
      entries = os.listdir(self._directory)
    except OSError:
      return
    for name in sorted(entries):
      if not name.startswith(_TMP_PREFIX):
        continue
      path = os.path.join(self._directory, name)
      if not self._is_stale(name, path):
        continue
      try:
        match = _OLD_RE.match(name)
        if match:
          final = os.path.join(self._directory, match.group(1))
          if not os.path.lexists(final) and self._is_complete(path):
            os.replace(path, final)
            durable_files.fsync_dir(self._directory)
            _log.warning('Recovered checkpoint %s after an interrupted save.',
                         final)
            continue
        durable_files.remove(path)
        _log.info('Removed stale temporary checkpoint entry %s.', path)
      except OSError as e:
        _log.warning('Could not remove stale entry %s: %s', path, e)

  def _check_writable(self):
    try:
      os.makedirs(self._directory, exist_ok=True)
      probe = self._claim_tmp_name('probe')
      try:
        durable_files.write_durably(probe, 'ok')
        os.unlink(probe)
      finally:
        self._release_tmp_name(probe)
    except OSError as e:
      error = CheckpointDirectoryError(
          f'Cannot write checkpoints to {self._directory}: '
          f'{e.strerror or e}.')
      error.errno = e.errno
      raise error from e

  # ----------------------------------------------------------------- finding

  @staticmethod
  def _is_complete(path):
    return (os.path.isdir(path) and
            os.path.isfile(os.path.join(path, _TF_PREFIX + '.index')) and
            os.path.isfile(os.path.join(path, _EXTRA_FILE)) and
            os.path.isfile(os.path.join(path, _META_FILE)))

  def checkpoints(self):
    """Paths of all complete checkpoints, oldest step first."""
    try:
      entries = os.listdir(self._directory)
    except OSError:
      return []
    found = []
    for name in entries:
      match = _CKPT_RE.match(name)
      path = os.path.join(self._directory, name)
      if match and self._is_complete(path):
        found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]

  def _read_latest_name(self):
    try:
      with open(os.path.join(self._directory, LATEST_FILE),
                encoding='utf-8') as f:
        name = f.read(256).strip()
    except (OSError, UnicodeDecodeError):
      return None
    return name if _CKPT_RE.match(name) else None

  def latest(self):
    """Path of the checkpoint LATEST names, or of the newest complete one if
    LATEST is missing, corrupt or dangling; None if there is none."""
    name = self._read_latest_name()
    if name is not None:
      path = os.path.join(self._directory, name)
      if self._is_complete(path):
        return path
    found = self.checkpoints()
    if found and os.path.lexists(os.path.join(self._directory, LATEST_FILE)):
      _log.warning('%s is unusable; falling back to %s.',
                   os.path.join(self._directory, LATEST_FILE), found[-1])
    return found[-1] if found else None

  # --------------------------------------------------------------- restoring

  def restore(self, path, trackables):
    """Restores ``trackables`` from the checkpoint directory ``path``.

    ``trackables`` may be a subset of the names that were saved (e.g. only
    the model for evaluation); each given object must match its saved
    counterpart exactly. Returns the ``extra`` dict saved with it.

    Raises:
      FileNotFoundError: ``path`` is not a complete checkpoint.
      CheckpointMismatchError: names, shapes or dtypes do not match.
    """
    path = os.path.abspath(os.fspath(path))
    trackables = self._check_trackables(trackables)
    if not self._is_complete(path):
      raise FileNotFoundError(
          f'No complete checkpoint at {path} (expected a directory with '
          f'{_TF_PREFIX}.index, {_EXTRA_FILE} and {_META_FILE}).')
    meta = self.read_meta(path)
    with open(os.path.join(path, _EXTRA_FILE), encoding='utf-8') as f:
      extra = json.load(f)
    saved_names = meta.get('trackables')
    if saved_names is not None:
      unknown = sorted(set(trackables) - set(saved_names))
      if unknown:
        raise CheckpointMismatchError(
            f'Checkpoint {path} has no {unknown}; it holds {saved_names}.')
    prefix = os.path.join(path, _TF_PREFIX)
    checkpoint_compatibility.check_compatible(path, prefix, trackables)
    try:
      status = tf.train.Checkpoint(**trackables).read(prefix)
      status.assert_existing_objects_matched()
      status.expect_partial()  # Names not asked for are left alone.
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise CheckpointMismatchError(
          f'Cannot restore checkpoint {path}: {e}') from e
    return extra

  @staticmethod
  def read_meta(path):
    """The meta.json dict of a checkpoint directory."""
    meta_path = os.path.join(path, _META_FILE)
    try:
      with open(meta_path, encoding='utf-8') as f:
        return json.load(f)
    except ValueError as e:
      raise CheckpointMismatchError(
          f'Checkpoint metadata {meta_path} is not valid JSON: {e}') from e

  def restore_latest(self, trackables):
    """Restores the latest checkpoint; returns (step, extra) or None."""
    path = self.latest()
    if path is None:
      return None
    extra = self.restore(path, trackables)
    step = self.read_meta(path).get('step')
    if step is None:
      step = int(_CKPT_RE.match(os.path.basename(path)).group(1))
    return int(step), extra
