r"""Learning curves from a run's CSV metrics mirror, saved as a PNG.

  python -m impala_tf.plot --logdir DIR [--out PNG] \
      [--tag_prefix episode_return/] [--smooth 0.9]

Reads ``DIR/metrics.csv`` (written by ``impala_tf.metrics.MetricsWriter``,
long format ``step,wall_time,tag,value``), keeps the tags starting with
``--tag_prefix`` (one line per task: the rest of the tag is the task name) and
plots value against step, which the training binary sets to environment
frames. Raw points are drawn faint, with a TensorBoard-style (debiased
exponential moving average) smoothed line on top. Non-finite values are
skipped. Does not import TensorFlow.

``plot_learning_curve`` is the same thing as a function, for reuse.
"""

import collections
import csv
import math
import os
import sys

import matplotlib

matplotlib.use('Agg')

# pylint: disable=g-import-not-at-top
from matplotlib import ticker
from matplotlib.figure import Figure

# Same as impala_tf.metrics.writer.CSV_FILENAME (a test checks); not imported
# from there so that plotting does not load TensorFlow.
CSV_FILENAME = 'metrics.csv'
_REQUIRED_COLUMNS = ('step', 'tag', 'value')


class PlotError(Exception):
  """The CSV cannot be plotted (missing, empty, no matching tags...)."""


def read_curves(csv_path, tag_prefix):
  """Reads ``{task: (steps, values)}`` for the tags starting with the prefix.

  Points are sorted by step (stable, so repeated steps keep their file
  order); rows that do not parse and non-finite values are skipped.

  Raises:
    PlotError: the file is missing, unreadable, empty, or has no column
      ``step``, ``tag`` or ``value``, or no finite value matches the prefix.
  """
  csv_path = os.fspath(csv_path)
  if not os.path.isfile(csv_path):
    raise PlotError(f'No metrics file {csv_path}.')
  points = collections.defaultdict(list)
  matching_rows = 0
  try:
    with open(csv_path, newline='', encoding='utf-8') as f:
      reader = csv.DictReader(f)
      if reader.fieldnames is None:
        raise PlotError(f'Metrics file {csv_path} is empty.')
      missing = [c for c in _REQUIRED_COLUMNS if c not in reader.fieldnames]
      if missing:
        raise PlotError(f'Metrics file {csv_path} has no column(s) '
                        f'{", ".join(missing)} (header: '
                        f'{",".join(reader.fieldnames)}).')
      for row in reader:
        tag = row.get('tag')
        if not tag or not tag.startswith(tag_prefix):
          continue
        matching_rows += 1
        try:
          step = float(row['step'])
          value = float(row['value'])
        except (TypeError, ValueError):
          continue  # A line cut short by a crash, for example.
        if math.isfinite(step) and math.isfinite(value):
          points[tag[len(tag_prefix):] or tag].append((step, value))
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    raise PlotError(f'Cannot read metrics file {csv_path}: {e}') from e
  if not points:
    if matching_rows:
      raise PlotError(f'No finite values for tags starting with '
                      f'{tag_prefix!r} in {csv_path}.')
    raise PlotError(f'No tags starting with {tag_prefix!r} in {csv_path}.')
  curves = {}
  for task in sorted(points):
    ordered = sorted(points[task], key=lambda p: p[0])
    curves[task] = ([p[0] for p in ordered], [p[1] for p in ordered])
  return curves


def smooth_values(values, weight):
  """TensorBoard's smoothing: debiased exponential moving average.

  ``weight`` 0 returns the values unchanged; values near 1 smooth more.
  """
  if not 0.0 <= weight < 1.0:
    raise ValueError(f'smooth must be in [0, 1), got {weight}.')
  smoothed = []
  last = 0.0
  for i, value in enumerate(values):
    last = last * weight + (1.0 - weight) * value
    smoothed.append(last / (1.0 - weight**(i + 1)))
  return smoothed


def _colors(n):
  cmap = matplotlib.colormaps['tab10' if n <= 10 else
                             'tab20' if n <= 20 else 'turbo']
  if n <= 20:
    return [cmap(i) for i in range(n)]
  return [cmap(i / (n - 1)) for i in range(n)]


