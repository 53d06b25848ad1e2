"""The comparison's figures (PNG), drawn without pyplot.

  learning_curves(title, series, reference, out_path, smooth)
      return vs frames; a single run is its smoothed curve, a group of runs
      the mean of its runs' smoothed curves with a band of +-1 standard
      deviation; the paper's final score as a horizontal dashed line;
  level_bars(title, level_names, bars, out_path)
      grouped bars of human-normalised scores per level (ours and the
      paper's);
  sweep_finals(title, member_names, finals, best, reference, out_path)
      paper Fig. E.2 style: the members' final returns sorted, best first,
      the best ``best`` highlighted and their mean (paper Table 2) drawn.
Smoothing is TensorBoard's (``impala_tf.plot.smooth_values``).
"""

import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from impala_tf import plot  # Also selects the Agg backend.

# pylint: disable=g-import-not-at-top,g-bad-import-order
from matplotlib import ticker
from matplotlib.figure import Figure

GRID_POINTS = 200


def _save(fig: Figure, out_path: str) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
  fig.savefig(out_path, format='png', bbox_inches='tight')


def smoothed(returns: np.ndarray, weight: float) -> np.ndarray:
  """TensorBoard-smoothed returns [N] (weight 0: unchanged)."""
  if weight == 0:
    return np.asarray(returns, np.float64)
  return np.asarray(plot.smooth_values(list(returns), weight), np.float64)


def mean_band(curves: Sequence[Tuple[np.ndarray, np.ndarray]],
              num_points: int = GRID_POINTS):
  """Mean and standard deviation over runs on a common frame grid.

  curves: [(steps [N_i], values [N_i])] with increasing steps. Each run
  counts only within its own frame range (a still-running run stops early).
  Returns (grid [P], mean [P], std [P], runs [P]); where no run covers a grid
  point, mean and std are NaN and runs is 0.
  """
  start = min(float(s[0]) for s, _ in curves)
  stop = max(float(s[-1]) for s, _ in curves)
  grid = np.linspace(start, stop, num_points) if stop > start else (
      np.array([start]))
  values = np.full((len(curves), len(grid)), np.nan)
  for i, (steps, vals) in enumerate(curves):
    inside = (grid >= steps[0]) & (grid <= steps[-1])
    values[i, inside] = np.interp(grid[inside], steps, vals)
  counts = np.sum(~np.isnan(values), axis=0)
  filled = np.where(np.isnan(values), 0.0, values)
  with np.errstate(invalid='ignore', divide='ignore'):
    mean = np.where(counts > 0, filled.sum(axis=0) / counts, np.nan)
    square = np.where(np.isnan(values), 0.0, (values - mean) ** 2)
    std = np.where(counts > 0, np.sqrt(square.sum(axis=0) / counts), np.nan)
  return grid, mean, std, counts


def learning_curves(title: str, series: Sequence[Tuple[str, list, list]],
                    reference: Optional[Tuple[float, str]], out_path: str,
                    smooth: float) -> None:
  """One level's return vs frames for several entries.

  series: [(label, [(frames [N], returns [N]) per run], [(frames, mean
  return) per evaluation])]; evaluations are drawn as markers in the
  entry's colour. reference: (paper score, its label) or None.
  """
  fig = Figure(figsize=(9, 5.5), dpi=100)
  ax = fig.add_subplot()
  for label, runs, evaluations in series:
    runs = [(np.asarray(s, np.float64), smoothed(v, smooth))
            for s, v in runs if len(s)]
    color = None
    if len(runs) == 1:
      steps, values = runs[0]
      line, = ax.plot(steps, values, linewidth=1.6, label=label)
      color = line.get_color()
    elif runs:
      grid, mean, std, _ = mean_band(runs)
      line, = ax.plot(grid, mean, linewidth=1.8,
                      label=f'{label} (mean of {len(runs)} runs, +-1 s.d.)')
      color = line.get_color()
      ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2,
                      linewidth=0)
    if evaluations:
      frames, means = zip(*evaluations)
      ax.plot(frames, means, linestyle='none', marker='D', markersize=6,
              color=color, markeredgecolor='black',
              label=f'{label}: evaluation')
  if reference is not None:
    value, ref_label = reference
    ax.axhline(value, color='black', linestyle='--', linewidth=1.2,
               label=f'{ref_label}: {value:g}')
  ax.xaxis.set_major_formatter(ticker.EngFormatter())
  ax.set_xlabel('environment frames')
  ax.set_ylabel('episode return')
  smooth_note = f' (smoothing {smooth:g})' if smooth > 0 else ''
  ax.set_title(f'{title}{smooth_note}')
  ax.grid(True, alpha=0.3)
  ax.legend(loc='best', fontsize=8)
  _save(fig, out_path)


