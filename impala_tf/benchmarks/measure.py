"""What one benchmark row measures, and the clocks it reads.

  Measurement(agent_steps, wall_seconds, cpu_seconds, frames_per_step, notes)
      Measurement.between(start, end, agent_steps, ...) from two readings
      .agent_steps_per_second, .frames_per_second,
      .cpu_ms_per_agent_step, .cores_busy
  proc_cpu_seconds(pid) -> user + system CPU seconds of another process
  cpu_seconds(pids=()) -> CPU seconds of this process and of ``pids``
  read_clock(pids=()) -> ClockReading(wall, cpu)
  repeat(step, min_seconds, min_calls, warmup_calls, pids=())
      -> (calls, start ClockReading, end ClockReading)

CPU time of this process comes from time.process_time(), which counts every
thread of the process, native ones included (ale-py's C++ vector-env workers,
TensorFlow's thread pools). Other processes (actor or learner processes of a
distributed row) are read from /proc/<pid>/stat, so a row's CPU time can be
the sum over several processes.
"""

import dataclasses
import os
import time
from typing import NamedTuple, Sequence, Tuple


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One row over its measuring window.

  Attributes:
    agent_steps: work done in the window, in agent steps (steps produced by
      the environments, answered by inference, or consumed by the learner).
    wall_seconds: wall time of the window (> 0).
    cpu_seconds: CPU time (user + system) spent in the window by every
      thread of every measured process.
    frames_per_step: environment frames per agent step (action repeats).
    notes: free text shown in the table's note column.
  """
  agent_steps: float
  wall_seconds: float
  cpu_seconds: float
  frames_per_step: int = 4
  notes: str = ''

  def __post_init__(self):
    if not self.wall_seconds > 0:
      raise ValueError(f'wall_seconds must be > 0, got {self.wall_seconds}')
    if not self.agent_steps > 0:
      raise ValueError(f'agent_steps must be > 0, got {self.agent_steps}')

  @property
  def agent_steps_per_second(self):
    return self.agent_steps / self.wall_seconds

  @property
  def frames_per_second(self):
    return self.agent_steps_per_second * self.frames_per_step

  @property
  def cpu_ms_per_agent_step(self):
    return 1000.0 * self.cpu_seconds / self.agent_steps

  @property
  def cores_busy(self):
    """Average number of cores kept busy: CPU time / wall time."""
    return self.cpu_seconds / self.wall_seconds

  @classmethod
  def between(cls, start, end, agent_steps, frames_per_step=4, notes=''):
    """The Measurement of a window from two ClockReadings."""
    return cls(agent_steps=agent_steps, wall_seconds=end.wall - start.wall,
               cpu_seconds=end.cpu - start.cpu,
               frames_per_step=frames_per_step, notes=notes)

  def to_dict(self):
    return dict(agent_steps=self.agent_steps, wall_seconds=self.wall_seconds,
                cpu_seconds=self.cpu_seconds,
                agent_steps_per_second=self.agent_steps_per_second,
                frames_per_second=self.frames_per_second,
                cpu_ms_per_agent_step=self.cpu_ms_per_agent_step,
                cores_busy=self.cores_busy, note=self.notes)


class ClockReading(NamedTuple):
  """wall: time.perf_counter() seconds; cpu: cpu_seconds(pids)."""
  wall: float
  cpu: float


def _clock_ticks_per_second():
  return os.sysconf('SC_CLK_TCK')


def parse_proc_stat(text: str) -> Tuple[int, int]:
  """(utime, stime) in clock ticks from the text of /proc/<pid>/stat.

  The second field, the command name in parentheses, may itself hold spaces
  and parentheses, so the fields are counted from the last ')'. utime and
  stime are fields 14 and 15 (proc(5)).
  """
  fields = text[text.rindex(')') + 2:].split()  # fields[0] is field 3.
  return int(fields[11]), int(fields[12])


def proc_cpu_seconds(pid: int) -> float:
  """User + system CPU seconds of process ``pid`` (all its threads).

  Raises:
    ProcessLookupError: no such process (it exited and was reaped).
  """
  try:
    with open(f'/proc/{pid}/stat') as f:
      text = f.read()
  except FileNotFoundError:
    raise ProcessLookupError(f'no process {pid} to read CPU time from '
                             f'(/proc/{pid}/stat is gone)') from None
  utime, stime = parse_proc_stat(text)
  return (utime + stime) / _clock_ticks_per_second()


def cpu_seconds(pids: Sequence[int] = ()) -> float:
  """CPU seconds of this process (time.process_time()) plus those of
  ``pids`` (other processes; this process's own pid is not counted twice)."""
  own = os.getpid()
  return time.process_time() + sum(
      proc_cpu_seconds(pid) for pid in pids if pid != own)


def read_clock(pids: Sequence[int] = ()) -> ClockReading:
  return ClockReading(wall=time.perf_counter(), cpu=cpu_seconds(pids))


def usable_cores():
  """(number of cores this process may run on, how it was found).

  Prefers the scheduler affinity (what a container or taskset allows) over
  os.cpu_count() (the machine's cores).
  """
  try:
    return len(os.sched_getaffinity(0)), 'sched_getaffinity'
  except (AttributeError, OSError):
    return os.cpu_count() or 1, 'os.cpu_count'


def repeat(step, min_seconds: float, min_calls: int, warmup_calls: int,
           pids: Sequence[int] = ()):
  """Calls ``step()`` ``warmup_calls`` times unmeasured, then until BOTH
  ``min_seconds`` of wall time have passed and ``min_calls`` calls are done.

  Returns:
    (calls in the window, ClockReading at its start, ClockReading at its end).
  """
  if min_calls < 1:
    raise ValueError(f'min_calls must be >= 1, got {min_calls}')
  for _ in range(warmup_calls):
    step()
  calls, start = 0, read_clock(pids)
  while calls < min_calls or time.perf_counter() - start.wall < min_seconds:
    step()
    calls += 1
  return calls, start, read_clock(pids)
