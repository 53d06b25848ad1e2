"""A child process started in a session of its own, handled as a group.

  describe_exit(code) -> 'exit code 1' | 'signal 9 (SIGKILL)'
  ProcessGroupHandle: running / poll / signal / kill / wait over the
      subclass's ``self._process`` (a subprocess.Popen, or None before it
      started), signals going to the whole process group.

Shared by the launcher's children (impala_tf.distributed.child_process) and
the sweep and PBT members (impala_tf.experiments.member_process).
"""

import os
import signal
import subprocess


def describe_exit(code):
  """'exit code 1' for an exit, 'signal 9 (SIGKILL)' for a death by signal."""
  if code is not None and code < 0:
    try:
      return f'signal {-code} ({signal.Signals(-code).name})'
    except ValueError:
      return f'signal {-code}'
  return f'exit code {code}'


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
