"""The run directory (``--logdir``): made writable, and owned by one trainer.

  prepare(logdir) -> None               create it; ConfigError if unusable
  RunLock(logdir).acquire() / release()  one trainer per logdir
  restart_requested(logdir) -> bool      a controller asks for a restart
  wait_while_held(logdir, stop, say)     a controller is editing the run

The last two are the protocol between a trainer and a controller that may
run on another machine, sharing only the file system (population based
training): the controller creates ``HOLD``, then ``RESTART``; the trainer
checkpoints, removes ``RESTART`` and exits with exit_codes.RESTART; whatever
runs it (the controller's own supervisor, or a scheduler's loop) starts it
again, and it waits while ``HOLD`` exists, so that the controller can change
its checkpoint and hyperparameter flag file first.

``prepare`` turns the usual mistakes (a path that is a file, a read-only
directory, a missing parent that cannot be made) into one ConfigError naming
``--logdir``. ``RunLock`` takes an exclusive ``flock`` on ``<logdir>/.lock``
and writes who holds it (pid, host, start time); a second trainer on the same
logdir is refused with that information. The kernel drops the lock when its
process dies, so a killed run never leaves a stale lock behind.
"""

import errno
import fcntl
import os
import socket
import time

from impala_tf.config import ConfigError

LOCK_FILE = '.lock'
RESTART_FILE = 'RESTART'
HOLD_FILE = 'HOLD'
_HOLD_POLL_SECS = 0.5


def prepare(logdir):
  """Creates ``logdir`` if needed and checks that files can be written in it.

  Raises:
    ConfigError: naming --logdir, with the reason in one sentence.
  """
  if os.path.exists(logdir) and not os.path.isdir(logdir):
    raise ConfigError('logdir', f'{logdir} is a file, not a directory.')
  try:
    os.makedirs(logdir, exist_ok=True)
    probe = os.path.join(logdir, f'.write-probe-{os.getpid()}')
    with open(probe, 'w') as f:
      f.write('ok')
    os.unlink(probe)
  except OSError as e:
    reason = e.strerror or str(e)
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
      reason = f'not writable ({reason})'
    raise ConfigError('logdir', f'cannot use {logdir}: {reason}.') from None


class RunLock:
  """An exclusive lock on a run directory for the life of one trainer."""

  def __init__(self, logdir):
    self.path = os.path.join(logdir, LOCK_FILE)
    self._fd = None

  def acquire(self):
    """Takes the lock or raises ConfigError saying who holds it."""
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      holder = _read_holder(fd)
      os.close(fd)
      if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        raise
      logdir = os.path.dirname(self.path)
      raise ConfigError(
          'logdir', f'{logdir} is in use by another trainer ({holder}); stop '
          'it first, or use another --logdir.') from None
    os.ftruncate(fd, 0)
    os.write(fd, (f'pid {os.getpid()} on host {socket.gethostname()}, since '
                  f'{time.strftime("%Y-%m-%d %H:%M:%S %Z")}\n').encode())
    self._fd = fd
    return self

  def release(self):
    if self._fd is not None:
      os.close(self._fd)  # Closing the descriptor drops the flock.
      self._fd = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc_info):
    self.release()


def _read_holder(fd):
  try:
    text = os.pread(fd, 256, 0).decode('utf-8', 'replace').strip()
  except OSError:
    text = ''
  return text or 'holder unknown'


def restart_requested(logdir):
  return os.path.exists(os.path.join(logdir, RESTART_FILE))


def clear_restart_request(logdir):
  try:
    os.unlink(os.path.join(logdir, RESTART_FILE))
  except FileNotFoundError:
    pass


def wait_while_held(logdir, stop, say=print, report_secs=30.0):
  """Returns once ``<logdir>/HOLD`` is gone (or a stop is requested)."""
  path = os.path.join(logdir, HOLD_FILE)
  last_report = -report_secs
  start = time.monotonic()
  while os.path.exists(path) and not stop.is_set():
    waited = time.monotonic() - start
    if waited - last_report >= report_secs:
      say(f'{logdir} is held by a controller ({path}); waiting.')
      last_report = waited
    stop.wait(_HOLD_POLL_SECS)
