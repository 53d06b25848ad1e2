"""A child process started in a session of its own, handled as a group.

  describe_exit(code) -> 'exit code 1' | 'signal 9 (SIGKILL)'
  child_env(env) -> env that names this process as the child's parent
  die_with_parent(program)  in the child: SIGTERM when that parent dies
  ProcessGroupHandle: running / poll / signal / kill / wait over the
      subclass's ``self._process`` (a subprocess.Popen, or None before it
      started), signals going to the whole process group.

Shared by the launcher's children (impala_tf.distributed.child_process),
the sweep and PBT members (impala_tf.experiments.member_process) and the
benchmark's distributed rows. A child started in a session of its own does
not get its parent's Ctrl-C, and would outlive a parent killed with SIGKILL
(or by the OOM killer); started with ``child_env``, a binary that calls
``die_with_parent`` first thing gets SIGTERM when its parent dies, and stops
as it does on SIGTERM (a training run checkpoints).
"""

import ctypes
import os
import signal
import subprocess
import sys

# Tells a child the pid of the parent it must not outlive.
PARENT_PID_ENV = 'IMPALA_TF_PARENT_PID'
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def describe_exit(code):
  """'exit code 1' for an exit, 'signal 9 (SIGKILL)' for a death by signal."""
  if code is not None and code < 0:
    try:
      return f'signal {-code} ({signal.Signals(-code).name})'
    except ValueError:
      return f'signal {-code}'
  return f'exit code {code}'


def child_env(env=None):
  """A copy of ``env`` (default: this process's) that names this process as
  the parent the child must not outlive (see ``die_with_parent``)."""
  env = dict(os.environ if env is None else env)
  env[PARENT_PID_ENV] = str(os.getpid())
  return env


def die_with_parent(program):
  """Called first thing by a binary (``program`` names it in messages): if
  it was started with ``child_env``, it gets SIGTERM when that parent dies
  (Linux; elsewhere a no-op), and it exits at once if the parent is already
  gone. The variable is removed, so this process's own children do not
  inherit it."""
  value = os.environ.pop(PARENT_PID_ENV, None)
  if not value or not value.isdigit():
    return
  if sys.platform.startswith('linux'):
    try:
      libc = ctypes.CDLL(None, use_errno=True)
      libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
      return
  if os.getppid() != int(value):  # It died before the prctl.
    sys.exit(f'{program}: the process that started this one (pid {value}) '
             'has exited; stopping.')


class ProcessGroupHandle:
  """Process-group operations on ``self._process`` (set by the subclass)."""

  _process = None

  def running(self):
    return self._process is not None and self._process.poll() is None

  def poll(self):
    """None while it runs (or before it started), else its exit code."""
    return None if self._process is None else self._process.poll()

  def signal(self, signum):
    """Sends ``signum`` to its process group if it has not been reaped."""
    if self.running():
      try:
        os.killpg(self._process.pid, signum)
      except ProcessLookupError:
        pass

  def kill(self):
    self.signal(signal.SIGKILL)

  def wait(self, timeout):
    """Its exit code once it exited, or None after ``timeout`` seconds."""
    if self._process is None:
      return None
    try:
      return self._process.wait(timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired:
      return None
