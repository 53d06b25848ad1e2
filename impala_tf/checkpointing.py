"""Atomic, crash-safe checkpoints of a training run on local disk.

  CheckpointManager(directory)    saves; restores as a CheckpointReader
  CheckpointReader(directory)     finds and restores only, writes nothing
                                  (checkpoint_reader)

Layout of a checkpoint directory::

  <directory>/
    LATEST                      name of the newest complete checkpoint
    ckpt-000000001000/          one complete checkpoint per saved step
      variables.index           tf.train.Checkpoint(**trackables).write(...)
      variables.data-00000-of-00001
      extra.json                caller's JSON-serialisable state
      meta.json                 step, wall time, versions, trackable names
    .tmp-...                    work in progress (checkpoint_temp_entries)

A checkpoint is written completely into a ``.tmp-*`` directory, fsynced, and
only then renamed to ``ckpt-<step>``; ``LATEST`` is replaced atomically
afterwards and old checkpoints are pruned last. A crash at any moment
therefore leaves ``LATEST`` (or, failing that, the newest complete
``ckpt-*``) naming a checkpoint that was written entirely.

Restoring (checkpoint_reader) skips a damaged newest checkpoint in favour of
the newest intact one (CheckpointCorruptError if none is intact), and is
strict: every variable of the given objects must be in the checkpoint with
the same shape and dtype, and every checkpointed variable under those names
must have a live variable to go into (so models and optimiser slots must be
built before restoring). A mismatch raises ``CheckpointMismatchError`` naming
the checkpoint and the variables, before any variable is overwritten.
"""

import functools
import importlib.metadata
import json
import logging
import operator
import os
import re
import shutil
import threading
import time

import tensorflow as tf

from impala_tf import checkpoint_integrity
from impala_tf import checkpoint_reader
from impala_tf import checkpoint_temp_entries
from impala_tf import durable_files

_log = logging.getLogger(__name__)

# Re-exported: callers use checkpointing.* for all of these.
CheckpointReader = checkpoint_reader.CheckpointReader
CheckpointMismatchError = checkpoint_reader.CheckpointMismatchError
CheckpointCorruptError = checkpoint_reader.CheckpointCorruptError
Restored = checkpoint_reader.Restored
LATEST_FILE = checkpoint_reader.LATEST_FILE

_TF_PREFIX = checkpoint_integrity.TF_PREFIX
_EXTRA_FILE = checkpoint_integrity.EXTRA_FILE
_META_FILE = checkpoint_integrity.META_FILE
# A checkpoint moved aside while a save replaced it with the same step.
_OLD_RE = re.compile(r'^\.tmp-old-(ckpt-\d{12,})-')


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


class CheckpointManager(checkpoint_reader.CheckpointReader):
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
    super().__init__(directory)
    self._max_to_keep = max_to_keep
    self._temp = checkpoint_temp_entries.TempEntries(self._directory,
                                                     stale_tmp_seconds)
    self._lock = threading.Lock()
    self._check_writable()
    self._temp.clean_stale(recover=self._recover_moved_aside)

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
    trackables = checkpoint_reader.check_trackables(trackables)
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
      tmp = self._temp.claim(name)
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
        self._damaged.discard(final)
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
        self._temp.release(tmp)
      self._prune(keep=name)
    return final

  def _move_into_place(self, tmp, final):
    """Renames the finished temporary directory to ``final``."""
    if not os.path.lexists(final):
      os.replace(tmp, final)
      durable_files.fsync_dir(self._directory)
      return
    # Replacing an existing checkpoint of the same step: move it aside as a
    # .tmp-old-* entry first (a directory rename cannot replace a non-empty
    # directory). A crash in between is rolled back on the next start-up.
    old = self._temp.claim('old-' + os.path.basename(final))
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
      self._temp.release(old)

  def _write_latest(self, name):
    tmp = self._temp.claim(LATEST_FILE)
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
      self._temp.release(tmp)

  def _prune(self, keep):
    if self._max_to_keep is None:
      return
    names = [os.path.basename(p) for p in self.checkpoints()]
    for name in names[:-self._max_to_keep]:
      if name == keep or name == self._read_latest_name():
        continue
      # Rename first so that a crash during the (non-atomic) deletion never
      # leaves a half-deleted ckpt-* directory.
      doomed = self._temp.claim('del-' + name)
      try:
        os.replace(os.path.join(self._directory, name), doomed)
        shutil.rmtree(doomed)
      except OSError as e:
        _log.warning('Could not delete old checkpoint %s: %s',
                     os.path.join(self._directory, name), e)
      finally:
        self._temp.release(doomed)

  # ------------------------------------------------------------- start-up

  def _recover_moved_aside(self, name, path):
    """Puts back a checkpoint that an interrupted same-step save had moved
    aside (``.tmp-old-ckpt-*``) if nothing replaced it; True if it did."""
    match = _OLD_RE.match(name)
    if not match:
      return False
    final = os.path.join(self._directory, match.group(1))
    if os.path.lexists(final) or not checkpoint_reader.is_complete(path):
      return False
    os.replace(path, final)
    durable_files.fsync_dir(self._directory)
    _log.warning('Recovered checkpoint %s after an interrupted save.', final)
    return True

  def _check_writable(self):
    try:
      os.makedirs(self._directory, exist_ok=True)
      probe = self._temp.claim('probe')
      try:
        durable_files.write_durably(probe, 'ok')
        os.unlink(probe)
      finally:
        self._temp.release(probe)
    except OSError as e:
      error = CheckpointDirectoryError(
          f'Cannot write checkpoints to {self._directory}: '
          f'{e.strerror or e}.')
      error.errno = e.errno
      raise error from e
