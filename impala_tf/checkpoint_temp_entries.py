"""The ``.tmp-*`` work-in-progress entries of a checkpoint directory.

  TempEntries(directory, stale_seconds)
    .claim(kind) -> path      a fresh entry name, safe from clean-up
    .release(path)            the name may be cleaned up again
    .clean_stale(recover)     removes leftovers of writers that died

An entry is named ``.tmp-<kind>-<host>-<pid>-<random>``, so that a later
process can tell who wrote it: an entry of a dead process on this host is
stale at once; one of a live process (or of another host, whose processes
cannot be checked) only once it has not changed for ``stale_seconds``.
Entries claimed by this process are never stale while claimed.
"""

import logging
import os
import threading
import time
import uuid

from impala_tf import durable_files

_log = logging.getLogger(__name__)

PREFIX = '.tmp-'

# Entries claimed by this process (any TempEntries instance), never cleaned.
_CLAIMED = set()
_CLAIMED_LOCK = threading.Lock()


def entry_name(kind, host, pid, token):
  """``.tmp-<kind>-<host>-<pid>-<token>`` (kind may contain dashes)."""
  return f'{PREFIX}{kind}-{host}-{pid}-{token}'


def writer_of(name):
  """(host-tagged head, pid) of an entry name, or None if not ours to parse.

  The head is everything before the pid, ending in ``-<host>``.
  """
  parts = name.rsplit('-', 2)
  if len(parts) != 3 or not parts[1].isdigit():
    return None
  return parts[0], int(parts[1])


def is_claimed(path):
  with _CLAIMED_LOCK:
    return path in _CLAIMED


def writer_is_gone(name, host):
  """True if the entry was written by a process on ``host`` that is no longer
  running, or by an earlier process that had this process's pid."""
  writer = writer_of(name)
  if writer is None:
    return False
  head, pid = writer
  if not head.endswith('-' + host):
    return False
  # Same pid but not claimed by us: an earlier process with our pid (common
  # in containers).
  return pid == os.getpid() or not durable_files.pid_alive(pid)


def is_stale(name, path, host, stale_seconds, now):
  """Whether the entry ``name`` at ``path`` may be removed at time ``now``."""
  if is_claimed(path):
    return False
  if writer_is_gone(name, host):
    return True
  try:
    age = now - os.lstat(path).st_mtime
  except OSError:
    return False
  return age > stale_seconds


class TempEntries:
  """Names, claims and cleans the temporary entries of one directory.

  Args:
    directory: the checkpoint directory (absolute path).
    stale_seconds: age after which an entry of a process that may still be
      alive (another host, or an unrelated process that reused the pid) is
      removed.
  """

  def __init__(self, directory, stale_seconds):
    self._directory = directory
    self._stale_seconds = float(stale_seconds)
    self._host = durable_files.host_tag()

  def claim(self, kind):
    """A new entry path in the directory (not created); call release()."""
    name = entry_name(kind, self._host, os.getpid(), uuid.uuid4().hex[:8])
    path = os.path.join(self._directory, name)
    with _CLAIMED_LOCK:
      _CLAIMED.add(path)
    return path

  def release(self, path):
    with _CLAIMED_LOCK:
      _CLAIMED.discard(path)

  def clean_stale(self, recover=None):
    """Removes stale entries, oldest name first.

    Args:
      recover: optional callback(name, path) -> bool, offered each stale
        entry first; True means it put the entry back to use (e.g. a
        checkpoint moved aside by an interrupted save) and it is kept.
    """
    try:
      entries = os.listdir(self._directory)
    except OSError:
      return
    now = time.time()
    for name in sorted(entries):
      if not name.startswith(PREFIX):
        continue
      path = os.path.join(self._directory, name)
      if not is_stale(name, path, self._host, self._stale_seconds, now):
        continue
      try:
        if recover is not None and recover(name, path):
          continue
        durable_files.remove(path)
        _log.info('Removed stale temporary checkpoint entry %s.', path)
      except OSError as e:
        _log.warning('Could not remove stale entry %s: %s', path, e)
