"""Builds the comparison of entries (runs or groups of runs) with the paper and
writes ``report.md`` and its PNGs.

  settings = Settings(final_episodes=100, ...)
  comparisons = [compare_entry(entry, settings) for entry in entries]
  write_report(comparisons, out_dir, settings, command) -> path of report.md

Report sections: inputs; scores per level beside the paper's (Table C.1 for
Atari, Table B.1 for DMLab-30), both human-normalised; aggregates on the
levels run with bootstrap intervals and the paper's aggregate on the same
levels; learning curves; per-level bars; for sweeps (groups whose members'
settings differ) the paper's Table 2 statistic and a Fig. E.2-style plot;
notes on everything partial or missing.
"""

import dataclasses
import math
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from impala_tf.comparison import arms as arms_lib
from impala_tf.comparison import final as final_lib
from impala_tf.comparison import paper
from impala_tf.comparison import plots
from impala_tf.comparison import runs as runs_lib
from impala_tf.comparison import statistics

REPORT_FILE = 'report.md'
NA = '—'
SUITE_TITLES = {'atari57': 'Atari-57', 'dmlab30': 'DMLab-30'}


@dataclasses.dataclass(frozen=True)
class Settings:
  """How scores are formed and resampled (the binary's flags)."""
  final_episodes: int = 100
  paper_columns: Tuple[Tuple[str, str], ...] = tuple(
      paper.DEFAULT_COLUMNS.items())
  num_resamples: int = 1000
  seed: int = 0
  confidence: float = 0.95
  smooth: float = 0.9

  def column(self, family: str) -> Optional[str]:
    return dict(self.paper_columns).get(family)


@dataclasses.dataclass
class EntryComparison:
  """An entry with its final scores and per-level bootstrap samples
  ([num_resamples] each; None where that resampling is not possible)."""
  entry: runs_lib.Entry
  results: Dict[runs_lib.Level, final_lib.LevelResult]
  over_episodes: Dict[runs_lib.Level, Optional[np.ndarray]]
  over_runs: Dict[runs_lib.Level, Optional[np.ndarray]]

  @property
  def label(self) -> str:
    return self.entry.label

  def families(self) -> List[str]:
    return sorted({level.family for level in self.results})

  def suite_scores(self, family: str) -> Dict[str, float]:
    """{level key: our score} of one suite."""
    return {level.key: result.mean for level, result in self.results.items()
            if level.family == family}


def compare_entry(entry: runs_lib.Entry,
                  settings: Settings) -> EntryComparison:
  """Final scores and bootstrap samples of one entry. Each kind of resampling
  starts a fresh generator seeded with ``settings.seed``, levels in order."""
  results = final_lib.entry_results(entry, settings.final_episodes)
  episodes_rng = np.random.default_rng(settings.seed)
  runs_rng = np.random.default_rng(settings.seed)
  over_episodes, over_runs = {}, {}
  for level in sorted(results):
    result = results[level]
    over_episodes[level] = statistics.level_over_episodes(
        [s.returns for s in result.scores], settings.num_resamples,
        episodes_rng)
    over_runs[level] = statistics.level_over_runs(
        [s.mean for s in result.scores], settings.num_resamples, runs_rng)
  return EntryComparison(entry, results, over_episodes, over_runs)


# Formatting.


def cell(text) -> str:
  """A Markdown table cell (pipes escaped)."""
  return str(text).replace('|', '\\|').replace('\n', ' ')


def table(header: Sequence[str], rows: Sequence[Sequence]) -> List[str]:
  lines = ['| ' + ' | '.join(cell(h) for h in header) + ' |',
           '|' + '|'.join('---' for _ in header) + '|']
  lines += ['| ' + ' | '.join(cell(c) for c in row) + ' |' for row in rows]
  return lines


def fmt_return(value: Optional[float]) -> str:
  return NA if value is None or not math.isfinite(value) else f'{value:.2f}'


def fmt_percent(value: Optional[float]) -> str:
  return NA if value is None or not math.isfinite(value) else f'{value:.1f}%'


def fmt_interval(bounds: Optional[Tuple[float, float]], percent=False,
                 missing: str = NA) -> str:
  if bounds is None:
    return missing
  fmt = fmt_percent if percent else fmt_return
  return f'[{fmt(bounds[0])}, {fmt(bounds[1])}]'


def fmt_value(value) -> str:
  """A config value: floats with 4 significant digits."""
  return f'{value:.4g}' if isinstance(value, float) else str(value)


def fmt_frames(frames: Optional[float]) -> str:
  if frames is None:
    return NA
  if frames >= 1e6:
    return f'{frames / 1e6:.2f}M'
  if frames >= 1e3:
    return f'{frames / 1e3:.1f}K'
  return f'{frames:.0f}'


