"""Finding and restoring checkpoints, without writing anything.

  CheckpointReader(directory)
    .checkpoints() -> [path]       complete checkpoints, oldest step first
    .latest() -> path | None       the one to restore
    .restore(path, trackables) -> extra
    .restore_latest(trackables) -> (step, extra) | None
    .restore_newest(trackables) -> Restored(path, step, extra) | None

The directory layout is described in checkpointing (which saves). The reader
creates nothing, probes nothing and cleans nothing up, so it works on a
read-only run directory (an archived result, a shared disk).

Restoring first checks the checkpoint's own files (checkpoint_integrity:
JSON parses, every tensor reads back with its checksum). A damaged newest
checkpoint (disk fault, truncated copy) is skipped with a warning and the
newest intact older one is restored; nothing is deleted. If none is intact,
CheckpointCorruptError lists them all. Whether the checkpoint fits the live
objects is checked next (checkpoint_compatibility): a mismatch raises
CheckpointMismatchError and never falls back to an older checkpoint (that is
the same model).
"""

import collections
import logging
import os
import re

import tensorflow as tf

from impala_tf import checkpoint_compatibility
from impala_tf import checkpoint_integrity

_log = logging.getLogger(__name__)

CheckpointMismatchError = checkpoint_compatibility.CheckpointMismatchError
CheckpointCorruptError = checkpoint_integrity.CheckpointCorruptError

LATEST_FILE = 'LATEST'
CKPT_RE = re.compile(r'^ckpt-(\d{12,})$')
_TF_PREFIX = checkpoint_integrity.TF_PREFIX
_EXTRA_FILE = checkpoint_integrity.EXTRA_FILE
_META_FILE = checkpoint_integrity.META_FILE

Restored = collections.namedtuple('Restored', ['path', 'step', 'extra'])
Restored.__doc__ = 'A restored checkpoint: its directory, step and extra.'


def check_trackables(trackables):
  """A copy of ``trackables`` after checking it is {identifier: trackable}."""
  if not isinstance(trackables, dict) or not trackables:
    raise ValueError('trackables must be a non-empty dict of name -> '
                     'trackable object.')
  for key in trackables:
    if not isinstance(key, str) or not key.isidentifier():
      raise ValueError(f'trackable names must be Python identifiers, got '
                       f'{key!r}.')
  return dict(trackables)


def is_complete(path):
  """Whether ``path`` has every file of a checkpoint (not whether they are
  intact: that is checkpoint_integrity)."""
  return (os.path.isdir(path) and
          os.path.isfile(os.path.join(path, _TF_PREFIX + '.index')) and
          os.path.isfile(os.path.join(path, _EXTRA_FILE)) and
          os.path.isfile(os.path.join(path, _META_FILE)))


def _step_of(path, meta):
  """The saved step: meta.json's, else the ``ckpt-<step>`` name's, else None."""
  if meta.get('step') is not None:
    return int(meta['step'])
  match = CKPT_RE.match(os.path.basename(path))
  return int(match.group(1)) if match else None


def _check_saved_names(path, meta, trackables):
  saved_names = meta.get('trackables')
  if saved_names is None:
    return
  unknown = sorted(set(trackables) - set(saved_names))
  if unknown:
    raise CheckpointMismatchError(
        f'Checkpoint {path} has no {unknown}; it holds {saved_names}.')


def _read_variables(path, trackables):
  """Reads the TF checkpoint of ``path`` into ``trackables`` (already checked
  to fit); a read failure is corruption, a matching failure a mismatch."""
  try:
    status = tf.train.Checkpoint(**trackables).read(
        os.path.join(path, _TF_PREFIX))
    status.assert_existing_objects_matched()
    status.expect_partial()  # Names not asked for are left alone.
  except (tf.errors.DataLossError, IndexError) as e:
    raise checkpoint_integrity.corrupt_error(
        path, checkpoint_integrity.one_line(e)) from e
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise CheckpointMismatchError(
        f'Cannot restore checkpoint {path}: {e}') from e


