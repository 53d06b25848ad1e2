"""A sweep's results from its member directories, as they are on disk now.

  checkpoint_frames(member_dir, frames_per_update) -> frames of the newest
                                                      checkpoint (0: none)
  member_frames(member_dir, frames_per_update) -> the same, or the frames in
                                 finished.json if more (checkpoints deleted)
  record_finished(member_dir, frames)  writes <member_dir>/finished.json
  final_return(metrics_csv, last_n) -> (mean | None, episodes)
  member_result(plan, index, status, ...) -> MemberResult
  write_sweep_results(plan, last_n, live) -> (path, [MemberResult])
                                   <logdir>/results.csv, replaced atomically
  best_mean(results, k=3) -> (mean, [member]) | None   paper Table 2
  best_line(plan, results) -> 'mean final return of the 3 best ...' | None

results.csv has one row per setting (RESULT_COLUMNS): its index, its three
hyperparameters, the frames of its newest checkpoint (what a resumed run
starts from), its status, its final return and the number of episodes that
return averages, the restarts of the current sweep run and a note (why it
failed or stopped). The final return is the mean return of the member's
last ``last_n`` training episodes (all levels together, ordered by frames)
in its ``metrics.csv``; fewer episodes early on, empty without any.

The sweep writes ``finished.json`` into a member's directory once the member
has reached the budget (``record_finished``): a finished member stays
finished, and skipped, if its checkpoints are deleted afterwards (to save
disk, or to commit a sweep's logs without them). Everything else here only
reads: it takes no lock and changes nothing in the member directories, so it
works on a sweep that is still running or was stopped half-way. No
TensorFlow here.
"""

import csv
import dataclasses
import errno
import fcntl
import json
import math
import os
import re
from typing import List, Optional

from impala_tf import durable_files
from impala_tf import run_directory
from impala_tf.config import Config

CHECKPOINTS_DIR = 'checkpoints'
METRICS_FILE = 'metrics.csv'
CONFIG_FILE = 'config.json'
FINISHED_FILE = 'finished.json'
RESULTS_FILE = 'results.csv'
EPISODE_RETURN_PREFIX = 'episode_return/'
TABLE2_BEST = 3  # Paper Table 2: the mean of the 3 best of 24 settings.

# The checkpoint layout of impala_tf.checkpointing (not imported: it loads
# TensorFlow; tests check that these agree with it).
LATEST_FILE = 'LATEST'
CKPT_RE = re.compile(r'^ckpt-(\d{12,})$')
CHECKPOINT_FILES = ('variables.index', 'extra.json', 'meta.json')

# Member statuses in results.csv.
FINISHED = 'finished'        # its newest checkpoint reached the budget
RUNNING = 'running'          # training now (its directory is locked)
WAITING = 'waiting'          # selected, not started yet by this sweep
FAILED = 'failed'            # refused, non-finite loss, or out of restarts
UNFINISHED = 'unfinished'    # some progress on disk, not running now
NOT_STARTED = 'not_started'  # nothing on disk, not selected now

RESULT_COLUMNS = ('member', 'entropy_cost', 'learning_rate', 'epsilon',
                  'frames', 'status', 'final_return', 'episodes', 'restarts',
                  'note', 'other_flags')


@dataclasses.dataclass(frozen=True)
class MemberResult:
  """One row of results.csv (``final_return`` None: no episode yet)."""
  member: int
  entropy_cost: float
  learning_rate: float
  epsilon: float
  frames: int
  status: str
  final_return: Optional[float]
  episodes: int
  restarts: int = 0
  note: str = ''
  other_flags: str = ''  # JSON of the setting's flags beyond the three.


def _is_complete(path):
  return all(os.path.isfile(os.path.join(path, name))
             for name in CHECKPOINT_FILES)


