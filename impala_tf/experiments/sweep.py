"""Runs a hyperparameter sweep: one impala_tf.train process per setting.

  interrupts = Interrupts().install()
  SweepRunner(plan, SweepOptions(...), interrupts).run() -> exit code

The members of a SweepPlan (sweep_plan.py) run at most ``max_parallel`` at
a time, in index order, each in its own process (member_process.py) with
its output in ``<member dir>/out.log``. A member whose newest checkpoint
has reached the frame budget is finished (and skipped when the sweep is run
again; ``finished.json`` in its directory keeps it so if its checkpoints are
deleted); the others start, or resume from their last checkpoint.

Supervision:
  a member that stops short of its budget is restarted from its last
    checkpoint (the same command resumes) after a short pause, at most
    ``max_member_restarts`` times per sweep run, unless it was refused by
    impala_tf.train (a flag error, say) or stopped on a non-finite loss:
    then it is marked failed and the sweep goes on without it (a later run
    of the sweep tries it again);
  Ctrl-C / SIGTERM: every running member gets SIGTERM (it checkpoints) and
    is waited for, at most ``stop_timeout_secs`` (then SIGKILL); exit 0. A
    second Ctrl-C kills them at once and exits 130.
No member outlives ``run``, whatever way it ends.

One progress line every ``progress_secs``; ``<logdir>/results.csv``
(sweep_results.py) is rewritten at the start, whenever a member finishes or
fails, and at the end. Exit code: 0 when every selected member finished or
the sweep was stopped, 1 when some failed, 130 after a second Ctrl-C.
"""

import collections
import dataclasses
import math
import os
import signal
import sys
import time
from typing import Optional

from impala_tf import process_group
from impala_tf import signal_flags
from impala_tf.experiments import member_process
from impala_tf.experiments import sweep_results as results_lib

LOG_FILE = 'out.log'
INTERRUPTED = 130  # As impala_tf.train after a second Ctrl-C.
_POLL_SECS = 0.2
_KILL_WAIT_SECS = 10.0



class Interrupts(signal_flags.SignalFlags):
  """SIGINT/SIGTERM of the sweep, as flags the runner polls.

  The first asks for a clean stop (``stop_requested``); a second SIGINT
  sets ``kill_now``. Not impala_tf.stopping.StopSignal: its second Ctrl-C
  exits the process at once, which would leave the members running.
  """

  def __init__(self, name='impala_tf.sweep'):
    super().__init__()
    self._name = name
    self.stop_requested = False
    self.kill_now = False
    self.reason = None

  def on_signal(self, signum, name):
    if not self.stop_requested:
      self.stop_requested = True
      self.reason = name
      signal_flags.announce(
          f'{self._name}: received {name}; stopping the running members '
          '(they checkpoint). Ctrl-C again to kill them at once.')
    elif signum == signal.SIGINT and not self.kill_now:
      self.kill_now = True
      signal_flags.announce(f'{self._name}: second Ctrl-C: killing the '
                            'running members now, without a checkpoint.')


@dataclasses.dataclass(frozen=True)
class SweepOptions:
  """How a sweep runs (the binary's flags).

  restart_delay_secs: pause before restarting a crashed member (doubled for
  each further restart, at most 16x): a member that crashes at once does
  not spin, and one refused because its previous process still holds the
  directory gets the time to finish.
  """
  max_parallel: int = 1
  max_member_restarts: int = 3
  progress_secs: float = 5.0
  stop_timeout_secs: float = 180.0
  final_episodes: int = 100
  restart_delay_secs: float = 5.0


@dataclasses.dataclass
class _Member:
  """What the runner knows about one selected member.

  status RUNNING covers a member waiting to be restarted (``restart_at``,
  a clock time, is set then): it keeps its slot.
  """
  index: int
  status: str
  process: Optional[member_process.MemberProcess] = None
  restarts: int = 0
  note: str = ''
  restart_at: Optional[float] = None


def restart_delay(base_secs, restarts):
  """Seconds before restart number ``restarts`` (1, 2, ...)."""
  return base_secs * 2 ** min(restarts - 1, 4)


def format_setting(setting):
  """'entropy_cost 0.01, ..., correction vtrace' (settings may set any flag)."""
  return ', '.join(
      f'{k} {v:.3g}' if isinstance(v, float) else f'{k} {v}'
      for k, v in setting.items())


