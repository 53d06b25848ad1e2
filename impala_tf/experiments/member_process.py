"""One sweep member's training process: started, watched, signalled, judged.

  member = MemberProcess(name, command, log_path)
  member.start() -> pid        (again after it exited: a restart)
  member.poll() -> None while it runs, else its exit code (-N: signal N)
  member.signal(signal.SIGTERM) / member.kill()
  read_log_tail(log_path) -> text written since the newest start
  judge_exit(code, tail) -> Verdict(restart, reason)
  progress_text(tail) -> '1.23M/200.00M' | None

The process runs in its own session, so a Ctrl-C in the terminal reaches
only the sweep, which decides what the members get; signals go to the
member's whole process group, and only while it has not been reaped (a
reused pid is never hit). On Linux it also gets SIGTERM if the sweep dies
without cleaning up (SIGKILL), and so checkpoints and exits instead of
running on unsupervised. Its stdout and stderr are appended directly to
``log_path`` (no pipe to drain), each start after a header line.
No TensorFlow here.
"""

import collections
import os
import re
import shlex
import subprocess
import time

from impala_tf import process_group
from impala_tf.process_group import ProcessGroupHandle

START_MARK = '=== impala_tf.sweep:'
_TAIL_BYTES = 16384
# How impala_tf.train ends when restarting cannot help: its refusals (flag
# errors, an unusable --logdir, a missing emulator) and absl's own flag
# parsing errors.
_REFUSAL_MARKS = ('impala_tf.train: error:', 'FATAL Flags parsing error')
# The one refusal that passes: the directory is still locked by the member's
# previous process (e.g. still checkpointing after a sweep was killed).
_LOCKED_MARK = 'in use by another trainer'
_STOPPED_MARK = 'impala_tf.train: stopped:'
_NON_FINITE_MARK = 'Non-finite loss'
# The learner's progress line (impala_tf.metrics.progress):
#   [  1.23M / 200.00M  0.6%]  6,412 fps  ETA 8h41m  ...
_PROGRESS_RE = re.compile(r'\[\s*([\d.]+[KMG]?) / ([\d.]+[KMG]?)\s+[\d.]+%\]')
# Lines that say nothing about why a member ended: the sweep's start header
# and command, and TensorFlow's C++ / absl log lines.
_NOISE_RE = re.compile(
    r'(=== impala_tf\.sweep:|\$ |[IWEF]\d{4} |WARNING: All log messages|'
    r'To enable the following instructions)')

Verdict = collections.namedtuple('Verdict', ['restart', 'reason'])
Verdict.__doc__ = ('What to do with a member that exited before its budget: '
                   'restart it (a crash) or not (reason says why).')


def _last_line(tail, marks):
  """The newest line of ``tail`` containing one of ``marks``, or None."""
  for line in reversed(tail.splitlines()):
    if any(mark in line for mark in marks):
      return line.strip()
  return None


def judge_exit(code, tail):
  """Whether a member that stopped short of its budget should be restarted.

  Args:
    code: its exit code (negative: killed by that signal).
    tail: its output since it was started (``read_log_tail``).

  Returns:
    Verdict(restart=False) for a refusal of impala_tf.train ("error: ...",
    e.g. a flag error) or a non-finite loss, which would happen again;
    Verdict(restart=True) for anything else: killed by a signal, another
    fault, an exit without reaching the budget, or a --logdir locked by
    another trainer (most likely the member's previous process, still
    exiting).
  """
  refusal = _last_line(tail, _REFUSAL_MARKS)
  if code == 1 and refusal is not None:
    return Verdict(_LOCKED_MARK in refusal, refusal)
  stopped = _last_line(tail, (_STOPPED_MARK,))
  if code == 1 and stopped is not None and _NON_FINITE_MARK in stopped:
    return Verdict(False, stopped)
  if code == 0:
    return Verdict(True, 'exited (code 0) before reaching its frame budget')
  reason = f'crashed ({process_group.describe_exit(code)})'
  if code < 0:  # Killed: its last words say nothing about why.
    return Verdict(True, reason)
  last = stopped or _last_informative_line(tail)
  return Verdict(True, f'{reason}: {last}' if last else reason)


def _last_informative_line(tail):
  """The newest line that is not a start header or TensorFlow log noise."""
  for line in reversed(tail.splitlines()):
    if line.strip() and not _NOISE_RE.match(line):
      return line.strip()[:300]
  return None


def progress_text(tail):
  """'frames/budget' of the newest learner progress line in ``tail``, e.g.
  '1.23M/200.00M', or None if there is none yet."""
  matches = _PROGRESS_RE.findall(tail)
  if not matches:
    return None
  frames, total = matches[-1]
  return f'{frames}/{total}'


def read_log_tail(log_path, max_bytes=_TAIL_BYTES):
  """The end of a member log (at most ``max_bytes``), from its newest start
  header on; '' if there is no log."""
  try:
    with open(log_path, 'rb') as f:
      f.seek(0, os.SEEK_END)
      size = f.tell()
      f.seek(max(0, size - max_bytes))
      text = f.read().decode('utf-8', 'replace')
  except OSError:
    return ''
  start = text.rfind(START_MARK)
  return text[start:] if start >= 0 else text


class MemberProcess(ProcessGroupHandle):
  """The training process of one member; see the module docstring.

  Args:
    name: e.g. 'member_03' (for the log header).
    command: argv list.
    log_path: file that receives all of its output (appended).
    env: its environment (default: this one, unbuffered Python output).
  """

  def __init__(self, name, command, log_path, env=None):
    self.name = name
    self.command = list(command)
    self.log_path = log_path
    self._env = dict(os.environ if env is None else env)
    self._env.setdefault('PYTHONUNBUFFERED', '1')
    self._process = None
    self.starts = 0

  @property
  def pid(self):
    return self._process.pid if self._process else None

  def start(self):
    """Starts (or restarts) the process; returns its pid."""
    if self.running():
      raise RuntimeError(f'{self.name} is still running.')
    os.makedirs(os.path.dirname(self.log_path) or '.', exist_ok=True)
    with open(self.log_path, 'ab') as log:
      log.write(f'{START_MARK} {self.name} start {self.starts + 1} at '
                f'{time.strftime("%Y-%m-%d %H:%M:%S")} ===\n'
                f'$ {shlex.join(self.command)}\n'.encode())
      log.flush()
      self._process = subprocess.Popen(
          self.command, env=process_group.child_env(self._env),
          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
          start_new_session=True)
    self.starts += 1
    return self._process.pid

