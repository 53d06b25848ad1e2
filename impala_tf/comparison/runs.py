"""Reading run directories and groups of run directories.

A *run directory* is what ``python -m impala_tf.train --logdir=DIR`` writes:
  DIR/metrics.csv         long format ``step,wall_time,tag,value``; one
                          ``episode_return/<level>`` row per finished training
                          episode, step = environment frames;
  DIR/config.json         the run's Config;
  DIR/checkpoints/
  DIR/eval/summary.json   after ``python -m impala_tf.evaluate`` (per level
  DIR/eval/episodes.csv   mean return; level,episode,return,length rows).
Any one of these makes a directory a run (a run that just started may have
only config.json). A *group* is a directory that is not a run itself and whose
subdirectories include runs: seeds, a sweep (``member_00`` ...
``member_23`` and ``results.csv``) or a PBT population.

  load_entry(path, label, eval_dir=None) -> Entry   (raises InputError)

Reading never fails on a partial or still-running run: what is missing goes
into ``notes`` as one sentence each.
"""

import csv
import dataclasses
import json
import math
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from impala_tf import config as config_lib
from impala_tf import plot
from impala_tf import scoring
from impala_tf.scoring import references

EPISODE_RETURN_PREFIX = 'episode_return/'
METRICS_FILE = plot.CSV_FILENAME
CONFIG_FILE = 'config.json'
CHECKPOINTS_DIR = 'checkpoints'
EVAL_DIR = 'eval'
SUMMARY_FILE = 'summary.json'
EPISODES_FILE = 'episodes.csv'
SWEEP_RESULTS_FILE = 'results.csv'
SWEEP_STATE_FILE = 'sweep.json'  # impala_tf.sweep: {"settings": [...], ...}

OTHER = 'other'  # Family of levels outside Atari-57 and DMLab-30 (catch).
SUITES = (scoring.ATARI57, scoring.DMLAB30)
# Config fields that do not change what a run learns (where it writes, how
# often it prints or saves, the experiment around it), and the defaults a
# field missing from an older config.json stands for.
_IGNORED_FIELDS = frozenset(config_lib.EXPERIMENT_FIELDS +
                            config_lib.UNCOMPARED_FIELDS)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(config_lib.Config)}
SEED_FIELD = 'seed'

KIND_RUN = 'run'
KIND_SEEDS = 'seeds'
KIND_SETTINGS = 'settings'


class InputError(Exception):
  """An input directory cannot be compared; the message is one sentence."""


@dataclasses.dataclass(frozen=True, order=True)
class Level:
  """A level: ``family`` is 'atari57', 'dmlab30' or 'other'; ``key`` is the
  scoring key of a suite level (e.g. a ``*_train`` DMLab level becomes its
  ``*_test`` key, 'ALE/Pong-v5' becomes 'pong') or the logged name."""
  family: str
  key: str


def level_of(name: str) -> Level:
  """The Level of a logged level name (unknown names: family 'other')."""
  try:
    family, key = scoring.canonical_name(name)
  except ValueError:
    return Level(OTHER, str(name))
  return Level(family, key)


@dataclasses.dataclass
class TrainingCurve:
  """Finished training episodes of one level, in frame order.

  steps: [N] frames when each episode ended; returns: [N] episode returns.
  """
  name: str
  steps: np.ndarray
  returns: np.ndarray


@dataclasses.dataclass
class EvalLevel:
  """One level of an evaluation: the summary's mean and, when episodes.csv is
  there, the returns it averages ([n])."""
  name: str
  mean_return: float
  episodes: int
  returns: Optional[np.ndarray]


@dataclasses.dataclass
class Evaluation:
  directory: str
  levels: Dict[Level, EvalLevel]
  checkpoint: Optional[str]
  num_frames: Optional[float]


@dataclasses.dataclass
class Run:
  """What one run directory holds; ``notes`` are sentences about gaps."""
  path: str
  name: str
  config: Optional[dict]
  training: Dict[Level, TrainingCurve]
  evaluation: Optional[Evaluation]
  notes: List[str]

  @property
  def levels(self) -> List[Level]:
    found = set(self.training)
    if self.evaluation is not None:
      found.update(self.evaluation.levels)
    return sorted(found)

  @property
  def frames(self) -> Optional[float]:
    """Frames at the last finished training episode (None: no episode)."""
    ends = [float(c.steps[-1]) for c in self.training.values() if len(c.steps)]
    return max(ends) if ends else None


@dataclasses.dataclass
class Entry:
  """One positional argument: a single run (kind 'run') or a group of runs
  (kind 'seeds' or 'settings'); ``notes`` are about the group itself."""
  label: str
  path: str
  kind: str
  runs: List[Run]
  notes: List[str]

  @property
  def levels(self) -> List[Level]:
    return sorted({level for run in self.runs for level in run.levels})


def natural_key(name: str) -> Tuple:
  """Sort key putting member_2 before member_10."""
  return tuple(int(part) if part.isdigit() else part
               for part in re.split(r'(\d+)', name))


