"""Writes ``report.md`` and its PNGs from entries compared with the paper.

  settings = comparing.Settings(final_episodes=100, ...)
  comparisons = [comparing.compare_entry(entry, settings) for entry in entries]
  write_report(comparisons, out_dir, settings, command) -> path of report.md

Report sections: inputs; scores per level beside the paper's (Table C.1 for
Atari, Table B.1 for DMLab-30), both human-normalised; aggregates on the
levels run with bootstrap intervals and the paper's aggregate on the same
levels; learning curves; per-level bars; for sweeps (groups whose members'
settings differ) the paper's Table 2 statistic and a Fig. E.2-style plot;
notes on everything partial or missing.
"""

import math
import os
from typing import List, Optional, Sequence

import numpy as np

from impala_tf.comparison import comparing
from impala_tf.comparison import final as final_lib
from impala_tf.comparison import markdown as md
from impala_tf.comparison import paper
from impala_tf.comparison import plots
from impala_tf.comparison import runs as runs_lib
from impala_tf.comparison import statistics
from impala_tf.comparison import sweep_report

REPORT_FILE = 'report.md'
SUITE_TITLES = {'atari57': 'Atari-57', 'dmlab30': 'DMLab-30'}


def _kind_text(entry: runs_lib.Entry) -> str:
  if entry.kind == runs_lib.KIND_RUN:
    return 'run'
  what = ('seeds' if entry.kind == runs_lib.KIND_SEEDS
          else 'settings (sweep/population)')
  return f'group of {len(entry.runs)} runs: {what}'


def _frames_range(scores: Sequence[final_lib.FinalScore]) -> str:
  frames = [s.frames for s in scores if s.frames is not None]
  if not frames:
    return md.NA
  low, high = min(frames), max(frames)
  return (md.fmt_frames(low) if low == high
          else f'{md.fmt_frames(low)}–{md.fmt_frames(high)}')


def _hns(level: runs_lib.Level, value: Optional[float]) -> Optional[float]:
  if value is None or level.family not in statistics.AGGREGATES:
    return None
  return float(statistics.hns(level.family, [level.key], np.array([value]))[0])


def _level_name(comparison: comparing.EntryComparison,
                level: runs_lib.Level) -> str:
  """The name the runs logged (the scoring key if it differs)."""
  for run in comparison.entry.runs:
    if level in run.training:
      name = run.training[level].name
      return name if name == level.key else f'{name} ({level.key})'
  return level.key


def _training_mean(c: comparing.EntryComparison, level: runs_lib.Level,
                   final_episodes: int) -> Optional[float]:
  """Mean over runs of the last training episodes' mean (None: none)."""
  scores = [final_lib.training_score(run, level, final_episodes)
            for run in c.entry.runs]
  means = [s.mean for s in scores if s is not None]
  return float(np.mean(means)) if means else None


def _level_row(c: comparing.EntryComparison, level: runs_lib.Level,
               settings: comparing.Settings) -> List[str]:
  """One row of the per-level table (columns as in levels_section)."""
  result = c.results[level]
  episodes, runs = c.over_episodes.get(level), c.over_runs.get(level)
  paper_value = comparing.paper_value(level, settings)
  one_run = f'{md.NA} (1 run)' if len(result.per_run) < 2 else md.NA
  return [
      c.label, _level_name(c, level), md.fmt_return(result.mean),
      md.fmt_interval(None if episodes is None else
                   statistics.interval(episodes, settings.confidence)),
      md.fmt_interval(None if runs is None else
                   statistics.interval(runs, settings.confidence),
                   missing=one_run),
      result.source(len(c.entry.runs)), _frames_range(result.scores),
      md.fmt_return(_training_mean(c, level, settings.final_episodes)),
      md.fmt_percent(_hns(level, result.mean)), md.fmt_return(paper_value),
      md.fmt_percent(_hns(level, paper_value))]


# Sections.


def inputs_section(
    comparisons: Sequence[comparing.EntryComparison]) -> List[str]:
  rows = []
  for c in comparisons:
    runs = c.entry.runs
    frames = [r.frames for r in runs if r.frames is not None]
    evaluated = sum(r.evaluation is not None for r in runs)
    rows.append([c.label, f'`{c.entry.path}`', _kind_text(c.entry),
                 md.fmt_frames(max(frames)) if frames else 'no episode yet',
                 f'{evaluated} of {len(runs)}',
                 ', '.join(level.key for level in sorted(c.results)) or md.NA])
  return ['## Inputs', ''] + md.table(
      ['label', 'path', 'kind', 'frames (last training episode)',
       'runs with an evaluation', 'levels with a score'], rows) + ['']