def newest_checkpoint(checkpoints_dir):
  """The checkpoint a resumed run starts from: the one LATEST names if it is
  complete, else the complete ``ckpt-*`` of the highest step; None if none.
  (Unlike impala_tf.checkpoint_reader it does not open the variables, so a
  damaged checkpoint is not passed over.)"""
  try:
    names = os.listdir(checkpoints_dir)
  except OSError:
    return None
  complete = sorted(
      (int(m.group(1)), name) for name in names
      if (m := CKPT_RE.match(name)) and
      _is_complete(os.path.join(checkpoints_dir, name)))
  try:
    with open(os.path.join(checkpoints_dir, LATEST_FILE),
              encoding='utf-8') as f:
      latest = f.read(256).strip()
  except (OSError, UnicodeDecodeError):
    latest = None
  if latest in {name for _, name in complete}:
    return os.path.join(checkpoints_dir, latest)
  return os.path.join(checkpoints_dir, complete[-1][1]) if complete else None


def _read_json(path):
  """A JSON object from ``path``, or None if missing or unreadable."""
  try:
    with open(path, encoding='utf-8') as f:
      value = json.load(f)
  except (OSError, ValueError):
    return None
  return value if isinstance(value, dict) else None


def _checkpoint_step(path):
  """meta.json's step, else the step in the directory name."""
  meta = _read_json(os.path.join(path, 'meta.json')) or {}
  step = meta.get('step')
  if isinstance(step, int) and not isinstance(step, bool):
    return step
  return int(CKPT_RE.match(os.path.basename(path)).group(1))


def _frames_per_update(config_dict, default):
  """Frames per update of a saved config dict, or ``default``."""
  if not isinstance(config_dict, dict):
    return default
  try:
    frames = Config.from_dict(config_dict, strict=False).frames_per_update
  except (TypeError, ValueError):
    return default
  ok = isinstance(frames, int) and not isinstance(frames, bool) and frames > 0
  return frames if ok else default


def checkpoint_frames(member_dir, frames_per_update):
  """Environment frames of the member's newest checkpoint (0 if none).

  Frames = the checkpoint's step (learner updates) x frames per update of
  the config saved with it (its extra.json, else the member's config.json,
  else ``frames_per_update``).
  """
  path = newest_checkpoint(os.path.join(member_dir, CHECKPOINTS_DIR))
  if path is None:
    return 0
  extra = _read_json(os.path.join(path, 'extra.json')) or {}
  saved = extra.get('config') or _read_json(
      os.path.join(member_dir, CONFIG_FILE))
  return _checkpoint_step(path) * _frames_per_update(saved, frames_per_update)


def member_frames(member_dir, frames_per_update):
  """Frames a member has trained: its newest checkpoint's, or those
  recorded in its finished.json if that says more."""
  recorded = (_read_json(os.path.join(member_dir, FINISHED_FILE)) or
              {}).get('frames')
  if not isinstance(recorded, int) or isinstance(recorded, bool):
    recorded = 0
  return max(checkpoint_frames(member_dir, frames_per_update), recorded)


def record_finished(member_dir, frames):
  """Writes <member_dir>/finished.json ({"frames": frames}) atomically."""
  path = os.path.join(member_dir, FINISHED_FILE)
  temp = f'{path}.tmp-{os.getpid()}'
  durable_files.write_durably(temp, json.dumps({'frames': int(frames)}) + '\n')
  os.replace(temp, path)
  durable_files.fsync_dir(member_dir)


def final_return(metrics_csv, last_n):
  """(mean return of the last ``last_n`` episodes, their number).

  Episodes of all levels are merged and ordered by frames; the mean is None
  when the file is missing or has no finished episode.
  """
  from impala_tf import plot  # pylint: disable=g-import-not-at-top
  try:
    curves = plot.read_curves(metrics_csv, EPISODE_RETURN_PREFIX)
  except plot.PlotError:
    return None, 0
  episodes = sorted(
      ((step, value) for steps, values in curves.values()
       for step, value in zip(steps, values)), key=lambda p: p[0])
  last = [value for _, value in episodes[-last_n:]]
  if not last:
    return None, 0
  return sum(last) / len(last), len(last)