def slug(text: str) -> str:
  """A file-name-safe version of a label or level name."""
  return re.sub(r'[^A-Za-z0-9_.-]+', '_', text).strip('_') or 'x'


def _kind_text(entry: runs_lib.Entry) -> str:
  if entry.kind == runs_lib.KIND_RUN:
    return 'run'
  what = ('seeds' if entry.kind == runs_lib.KIND_SEEDS
          else 'settings (sweep/population)')
  return f'group of {len(entry.runs)} runs: {what}'


def _frames_range(scores: Sequence[final_lib.FinalScore]) -> str:
  frames = [s.frames for s in scores if s.frames is not None]
  if not frames:
    return NA
  low, high = min(frames), max(frames)
  return (fmt_frames(low) if low == high
          else f'{fmt_frames(low)}–{fmt_frames(high)}')


def _hns(level: runs_lib.Level, value: Optional[float]) -> Optional[float]:
  if value is None or level.family not in statistics.AGGREGATES:
    return None
  return float(statistics.hns(level.family, [level.key], np.array([value]))[0])


def _paper_value(level: runs_lib.Level, settings: Settings) -> Optional[float]:
  column = settings.column(level.family)
  return None if column is None else paper.paper_score(level.family, column,
                                                       level.key)


def _level_name(comparison: EntryComparison, level: runs_lib.Level) -> str:
  """The name the runs logged (the scoring key if it differs)."""
  for run in comparison.entry.runs:
    if level in run.training:
      name = run.training[level].name
      return name if name == level.key else f'{name} ({level.key})'
  return level.key


def _training_mean(c: EntryComparison, level: runs_lib.Level,
                   final_episodes: int) -> Optional[float]:
  """Mean over runs of the last training episodes' mean (None: none)."""
  scores = [final_lib.training_score(run, level, final_episodes)
            for run in c.entry.runs]
  means = [s.mean for s in scores if s is not None]
  return float(np.mean(means)) if means else None


def _level_row(c: EntryComparison, level: runs_lib.Level,
               settings: Settings) -> List[str]:
  """One row of the per-level table (columns as in levels_section)."""
  result = c.results[level]
  episodes, runs = c.over_episodes.get(level), c.over_runs.get(level)
  paper_value = _paper_value(level, settings)
  one_run = f'{NA} (1 run)' if len(result.per_run) < 2 else NA
  return [
      c.label, _level_name(c, level), fmt_return(result.mean),
      fmt_interval(None if episodes is None else
                   statistics.interval(episodes, settings.confidence)),
      fmt_interval(None if runs is None else
                   statistics.interval(runs, settings.confidence),
                   missing=one_run),
      result.source(len(c.entry.runs)), _frames_range(result.scores),
      fmt_return(_training_mean(c, level, settings.final_episodes)),
      fmt_percent(_hns(level, result.mean)), fmt_return(paper_value),
      fmt_percent(_hns(level, paper_value))]


# Sections.


def inputs_section(comparisons: Sequence[EntryComparison]) -> List[str]:
  rows = []
  for c in comparisons:
    runs = c.entry.runs
    frames = [r.frames for r in runs if r.frames is not None]
    evaluated = sum(r.evaluation is not None for r in runs)
    rows.append([c.label, f'`{c.entry.path}`', _kind_text(c.entry),
                 fmt_frames(max(frames)) if frames else 'no episode yet',
                 f'{evaluated} of {len(runs)}',
                 ', '.join(level.key for level in sorted(c.results)) or NA])
  return ['## Inputs', ''] + table(
      ['label', 'path', 'kind', 'frames (last training episode)',
       'runs with an evaluation', 'levels with a score'], rows) + ['']


def levels_section(comparisons: Sequence[EntryComparison],
                   settings: Settings) -> List[str]:
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
  return lines + table(
      ['run', 'level', 'our score', f'{conf} CI (episodes)',
       f'{conf} CI (runs)', 'source', 'frames',
       f'training (last {settings.final_episodes})', 'our HNS', 'paper',
       'paper HNS'], rows) + ['']


def _aggregate_rows(c: EntryComparison, family: str,
                    settings: Settings) -> List[List[str]]:
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
           fmt_percent(value), fmt_interval(ep_ci.get(name), True),
           fmt_interval(run_ci.get(name), True,
                        missing=f'{NA} (1 run)' if single else NA),
           fmt_percent(paper_subset[name]), fmt_percent(paper_all[name])]
          for name, value in point.items()]