def levels_section(comparisons: Sequence[comparing.EntryComparison],
                   settings: comparing.Settings) -> List[str]:
  conf = f'{settings.confidence:.0%}'
  families = sorted({lv.family for c in comparisons for lv in c.results})
  columns = '; '.join(
      f'{paper.TABLE_NAMES[f]} column `{settings.column(f)}` for '
      f'{SUITE_TITLES[f]}' for f in families if f in paper.TABLE_NAMES)
  lines = [
      '## Scores per level', '',
      'Our score: the mean return of the evaluation (`eval/summary.json` or '
      '`--eval_dir`) when the run has one, otherwise the mean return of its '
      f'last {settings.final_episodes} training episodes (`--final_episodes`)'
      '; the source column says which, and the "training" column always '
      'gives the latter. For a group, the mean of its runs\' scores. '
      f'Paper (`--paper_column`): {columns or "none for these levels"}. '
      'HNS = 100 (score - random) / (human - random) with the human and '
      'random references of `impala_tf/scoring/data/`, for our score and '
      'the paper\'s alike.', '']
  rows = [_level_row(c, level, settings)
          for c in comparisons for level in sorted(c.results)]
  if not rows:
    return lines + ['No run has a score yet.', '']
  return lines + md.table(
      ['run', 'level', 'our score', f'{conf} CI (episodes)',
       f'{conf} CI (runs)', 'source', 'frames',
       f'training (last {settings.final_episodes})', 'our HNS', 'paper',
       'paper HNS'], rows) + ['']


def _aggregate_rows(c: comparing.EntryComparison, family: str,
                    settings: comparing.Settings) -> List[List[str]]:
  ours = c.suite_scores(family)
  levels = [level for level in c.results if level.family == family]
  point = statistics.subset_aggregates(family, ours)
  by_episodes = {lv.key: c.over_episodes[lv] for lv in levels}
  by_runs = {lv.key: c.over_runs[lv] for lv in levels}
  ep_ci = (statistics.aggregate_intervals(family, by_episodes,
                                          settings.confidence)
           if all(v is not None for v in by_episodes.values()) else {})
  run_ci = (statistics.aggregate_intervals(family, by_runs,
                                           settings.confidence)
            if all(v is not None for v in by_runs.values()) else {})
  column = settings.column(family)
  paper_scores = {k: paper.paper_score(family, column, k) for k in ours}
  paper_subset = statistics.subset_aggregates(family, paper_scores)
  paper_all = statistics.subset_aggregates(
      family, paper.column_scores(family, column))
  total = statistics.suite_size(family)
  single = len(c.entry.runs) < 2
  return [[c.label, SUITE_TITLES[family], f'{len(ours)} of {total}', name,
           md.fmt_percent(value), md.fmt_interval(ep_ci.get(name), True),
           md.fmt_interval(run_ci.get(name), True,
                        missing=f'{md.NA} (1 run)' if single else md.NA),
           md.fmt_percent(paper_subset[name]), md.fmt_percent(paper_all[name])]
          for name, value in point.items()]


def aggregates_section(comparisons: Sequence[comparing.EntryComparison],
                       settings: comparing.Settings) -> List[str]:
  conf = f'{settings.confidence:.0%}'
  rows, missing = [], []
  for c in comparisons:
    for family in c.families():
      if family not in statistics.AGGREGATES:
        continue
      rows += _aggregate_rows(c, family, settings)
      absent = statistics.missing_levels(family, c.suite_scores(family))
      if absent:
        missing.append(f'- {c.label}, {SUITE_TITLES[family]}: '
                       f'{len(absent)} missing: {", ".join(absent)}.')
  lines = [
      '## Aggregates', '',
      'As the paper computes them (Atari-57: median and mean HNS, paper '
      'Table 4; DMLab-30: mean over levels of min(HNS, 100), paper Table 3)'
      ', but over the levels that were run; "paper, same levels" applies the '
      'same computation to the paper\'s column on exactly those levels, '
      '"paper, all levels" to the whole column.', '']
  if not rows:
    return lines + ['No Atari-57 game or DMLab-30 level was run, so there is '
                    'no human-normalised aggregate.', '']
  lines += md.table(['run', 'suite', 'levels', 'aggregate', 'ours',
                  f'{conf} CI (episodes)', f'{conf} CI (runs)',
                  'paper, same levels', 'paper, all levels'], rows)
  lines += ['', 'Missing games/levels (not in the aggregates above):' if
            missing else 'No game or level of the suites is missing.']
  lines += missing
  lines += [
      '', f'Bootstrap: {settings.num_resamples} resamples, percentile '
      f'{conf} intervals, numpy `default_rng({settings.seed})` '
      '(`--bootstrap_resamples`, `--bootstrap_seed`). "Episodes": for each '
      'level independently, the episodes behind each run\'s score (its '
      'evaluation episodes, or its last training episodes) are drawn with '
      'replacement; "runs": for each level independently, the runs\' '
      'scores are drawn with replacement (groups only). Each resample gives '
      'a score per level and then the aggregate. No interval where a run '
      'has no episodes to resample (an evaluation without episodes.csv).',
      '', 'The "all levels" values are recomputed from the paper\'s table '
      'with these references: the Atari median reproduces paper Table 4, '
      'the Atari mean does not (video_pinball\'s human and random '
      'references are close, so its HNS dominates the mean); prefer the '
      'median.', '']
  return lines


