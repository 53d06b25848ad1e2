"""What a sweep runs: its members, their training commands, its state file.

  parse_members(spec, count) -> [index]          '0-23', '0,3,5', '0-3,7'
  member_name(index, count) -> 'member_03'
  flagfile_paths(argv) -> [path]                  the --flagfile arguments
  extra_training_flags(config, base) -> {name: value}
  SweepPlan(logdir, settings, flagfiles, extra_flags, config, members)
    .member_dir(i)  .train_args(i)  .command(i, python)  .state()
  state_difference(recorded, current) -> sentence | None
  check_state(plan, record)        sweep.json: write it, or match it

Every member is one ``python -m impala_tf.train`` process with the sweep's
flag file(s), the training flags given to the sweep besides them, the
member's three hyperparameters (paper Table D.1) and ``--logdir=<sweep
logdir>/member_NN``, in that order (absl: the last value of a flag wins).

``<logdir>/sweep.json`` records the settings and the resulting training
configuration of the first run; a later run must match it (fields that only
set how often a run prints or saves, ``UNCOMPARED_FIELDS``, may change).
No TensorFlow here.
"""

import dataclasses
import json
import os
import re
import shlex
import sys
from typing import Dict, Tuple

from impala_tf.config import Config
from impala_tf.config import EXPERIMENT_FIELDS
from impala_tf.config import UNCOMPARED_FIELDS
from impala_tf.experiments import sweep_settings

STATE_FILE = 'sweep.json'
STATE_VERSION = 1
TRAIN_MODULE = 'impala_tf.train'
HYPERPARAMETERS = sweep_settings.HYPERPARAMETERS
# The training fields: what a member learns with (the experiment's own
# fields, e.g. --settings, are the sweep's, never passed to a member).
_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(Config)
                       if f.name not in EXPERIMENT_FIELDS)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


class SweepError(ValueError):
  """A sweep that cannot run as asked; the message is one sentence."""


def parse_members(spec, count):
  """Indices of the settings a ``--members`` spec selects, ascending.

  Args:
    spec: '' (all), or comma-separated indices and inclusive ranges 'a-b'.
    count: number of settings; indices are 0 .. count - 1.

  Raises:
    SweepError: a part does not parse, is out of range or runs backwards.
  """
  if not spec.strip():
    return list(range(count))
  valid = f'the settings file has {count} settings (0-{count - 1})'
  chosen = set()
  for part in spec.split(','):
    match = re.fullmatch(r'\s*(\d+)\s*(?:-\s*(\d+)\s*)?', part)
    if not match:
      raise SweepError(f'--members: cannot read {part.strip()!r} in '
                       f'{spec!r}; use indices and ranges such as 0-23 or '
                       '0,3,5.')
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
      raise SweepError(f'--members: the range {part.strip()} runs backwards; '
                       f'write {last}-{first}.')
    if last >= count:
      raise SweepError(f'--members: {last} is out of range: {valid}.')
    chosen.update(range(first, last + 1))
  return sorted(chosen)


def member_name(index, count):
  """'member_03': zero-padded to two digits, or more for larger sweeps."""
  width = max(2, len(str(count - 1)))
  return f'member_{index:0{width}d}'


def flagfile_paths(argv):
  """The paths of the ``--flagfile`` arguments of a command line, in order
  (``--flagfile=F``, ``-flagfile=F``, ``--flagfile F``; not after ``--``)."""
  paths = []
  args = list(argv)
  i = 0
  while i < len(args):
    arg = args[i]
    if arg == '--':
      break
    match = re.fullmatch(r'--?flagfile(?:=(.*))?', arg)
    if match:
      if match.group(1) is not None:
        paths.append(match.group(1))
      elif i + 1 < len(args):
        paths.append(args[i + 1])
        i += 1
    i += 1
  return paths


def flag_value_text(value):
  """A Config value as absl reads it back exactly (floats via repr)."""
  if isinstance(value, bool):
    return 'true' if value else 'false'
  if isinstance(value, float):
    return repr(value)
  return str(value)


def flag_args(values):
  """['--name=value', ...] for a {name: value} dict, in its order."""
  return [f'--{name}={flag_value_text(value)}' for name, value in
          values.items()]


def extra_training_flags(config, base):
  """The training flags the command line sets beyond the flag file(s).

  Args:
    config: the Config of the whole command line.
    base: the Config of the flag file(s) alone.

  Returns:
    {name: value} of the fields that differ (not logdir), in field order.

  Raises:
    SweepError: a hyperparameter the settings file sets was given.
  """
  extras = {}
  for name in _CONFIG_FIELDS:
    value = getattr(config, name)
    if name == 'logdir' or value == getattr(base, name):
      continue
    if name in HYPERPARAMETERS:
      raise SweepError(f'--{name}: every member takes it from --settings; '
                       'do not give it to the sweep.')
    extras[name] = value
  return extras


def training_config_dict(config):
  """The Config fields a sweep records: all but logdir and the
  hyperparameters each member takes from the settings."""
  return {name: getattr(config, name) for name in _CONFIG_FIELDS
          if name != 'logdir' and name not in HYPERPARAMETERS}