class CheckpointReader:
  """Finds and restores checkpoints in one directory without writing to it.

  Creates nothing, probes nothing and cleans nothing up, so it works on a
  read-only run directory (an archived result, a shared disk).

  Args:
    directory: where the checkpoints are (need not exist).
  """

  def __init__(self, directory):
    self._directory = os.path.abspath(os.fspath(directory))
    # Checkpoints this object found damaged; latest() passes over them.
    self._damaged = set()

  @property
  def directory(self):
    return self._directory

  # ----------------------------------------------------------------- finding

  def checkpoints(self):
    """Paths of all complete checkpoints, oldest step first."""
    try:
      entries = os.listdir(self._directory)
    except OSError:
      return []
    found = []
    for name in entries:
      match = CKPT_RE.match(name)
      path = os.path.join(self._directory, name)
      if match and is_complete(path):
        found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]

  def _read_latest_name(self):
    try:
      with open(os.path.join(self._directory, LATEST_FILE),
                encoding='utf-8') as f:
        name = f.read(256).strip()
    except (OSError, UnicodeDecodeError):
      return None
    return name if CKPT_RE.match(name) else None

  def _candidates(self):
    """Complete checkpoints to restore, best first: the one LATEST names (or
    the newest if LATEST is unusable), then the older ones, newest first."""
    found = self.checkpoints()
    name = self._read_latest_name()
    pointed = os.path.join(self._directory, name) if name else None
    if pointed not in found:
      if found and os.path.lexists(os.path.join(self._directory,
                                                LATEST_FILE)):
        _log.warning('%s is unusable; falling back to %s.',
                     os.path.join(self._directory, LATEST_FILE), found[-1])
      return found[::-1]
    return found[found.index(pointed)::-1]

  def latest(self):
    """Path of the checkpoint LATEST names, or of the newest complete one if
    LATEST is missing, corrupt or dangling; checkpoints this object found
    damaged are passed over. None if there is none."""
    for path in self._candidates():
      if path not in self._damaged:
        return path
    return None

  # --------------------------------------------------------------- restoring

  @staticmethod
  def read_meta(path):
    """The meta.json dict of a checkpoint directory.

    Raises:
      CheckpointCorruptError: it is not readable JSON.
    """
    return checkpoint_integrity.read_json_object(os.fspath(path), _META_FILE)

  def _restore(self, path, trackables):
    path = os.path.abspath(os.fspath(path))
    if not is_complete(path):
      raise FileNotFoundError(
          f'No complete checkpoint at {path} (expected a directory with '
          f'{_TF_PREFIX}.index, {_EXTRA_FILE} and {_META_FILE}).')
    meta, extra = checkpoint_integrity.read_intact(path)
    _check_saved_names(path, meta, trackables)
    checkpoint_compatibility.check_compatible(
        path, os.path.join(path, _TF_PREFIX), trackables)
    _read_variables(path, trackables)
    return Restored(path, _step_of(path, meta), extra)

  def restore(self, path, trackables):
    """Restores ``trackables`` from the checkpoint directory ``path``.

    ``trackables`` may be a subset of the names that were saved (e.g. only
    the model for evaluation); each given object must match its saved
    counterpart exactly. Returns the ``extra`` dict saved with it.

    Raises:
      FileNotFoundError: ``path`` is not a complete checkpoint.
      CheckpointCorruptError: its files are unreadable or damaged.
      CheckpointMismatchError: names, shapes or dtypes do not match.
    """
    return self._restore(path, check_trackables(trackables)).extra

  def restore_newest(self, trackables):
    """Restores the newest intact checkpoint (see restore_latest).

    Returns:
      Restored(path, step, extra), or None if there is no checkpoint.
    """
    trackables = check_trackables(trackables)
    problems = []
    for path in self._candidates():
      try:
        restored = self._restore(path, trackables)
      except CheckpointCorruptError as e:
        reason = e.problems[0][1]
        _log.warning('Skipping checkpoint %s, unreadable or corrupt: %s.',
                     path, reason)
        self._damaged.add(path)
        problems.append((path, reason))
        continue
      if problems:
        _log.warning('Restored the older checkpoint %s instead; the damaged '
                     'one(s) were left in place.', path)
      return restored
    if problems:
      listing = '; '.join(f'{os.path.basename(p)}: {reason}'
                          for p, reason in problems)
      raise CheckpointCorruptError(
          f'Every checkpoint in {self._directory} is unreadable or corrupt '
          f'({listing}). Nothing was deleted; move them away (or use a new '
          'directory) to start afresh.', problems)
    return None

  def restore_latest(self, trackables):
    """Restores the latest intact checkpoint; returns (step, extra) or None.

    A checkpoint whose files are damaged is skipped with a warning in favour
    of the next older one.

    Raises:
      CheckpointCorruptError: there are checkpoints but none is intact.
      CheckpointMismatchError: the newest intact one does not fit.
    """
    restored = self.restore_newest(trackables)
    if restored is None:
      return None
    return restored.step, restored.extra
