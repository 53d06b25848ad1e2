"""The population based training controller (paper Appendix F).

  Population(config, options, logdir).run(interrupts) -> exit code

Members are ordinary ``impala_tf.train`` processes, each in
``<logdir>/member_NN`` with its whole config in ``member_NN/pbt.flags``.
The controller starts them (member i with setting i of the Table D.1 file),
reads their ``metrics.csv`` and, when a member is ready (past the burn-in,
``ready_episodes`` new episodes), computes its fitness on those episodes and
evolves it (pbt_rules): exploit (maybe copy a better member's weights,
through checkpoints: weight_copy) and explore (perturb the hyperparameters).
To change a member it holds and restarts it through its run directory
(impala_tf.run_directory: HOLD, then RESTART; the member checkpoints and
exits with exit_codes.RESTART), edits its checkpoint and flag file, and
starts it again; it resumes from its checkpoint, its learning rate
annealing by its own frames.

The population's state (hyperparameters, fitness, marks, every evolution
as a lineage event) is ``<logdir>/population.json``, written atomically
after every change; running the same command again resumes it.
``members_elsewhere`` leaves starting members to something else (a
scheduler looping over ``python -m impala_tf.train
--flagfile=<member>/pbt.flags`` while it exits with exit_codes.RESTART):
the controller then only needs the shared file system.
"""

import dataclasses
import json
import os
import signal
import sys
import time

import numpy as np

from impala_tf import run_directory
from impala_tf.config import Config
from impala_tf.distributed import exit_codes
from impala_tf.distributed import launch_plan
from impala_tf import process_group
from impala_tf.experiments import member_process
from impala_tf.experiments import pbt_rules

STATE_FILE = 'population.json'
FLAGS_FILE = 'pbt.flags'
_POLL_SECS = 1.0


class PbtError(ValueError):
  """A population that cannot run as asked (one sentence)."""


@dataclasses.dataclass(frozen=True)
class PbtOptions:
  population_size: int = 24
  burn_in_frames: int = pbt_rules.BURN_IN_FRAMES
  ready_episodes: int = pbt_rules.READY_EPISODES
  exploit_threshold: float = pbt_rules.EXPLOIT_THRESHOLD
  fitness: str = 'auto'
  seed: int = 1
  max_member_restarts: int = 5
  members_elsewhere: bool = False
  stop_timeout_secs: float = 180.0
  progress_secs: float = 30.0


def fitness_kind(config, requested='auto'):
  """'dmlab30', 'atari57' or 'mean_return' (paper App. F)."""
  if requested != 'auto':
    return requested
  words = [w.strip() for w in config.level_name.split(',')]
  for suite in ('dmlab30', 'atari57'):
    if suite in words:
      return suite
  return 'mean_return'


def perturbed_names(config):
  """Atari also adapts the gradient-clipping threshold (paper App. F)."""
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  family = builder.make_task_set(config).family
  return (pbt_rules.ATARI_HYPERPARAMETERS if family == 'atari' else
          pbt_rules.DMLAB_HYPERPARAMETERS)


class EpisodeTail:
  """New ``episode_return/<level>`` rows of a metrics.csv, read
  incrementally (from the start again if the file was rewritten)."""

  def __init__(self, path):
    self.path = path
    self._offset = 0
    self._size = 0

  def read(self):
    """[(frames, level, return)] written since the last call."""
    try:
      size = os.path.getsize(self.path)
    except OSError:
      return []
    if size < self._size:
      self._offset = 0  # Rewritten (rows past a checkpoint dropped).
    rows = []
    with open(self.path, encoding='utf-8') as f:
      f.seek(self._offset)
      for line in iter(f.readline, ''):
        if not line.endswith('\n'):
          break  # Still being written: read it next time.
        self._offset += len(line.encode('utf-8'))
        parts = line.rstrip('\n').split(',')
        if len(parts) == 4 and parts[2].startswith('episode_return/'):
          try:
            rows.append((int(parts[0]), parts[2].split('/', 1)[1],
                         float(parts[3])))
          except ValueError:
            pass
    self._size = size
    return rows


