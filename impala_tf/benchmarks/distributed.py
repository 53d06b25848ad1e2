"""The distributed rows: learner and actor processes of impala_tf.train.

  measure_distributed(config, num_learners, num_actor_processes, min_seconds,
                      min_updates, warmup_seconds, warmup_updates,
                      timeout_secs) -> DistributedRow

One row runs a whole cluster on this machine, as child processes on
127.0.0.1 with free ports (learner i serves actors at its port and, with
several learners, all-reduces at port + 1):

  learner 0 (chief): python -m impala_tf.benchmarks.watched_learner, the
      learner job of impala_tf.train printing one line per update
  learner i > 0:     python -m impala_tf.train --job_name=learner --task=i
  actor k:           python -m impala_tf.train --job_name=actor --task=k

At every update line this process reads the wall clock and the CPU clocks of
itself and of every child (/proc/<pid>/stat, all threads), so the measuring
window (impala_tf.benchmarks.window) gives agent steps consumed by the
learners, the CPU time of ALL processes of the row, and its split between
learner processes, actor processes and this (coordinating) process.

Every child is started in its own session (a Ctrl-C at the terminal reaches
only the benchmark, which then stops them) and is stopped when the row ends,
whichever way it ends: SIGTERM, then SIGKILL after ``grace_secs``. While a row
runs, Ctrl-C, SIGTERM and SIGHUP are only recorded (signal_flags.RaiseLater)
and turned into KeyboardInterrupt at a point of the row's loop where no
subprocess call is under way. Logs and the run directory live in a temporary
directory, removed afterwards; a child that fails is reported with the end of
its log.

This module does not import TensorFlow.
"""

import dataclasses
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, NamedTuple

from impala_tf import process_group
from impala_tf import signal_flags
from impala_tf.benchmarks import watched_learner
from impala_tf.benchmarks.measure import Measurement, proc_cpu_seconds
from impala_tf.benchmarks.window import UpdateWindow

HOST = '127.0.0.1'
LEARNERS, ACTORS = 'learners', 'actors'


def free_port_pairs(count, host=HOST, attempts=200):
  """``count`` ports p, each with p and p + 1 free on ``host`` right now.

  The pairs do not overlap. Another program may still take a port before
  the row binds it; the row then fails with the learner's error.

  Raises:
    RuntimeError: no such pairs found in ``attempts`` tries.
  """
  held, ports = [], []
  try:
    for _ in range(attempts):
      if len(ports) == count:
        break
      first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      held.append(first)
      first.bind((host, 0))
      port = first.getsockname()[1]
      if port + 1 > 65535:
        continue
      second = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      held.append(second)
      try:
        second.bind((host, port + 1))
      except OSError:
        continue
      ports.append(port)
  finally:
    for s in held:
      s.close()
  if len(ports) < count:
    raise RuntimeError(f'found only {len(ports)} of {count} pairs of free '
                       f'ports (p, p + 1) on {host} in {attempts} tries.')
  return ports


def train_flags(config):
  """[str] flags of impala_tf.train that rebuild ``config`` exactly (every
  Config field as --name=value)."""
  flags = []
  for field in dataclasses.fields(config):
    value = getattr(config, field.name)
    if isinstance(value, bool):
      value = 'true' if value else 'false'
    elif isinstance(value, float):
      value = repr(value)
    flags.append(f'--{field.name}={value}')
  return flags


def cluster_flags(learners, num_actor_processes):
  return [f'--learner_addresses={",".join(learners)}',
          f'--num_actor_processes={int(num_actor_processes)}']


class GroupReading(NamedTuple):
  """wall: time.perf_counter(); cpu: CPU seconds of this process and of every
  child; own: this process's; groups: {group: CPU seconds of its pids};
  by_pid: {pid: CPU seconds}."""
  wall: float
  cpu: float
  own: float
  groups: Dict[str, float]
  by_pid: Dict[int, float]


def read_groups(pids_by_group):
  """A GroupReading; pids_by_group: {group: [pid]} (other processes).

  Raises:
    ProcessLookupError: a pid is gone (exited and reaped).
  """
  wall = time.perf_counter()
  own = time.process_time()
  by_pid = {pid: proc_cpu_seconds(pid)
            for pids in pids_by_group.values() for pid in pids}
  groups = {group: sum(by_pid[pid] for pid in pids)
            for group, pids in pids_by_group.items()}
  return GroupReading(wall, own + sum(groups.values()), own, groups, by_pid)


def cpu_split(start, end):
  """{'learners', 'actors', 'this process'}: CPU seconds between two
  GroupReadings (they add up to end.cpu - start.cpu)."""
  split = {group: end.groups[group] - start.groups[group]
           for group in end.groups}
  split['this process'] = end.own - start.own
  return split


@dataclasses.dataclass
class _Child:
  name: str
  group: str
  process: subprocess.Popen
  log_path: str