def is_run_dir(path: str) -> bool:
  """True if ``path`` holds any file a training or evaluation run writes."""
  return (os.path.isfile(os.path.join(path, METRICS_FILE)) or
          os.path.isfile(os.path.join(path, CONFIG_FILE)) or
          os.path.isdir(os.path.join(path, CHECKPOINTS_DIR)) or
          os.path.isfile(os.path.join(path, EVAL_DIR, SUMMARY_FILE)))


def member_dirs(path: str) -> List[str]:
  """Subdirectories of ``path`` that are run directories, naturally sorted."""
  try:
    names = os.listdir(path)
  except OSError:
    return []
  members = [os.path.join(path, n) for n in names
             if not n.startswith('.') and is_run_dir(os.path.join(path, n))]
  return sorted(members, key=lambda p: natural_key(os.path.basename(p)))


def read_config(path: str, notes: List[str]) -> Optional[dict]:
  """``path/config.json`` as a dict, None (with a note if unreadable)."""
  config_path = os.path.join(path, CONFIG_FILE)
  if not os.path.isfile(config_path):
    return None
  try:
    with open(config_path, encoding='utf-8') as f:
      config = json.load(f)
  except (OSError, UnicodeDecodeError, ValueError) as e:
    notes.append(f'{config_path} cannot be read ({e}); ignored.')
    return None
  if not isinstance(config, dict):
    notes.append(f'{config_path} is not a JSON object; ignored.')
    return None
  return config


def read_training(path: str, notes: List[str]) -> Dict[Level, TrainingCurve]:
  """Training episode returns of ``path/metrics.csv`` by level ({} + a note
  when the file is missing, unreadable or has no finished episode)."""
  csv_path = os.path.join(path, METRICS_FILE)
  if not os.path.isfile(csv_path):
    notes.append(f'{path} has no {METRICS_FILE}, so no training episodes '
                 'were logged (not started, or a different directory?).')
    return {}
  try:
    curves = plot.read_curves(csv_path, EPISODE_RETURN_PREFIX)
  except plot.PlotError as e:
    notes.append(f'No finished training episode in {csv_path} yet ({e})')
    return {}
  training: Dict[Level, TrainingCurve] = {}
  for name, (steps, values) in curves.items():
    level = level_of(name)
    steps = np.asarray(steps, np.float64)
    values = np.asarray(values, np.float64)
    if level in training:  # Two spellings of one level: merge by frames.
      old = training[level]
      steps = np.concatenate([old.steps, steps])
      values = np.concatenate([old.returns, values])
      order = np.argsort(steps, kind='stable')
      steps, values = steps[order], values[order]
      name = old.name
    training[level] = TrainingCurve(name, steps, values)
  return training


def _read_eval_returns(episodes_path: str) -> Dict[str, List[float]]:
  returns: Dict[str, List[float]] = {}
  with open(episodes_path, newline='', encoding='utf-8') as f:
    for row in csv.DictReader(f):
      try:
        value = float(row['return'])
      except (KeyError, TypeError, ValueError):
        continue
      if math.isfinite(value):
        returns.setdefault(row.get('level') or '', []).append(value)
  return returns


def read_evaluation(eval_dir: str, notes: List[str]) -> Optional[Evaluation]:
  """An evaluation directory (summary.json [+ episodes.csv]), or None with a
  note if it cannot be read."""
  summary_path = os.path.join(eval_dir, SUMMARY_FILE)
  try:
    with open(summary_path, encoding='utf-8') as f:
      summary = json.load(f)
    level_stats = summary['levels']
    if not isinstance(level_stats, dict):
      raise ValueError('"levels" is not an object')
  except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
    notes.append(f'Evaluation {summary_path} cannot be read ({e!r}); using '
                 'training episodes instead.')
    return None
  episodes_path = os.path.join(eval_dir, EPISODES_FILE)
  returns_by_name: Dict[str, List[float]] = {}
  if os.path.isfile(episodes_path):
    try:
      returns_by_name = _read_eval_returns(episodes_path)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
      notes.append(f'{episodes_path} cannot be read ({e}); no confidence '
                   'interval over evaluation episodes.')
  else:
    notes.append(f'{eval_dir} has no {EPISODES_FILE}; no confidence '
                 'interval over evaluation episodes.')
  levels: Dict[Level, EvalLevel] = {}
  for name, stats in level_stats.items():
    try:
      mean = float(stats['mean_return'])
      count = int(stats.get('episodes', 0))
    except (KeyError, TypeError, ValueError):
      notes.append(f'{summary_path}: level {name!r} has no mean_return; '
                   'skipped.')
      continue
    returns = returns_by_name.get(name)
    levels[level_of(name)] = EvalLevel(
        name, mean, count,
        None if not returns else np.asarray(returns, np.float64))
  frames = summary.get('num_frames')
  return Evaluation(
      directory=eval_dir, levels=levels, checkpoint=summary.get('checkpoint'),
      num_frames=float(frames) if isinstance(frames, (int, float)) else None)