def plot_learning_curve(csv_path, out_path, tag_prefix='episode_return/',
                        smooth=0.9, title=None):
  """Draws one curve per task from the CSV mirror and saves it as a PNG.

  Args:
    csv_path: a ``metrics.csv`` written by ``MetricsWriter``.
    out_path: where to save the PNG (parent directories are created).
    tag_prefix: plot the tags starting with this; the rest is the task name.
    smooth: smoothing weight in [0, 1) (0: no smoothing).
    title: figure title; default: the prefix and the run directory.

  Returns:
    {task name: number of points plotted}.

  Raises:
    PlotError: nothing to plot, or the PNG cannot be written.
    ValueError: ``smooth`` is outside [0, 1).
  """
  if not 0.0 <= smooth < 1.0:
    raise ValueError(f'smooth must be in [0, 1), got {smooth}.')
  curves = read_curves(csv_path, tag_prefix)

  many = len(curves) > 12
  fig = Figure(figsize=(13 if many else 9, 6), dpi=100)
  ax = fig.add_subplot()
  for color, (task, (steps, values)) in zip(_colors(len(curves)),
                                            curves.items()):
    if smooth > 0:
      ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8,
              marker='.', markersize=2)
      ax.plot(steps, smooth_values(values, smooth), color=color,
              linewidth=1.6, label=task)
    else:
      ax.plot(steps, values, color=color, linewidth=1.2, marker='.',
              markersize=2, label=task)
  ax.xaxis.set_major_formatter(ticker.EngFormatter())
  ax.set_xlabel('frames')
  ax.set_ylabel(tag_prefix.rstrip('/') or 'value')
  run_name = os.path.basename(
      os.path.dirname(os.path.abspath(os.fspath(csv_path))))
  smooth_note = f' (smoothing {smooth:g})' if smooth > 0 else ''
  ax.set_title(title if title is not None
               else f'{tag_prefix}* - {run_name}{smooth_note}')
  ax.grid(True, alpha=0.3)
  if many:
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=7,
              ncol=math.ceil(len(curves) / 30), frameon=False)
  else:
    ax.legend(loc='best', fontsize=9)

  out_path = os.fspath(out_path)
  try:
    parent = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(parent, exist_ok=True)
    fig.savefig(out_path, format='png', bbox_inches='tight')
  except (OSError, ValueError) as e:
    raise PlotError(f'Cannot write {out_path}: {e}') from e
  return {task: len(steps) for task, (steps, _) in curves.items()}


def _define_flags():
  """Flags are defined only when run as a program, so importing this module
  from a binary with its own --logdir flag does not clash."""
  # pylint: disable=g-import-not-at-top
  from absl import flags
  flags.DEFINE_string('logdir', None, 'Run directory holding metrics.csv.')
  flags.DEFINE_string('out', None,
                      'Output PNG; default <logdir>/learning_curve.png.')
  flags.DEFINE_string('tag_prefix', 'episode_return/',
                      'Plot tags starting with this (one line per task).')
  flags.DEFINE_float('smooth', 0.9, 'Smoothing weight in [0, 1).')
  flags.mark_flag_as_required('logdir')
  return flags.FLAGS


def main(argv):
  if len(argv) > 1:
    print(f'Unexpected arguments: {" ".join(argv[1:])}', file=sys.stderr)
    return 1
  from absl import flags  # pylint: disable=g-import-not-at-top
  flag_values = flags.FLAGS
  csv_path = os.path.join(flag_values.logdir, CSV_FILENAME)
  out_path = flag_values.out or os.path.join(flag_values.logdir,
                                             'learning_curve.png')
  try:
    counts = plot_learning_curve(csv_path, out_path, flag_values.tag_prefix,
                                 flag_values.smooth)
  except (PlotError, ValueError) as e:
    print(f'plot: {e}', file=sys.stderr)
    return 1
  print(f'Saved learning curve ({len(counts)} task(s), '
        f'{sum(counts.values())} points) to {out_path}')
  return 0


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main)