class Children:
  """The child processes of one row. ``stop()`` (also on leaving a ``with``
  block) ends every one: SIGTERM to all, then SIGKILL for those still running
  after ``grace_secs``; a Ctrl-C while waiting kills the rest at once.

  A child may need longer than the grace (a learner writing its final
  checkpoint on a busy machine, an actor inside a push that waits for room in
  a full queue); it then gets the SIGKILL, the row being measured by then.
  """

  def __init__(self, workdir, grace_secs=5.0):
    self._workdir = workdir
    self._grace = grace_secs
    self._children: List[_Child] = []

  def start(self, name, group, command, pipe_stdout=False):
    """Starts ``command``; stdout and stderr go to <workdir>/<name>.log
    (stdout to a pipe instead if ``pipe_stdout``). Returns the Popen."""
    log_path = os.path.join(self._workdir, name.replace(' ', '_') + '.log')
    env = process_group.child_env()  # They stop if this process dies.
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    with open(log_path, 'w') as log:
      process = subprocess.Popen(
          command, stdin=subprocess.DEVNULL,
          stdout=subprocess.PIPE if pipe_stdout else log, stderr=log,
          text=True, env=env, start_new_session=True)
    self._children.append(_Child(name, group, process, log_path))
    return process

  def pids_by_group(self):
    groups = {}
    for child in self._children:
      groups.setdefault(child.group, []).append(child.process.pid)
    return groups

  def wait_for(self, name, timeout):
    """The exit code of child ``name`` within ``timeout`` s, else None."""
    for child in self._children:
      if child.name == name:
        try:
          return child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
          return None
    raise KeyError(name)

  def first_exited(self):
    """(name, exit code) of a child that has exited, or None. Reaps it."""
    for child in self._children:
      code = child.process.poll()
      if code is not None:
        return child.name, code
    return None

  def log_tail(self, name, lines=20):
    for child in self._children:
      if child.name == name:
        try:
          with open(child.log_path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
        except OSError:
          return ''
    return ''

  def summary(self):
    """[{name, group, pid, exit_code}] (exit_code None while running)."""
    return [dict(name=c.name, group=c.group, pid=c.process.pid,
                 exit_code=c.process.returncode) for c in self._children]

  def stop(self):
    try:
      self._stop(self._grace)
    except KeyboardInterrupt:
      self._stop(0.0)
      raise
    finally:
      for child in self._children:
        if child.process.stdout is not None:
          child.process.stdout.close()

  def _stop(self, grace):
    running = [c.process for c in self._children if c.process.poll() is None]
    for process in running:
      try:
        process.send_signal(signal.SIGTERM)
      except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    for process in running:
      try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.stop()


def _line_queue(stream):
  """A queue of the lines of ``stream``, read by a daemon thread; None at
  the end of the stream."""
  lines = queue.Queue()

  def pump():
    try:
      for line in stream:
        lines.put(line)
    except (OSError, ValueError):
      pass  # The stream was closed under us: the row is over.
    lines.put(None)

  threading.Thread(target=pump, daemon=True,
                   name='watched-learner-reader').start()
  return lines


@dataclasses.dataclass
class DistributedRow:
  """measurement: the whole row (CPU of every process); details: the JSON
  extras (per-group CPU, ports, children with pids and exit codes)."""
  measurement: Measurement
  details: dict


def row_name(num_learners, num_actor_processes):
  learners = ('learner' if num_learners == 1 else
              f'{num_learners} learners')
  plural = '' if num_actor_processes == 1 else 'es'
  return f'{learners} + {num_actor_processes} actor process{plural}'


def _start_cluster(children, config, num_learners, num_actor_processes,
                   python):
  """Starts every process of the row; returns (chief Popen, addresses)."""
  ports = free_port_pairs(num_learners)
  learners = [f'{HOST}:{port}' for port in ports]
  chief = children.start(
      'learner 0', LEARNERS,
      [python, '-m', 'impala_tf.benchmarks.watched_learner',
       watched_learner.job_json(config, learners, num_actor_processes)],
      pipe_stdout=True)
  common = ([python, '-m', 'impala_tf.train'] + train_flags(config) +
            cluster_flags(learners, num_actor_processes))
  for task in range(1, num_learners):
    children.start(f'learner {task}', LEARNERS,
                   common + ['--job_name=learner', f'--task={task}'])
  for task in range(num_actor_processes):
    children.start(f'actor {task}', ACTORS,
                   common + ['--job_name=actor', f'--task={task}'])
  return chief, learners


def _failure(children, name, problem):
  tail = children.log_tail(name)
  return RuntimeError(f'{problem}' + (
      f' Last lines of the log of {name}:\n{tail}' if tail else ''))


def _watch(children, lines, window, timeout_secs, row, interrupts):
  """Reads update lines until ``window`` is complete; RuntimeError if a
  child exits first or no update comes for ``timeout_secs``;
  KeyboardInterrupt at the top of the loop once ``interrupts`` got one."""
  last_progress = time.monotonic()
  while True:
    interrupts.raise_if_received()
    try:
      line = lines.get(timeout=0.5)
    except queue.Empty:
      line = ''
    if line is None:  # The chief closed its output: it is exiting.
      code = children.wait_for('learner 0', timeout=5.0)
      raise _failure(children, 'learner 0', f'{row}: the chief learner '
                     f'stopped (exit code {code}) before the measuring '
                     f'window was complete ({window.updates} updates).')
    update = watched_learner.parse_update_line(line) if line else None
    if update is None:
      exited = children.first_exited()
      if exited is not None:
        raise _failure(children, exited[0], f'{row}: {exited[0]} exited with '
                       f'code {exited[1]} before the measuring window was '
                       f'complete ({window.updates} updates).')
      if time.monotonic() - last_progress > timeout_secs:
        raise _failure(children, 'learner 0', f'{row}: no learner update for '
                       f'{timeout_secs:g}s (--distributed_timeout_secs) '
                       f'after {window.updates} updates.')
      continue
    try:
      reading = read_groups(children.pids_by_group())
    except ProcessLookupError as e:
      raise RuntimeError(f'{row}: a process of the row is gone before the '
                         f'window was complete: {e}') from None
    last_progress = time.monotonic()
    if window.add(reading, update[1]):
      return


def _details(start, end, measurement, num_learners, num_actor_processes):
  """Per-group CPU between two GroupReadings: seconds, ms per agent step,
  cores busy."""
  split = cpu_split(start, end)
  details = dict(num_learners=num_learners,
                 num_actor_processes=num_actor_processes)
  for key, group in (('learner', LEARNERS), ('actor', ACTORS),
                     ('coordinator', 'this process')):
    seconds = split[group]
    details[f'{key}_cpu_seconds'] = seconds
    details[f'{key}_cpu_ms_per_agent_step'] = (
        1000.0 * seconds / measurement.agent_steps)
    details[f'{key}_cores_busy'] = seconds / measurement.wall_seconds
  return details


def _notes(updates_note, details):
  return (f'{updates_note}; CPU ms / agent step: learner '
          f'{details["learner_cpu_ms_per_agent_step"]:.3f} + actors '
          f'{details["actor_cpu_ms_per_agent_step"]:.3f} + this process '
          f'{details["coordinator_cpu_ms_per_agent_step"]:.3f}; cores busy: '
          f'learner {details["learner_cores_busy"]:.2f}, actors '
          f'{details["actor_cores_busy"]:.2f}')


def measure_distributed(config, num_learners, num_actor_processes,
                        min_seconds, min_updates, warmup_seconds,
                        warmup_updates, timeout_secs, grace_secs=5.0,
                        python=sys.executable, log=print):
  """One distributed row on ``config`` (its --num_actors environments split
  over the actor processes; batch split over the learners).

  Args:
    config: the end-to-end Config (logdir and timers are replaced).
    num_learners, num_actor_processes: the cluster (actors >= learners).
    min_seconds, min_updates, warmup_seconds, warmup_updates: the measuring
      window, as for the end-to-end row (impala_tf.benchmarks.window).
    timeout_secs: hang guard: the longest wait for a learner update (also
      the actors' --connect_timeout_secs).
    grace_secs: how long stopped children get before SIGKILL.
    python: the interpreter that runs the children.
    log: print-like; told the children's pids once they are started.

  Returns:
    DistributedRow; details has num_learners, num_actor_processes,
    {learner,actor,coordinator}_{cpu_seconds,cpu_ms_per_agent_step,
    cores_busy}, learner_addresses and children (name, group, pid,
    exit_code, cpu_seconds_at_window_end, window_cpu_seconds), every child
    stopped.

  Raises:
    RuntimeError: a child failed, or the hang guard fired (the message ends
      with the failing process's log).
  """
  row = row_name(num_learners, num_actor_processes)
  window = UpdateWindow(warmup_updates, warmup_seconds, min_updates,
                        min_seconds)
  with tempfile.TemporaryDirectory(prefix='impala_tf_benchmark_') as workdir:
    config = config.replace(
        logdir=os.path.join(workdir, 'run'), checkpoint_secs=1e9,
        progress_secs=1e9, summary_secs=1e9,
        connect_timeout_secs=float(timeout_secs))
    children = Children(workdir, grace_secs)
    with signal_flags.RaiseLater() as interrupts:
      try:
        chief, learners = _start_cluster(children, config, num_learners,
                                         num_actor_processes, python)
        log(f'  {row}: started ' + ', '.join(
            f'{c["name"]} (pid {c["pid"]})' for c in children.summary()),
            flush=True)
        _watch(children, _line_queue(chief.stdout), window, timeout_secs,
               row, interrupts)
      finally:
        children.stop()
  measurement = window.measurement(config.num_action_repeats)
  (_, start, _), (_, end, _) = window.start, window.end
  details = _details(start, end, measurement, num_learners,
                     num_actor_processes)
  details.update(learner_addresses=learners, children=[
      dict(child, cpu_seconds_at_window_end=end.by_pid[child['pid']],
           window_cpu_seconds=(end.by_pid[child['pid']] -
                               start.by_pid[child['pid']]))
      for child in children.summary()])
  return DistributedRow(
      dataclasses.replace(measurement,
                          notes=_notes(measurement.notes, details)),
      details)

