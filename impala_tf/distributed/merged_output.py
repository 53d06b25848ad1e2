"""The launcher's console: its children's lines, relayed, and one merged
progress line.

  is_noise(line) -> bool            TensorFlow/absl log noise
  is_progress(line) -> bool         a learner's progress line
  with_prefix(name, line) -> '[actor 2] line'
  actors_summary(up, total, actor_restarts, learner_restarts)
      -> 'actors 4/4 up, 1 restart'
  output = MergedOutput(num_actor_processes)
  output.relay(name, line)          from the children's reader threads
  output.say(message)               '[launcher] message'
  output.actor_down(task); output.learners_restarted()
  output.quiet_actors()             stop relaying actor lines (shutdown)
  output.progress_line(actor_restarts, learner_restarts)
      -> '[ 92.64K / 150.00K  61.8%]  3,036 fps ... | actors 4/4 up, 1 restart'
  output.print_progress(actor_restarts, learner_restarts)
      prints it if it changed (or, unchanged, once a minute)

Lines are printed whole, one at a time (a lock), so lines of different
children never interleave. The chief learner's progress lines are not
relayed: the newest one is kept for the merged line. An actor counts as up
from its "connected to" line until it reports a lost learner or exits.
"""

import re
import threading
import time

_LOG_NOISE = (
    # glog/absl lines: I0000 00:00:17.. 123 port.cc:153] ...
    re.compile(r'^[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] '),
    # The CUDA probe's error on a machine without GPU.
    re.compile(r'^E\d{4} [\d:.]+\s+\d+ cuda\w*\.cc:\d+\] '),
    re.compile(r'^WARNING: All log messages before absl::InitializeLog'),
    # Continuation lines of TensorFlow's CPU-feature notice and of gRPC's
    # warnings about failed calls (an actor waiting for its learner).
    re.compile(r'^To enable the following instructions: '),
    re.compile(r'^Additional GRPC error information while calling '),
    re.compile(r'^:UNKNOWN:Error received from peer '),
    re.compile(r'^\s*\[\[\{\{node \w+\}\}\]\]$'),  # A TF op error's node line.
    re.compile(r'^/job:\w+/replica:\d+/task:\d+$'),  # "Example stragglers:"
)
_PROGRESS = re.compile(r'^\[\s*[\d.]+[A-Za-z]* / [\d.]+[A-Za-z]*\s+[\d.]+%\]')
_ACTOR_UP = '] connected to '
_ACTOR_DOWN = ('] lost the learner', '] cannot reach the learner')
CHIEF = 'learner 0'
_REPEAT_SECS = 60.0  # An unchanged merged line is printed again this often.


def print_line(line):
  print(line, flush=True)


def is_noise(line):
  """True for TensorFlow's INFO/WARNING log lines and similar chatter."""
  return not line.strip() or any(p.match(line) for p in _LOG_NOISE)


def is_progress(line):
  return bool(_PROGRESS.match(line))


def with_prefix(name, line):
  """'[name] line', without doubling a prefix the child wrote itself."""
  prefix = f'[{name}]'
  return line if line.startswith(prefix) else f'{prefix} {line}'


def _plural(count, word):
  return f'{count} {word}' if count == 1 else f'{count} {word}s'


def actors_summary(up, total, actor_restarts, learner_restarts=0):
  """'actors 3/4 up, 2 restarts' (+ ', 1 learner restart' if any)."""
  text = f'actors {up}/{total} up, {_plural(actor_restarts, "restart")}'
  if learner_restarts:
    text += f', {_plural(learner_restarts, "learner restart")}'
  return text


class MergedOutput:
  """See the module docstring.

  Args:
    num_actor_processes: K, for 'actors up/K'.
    print_fn: where lines go (one str per call; default stdout, flushed).
  """

  def __init__(self, num_actor_processes, print_fn=print_line,
               clock=time.monotonic):
    self._total = num_actor_processes
    self._print = print_fn
    self._clock = clock
    self._last_printed = (None, 0.0)  # (line, time)
    self._lock = threading.Lock()
    self._progress = None
    self._no_progress = f'[{CHIEF}: no progress line yet]'
    self._actors_up = set()
    self._actors_quiet = False

  def _emit(self, line):
    with self._lock:
      self._print(line)

  def say(self, message):
    self._emit(f'[launcher] {message}')

  def relay(self, name, line):
    """Handles one output line of child ``name`` ('actor 2')."""
    if is_noise(line):
      return
    if name == CHIEF and is_progress(line):
      with self._lock:
        self._progress = line.strip()
      return
    if name.startswith('actor '):
      self._note_actor(int(name.split()[1]), line)
      if self._actors_quiet:
        return
    self._emit(with_prefix(name, line))

  def _note_actor(self, task, line):
    with self._lock:
      if _ACTOR_UP in line:
        self._actors_up.add(task)
      elif any(needle in line for needle in _ACTOR_DOWN):
        self._actors_up.discard(task)

  def actor_down(self, task):
    """Actor ``task`` exited (it counts as up again once it connects)."""
    with self._lock:
      self._actors_up.discard(task)

  def quiet_actors(self):
    """From now on actor lines only go to their log files (while the run
    stops, actors only report that their learner went away)."""
    self._actors_quiet = True

  def learners_restarted(self):
    """Forgets the progress line of the learners' previous processes."""
    with self._lock:
      self._progress = None
      self._no_progress = f'[{CHIEF}: restarted, no progress line yet]'

  def progress_line(self, actor_restarts, learner_restarts=0):
    with self._lock:
      progress = self._progress or self._no_progress
      up = len(self._actors_up)
    summary = actors_summary(up, self._total, actor_restarts,
                             learner_restarts)
    return f'{progress} | {summary}'

  def print_progress(self, actor_restarts, learner_restarts=0):
    """Prints the merged line if it changed since the last one printed (an
    unchanged one only every minute); returns it, or None."""
    line = self.progress_line(actor_restarts, learner_restarts)
    last, when = self._last_printed
    now = self._clock()
    if line == last and now - when < _REPEAT_SECS:
      return None
    self._last_printed = (line, now)
    self._emit(line)
    return line