def level_bars(title: str, level_names: Sequence[str],
               bars: Dict[str, Sequence[float]], out_path: str) -> None:
  """Grouped bars: for each level [L], one bar per series {label: [L] HNS};
  NaN (no score) leaves a gap."""
  n_levels, n_series = len(level_names), max(1, len(bars))
  fig = Figure(figsize=(max(6.0, 0.5 * n_levels * n_series + 2), 5), dpi=100)
  ax = fig.add_subplot()
  width = 0.8 / n_series
  x = np.arange(n_levels)
  for i, (label, values) in enumerate(bars.items()):
    values = np.asarray(values, np.float64)
    drawn = ax.bar(x + (i - (n_series - 1) / 2) * width,
                   np.nan_to_num(values), width=width, label=label)
    if n_levels * n_series <= 24:
      ax.bar_label(drawn, labels=['' if np.isnan(v) else f'{v:.0f}'
                                  for v in values], fontsize=7)
  ax.axhline(100.0, color='grey', linestyle=':', linewidth=1,
             label='human (100%)')
  ax.axhline(0.0, color='black', linewidth=0.8)
  ax.set_xticks(x)
  ax.set_xticklabels(level_names, rotation=45 if n_levels > 3 else 0,
                     ha='right' if n_levels > 3 else 'center', fontsize=8)
  ax.set_ylabel('human-normalised score (%)')
  ax.set_title(title)
  ax.grid(True, axis='y', alpha=0.3)
  ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8,
            frameon=False)
  _save(fig, out_path)


def sweep_finals(title: str, member_names: Sequence[str],
                 finals: Sequence[float], best: int,
                 reference: Optional[Tuple[float, str]],
                 out_path: str) -> None:
  """The members' final returns [M] sorted from best to worst."""
  order = np.argsort(-np.asarray(finals, np.float64), kind='stable')
  values = np.asarray(finals, np.float64)[order]
  names = [member_names[i] for i in order]
  fig = Figure(figsize=(max(6.0, 0.35 * len(values) + 2), 5), dpi=100)
  ax = fig.add_subplot()
  ranks = np.arange(1, len(values) + 1)
  colors = ['tab:orange' if r <= best else 'tab:blue' for r in ranks]
  ax.bar(ranks, values, color=colors)
  top = float(np.mean(values[:best]))
  ax.axhline(top, color='tab:orange', linestyle='-', linewidth=1.2,
             label=f'mean of the best {min(best, len(values))}: {top:.4g}')
  if reference is not None:
    value, ref_label = reference
    ax.axhline(value, color='black', linestyle='--', linewidth=1.2,
               label=f'{ref_label}: {value:g}')
  ax.set_xticks(ranks)
  ax.set_xticklabels(names, rotation=90, fontsize=7)
  ax.set_xlabel('hyperparameter setting, sorted by final return')
  ax.set_ylabel('final return')
  ax.set_title(title)
  ax.grid(True, axis='y', alpha=0.3)
  ax.legend(loc='best', fontsize=8)
  _save(fig, out_path)