def aggregates_section(comparisons: Sequence[EntryComparison],
                       settings: Settings) -> List[str]:
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
  lines += table(['run', 'suite', 'levels', 'aggregate', 'ours',
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


def curves_section(comparisons: Sequence[EntryComparison], settings: Settings,
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
    value = _paper_value(level, settings)
    reference = None if value is None else (
        value, paper.describe(level.family, settings.column(level.family)))
    filename = f'curve_{slug(level.key)}.png'
    plots.learning_curves(level.key, series, reference,
                          os.path.join(out_dir, filename), settings.smooth)
    lines += [f'![{level.key}]({filename})', '']
  return lines


def bars_section(comparisons: Sequence[EntryComparison], settings: Settings,
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


def differing_fields(configs: Sequence[Optional[dict]]) -> List[str]:
  """Config fields (but logdir) whose values differ between members."""
  known = [c for c in configs if c]
  keys = sorted({k for c in known for k in c} - {'logdir'})
  return [k for k in keys if len({repr(c.get(k)) for c in known}) > 1]


def sweep_section(c: EntryComparison, settings: Settings,
                  out_dir: str) -> List[str]:
  """Paper Table 2 statistic and Fig. E.2-style plot for a settings group."""
  best = statistics.TABLE2_BEST
  lines = [f'### {c.label}', '']
  configs = {run.name: run.config for run in c.entry.runs}
  fields = differing_fields(list(configs.values()))
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
        fmt_return(statistics.top_k_mean(finals, best)) + note,
        ', '.join(top), fmt_return(float(np.median(finals))),
        fmt_return(min(finals))])
    value = _paper_value(level, settings)
    reference = None if value is None else (
        value, paper.describe(level.family, settings.column(level.family)))
    filename = f'sweep_{slug(c.label)}_{slug(level.key)}.png'
    plots.sweep_finals(f'{c.label}: {level.key}, final return per setting',
                       names, finals, best, reference,
                       os.path.join(out_dir, filename))
    lines += [f'![{c.label} {level.key}]({filename})', '']
  lines = lines[:2] + table(
      ['level', 'members with a final score', f'mean of the best {best} '
       '(Table 2 statistic)', f'best {best}', 'median', 'worst'],
      summary_rows) + [''] + lines[2:]
  rng = np.random.default_rng(settings.seed)
  member_rows = []
  for run in c.entry.runs:
    config = run.config or {}
    finals = '; '.join(
        f'{level.key}: {score.mean:.2f} '
        f'{_episodes_interval(score, settings, rng)}'
        for level in sorted(c.results)
        for name, score in c.results[level].per_run if name == run.name)
    member_rows.append([run.name] + [fmt_value(config.get(k, NA))
                                     for k in fields] +
                       [finals or 'no score yet'])
  lines += ['Members (config fields that differ between them; the final '
            f'return with its {settings.confidence:.0%} bootstrap interval over '
            'its final episodes):', '']
  lines += table(['member'] + fields + ['final return'], member_rows) + ['']
  if arms_lib.has_repeated_arms(configs, fields):
    lines += arms_lines(c, settings, configs, fields)
  return lines


def _episodes_interval(score, settings: Settings, rng) -> str:
  samples = statistics.level_over_episodes(
      [score.returns], settings.num_resamples, rng)
  return '' if samples is None else fmt_interval(
      statistics.interval(samples, settings.confidence))


def arms_lines(c: EntryComparison, settings: Settings, configs,
               fields) -> List[str]:
  """The members pooled over seeds, best arm first, per level."""
  keys = arms_lib.arm_fields(fields)
  rng = np.random.default_rng(settings.seed)
  lines = [f'Arms (members that differ only in their seed, pooled; '
           f'{settings.confidence:.0%} bootstrap interval resampling the seeds '
           'and, inside each, the final episodes), best first:', '']
  for level in sorted(c.results):
    rows = []
    for values, count, mean, bounds, per_run in arms_lib.arm_rows(
        configs, keys, c.results[level], settings.num_resamples, rng,
        settings.confidence):
      rows.append([level.key] + [fmt_value(v) for v in values] + [
          str(count), fmt_return(mean), fmt_interval(bounds),
          ', '.join(f'{v:.2f}' for v in per_run)])
    lines += table(['level'] + keys + ['runs', 'mean final return',
                                       'interval', 'per run'], rows) + ['']
  return lines


def sweeps_section(comparisons: Sequence[EntryComparison], settings: Settings,
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
  return lines


def entry_notes(c: EntryComparison, settings: Settings) -> List[str]:
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


def build_markdown(comparisons: Sequence[EntryComparison], settings: Settings,
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
  lines += sweeps_section(comparisons, settings, out_dir)
  notes = [n for c in comparisons for n in entry_notes(c, settings)]
  lines += ['## Notes', '']
  lines += [f'- {n}' for n in notes] if notes else ['- None.']
  return '\n'.join(lines) + '\n'


def write_report(comparisons: Sequence[EntryComparison], out_dir: str,
                 settings: Settings, command: str) -> str:
  """Writes ``out_dir/report.md`` and its PNGs; returns the report's path."""
  os.makedirs(out_dir, exist_ok=True)
  text = build_markdown(comparisons, settings, out_dir, command)
  path = os.path.join(out_dir, REPORT_FILE)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return path
