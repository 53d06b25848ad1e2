"""One process of a launched cluster: started, watched, signalled, restarted.

  child = ChildProcess('actor', 2, command, env, log_path, on_line)
  child.start() -> pid          (again once it has exited: a restart)
  child.poll() -> None while it runs, else its exit code (-N: signal N)
  child.signal(signal.SIGTERM)  to its whole process group, if it runs
  child.kill()                  SIGKILL, if it runs
  child.wait(timeout) -> exit code, or None if it still runs
  child.last_line               its newest output line that is not noise

Each child runs in its own session (so its own process group, and a Ctrl-C
in the terminal reaches only the launcher, which decides what the children
get). Its stdout and stderr are one pipe, read by a daemon thread that
appends every line to ``log_path`` and hands it to ``on_line(child, line)``.
Signals are sent only while the child has not been reaped, so a reused pid
can never be hit.
"""

import subprocess
import threading
import time

from impala_tf import process_group
from impala_tf.process_group import ProcessGroupHandle


class ChildProcess(ProcessGroupHandle):
  """A supervised child; see the module docstring.

  Args:
    job: 'learner' or 'actor'.
    task: index within the job.
    command: argv list.
    env: the child's environment (dict).
    log_path: file that receives all of its output (appended, per start).
    on_line: callback(child, line) for every output line (line without
      its newline), called from the reader thread.
    is_noise: line -> True for lines ``last_line`` skips (log noise).
  """

  def __init__(self, job, task, command, env, log_path, on_line,
               is_noise=lambda line: False):
    self.job = job
    self.task = task
    self.name = f'{job} {task}'
    self._command = list(command)
    self._env = dict(env)
    self._log_path = log_path
    self._on_line = on_line
    self._is_noise = is_noise
    self._process = None
    self._reader = None
    self.starts = 0
    self.last_line = ''

  @property
  def pid(self):
    return self._process.pid if self._process else None

  def start(self):
    """Starts (or restarts) the process; returns its pid."""
    if self.running():
      raise RuntimeError(f'{self.name} is still running.')
    log = open(self._log_path, 'ab')  # pylint: disable=consider-using-with
    log.write(f'=== {self.name}: start {self.starts + 1} at '
              f'{time.strftime("%Y-%m-%d %H:%M:%S")} ===\n'.encode())
    log.flush()
    self._process = subprocess.Popen(
        self._command, env=process_group.child_env(self._env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    self.starts += 1
    self.last_line = ''
    self._reader = threading.Thread(
        target=self._pump, args=(self._process.stdout, log),
        name=f'output of {self.name}', daemon=True)
    self._reader.start()
    return self._process.pid

  def _pump(self, stream, log):
    try:
      for raw in stream:
        log.write(raw)
        log.flush()
        line = raw.decode('utf-8', 'replace').rstrip('\r\n')
        if line.strip() and not self._is_noise(line):
          self.last_line = line
        self._on_line(self, line)
    finally:
      stream.close()
      log.close()

  def drain(self, timeout=5.0):
    """Waits (bounded) until the reader has seen the end of the output, so
    that ``last_line`` is really the last line."""
    if self._reader is not None:
      self._reader.join(timeout)
