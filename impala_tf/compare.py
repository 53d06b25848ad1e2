r"""Our runs beside the IMPALA paper's published tables.

  python -m impala_tf.compare RUN_OR_GROUP_DIR [...] --out=DIR \
      [--label=a,b] [--eval_dir=EVAL] [--paper_column=impala_shallow_expert] \
      [--final_episodes=100] [--bootstrap_resamples=1000] [--bootstrap_seed=0]

Each positional argument is a run directory (``impala_tf.train --logdir``) or
a directory of run directories (seeds, a sweep's ``member_NN``, a PBT
population). Writes ``DIR/report.md`` with per-level scores beside paper
Table C.1 (Atari) / Table B.1 (DMLab-30), human-normalised aggregates with
bootstrap intervals, learning curves, per-level bars and, for sweeps, the
paper's Table 2 statistic with a Fig. E.2-style plot (PNGs next to it).

--eval_dir points a run at an evaluation directory kept elsewhere (the
``--output_dir`` of ``impala_tf.evaluate``); one per positional argument,
comma-separated, empty for none. Bad input is reported in one sentence.
See ``impala_tf.comparison`` for the pieces. Does not import TensorFlow.
"""

import os
import shlex
import sys

from impala_tf.comparison import comparing
from impala_tf.comparison import paper
from impala_tf.comparison import report
from impala_tf.comparison import runs as runs_lib

PROGRAM = 'impala_tf.compare'


class UsageError(Exception):
  """A bad flag or argument; the message names it in one sentence."""


def _define_flags():
  """Flags are defined only when run as a program (see impala_tf.plot)."""
  # pylint: disable=g-import-not-at-top
  from absl import flags
  flags.DEFINE_string('out', None, 'Output directory for report.md and PNGs.')
  flags.DEFINE_list('label', [], 'One label per directory (default: the '
                    "directory's name).")
  flags.DEFINE_list('eval_dir', [], 'Evaluation directory of each run '
                    '(summary.json, episodes.csv); default <run>/eval. Empty '
                    'items: the default.')
  flags.DEFINE_list('paper_column', [], 'Paper column to compare with: a '
                    'Table C.1 column (default impala_shallow_expert) and/or a '
                    'Table B.1 column (default impala_experts_deep).')
  flags.DEFINE_integer('final_episodes', 100, 'Without an evaluation, a '
                       "run's score is the mean of this many last training "
                       'episodes.')
  flags.DEFINE_integer('bootstrap_resamples', 1000,
                       'Bootstrap resamples for confidence intervals.')
  flags.DEFINE_integer('bootstrap_seed', 0, 'Seed of the bootstrap.')
  flags.DEFINE_float('confidence', 0.95, 'Confidence level of intervals.')
  flags.DEFINE_float('smooth', 0.9, 'Learning-curve smoothing in [0, 1).')
  return flags.FLAGS


def settings_from(final_episodes, bootstrap_resamples, bootstrap_seed,
                  confidence, smooth, paper_columns) -> comparing.Settings:
  """Checked Settings from flag values; UsageError names the flag."""
  if final_episodes < 1:
    raise UsageError(f'--final_episodes must be >= 1, got {final_episodes}.')
  if bootstrap_resamples < 1:
    raise UsageError('--bootstrap_resamples must be >= 1, got '
                     f'{bootstrap_resamples}.')
  if not 0.0 < confidence < 1.0:
    raise UsageError(f'--confidence must be in (0, 1), got {confidence}.')
  if not 0.0 <= smooth < 1.0:
    raise UsageError(f'--smooth must be in [0, 1), got {smooth}.')
  try:
    columns = paper.choose_columns(paper_columns)
  except ValueError as e:
    raise UsageError(str(e)) from None
  return comparing.Settings(
      final_episodes=final_episodes, paper_columns=tuple(columns.items()),
      num_resamples=bootstrap_resamples, seed=bootstrap_seed,
      confidence=confidence, smooth=smooth)


def _per_path(name, values, paths):
  """--label / --eval_dir items, one per path (None where not given)."""
  if not values:
    return [None] * len(paths)
  if len(values) != len(paths):
    items = 'item' if len(values) == 1 else 'items'
    dirs = 'directory' if len(paths) == 1 else 'directories'
    raise UsageError(f'--{name}: {len(values)} {items} for {len(paths)} '
                     f'{dirs}; give one per directory, comma-separated.')
  return [v or None for v in values]


def load_entries(paths, labels=(), eval_dirs=()):
  """Entries of the positional arguments; UsageError for bad input."""
  if not paths:
    raise UsageError('give at least one run or group directory, e.g. '
                     f'python -m {PROGRAM} logs/pong --out=/tmp/compare.')
  labels = _per_path('label', list(labels), paths)
  eval_dirs = _per_path('eval_dir', list(eval_dirs), paths)
  entries = []
  for path, label, eval_dir in zip(paths, labels, eval_dirs):
    try:
      entries.append(runs_lib.load_entry(path, label, eval_dir))
    except runs_lib.InputError as e:
      raise UsageError(str(e)) from None
  seen = [e.label for e in entries]
  duplicates = sorted({x for x in seen if seen.count(x) > 1})
  if duplicates:
    raise UsageError(f'two directories have the label {duplicates[0]!r}; '
                     'give distinct names with --label.')
  return entries


def check_out(out):
  if not out:
    raise UsageError('--out is required (the directory for report.md and '
                     'the PNGs).')
  if os.path.exists(out) and not os.path.isdir(out):
    raise UsageError(f'--out: {out} is a file; give a directory.')


def run(paths, out, settings, labels=(), eval_dirs=(), command=PROGRAM):
  """Loads, compares, writes; returns (report path, notes).

  Raises:
    UsageError: bad input, nothing to compare, or --out not writable.
  """
  check_out(out)
  entries = load_entries(paths, labels, eval_dirs)
  comparisons = [comparing.compare_entry(e, settings) for e in entries]
  notes = [n for c in comparisons for n in report.entry_notes(c, settings)]
  if not any(c.results for c in comparisons):
    raise UsageError('nothing to compare: ' + (' '.join(notes) if notes else
                                               'no run has a score yet.'))
  try:
    path = report.write_report(comparisons, out, settings, command)
  except OSError as e:
    raise UsageError(f'--out: cannot write to {out}: '
                     f'{e.strerror or e}.') from None
  return path, notes


def main(argv):
  from absl import flags  # pylint: disable=g-import-not-at-top
  flag_values = flags.FLAGS
  command = ' '.join(['python -m', PROGRAM] +
                     [shlex.quote(a) for a in sys.argv[1:]])
  try:
    settings = settings_from(
        flag_values.final_episodes, flag_values.bootstrap_resamples,
        flag_values.bootstrap_seed, flag_values.confidence,
        flag_values.smooth, flag_values.paper_column)
    path, notes = run(argv[1:], flag_values.out, settings, flag_values.label,
                      flag_values.eval_dir, command)
  except UsageError as e:
    sys.exit(f'{PROGRAM}: error: {e}')
  for note in notes:
    print(f'note: {note}', file=sys.stderr)
  print(f'Wrote {path}')
  return 0


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main)
