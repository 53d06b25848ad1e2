"""The report's sweep section: for a group whose members' settings differ,
the paper's Table 2 statistic (mean final return of the best 3 settings), a
Fig. E.2-style plot of every setting's final return, each member with its
interval, and, when settings repeat with several seeds, the arms pooled."""

import os
from typing import List, Sequence

import numpy as np

from impala_tf.comparison import arms as arms_lib
from impala_tf.comparison import comparing
from impala_tf.comparison import corrections
from impala_tf.comparison import markdown as md
from impala_tf.comparison import plots
from impala_tf.comparison import runs as runs_lib
from impala_tf.comparison import statistics


def sweep_section(c: comparing.EntryComparison, settings: comparing.Settings,
                  out_dir: str) -> List[str]:
  """Paper Table 2 statistic and Fig. E.2-style plot for a settings group."""
  best = statistics.TABLE2_BEST
  lines = [f'### {c.label}', '']
  configs = {run.name: run.config for run in c.entry.runs}
  fields = runs_lib.differing_fields(list(configs.values()))
  summary_rows = []
  for level in sorted(c.results):
    result = c.results[level]
    names = [name for name, _ in result.per_run]
    finals = [score.mean for score in result.scores]
    order = np.argsort(-np.asarray(finals), kind='stable')
    top = [f'{names[i]} ({finals[i]:.2f})' for i in order[:best]]
    note = '' if len(finals) >= best else f' (only {len(finals)} members)'
    summary_rows.append([
        level.key, f'{len(finals)} of {len(c.entry.runs)}',
        md.fmt_return(statistics.top_k_mean(finals, best)) + note,
        ', '.join(top), md.fmt_return(float(np.median(finals))),
        md.fmt_return(min(finals))])
    reference = comparing.paper_reference(level, settings)
    filename = f'sweep_{md.slug(c.label)}_{md.slug(level.key)}.png'
    plots.sweep_finals(f'{c.label}: {level.key}, final return per setting',
                       names, finals, best, reference,
                       os.path.join(out_dir, filename))
    lines += [f'![{c.label} {level.key}]({filename})', '']
  lines = lines[:2] + md.table(
      ['level', 'members with a final score', f'mean of the best {best} '
       '(Table 2 statistic)', f'best {best}', 'median', 'worst'],
      summary_rows) + [''] + lines[2:]
  rng = np.random.default_rng(settings.seed)
  member_rows = []
  for run in c.entry.runs:
    config = run.config or {}
    finals = '; '.join(
        f'{level.key}: {score.mean:.2f} '
        f'{_episodes_interval(score, settings, rng)} at '
        f'{md.fmt_frames(score.frames)} frames'
        for level in sorted(c.results)
        for name, score in c.results[level].per_run if name == run.name)
    member_rows.append([run.name] + [md.fmt_value(config.get(k, md.NA))
                                     for k in fields] +
                       [finals or 'no score yet'])
  lines += ['Members (config fields that differ between them; the final '
            f'return with its {settings.confidence:.0%} bootstrap interval '
            'over its final episodes):', '']
  lines += md.table(['member'] + fields + ['final return'], member_rows) + ['']
  if arms_lib.has_repeated_arms(configs, fields):
    lines += arms_lines(c, settings, configs, fields)
  if corrections.is_correction_sweep(fields):
    lines += corrections.ours_lines(c, settings, configs, fields)
  return lines


def _episodes_interval(score, settings: comparing.Settings, rng) -> str:
  samples = statistics.level_over_episodes(
      [score.returns], settings.num_resamples, rng)
  return '' if samples is None else md.fmt_interval(
      statistics.interval(samples, settings.confidence))


def arms_lines(c: comparing.EntryComparison, settings: comparing.Settings,
               configs, fields) -> List[str]:
  """The members pooled over seeds, best arm first, per level."""
  keys = arms_lib.arm_fields(fields)
  rng = np.random.default_rng(settings.seed)
  lines = [f'Arms (members that differ only in their seed, pooled; '
           f'{settings.confidence:.0%} bootstrap interval resampling the seeds '
           'and, inside each, the final episodes), best first:', '']
  for level in sorted(c.results):
    rows = []
    for values, count, mean, bounds, per_run, _ in arms_lib.arm_rows(
        configs, keys, c.results[level], settings.num_resamples, rng,
        settings.confidence):
      rows.append([level.key] + [md.fmt_value(v) for v in values] + [
          str(count), md.fmt_return(mean), md.fmt_interval(bounds),
          ', '.join(f'{v:.2f}' for v in per_run)])
    lines += md.table(['level'] + keys + ['runs', 'mean final return',
                                          'interval', 'per run'], rows) + ['']
  return lines


def sweeps_section(comparisons: Sequence[comparing.EntryComparison],
                   settings: comparing.Settings,
                   out_dir: str) -> List[str]:
  sweeps = [c for c in comparisons
            if c.entry.kind == runs_lib.KIND_SETTINGS and c.results]
  if not sweeps:
    return []
  lines = ['## Sweeps: paper Table 2 statistic and Fig. E.2', '',
           f'Table 2 reports, per level, the mean of the final returns of the '
           f'{statistics.TABLE2_BEST} best of the 24 hyperparameter settings '
           'of a sweep; Fig. E.2 plots the final returns of all settings '
           'sorted. A member\'s final return is its score as defined above. '
           '(In the tables above, a sweep\'s score is the mean over all of its '
           'settings, and its interval over runs is one over settings.)', '']
  for c in sweeps:
    lines += sweep_section(c, settings, out_dir)
  if any(corrections.is_correction_sweep(
      runs_lib.differing_fields([run.config for run in c.entry.runs])) for c in sweeps):
    lines += corrections.paper_lines()
  return lines