def is_training(member_dir):
  """Whether a trainer holds the member directory's lock now.

  Probes the lock of impala_tf.run_directory with a shared, non-blocking
  flock that is dropped at once (a trainer starting in that instant would
  be refused, so the sweep never probes its own members).
  """
  try:
    fd = os.open(os.path.join(member_dir, run_directory.LOCK_FILE),
                 os.O_RDONLY)
  except OSError:
    return False
  try:
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
  except OSError as e:
    return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
  finally:
    os.close(fd)  # Also drops the probe's lock.
  return False


def disk_status(member_dir, frames, budget):
  """FINISHED, RUNNING (a trainer holds its lock), UNFINISHED (something on
  disk) or NOT_STARTED."""
  if frames >= budget:
    return FINISHED
  if is_training(member_dir):
    return RUNNING
  has_run = any(os.path.exists(os.path.join(member_dir, name)) for name in
                (CHECKPOINTS_DIR, METRICS_FILE, CONFIG_FILE))
  return UNFINISHED if has_run else NOT_STARTED


def member_result(plan, index, status=None, restarts=0, note='',
                  last_n=100):
  """The results row of member ``index`` of a SweepPlan.

  ``status`` None: as on disk (``disk_status``); a FINISHED checkpoint
  overrides any other status.
  """
  member_dir = plan.member_dir(index)
  frames = member_frames(member_dir, plan.config.frames_per_update)
  if frames >= plan.budget:
    status = FINISHED
  elif status is None:
    status = disk_status(member_dir, frames, plan.budget)
  mean, episodes = final_return(os.path.join(member_dir, METRICS_FILE),
                                last_n)
  setting = plan.settings[index]
  others = {k: v for k, v in setting.items()
            if k not in ('entropy_cost', 'learning_rate', 'epsilon')}
  return MemberResult(index, setting['entropy_cost'],
                      setting['learning_rate'], setting['epsilon'], frames,
                      status, mean, episodes, restarts, note,
                      json.dumps(others, sort_keys=True) if others else '')


def _row(result):
  row = dataclasses.asdict(result)
  row['final_return'] = ('' if result.final_return is None else
                         repr(result.final_return))
  return row


def write_csv(path, results):
  """Writes results.csv (one row per member, RESULT_COLUMNS) atomically."""
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  tmp = f'{path}.tmp-{os.getpid()}'
  with open(tmp, 'w', newline='', encoding='utf-8') as f:
    writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
    writer.writeheader()
    for result in results:
      writer.writerow(_row(result))
  os.replace(tmp, path)
  return path


def best_mean(results: List[MemberResult], k=TABLE2_BEST):
  """(mean final return of the ``k`` best members, their indices), over
  the members with a final return; None if fewer than ``k`` have one."""
  scored = sorted(((r.final_return, r.member) for r in results
                   if r.final_return is not None and
                   math.isfinite(r.final_return)), reverse=True)
  if len(scored) < k:
    return None
  best = scored[:k]
  return sum(value for value, _ in best) / k, [member for _, member in best]


def write_sweep_results(plan, last_n, live=None):
  """Writes ``<logdir>/results.csv`` with one row per setting of ``plan``.

  Args:
    plan: a SweepPlan.
    last_n: episodes a final return averages.
    live: {index: (status, restarts, note)} of the members a running sweep
      knows better than the disk; the others are read from disk.

  Returns:
    (path, [MemberResult]).
  """
  live = live or {}
  rows = []
  for index in range(plan.count):
    status, restarts, note = live.get(index, (None, 0, ''))
    rows.append(member_result(plan, index, status, restarts, note, last_n))
  path = os.path.join(plan.logdir, RESULTS_FILE)
  return write_csv(path, rows), rows


def best_line(plan, results, k=TABLE2_BEST):
  """'mean final return of the 3 best settings: ...', or None."""
  best = best_mean(results, k)
  if best is None:
    return None
  mean, members = best
  names = ', '.join(plan.member_name(i) for i in members)
  return (f'mean final return of the {k} best settings: {mean:.4g} '
          f'({names})')