class Population:
  """Runs (or resumes) a population; see the module docstring."""

  def __init__(self, config: Config, options: PbtOptions, logdir,
               settings, out=print):
    self.config = config
    self.options = options
    self.logdir = logdir
    self._out = out
    self.kind = fitness_kind(config, options.fitness)
    self.names = perturbed_names(config)
    self.state = self._load_or_create(settings)
    count = options.population_size
    self.tails = [EpisodeTail(os.path.join(self.member_dir(i),
                                           'metrics.csv'))
                  for i in range(count)]
    self.windows = [[] for _ in range(count)]  # Episodes since the mark.
    self.processes = [None] * count
    self.restarts = [0] * count
    self.failed = [None] * count

  # ------------------------------------------------------------- state

  def member_dir(self, i):
    return os.path.join(self.logdir, f'member_{i:02d}')

  def _base(self):
    return {k: v for k, v in self.config.to_dict().items()
            if k not in ('logdir',) + tuple(self.names)}

  def _load_or_create(self, settings):
    path = os.path.join(self.logdir, STATE_FILE)
    if os.path.exists(path):
      with open(path, encoding='utf-8') as f:
        state = json.load(f)
      if state['base_config'] != self._base():
        changed = sorted(k for k in self._base()
                         if state['base_config'].get(k) != self._base()[k])
        raise PbtError(f'{path} is a population with other training flags '
                       f'({", ".join(changed)}); use another --logdir.')
      if len(state['members']) != self.options.population_size:
        raise PbtError(f'{path} has {len(state["members"])} members, not '
                       f'{self.options.population_size}.')
      return state
    if len(settings) < self.options.population_size:
      raise PbtError(f'{len(settings)} settings for a population of '
                     f'{self.options.population_size}.')
    members = []
    for i in range(self.options.population_size):
      hyper = {name: settings[i].get(name, getattr(self.config, name))
               for name in self.names}
      members.append(dict(hyperparameters=hyper, mark_frames=0, fitness=None,
                          evolutions=0))
    return dict(version=1, base_config=self._base(), members=members,
                events=[])

  def save(self):
    os.makedirs(self.logdir, exist_ok=True)
    path = os.path.join(self.logdir, STATE_FILE)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
      json.dump(self.state, f, indent=1, sort_keys=True)
    os.replace(tmp, path)

  def member_config(self, i):
    return self.config.replace(logdir=self.member_dir(i), experiment='train',
                               **self.state['members'][i]['hyperparameters'])

  def write_member_flags(self, i):
    launch_plan.write_flagfile(self.member_config(i),
                               os.path.join(self.member_dir(i), FLAGS_FILE))

  def command(self, i, python=sys.executable):
    return [python, '-m', 'impala_tf.train',
            f'--flagfile={os.path.join(self.member_dir(i), FLAGS_FILE)}']

  # ---------------------------------------------------------- processes

  def _start(self, i):
    if self.options.members_elsewhere:
      return
    process = self.processes[i] or member_process.MemberProcess(
        f'member_{i:02d}', self.command(i),
        os.path.join(self.member_dir(i), 'out.log'))
    self.processes[i] = process
    process.start()

  def _handle_exit(self, i, code):
    """A member exited without being asked: restart it or give it up."""
    tail = member_process.read_log_tail(self.processes[i].log_path)
    if code == 0 and 'Stopped: finished' in tail:
      self._say(f'member_{i:02d} finished its budget')
      return 'finished'
    verdict = member_process.judge_exit(code, tail)
    if verdict.restart and self.restarts[i] < self.options.max_member_restarts:
      self.restarts[i] += 1
      self._say(f'member_{i:02d} exited ({process_group.describe_exit(code)}'
                f'); restarting it ({self.restarts[i]}/'
                f'{self.options.max_member_restarts})')
      self._start(i)
      return 'restarted'
    self.failed[i] = verdict.reason or process_group.describe_exit(code)
    self._say(f'member_{i:02d} failed: {self.failed[i]}')
    return 'failed'

  # ----------------------------------------------------------- evolving

  def _read_episodes(self, i):
    mark = self.state['members'][i]['mark_frames']
    for frames, level, value in self.tails[i].read():
      if frames > mark:
        self.windows[i].append((frames, level, value))

  def _frames(self, i):
    return max((f for f, _, _ in self.windows[i]),
               default=self.state['members'][i]['mark_frames'])

  def _ready(self, i):
    return pbt_rules.is_ready(self._frames(i), len(self.windows[i]),
                              self.options.burn_in_frames,
                              self.options.ready_episodes)

  def _rng(self, i):
    member = self.state['members'][i]
    return np.random.default_rng([self.options.seed, i, member['evolutions']])

  def evolve(self, i, interrupts):
    """Exploit and explore member i (paper App. F); restarts it."""
    member = self.state['members'][i]
    by_level = {}
    for _, level, value in self.windows[i]:
      by_level.setdefault(level, []).append(value)
    member['fitness'] = pbt_rules.fitness(self.kind, by_level)
    fitness = [m['fitness'] for m in self.state['members']]
    rng = self._rng(i)
    donor = pbt_rules.exploit(i, fitness, rng, self.options.exploit_threshold)
    start = (self.state['members'][donor]['hyperparameters'] if donor is not
             None else member['hyperparameters'])
    new = pbt_rules.explore(start, rng, self.names)
    if not self._hold_and_stop(i, interrupts):
      return
    try:
      if donor is not None:
        from impala_tf.experiments import weight_copy  # pylint: disable=g-import-not-at-top
        weight_copy.copy_weights(self.member_config(i), self.member_dir(donor),
                                 self.member_dir(i))
      frames = self._frames(i)
      self.state['events'].append(dict(
          time=time.time(), member=i, frames=frames,
          fitness=member['fitness'], donor=donor,
          donor_fitness=None if donor is None else fitness[donor],
          old=member['hyperparameters'], start=start, new=new))
      member.update(hyperparameters=new, mark_frames=frames,
                    evolutions=member['evolutions'] + 1)
      self.windows[i] = []
      self.write_member_flags(i)
      self.save()
    finally:
      _release(self.member_dir(i))
    what = (f'copied member_{donor:02d} (fitness {fitness[donor]:.3g})'
            if donor is not None else 'kept its weights')
    self._say(f'member_{i:02d} (fitness {member["fitness"]:.3g}) {what}; '
              'hyperparameters ' + ', '.join(
                  f'{k} {v:.3g}' for k, v in new.items()))
    self._start(i)

  def _hold_and_stop(self, i, interrupts):
    """Holds member i and asks it to checkpoint and exit; True once it has
    (its process exited, or with members_elsewhere its RESTART file was
    taken away)."""
    member_dir = self.member_dir(i)
    open(os.path.join(member_dir, run_directory.HOLD_FILE), 'w').close()
    open(os.path.join(member_dir, run_directory.RESTART_FILE), 'w').close()
    deadline = time.monotonic() + self.options.stop_timeout_secs
    while time.monotonic() < deadline and not interrupts.stop_requested:
      if self.options.members_elsewhere:
        if not run_directory.restart_requested(member_dir):
          return True
      else:
        code = self.processes[i].poll()
        if code is not None:
          if code != exit_codes.RESTART:
            self._say(f'member_{i:02d} exited with '
                      f'{process_group.describe_exit(code)} instead of '
                      'restarting; evolving it anyway')
          return True
      time.sleep(0.2)
    run_directory.clear_restart_request(member_dir)
    _release(member_dir)
    return False

  # --------------------------------------------------------------- loop

  def _say(self, message):
    self._out(f'[pbt] {message}', flush=True)

  def run(self, interrupts):
    for i in range(self.options.population_size):
      os.makedirs(self.member_dir(i), exist_ok=True)
      _release(self.member_dir(i))  # A controller stopped while holding.
      run_directory.clear_restart_request(self.member_dir(i))
      self.write_member_flags(i)
    self.save()
    for i in range(self.options.population_size):
      self._start(i)
    finished = set()
    last_progress = 0.0
    while not interrupts.stop_requested:
      for i in range(self.options.population_size):
        if i in finished or self.failed[i]:
          continue
        if not self.options.members_elsewhere:
          code = self.processes[i].poll()
          if code is not None and self._handle_exit(i, code) == 'finished':
            finished.add(i)
            continue
        self._read_episodes(i)
        if self._ready(i) and not self.failed[i]:
          self.evolve(i, interrupts)
      live = [i for i in range(self.options.population_size)
              if i not in finished and not self.failed[i]]
      if not live:
        break
      if time.monotonic() - last_progress >= self.options.progress_secs:
        last_progress = time.monotonic()
        self._say(self.progress_line())
      time.sleep(_POLL_SECS)
    self.save()
    return self._stop_all(interrupts)

  def progress_line(self):
    events = len(self.state['events'])
    copies = sum(e['donor'] is not None for e in self.state['events'])
    best = max((m['fitness'] for m in self.state['members']
                if m['fitness'] is not None), default=None)
    frames = [self._frames(i) for i in range(self.options.population_size)]
    return (f'{events} evolutions ({copies} copies); best fitness '
            f'{"-" if best is None else f"{best:.3g}"}; frames per member '
            f'{min(frames):,}..{max(frames):,}')

  def _stop_all(self, interrupts):
    running = [p for p in self.processes if p is not None and p.running()]
    for process in running:
      process.signal(signal.SIGTERM)
    deadline = time.monotonic() + self.options.stop_timeout_secs
    for process in running:
      while process.running() and time.monotonic() < deadline:
        if interrupts.kill_now:
          break
        time.sleep(0.2)
      if process.running():
        process.kill()
      process.wait(10)
    if interrupts.kill_now:
      return exit_codes.INTERRUPTED
    return 1 if any(self.failed) else 0


def _release(member_dir):
  try:
    os.unlink(os.path.join(member_dir, run_directory.HOLD_FILE))
  except FileNotFoundError:
    pass