class SweepRunner:
  """Runs the selected members of a SweepPlan; see the module docstring.

  Args:
    plan: the SweepPlan.
    options: SweepOptions.
    interrupts: an installed Interrupts.
    out: prints one line (default: stdout, flushed).
    python: the interpreter the members run with.
    clock: monotonic seconds.
  """

  def __init__(self, plan, options, interrupts, out=None,
               python=sys.executable, clock=time.monotonic):
    self._plan = plan
    self._options = options
    self._interrupts = interrupts
    self._out = out or (lambda line: print(line, flush=True))
    self._python = python
    self._clock = clock
    self._members = {}  # index -> _Member, the selected members.

  # ------------------------------------------------------------- queries

  def _running(self):
    """Members holding a slot: training, or waiting to be restarted."""
    return [m for m in self._members.values()
            if m.status == results_lib.RUNNING]

  def _count(self, status):
    return sum(m.status == status for m in self._members.values())

  def _name(self, member):
    return self._plan.member_name(member.index)

  def _log_path(self, member):
    return os.path.join(self._plan.member_dir(member.index), LOG_FILE)

  def _frames(self, index):
    return results_lib.member_frames(
        self._plan.member_dir(index), self._plan.config.frames_per_update)

  def _say(self, message):
    self._out(f'sweep: {message}')

  # --------------------------------------------------------------- running

  def run(self):
    """Runs the sweep; returns the exit code. Reaps every member."""
    try:
      return self._run()
    finally:
      self._reap_all()

  def _run(self):
    queue = collections.deque(self._select())
    self._write_results()
    next_progress = self._clock() + self._options.progress_secs
    stop_deadline = None
    while True:
      if self._interrupts.kill_now:
        return self._kill_now()
      if self._interrupts.stop_requested and stop_deadline is None:
        stop_deadline = self._begin_stop()
      stopping = stop_deadline is not None
      self._handle_exits(stopping)
      if stopping:
        if not self._running():
          break
        if self._clock() > stop_deadline:
          self._kill_late_members()
          stop_deadline = math.inf  # Killed once; now only reap them.
      else:
        self._restart_due()
        while queue and len(self._running()) < self._options.max_parallel:
          self._start(self._members[queue.popleft()])
        if not queue and not self._running():
          break
      if self._clock() >= next_progress:
        self._say(self._progress_line())
        next_progress = self._clock() + self._options.progress_secs
      time.sleep(_POLL_SECS)
    return self._finish(stopped=stop_deadline is not None)

  def _select(self):
    """Marks the selected members finished or waiting; returns the ones to
    run, in order."""
    plan = self._plan
    to_run = []
    for index in plan.members:
      frames = self._frames(index)
      if frames >= plan.budget:
        self._members[index] = _Member(index, results_lib.FINISHED)
        results_lib.record_finished(plan.member_dir(index), frames)
      else:
        self._members[index] = _Member(index, results_lib.WAITING)
        to_run.append(index)
    done = len(plan.members) - len(to_run)
    self._say(f'{len(plan.members)} of {plan.count} settings selected, '
              f'{plan.budget:,} frames each: {done} finished already '
              f'(skipped), {len(to_run)} to run, at most '
              f'{self._options.max_parallel} at a time; logdir '
              f'{plan.logdir}')
    return to_run

  def _start(self, member):
    plan = self._plan
    if member.process is None:
      member.process = member_process.MemberProcess(
          self._name(member), plan.command(member.index, self._python),
          self._log_path(member))
    pid = member.process.start()
    member.status, member.restart_at = results_lib.RUNNING, None
    if member.process.starts == 1:
      self._say(f'{self._name(member)} started (pid {pid}; '
                f'{format_setting(plan.settings[member.index])}); output in '
                f'{self._log_path(member)}')
    else:
      self._say(f'{self._name(member)} restarted (pid {pid})')

  def _restart_due(self):
    for member in self._running():
      if member.restart_at is not None and self._clock() >= member.restart_at:
        self._start(member)

  def _handle_exits(self, stopping):
    for member in self._running():
      if member.restart_at is not None:
        if stopping:  # Not restarted after all.
          self._mark_stopped(member, None)
        continue
      code = member.process.poll()
      if code is not None:
        self._handle_exit(member, code, stopping)

  def _mark_stopped(self, member, code):
    frames = self._frames(member.index)
    how = ('' if code in (0, None) else
           f' ({process_group.describe_exit(code)})')
    member.status = results_lib.UNFINISHED
    member.restart_at = None
    member.note = f'stopped{how} at {frames:,} frames'
    self._say(f'{self._name(member)} {member.note}')

  def _handle_exit(self, member, code, stopping):
    """Decides a member's fate once its process has exited."""
    frames = self._frames(member.index)
    if frames >= self._plan.budget:
      results_lib.record_finished(self._plan.member_dir(member.index), frames)
      member.status, member.note = results_lib.FINISHED, ''
      result = self._write_results()[member.index]
      returns = ('no finished episode' if result.final_return is None else
                 f'final return {result.final_return:.4g} over '
                 f'{result.episodes} episodes')
      self._say(f'{self._name(member)} finished ({frames:,} frames); '
                f'{returns}')
      return
    if stopping:
      self._mark_stopped(member, code)
      return
    verdict = member_process.judge_exit(
        code, member_process.read_log_tail(self._log_path(member)))
    limit = self._options.max_member_restarts
    if verdict.restart and member.restarts < limit:
      member.restarts += 1
      delay = restart_delay(self._options.restart_delay_secs,
                            member.restarts)
      member.restart_at = self._clock() + delay
      self._say(f'{self._name(member)} {verdict.reason}; restarting it in '
                f'{delay:.0f}s from its last checkpoint ({frames:,} '
                f'frames), restart {member.restarts} of {limit}')
      return
    member.status = results_lib.FAILED
    member.note = (verdict.reason if not verdict.restart else
                   f'{verdict.reason} (after {member.restarts} restarts)')
    self._say(f'{self._name(member)} failed: {member.note}; see '
              f'{self._log_path(member)}. The sweep goes on.')
    self._write_results()

  # -------------------------------------------------------------- stopping

  def _training(self):
    return [m for m in self._running() if m.restart_at is None]

  def _begin_stop(self):
    training = self._training()
    for member in training:
      member.process.signal(signal.SIGTERM)
    timeout = self._options.stop_timeout_secs
    self._say(f'stopping: SIGTERM sent to {len(training)} running '
              f'member(s), which checkpoint; waiting up to {timeout:.0f}s')
    return self._clock() + timeout

  def _kill_late_members(self):
    for member in self._training():
      self._say(f'{self._name(member)} did not stop within '
                f'{self._options.stop_timeout_secs:.0f}s; killing it (it '
                'resumes from its last checkpoint)')
      member.process.kill()

  def _kill_now(self):
    for member in self._training():
      member.process.kill()
    for member in self._running():
      if member.restart_at is None:
        member.process.wait(_KILL_WAIT_SECS)
      member.status, member.restart_at = results_lib.UNFINISHED, None
      member.note = 'killed by a second Ctrl-C'
    self._finish_waiting()
    self._write_results()
    self._say('killed the running members; run the same command again to '
              'resume them from their last checkpoints')
    return INTERRUPTED

  def _reap_all(self):
    """Leaves no member behind (also after an error in the runner): SIGTERM,
    then SIGKILL after stop_timeout_secs or a second Ctrl-C."""
    left = [m for m in self._members.values()
            if m.process is not None and m.process.running()]
    for member in left:
      member.process.signal(signal.SIGTERM)
    deadline = self._clock() + self._options.stop_timeout_secs
    while (any(m.process.running() for m in left) and
           self._clock() < deadline and not self._interrupts.kill_now):
      time.sleep(_POLL_SECS)
    for member in left:
      member.process.kill()
      member.process.wait(_KILL_WAIT_SECS)

  # -------------------------------------------------------------- reporting

  def _write_results(self):
    live = {i: (m.status, m.restarts, m.note)
            for i, m in self._members.items()}
    _, rows = results_lib.write_sweep_results(
        self._plan, self._options.final_episodes, live)
    return rows

  def _member_progress(self, member):
    if member.restart_at is not None:
      return 'restarting'
    tail = member_process.read_log_tail(self._log_path(member))
    return member_process.progress_text(tail) or 'starting'

  def _progress_line(self):
    parts = [f'{self._name(m)} {self._member_progress(m)}'
             for m in self._running()]
    line = (f'{self._count(results_lib.FINISHED)}/{len(self._members)} '
            f'finished, {self._count(results_lib.FAILED)} failed, '
            f'{len(parts)} running, {self._count(results_lib.WAITING)} '
            'waiting')
    return line + (' | ' + ', '.join(parts) if parts else '')

  def _finish_waiting(self):
    """Members never started in this run get their status from disk."""
    for member in self._members.values():
      if member.status == results_lib.WAITING:
        member.status = results_lib.disk_status(
            self._plan.member_dir(member.index), self._frames(member.index),
            self._plan.budget)

  def _finish(self, stopped):
    plan = self._plan
    self._finish_waiting()
    rows = self._write_results()
    path = os.path.join(plan.logdir, results_lib.RESULTS_FILE)
    failed = [m for m in self._members.values()
              if m.status == results_lib.FAILED]
    left = [m for m in self._members.values()
            if m.status in (results_lib.UNFINISHED, results_lib.NOT_STARTED)]
    self._say(f'{self._count(results_lib.FINISHED)}/{len(self._members)} '
              f'finished, {len(failed)} failed, {len(left)} unfinished; '
              f'results in {path}')
    best = results_lib.best_line(plan, rows)
    if best is not None:
      self._say(best)
    if stopped:
      if left:
        self._say('stopped; run the same command again to resume the '
                  f'{len(left)} unfinished member(s)')
      return 0
    if failed:
      self._say('failed: ' + '; '.join(
          f'{self._name(m)} ({m.note})' for m in failed))
      return 1
    return 0