def _configured_levels(config: Optional[dict]) -> List[Level]:
  """Levels named by the config's level_name ('atari57'/'dmlab30' expand)."""
  if not config or not isinstance(config.get('level_name'), str):
    return []
  levels = []
  for name in config['level_name'].split(','):
    name = name.strip()
    if name in SUITES:
      levels.extend(Level(name, key) for key in references.names(name))
    elif name:
      levels.append(level_of(name))
  return levels


def read_run(path: str, eval_dir: Optional[str] = None) -> Run:
  """Reads one run directory; ``eval_dir`` defaults to ``path/eval``.

  Raises:
    InputError: ``eval_dir`` was given and has no summary.json.
  """
  notes: List[str] = []
  config = read_config(path, notes)
  training = read_training(path, notes)
  evaluation = None
  if eval_dir is not None:
    if not os.path.isfile(os.path.join(eval_dir, SUMMARY_FILE)):
      raise InputError(f'--eval_dir {eval_dir} has no {SUMMARY_FILE} (the '
                       'output directory of python -m impala_tf.evaluate).')
    evaluation = read_evaluation(eval_dir, notes)
  elif os.path.isfile(os.path.join(path, EVAL_DIR, SUMMARY_FILE)):
    evaluation = read_evaluation(os.path.join(path, EVAL_DIR), notes)
  run = Run(os.path.normpath(path), os.path.basename(os.path.normpath(path)),
            config, training, evaluation, notes)
  waiting = [level.key for level in _configured_levels(config)
             if level not in set(run.levels)]
  if waiting and run.levels:
    notes.append(f'{run.path}: no finished episode yet for '
                 f'{len(waiting)} configured level(s): {", ".join(waiting)}.')
  return run


def differing_fields(configs: Sequence[Optional[dict]]) -> List[str]:
  """Config fields whose values differ between runs, leaving out those that
  do not change what a run learns. A field missing from a config (written
  by an older version) counts as its default."""
  known = [c for c in configs if c]
  keys = sorted({k for c in known for k in c} - _IGNORED_FIELDS)
  return [k for k in keys
          if len({repr(c.get(k, _DEFAULTS.get(k))) for c in known}) > 1]


def settings_differ(configs: List[Optional[dict]]) -> bool:
  """True if known configs differ in what a run learns beyond the seed."""
  return any(k != SEED_FIELD for k in differing_fields(configs))


def group_kind(path: str, runs: List[Run]) -> str:
  """'settings' (a sweep or population: results.csv, or configs that differ
  beyond the seed) or 'seeds'."""
  if os.path.isfile(os.path.join(path, SWEEP_RESULTS_FILE)):
    return KIND_SETTINGS
  return (KIND_SETTINGS if settings_differ([r.config for r in runs])
          else KIND_SEEDS)


def load_entry(path: str, label: Optional[str] = None,
               eval_dir: Optional[str] = None) -> Entry:
  """A positional argument of the binary: one run or a group of runs.

  Raises:
    InputError: ``path`` does not exist, is a file, or is neither a run nor a
      group of runs; ``eval_dir`` is given for a group or is unusable.
  """
  if not os.path.exists(path):
    raise InputError(f'{path} does not exist.')
  if not os.path.isdir(path):
    raise InputError(f'{path} is a file; give a run directory (the --logdir '
                     'of impala_tf.train) or a directory of run directories.')
  label = label or os.path.basename(os.path.normpath(path)) or path
  if is_run_dir(path):
    return Entry(label, os.path.normpath(path), KIND_RUN,
                 [read_run(path, eval_dir)], [])
  members = member_dirs(path)
  if not members and os.path.isfile(os.path.join(path, SUMMARY_FILE)):
    raise InputError(f'{path} is an evaluation directory; give its run '
                     f'directory with --eval_dir={path}.')
  if not members:
    raise InputError(
        f'{path} is neither a run directory (no {METRICS_FILE}, '
        f'{CONFIG_FILE}, {CHECKPOINTS_DIR}/ or {EVAL_DIR}/{SUMMARY_FILE}) '
        'nor a directory of run directories.')
  if eval_dir is not None:
    raise InputError(f'--eval_dir is for a single run, but {path} is a group '
                     f'of {len(members)} runs (each reads its own eval/).')
  runs = [read_run(member) for member in members]
  return Entry(label, os.path.normpath(path), group_kind(path, runs), runs,
               _unstarted_settings_notes(path, len(runs)))


def _unstarted_settings_notes(path: str, num_runs: int) -> List[str]:
  """A note if the sweep's sweep.json lists settings without a run yet."""
  try:
    with open(os.path.join(path, SWEEP_STATE_FILE), encoding='utf-8') as f:
      settings = json.load(f).get('settings')
  except (OSError, ValueError, AttributeError):
    return []
  if not isinstance(settings, list) or len(settings) <= num_runs:
    return []
  return [f'{path}: its {SWEEP_STATE_FILE} lists {len(settings)} settings; '
          f'{len(settings) - num_runs} of them have no run directory yet '
          '(not started), and are in no table or plot.']