def curves_section(comparisons: Sequence[comparing.EntryComparison],
                   settings: comparing.Settings,
                   out_dir: str) -> List[str]:
  """Draws curve_<level>.png per level with training episodes."""
  levels = sorted({level for c in comparisons for run in c.entry.runs
                   for level in run.training})
  lines = ['## Learning curves', '']
  if not levels:
    return lines + ['No run has training episodes to plot.', '']
  lines += ['Training episode returns against environment frames, '
            f'TensorBoard smoothing {settings.smooth:g} (`--smooth`); a group '
            'is the mean of its runs\' smoothed curves with a band of +-1 '
            'standard deviation over runs; diamonds: evaluations (at the '
            'frames of the evaluated checkpoint). Dashed: the paper\'s final '
            'score.', '']
  for level in levels:
    series = []
    for c in comparisons:
      curves = [(run.training[level].steps, run.training[level].returns)
                for run in c.entry.runs if level in run.training]
      evaluations = [(s.frames, s.mean) for s in c.results[level].scores
                     if s.source == final_lib.EVALUATION and
                     s.frames is not None] if level in c.results else []
      if curves or evaluations:
        series.append((c.label, curves, evaluations))
    reference = comparing.paper_reference(level, settings)
    filename = f'curve_{md.slug(level.key)}.png'
    plots.learning_curves(level.key, series, reference,
                          os.path.join(out_dir, filename), settings.smooth)
    lines += [f'![{level.key}]({filename})', '']
  return lines


def bars_section(comparisons: Sequence[comparing.EntryComparison],
                 settings: comparing.Settings,
                 out_dir: str) -> List[str]:
  """Draws bars_<suite>.png per suite with scores."""
  lines = []
  for family in statistics.AGGREGATES:
    keys = sorted({level.key for c in comparisons for level in c.results
                   if level.family == family})
    if not keys:
      continue
    column = settings.column(family)
    bars = {}
    for c in comparisons:
      scores = c.suite_scores(family)
      if not scores:
        continue
      bars[c.label] = [_hns(runs_lib.Level(family, k), scores.get(k))
                       if k in scores else math.nan for k in keys]
    bars[paper.describe(family, column)] = [
        _hns(runs_lib.Level(family, k), paper.paper_score(family, column, k))
        for k in keys]
    filename = f'bars_{family}.png'
    plots.level_bars(f'{SUITE_TITLES[family]}: human-normalised score per '
                     'level', keys, bars, os.path.join(out_dir, filename))
    lines += [f'![{family}]({filename})', '']
  if not lines:
    return []
  return ['## Per-level scores against the paper', ''] + lines


def entry_notes(c: comparing.EntryComparison,
                settings: comparing.Settings) -> List[str]:
  """Sentences about what is partial or missing in one entry."""
  notes = list(c.entry.notes)
  for run in c.entry.runs:
    notes += run.notes
  for level, result in sorted(c.results.items()):
    for name, score in result.per_run:
      if score.few:
        who = c.label if len(c.entry.runs) == 1 else f'{c.label}/{name}'
        notes.append(f'{who}, {level.key}: only {len(score.returns)} '
                     f'training episodes so far (fewer than --final_episodes='
                     f'{settings.final_episodes}); its score is their mean.')
    if level.family == runs_lib.OTHER:
      notes.append(f'{level.key} is neither an Atari-57 game nor a DMLab-30 '
                   'level: no paper score, no human normalisation.')
  without = [run.name for run in c.entry.runs if not run.levels]
  if without and len(c.entry.runs) > 1:
    notes.append(f'{c.label}: {len(without)} of {len(c.entry.runs)} runs '
                 f'have no score yet ({", ".join(without)}).')
  return list(dict.fromkeys(notes))  # Once each, in order.


def build_markdown(comparisons: Sequence[comparing.EntryComparison],
                   settings: comparing.Settings,
                   out_dir: str, command: str) -> str:
  """The whole report (draws its PNGs into ``out_dir``)."""
  labels = ', '.join(c.label for c in comparisons)
  lines = [f'# IMPALA comparison: {labels}', '',
           f'Generated by `{command}`.', '']
  lines += inputs_section(comparisons)
  lines += levels_section(comparisons, settings)
  lines += aggregates_section(comparisons, settings)
  lines += curves_section(comparisons, settings, out_dir)
  lines += bars_section(comparisons, settings, out_dir)
  lines += sweep_report.sweeps_section(comparisons, settings, out_dir)
  notes = [n for c in comparisons for n in entry_notes(c, settings)]
  lines += ['## Notes', '']
  lines += [f'- {n}' for n in notes] if notes else ['- None.']
  return '\n'.join(lines) + '\n'


def write_report(comparisons: Sequence[comparing.EntryComparison], out_dir: str,
                 settings: comparing.Settings, command: str) -> str:
  """Writes ``out_dir/report.md`` and its PNGs; returns the report's path."""
  os.makedirs(out_dir, exist_ok=True)
  text = build_markdown(comparisons, settings, out_dir, command)
  path = os.path.join(out_dir, REPORT_FILE)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return path
