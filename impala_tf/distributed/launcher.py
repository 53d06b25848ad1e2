"""One command, a whole cluster on this machine: python -m impala_tf.launch

  Launcher(learners, num_actor_processes, flagfile, options, progress_secs)
      .run() -> (exit code, error message or None)
  main(config, options) -> exit code     check, flag file, then run

Every child is ``python -m impala_tf.train --flagfile=<logdir>/launch/
config.flags --job_name=J --task=i`` with its TF_CONFIG in its environment
(launch_plan.py decides those before anything starts). Each child's output
goes to ``<logdir>/launch/<job>-<task>.log``; the console gets the other
lines with a ``[job task]`` prefix and one merged progress line every
--progress_secs (merged_output.py). child_process.py runs one child.

Supervision:
  an actor that dies (signal, exit 1 or 4) is restarted, at most
    --max_actor_restarts times over the run; exit 3 (refused by its learner)
    stops the run, since restarting cannot help; exit 0 means it is done;
  a learner killed by a signal is restarted (at most --max_learner_restarts
    times) and resumes from the last checkpoint; with several learners all
    of them restart together (they resume from the chief's checkpoint),
    while the actors keep running and reconnect by themselves;
  a learner that exits with an error stops the run, naming it and its last
    line; the chief learner exiting 0 (budget spent) ends the run;
  Ctrl-C / SIGTERM: the learners get SIGTERM (they checkpoint) and are
    waited for, then the actors (SIGTERM, later SIGKILL); exit 0. A second
    Ctrl-C kills every child at once and exits 130.
Stopping the run (any reason but a second Ctrl-C) is learners first, then
actors, each with a bounded wait. No child outlives ``run``, whatever way it
ends (but a launcher killed with SIGKILL cannot clean up).
"""

import os
import signal
import sys
import time

from impala_tf import signal_flags
from impala_tf.config import Config
from impala_tf.distributed import exit_codes
from impala_tf.distributed import launch_plan
from impala_tf.distributed.child_process import ChildProcess
from impala_tf.process_group import describe_exit
from impala_tf.distributed.launch_plan import LaunchError, LaunchOptions
from impala_tf.distributed.merged_output import MergedOutput, is_noise


_POLL_SECS = 0.2
_LEARNER_STOP_SECS = 120.0  # Time to checkpoint after SIGTERM.
_LEARNER_FAILED_STOP_SECS = 15.0  # Peers of a failed learner may hang.
_ACTOR_STOP_SECS = 15.0
_REAP_SECS = 10.0
_PORT_WAIT_SECS = 30.0  # For a killed learner's ports to be free again.


class _Interrupts(signal_flags.SignalFlags):
  """The launcher's SIGINT/SIGTERM: the first asks for a clean stop; a
  second Ctrl-C calls ``kill_now`` and exits 130 at once."""

  def __init__(self, kill_now):
    super().__init__()
    self._kill_now = kill_now
    self.reason = None

  def on_signal(self, signum, name):
    if self.reason is None:
      self.reason = f'received {name}'
      signal_flags.announce(f'[launcher] received {name} (Ctrl-C again kills '
                            'every process at once, without a checkpoint).')
    elif signum == signal.SIGINT:
      signal_flags.announce('[launcher] second Ctrl-C: killing every process '
                            'now, without a checkpoint (the last one on disk '
                            'is kept).')
      self._kill_now()
      os._exit(exit_codes.INTERRUPTED)  # pylint: disable=protected-access