@dataclasses.dataclass(frozen=True)
class SweepPlan:
  """A sweep's members and how each is trained.

  Attributes:
    logdir: the sweep's directory; member i trains in logdir/member_NN.
    settings: [count] dicts {entropy_cost, learning_rate, epsilon}.
    flagfiles: flag files every member gets, in order.
    extra_flags: {name: value} training flags given besides them.
    config: the training Config of the command line (logdir: the sweep's).
    members: indices of the settings to run, ascending.
  """
  logdir: str
  settings: Tuple[Dict[str, float], ...]
  flagfiles: Tuple[str, ...]
  extra_flags: Dict[str, object]
  config: Config
  members: Tuple[int, ...]

  @property
  def count(self):
    return len(self.settings)

  @property
  def budget(self):
    """Frames each member trains for."""
    return self.config.total_environment_frames

  def member_name(self, index):
    return member_name(index, self.count)

  def member_dir(self, index):
    return os.path.join(self.logdir, self.member_name(index))

  def member_config(self, index):
    return self.config.replace(logdir=self.member_dir(index),
                               experiment='train', **self.settings[index])

  def train_args(self, index):
    """The flags of member ``index``'s ``impala_tf.train`` process."""
    return ([f'--flagfile={path}' for path in self.flagfiles] +
            flag_args(self.extra_flags) +
            flag_args(self.settings[index]) +
            ['--experiment=train', f'--logdir={self.member_dir(index)}'])

  def command(self, index, python=sys.executable):
    """argv of member ``index``'s training process."""
    return [python, '-m', TRAIN_MODULE] + self.train_args(index)

  def shell_command(self, index, python='python'):
    return shlex.join(self.command(index, python))

  def state(self):
    """The contents of sweep.json."""
    return {
        'version': STATE_VERSION,
        'settings': [dict(s) for s in self.settings],
        'flagfiles': list(self.flagfiles),
        'extra_flags': dict(self.extra_flags),
        'training_config': training_config_dict(self.config),
    }


def _settings_difference(recorded, current):
  if not isinstance(recorded, list):
    return 'settings (sweep.json has none)'
  if len(recorded) != len(current):
    return (f'settings ({len(recorded)} recorded, {len(current)} in '
            '--settings)')
  for index, (old, new) in enumerate(zip(recorded, current)):
    for key in sorted(set(new) | set(old if isinstance(old, dict) else {})):
      if not isinstance(old, dict) or old.get(key) != new.get(key):
        was = old.get(key) if isinstance(old, dict) else old
        return (f'settings (setting {index}: {key} {was} recorded, '
                f'{new.get(key)} in --settings)')
  return None


def _config_difference(recorded, current):
  if not isinstance(recorded, dict):
    return 'training flags (sweep.json has none)'
  for name, value in current.items():
    if name in UNCOMPARED_FIELDS:
      continue
    was = recorded.get(name, _DEFAULTS[name])
    if was != value:
      return (f'training flags (--{name}: {flag_value_text(was)} recorded, '
              f'{flag_value_text(value)} now)')
  return None


def state_difference(recorded, current):
  """How two sweep.json states differ in settings or training flags: e.g.
  'settings (setting 3: ...)'; None if they match. Flag files and extra
  flags may differ as long as the resulting configuration is the same."""
  if not isinstance(recorded, dict):
    return 'contents (sweep.json is not a JSON object)'
  return (_settings_difference(recorded.get('settings'),
                               current['settings']) or
          _config_difference(recorded.get('training_config'),
                             current['training_config']))



def _refuse_run_directory(logdir):
  """SweepError if ``logdir`` is a training run's directory."""
  for name in ('config.json', 'checkpoints', 'metrics.csv'):
    if os.path.exists(os.path.join(logdir, name)):
      raise SweepError(f'--logdir {logdir} is the directory of a training '
                       f'run (it has {name}); give the sweep a directory of '
                       'its own.')


def check_state(plan, record):
  """Checks ``plan`` against ``<logdir>/sweep.json``; if there is none and
  ``record``, writes it.

  Raises:
    SweepError: the directory is a training run's, sweep.json is unreadable,
      or it records different settings or training flags.
  """
  _refuse_run_directory(plan.logdir)
  path = os.path.join(plan.logdir, STATE_FILE)
  current = plan.state()
  if not os.path.exists(path):
    if record:
      os.makedirs(plan.logdir, exist_ok=True)
      tmp = f'{path}.tmp-{os.getpid()}'
      with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(current, f, indent=1)
      os.replace(tmp, path)
    return
  try:
    with open(path, encoding='utf-8') as f:
      recorded = json.load(f)
  except (OSError, ValueError) as e:
    raise SweepError(f'{path} cannot be read ({e}); move it away to start a '
                     'new sweep in that directory.') from None
  difference = state_difference(recorded, current)
  if difference:
    raise SweepError(f'--logdir {plan.logdir} holds a sweep with different '
                     f'{difference}; use another --logdir, or the flags it '
                     'was started with.')
