"""Child processes in tests: output read with real timeouts, always reaped.

  with Child(command, cwd=...) as child:
    child.stdout.wait_for(' fps ', timeout=300)   # AssertionError on timeout
    child.send_signal(signal.SIGTERM)
    returncode = child.wait(timeout=60)
  child.stdout.text(), child.stderr.text()

Each stream is drained by a daemon thread into a queue, so a silent or hung
child cannot block a test: every wait has a deadline. Leaving the ``with``
block kills the child if it still runs (only that process) and reaps it.
"""

import os
import queue
import subprocess
import threading
import time


class LineReader:
  """Lines of one text stream, read in the background."""

  def __init__(self, stream):
    self._lines = queue.Queue()
    self._seen = []
    self._thread = threading.Thread(target=self._pump, args=(stream,),
                                    daemon=True)
    self._thread.start()

  def _pump(self, stream):
    for line in stream:
      self._lines.put(line)
    self._lines.put(None)  # End of stream.

  def wait_for(self, needle, timeout, count=1):
    """Reads until ``count`` lines containing ``needle`` have been seen."""
    deadline = time.monotonic() + timeout
    found = sum(needle in line for line in self._seen)
    while found < count:
      remaining = deadline - time.monotonic()
      try:
        line = self._lines.get(timeout=max(remaining, 0.0))
      except queue.Empty:
        raise AssertionError(
            f'{needle!r} not seen {count}x within {timeout:.0f}s; output so '
            f'far:\n{self.text()[-3000:]}') from None
      if line is None:
        raise AssertionError(
            f'stream ended before {needle!r} was seen {count}x; output:\n'
            f'{self.text()[-3000:]}')
      self._seen.append(line)
      found += needle in line
    return found

  def text(self, timeout=0.0):
    """Everything read so far (after waiting up to ``timeout`` for the end)."""
    deadline = time.monotonic() + timeout
    while True:
      try:
        line = self._lines.get(
            timeout=max(deadline - time.monotonic(), 0.0))
      except queue.Empty:
        break
      if line is None:
        self._lines.put(None)
        break
      self._seen.append(line)
    return ''.join(self._seen)


class Child:
  """A subprocess with background-read stdout/stderr; see module docstring."""

  def __init__(self, command, cwd=None, env=None):
    self.process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    self.stdout = LineReader(self.process.stdout)
    self.stderr = LineReader(self.process.stderr)

  @property
  def pid(self):
    return self.process.pid

  def send_signal(self, signum):
    self.process.send_signal(signum)

  def wait(self, timeout):
    """The exit code; AssertionError if the child runs past ``timeout`` (the
    message says where its threads wait, and ends with its stderr)."""
    try:
      return self.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      raise AssertionError(
          f'process {self.pid} still running after {timeout:.0f}s; its '
          f'threads: {thread_states(self.pid)}; stderr:\n'
          f'{self.stderr.text()[-3000:]}') from None

  def output(self):
    """(stdout, stderr) text once the child has exited."""
    return self.stdout.text(timeout=10), self.stderr.text(timeout=10)

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    if self.process.poll() is None:
      self.process.kill()
    self.process.wait()


def thread_states(pid):
  """'name state wait-channel' of each thread of ``pid`` (from /proc), for
  the message of a hang guard."""
  states = []
  try:
    tids = sorted(os.listdir(f'/proc/{pid}/task'), key=int)
  except OSError:
    return 'none (the process is gone)'
  for tid in tids:
    try:
      with open(f'/proc/{pid}/task/{tid}/stat') as f:
        stat = f.read()
      with open(f'/proc/{pid}/task/{tid}/wchan') as f:
        wchan = f.read().strip() or '-'
    except OSError:
      continue
    name = stat[stat.index('(') + 1:stat.rindex(')')]
    states.append(f'{name} {stat[stat.rindex(")") + 2]} {wchan}')
  return '; '.join(states) or 'none'


def free_port(consecutive=1):
  """A port p on 127.0.0.1 such that p .. p + consecutive - 1 are free now."""
  import socket  # pylint: disable=g-import-not-at-top
  for _ in range(100):
    with socket.socket() as probe:
      probe.bind(('127.0.0.1', 0))
      port = probe.getsockname()[1]
    if port + consecutive > 65535:
      continue
    try:
      held = []
      for p in range(port, port + consecutive):
        s = socket.socket()
        held.append(s)
        s.bind(('127.0.0.1', p))
    except OSError:
      continue
    finally:
      for s in held:
        s.close()
    return port
  raise RuntimeError('no free port found')