class Launcher:
  """Starts and supervises one cluster; see the module docstring.

  Args:
    learners: learner addresses (learner 0 is the chief).
    num_actor_processes: K.
    flagfile: the config flag file every child reads.
    options: LaunchOptions (restart budgets).
    progress_secs: seconds between merged progress lines.
    output: a MergedOutput (default: stdout).
    python: the interpreter of the children.
  """

  def __init__(self, learners, num_actor_processes, flagfile, options,
               progress_secs, output=None, python=sys.executable):
    self._options = options
    self._progress_secs = progress_secs
    self.output = output or MergedOutput(num_actor_processes)
    self._log_dir = log_dir = os.path.dirname(flagfile)

    def child(job, task):
      env = dict(os.environ, PYTHONUNBUFFERED='1',
                 TF_CONFIG=launch_plan.tf_config(
                     learners, num_actor_processes, job, task))
      return ChildProcess(
          job, task,
          launch_plan.child_command(flagfile, job, task, python), env,
          os.path.join(log_dir, f'{job}-{task}.log'),
          lambda c, line: self.output.relay(c.name, line), is_noise)

    self._learner_addresses = list(learners)
    self.learners = [child('learner', i) for i in range(len(learners))]
    self.actors = [child('actor', k) for k in range(num_actor_processes)]
    self.actor_restarts = 0
    self.learner_restarts = 0
    self._done = set()  # Names of children that exited 0 (finished).
    self._interrupts = _Interrupts(self._kill_now)

  def _children(self):
    return self.learners + self.actors

  def _start(self, child):
    pid = child.start()
    self.output.say(f'started {child.name} (pid {pid})')

  def run(self):
    """Runs the cluster to its end; returns (exit code, error or None)."""
    try:
      self._interrupts.install()
      for child in self._children():
        self._start(child)
      return self._supervise()
    finally:
      self._kill_now()
      for child in self._children():
        child.wait(_REAP_SECS)
        child.drain(1.0)
      self._interrupts.uninstall()

  def _kill_now(self):
    for child in self._children():
      child.kill()

  def _supervise(self):
    next_progress = time.monotonic() + self._progress_secs
    while True:
      if self._interrupts.reason is not None:
        return self._shutdown(0)
      outcome = self._check_learners() or self._check_actors()
      if outcome is not None:
        return outcome
      if time.monotonic() >= next_progress:
        next_progress = time.monotonic() + self._progress_secs
        self.output.print_progress(self.actor_restarts,
                                   self.learner_restarts)
      time.sleep(_POLL_SECS)

  def _newly_exited(self, children):
    """(child, exit code) of the children that exited since last looked."""
    for child in children:
      code = child.poll()
      if code is not None and child.name not in self._done:
        yield child, code

  def _check_learners(self):
    for learner, code in list(self._newly_exited(self.learners)):
      if code == 0:
        self._done.add(learner.name)
        if learner.task == 0:
          self.output.say('learner 0 exited (exit code 0: finished or '
                          'stopped); stopping the others.')
          return self._shutdown(0)
      elif code < 0:
        return self._restart_learners(learner, code)
      else:
        learner.drain()
        return self._fail(f'{learner.name} failed ({describe_exit(code)})',
                          learner.last_line, _LEARNER_FAILED_STOP_SECS)
    return None

  def _restart_learners(self, dead, code):
    budget = self._options.max_learner_restarts
    dead.drain()
    if self.learner_restarts >= budget:
      return self._fail(
          f'{dead.name} died ({describe_exit(code)}) and the learner '
          f'restarts are spent (--max_learner_restarts={budget})',
          dead.last_line, _LEARNER_FAILED_STOP_SECS)
    self.learner_restarts += 1
    what = 'it' if len(self.learners) == 1 else (
        f'all {len(self.learners)} learners')
    self.output.say(f'{dead.name} exited ({describe_exit(code)}); '
                    f'restarting {what} ({self.learner_restarts}/{budget})')
    for learner in self.learners:
      learner.kill()  # The others hang in the all-reduce without it.
      learner.wait(_REAP_SECS)
      self._done.discard(learner.name)
    self.output.learners_restarted()
    busy = launch_plan.wait_for_free_ports(self._learner_addresses,
                                           _PORT_WAIT_SECS)
    if busy:
      self.output.say(f'ports {", ".join(busy)} are still in use after '
                      f'{_PORT_WAIT_SECS:.0f}s; restarting anyway.')
    for learner in self.learners:
      self._start(learner)
    return None

  def _check_actors(self):
    budget = self._options.max_actor_restarts
    for actor, code in list(self._newly_exited(self.actors)):
      self.output.actor_down(actor.task)
      if code == 0:
        self._done.add(actor.name)
        self.output.say(f'{actor.name} finished.')
        continue
      actor.drain()
      if code == exit_codes.REFUSED:
        return self._fail(f'{actor.name} was refused by its learner '
                          '(restarting cannot help)', actor.last_line)
      if self.actor_restarts >= budget:
        return self._fail(
            f'{actor.name} exited ({describe_exit(code)}) and the actor '
            f'restarts are spent (--max_actor_restarts={budget})',
            actor.last_line)
      self.actor_restarts += 1
      self.output.say(f'{actor.name} exited ({describe_exit(code)}); '
                      f'restarting it ({self.actor_restarts}/{budget})')
      self._start(actor)
    return None

  def _fail(self, cause, last_line, learner_wait=_LEARNER_STOP_SECS):
    """Stops the run because of ``cause``; the error names the child's last
    output line."""
    self.output.say(f'{cause}; stopping the run.')
    return self._shutdown(1, f'{cause}; its last line: '
                          f'{last_line or "(no output)"}', learner_wait)

  def _shutdown(self, code, message=None, learner_wait=_LEARNER_STOP_SECS):
    """Learners first (SIGTERM: they checkpoint), then the actors."""
    if self._interrupts.reason is not None and message is None:
      self.output.say('stopping the learners (they checkpoint), then the '
                      'actors.')
    if any(a.running() for a in self.actors):
      self.output.say('actor output from now on only in '
                      f'{self._log_dir}/actor-*.log')
      self.output.quiet_actors()
    self._stop(self.learners, learner_wait)
    self._stop(self.actors, _ACTOR_STOP_SECS)
    return code, message

  def _stop(self, children, timeout):
    """SIGTERM, a bounded wait, then SIGKILL for what still runs."""
    running = [c for c in children if c.running()]
    for child in running:
      child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(c.running() for c in running) and time.monotonic() < deadline:
      time.sleep(_POLL_SECS)
    for child in running:
      if child.running():
        self.output.say(f'{child.name} did not stop within {timeout:.0f}s; '
                        'killing it.')
        child.kill()
        child.wait(_REAP_SECS)


def main(config: Config, options: LaunchOptions):
  """The launch binary's work; returns the exit code."""
  try:
    learners = launch_plan.check(config, options)
    flagfile = os.path.abspath(os.path.join(config.logdir, 'launch',
                                            'config.flags'))
    # The flag file records the cluster's shape as launched.
    launch_plan.write_flagfile(
        config.replace(num_learners=len(learners),
                       num_actor_processes=options.num_actor_processes),
        flagfile)
  except (LaunchError, OSError) as e:
    print(f'impala_tf.launch: error: {e}', file=sys.stderr, flush=True)
    return 1
  if options.print_cluster_commands:
    print('\n'.join(launch_plan.cluster_commands(
        learners, options.num_actor_processes, flagfile)), flush=True)
    return 0
  launcher = Launcher(learners, options.num_actor_processes, flagfile,
                      options, config.progress_secs)
  launcher.output.say(
      f'{len(learners)} learner(s) at {", ".join(learners)} and '
      f'{options.num_actor_processes} actor process(es); config '
      f'{flagfile}; logs in {os.path.dirname(flagfile)}')
  code, message = launcher.run()
  if message:
    print(f'impala_tf.launch: error: {message}', file=sys.stderr, flush=True)
  else:
    launcher.output.say('done.')
  return code
