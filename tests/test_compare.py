"""impala_tf.compare: our runs beside the paper's tables.

Expected values are computed by hand here from the reference scores
(human, random) and paper Table C.1 / B.1 numbers written out below.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from impala_tf import compare
from impala_tf.comparison import comparing
from impala_tf.comparison import corrections
from impala_tf.comparison import final
from impala_tf.comparison import plots
from impala_tf.comparison import runs
from impala_tf.comparison import statistics

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FIXTURES = os.path.join(_REPO, 'tests', 'fixtures', 'compare')
_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

# (human, random) from impala_tf/scoring/data, and paper Table C.1
# impala_shallow_expert, typed out so that the test does not reuse the code
# under test.
PONG = (14.6, -20.7, 20.4)
BREAKOUT = (30.5, 1.7, 640.43)
SEAQUEST = (42054.7, 68.4, 1716.9)
# DMLab-30 (human, random) and Table B.1 impala_experts_deep.
WATERMAZE = (54.0, 4.065, 26.9)
GOOD_OBJECTS = (10.0, 0.073, 9.0)


def hns(x, ref):
  human, random = ref[0], ref[1]
  return 100.0 * (x - random) / (human - random)


def write_run(path, returns_by_level, config=None, start_step=1000,
              step=1000, extra=''):
  """A run directory whose metrics.csv has the given episode returns."""
  os.makedirs(path, exist_ok=True)
  lines = ['step,wall_time,tag,value']
  frame = start_step
  longest = max((len(v) for v in returns_by_level.values()), default=0)
  for i in range(longest):
    for level, returns in returns_by_level.items():
      if i < len(returns):
        lines.append(f'{frame},1700000000.0,episode_return/{level},'
                     f'{returns[i]}')
        lines.append(f'{frame},1700000000.0,episode_length/{level},100')
    lines.append(f'{frame},1700000000.0,loss/total,0.1')
    frame += step
  with open(os.path.join(path, 'metrics.csv'), 'w') as f:
    f.write('\n'.join(lines) + '\n' + extra)
  if config is not None:
    with open(os.path.join(path, 'config.json'), 'w') as f:
      json.dump(config, f)
  return str(path)


def write_eval(path, level, returns, num_frames=50_000):
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'summary.json'), 'w') as f:
    json.dump({'checkpoint': 'checkpoints/ckpt-1', 'num_frames': num_frames,
               'levels': {level: {'episodes': len(returns),
                                  'mean_return': float(np.mean(returns))}}},
              f)
  with open(os.path.join(path, 'episodes.csv'), 'w') as f:
    f.write('level,episode,return,length\n')
    for i, r in enumerate(returns):
      f.write(f'{level},{i},{r},1000\n')
  return str(path)


def settings(**kwargs):
  kwargs.setdefault('num_resamples', 200)
  return comparing.Settings(**kwargs)


def read_report(out):
  with open(os.path.join(out, 'report.md'), encoding='utf-8') as f:
    return f.read()


SCORES = '## Scores per level'
AGGREGATES = '## Aggregates'
SWEEPS = '## Sweeps'


def section(text, heading):
  """The report's text from ``heading`` to the next '## ' heading."""
  assert heading in text, f'no {heading!r} in:\n{text}'
  rest = text.split(heading, 1)[1]
  return rest.split('\n## ', 1)[0]


def row_of(text, *cells, heading=SCORES):
  """The first table row of a section containing all ``cells`` as cells."""
  for line in section(text, heading).splitlines():
    parts = [p.strip() for p in line.strip().strip('|').split('|')]
    if line.startswith('|') and all(c in parts for c in cells):
      return parts
  raise AssertionError(f'no row with {cells} in:\n{text}')


def run_binary(*args):
  return subprocess.run(
      [sys.executable, '-m', 'impala_tf.compare', *args], cwd=_REPO,
      capture_output=True, text=True, timeout=300, check=False)


# (a) Hand-made logs, values by hand.


def test_three_atari_games_table_and_aggregates_by_hand(tmp_path):
  # Last 4 episodes: pong mean 0, breakout mean 30, seaquest mean 1000.
  run = write_run(tmp_path / 'run', {
      'pong': [-21, -21, -2, 2, -1, 1],
      'breakout': [0, 0, 29, 31, 28, 32],
      'seaquest': [0, 5, 1000, 1000, 900, 1100]})
  out = str(tmp_path / 'out')
  compare.run([run], out, settings(final_episodes=4))
  text = read_report(out)

  pong, breakout, seaquest = hns(0, PONG), hns(30, BREAKOUT), hns(1000,
                                                                   SEAQUEST)
  assert pong == pytest.approx(58.64, abs=0.01)
  row = row_of(text, 'run', 'pong')
  assert row[2] == '0.00' and row[8] == f'{pong:.1f}%'
  assert row[9] == '20.40' and row[10] == f'{hns(20.4, PONG):.1f}%'
  assert row[5] == 'training, last 4 episodes'
  assert row_of(text, 'run', 'breakout')[8] == f'{breakout:.1f}%'
  assert row_of(text, 'run', 'seaquest')[2] == '1000.00'

  # Median of 3 = the middle one (pong); mean of the three.
  median = row_of(text, 'run', 'Atari-57', 'median HNS', heading=AGGREGATES)
  assert median[2] == '3 of 57'
  assert median[4] == f'{pong:.1f}%'
  paper = sorted([hns(PONG[2], PONG), hns(BREAKOUT[2], BREAKOUT),
                  hns(SEAQUEST[2], SEAQUEST)])
  assert median[7] == f'{paper[1]:.1f}%'  # Paper, same 3 games.
  assert median[8] == '93.2%'  # Paper Table 4, shallow experts.
  mean = row_of(text, 'run', 'Atari-57', 'mean HNS', heading=AGGREGATES)
  assert mean[4] == f'{(pong + breakout + seaquest) / 3:.1f}%'
  assert mean[7] == f'{sum(paper) / 3:.1f}%'
  assert '54 missing: alien, amidar' in text
  assert 'breakout' not in text.split('54 missing:')[1].split('\n')[0]


def test_dmlab_mean_capped_by_hand_and_train_level_names(tmp_path):
  # 60 is above human (54) on watermaze: capped at 100.
  run = write_run(tmp_path / 'run', {
      'rooms_watermaze': [60.0, 60.0],
      'rooms_collect_good_objects_train': [5.0, 7.0]})
  comparison = comparing.compare_entry(runs.load_entry(run),
                                    settings(final_episodes=100))
  scores = comparison.suite_scores('dmlab30')
  assert scores == {'rooms_watermaze': 60.0,
                    'rooms_collect_good_objects_test': 6.0}
  point = statistics.subset_aggregates('dmlab30', scores)
  expected = (100.0 + hns(6.0, GOOD_OBJECTS)) / 2
  assert hns(60.0, WATERMAZE) > 100
  assert point == {'mean capped HNS': pytest.approx(expected)}
  out = str(tmp_path / 'out')
  compare.run([run], out, settings())
  text = read_report(out)
  row = row_of(text, 'run', 'DMLab-30', 'mean capped HNS',
                heading=AGGREGATES)
  assert row[4] == f'{expected:.1f}%'
  paper = (hns(WATERMAZE[2], WATERMAZE) + hns(GOOD_OBJECTS[2],
                                              GOOD_OBJECTS)) / 2
  assert row[7] == f'{paper:.1f}%'
  assert row[8] == '44.4%'  # Table B.1 experts, recomputed (Table 3: 44.5).
  level_row = row_of(text, 'run',
                     'rooms_collect_good_objects_train '
                     '(rooms_collect_good_objects_test)')
  assert level_row[9] == '9.00'


def test_table2_statistic_of_hand_made_sweep(tmp_path):
  sweep = tmp_path / 'sweep'
  finals = {'member_00': 10.0, 'member_01': 50.0, 'member_02': 30.0,
            'member_03': 20.0, 'member_04': 40.0}
  for i, (name, value) in enumerate(finals.items()):
    # Early episodes are poor; the last 10 average exactly ``value``.
    write_run(sweep / name,
              {'rooms_watermaze': [0.0] * 5 + [value - 1, value + 1] * 5},
              config={'level_name': 'rooms_watermaze', 'seed': 1,
                      'learning_rate': 1e-4 * (i + 1),
                      'logdir': str(sweep / name)})
  entry = runs.load_entry(str(sweep))
  assert entry.kind == runs.KIND_SETTINGS and len(entry.runs) == 5
  assert statistics.top_k_mean(list(finals.values())) == 40.0
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings(final_episodes=10))
  text = read_report(out)
  row = row_of(text, 'rooms_watermaze', '5 of 5', heading=SWEEPS)
  assert row[2] == '40.00'  # (50 + 40 + 30) / 3.
  assert row[3] == ('member_01 (50.00), member_04 (40.00), '
                    'member_02 (30.00)')
  assert row[5] == '10.00'
  member = row_of(text, 'member_03', heading=SWEEPS)
  assert member[1] == '0.0004'  # The learning_rate column.
  # Mean over all 5 settings in the main table.
  assert row_of(text, 'sweep', 'rooms_watermaze')[2] == '30.00'
  with open(os.path.join(out, 'sweep_sweep_rooms_watermaze.png'), 'rb') as f:
    assert f.read(8) == _PNG_MAGIC


def test_arms_pool_seeds_best_first_by_hand(tmp_path):
  sweep = tmp_path / 'sweep'
  # (correction, seed) -> the final 10 episodes' mean.
  finals = {('vtrace', 1): 30.0, ('vtrace', 2): 50.0,
            ('no-correction', 1): 10.0, ('no-correction', 2): 20.0}
  for i, ((correction, seed), value) in enumerate(finals.items()):
    name = f'member_{i:02d}'
    write_run(sweep / name,
              {'rooms_watermaze': [0.0] * 5 + [value - 1, value + 1] * 5},
              config={'level_name': 'rooms_watermaze', 'seed': seed,
                      'correction': correction, 'learning_rate': 1e-4,
                      'logdir': str(sweep / name)})
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings(final_episodes=10))
  full = read_report(out)
  arms = section(full, SWEEPS).split('Arms (', 1)[1]
  rows = [[p.strip() for p in line.strip().strip('|').split('|')]
          for line in arms.splitlines() if line.startswith('| rooms')]
  assert [row[1] for row in rows] == ['vtrace', 'no-correction']  # Best first.
  assert rows[0][2:4] == ['2', '40.00'] and rows[0][5] == '30.00, 50.00'
  assert rows[1][2:4] == ['2', '15.00'] and rows[1][5] == '10.00, 20.00'
  for row, (low_limit, high_limit) in zip(rows, [(29.0, 51.0), (9.0, 21.0)]):
    low, high = (float(v) for v in row[4].strip('[]').split(', '))
    # Inside the range of the runs' episodes, and around the mean.
    assert low_limit <= low < float(row[3]) < high <= high_limit
  member = row_of(full, 'member_01', heading=SWEEPS)
  assert member[-1].startswith('rooms_watermaze: 50.00 [')


def test_sweep_without_seeds_has_no_arms_table(tmp_path):
  sweep = tmp_path / 'sweep'
  for i, correction in enumerate(['vtrace', 'no-correction']):
    write_run(sweep / f'member_{i:02d}', {'pong': [float(i)] * 5},
              config={'level_name': 'pong', 'seed': 1,
                      'correction': correction,
                      'logdir': str(sweep / f'member_{i:02d}')})
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings())
  assert 'Arms (' not in read_report(out)


def _corrections_table(text, level):
  """{correction: [cells]} of the Table 2 layout for ``level``."""
  part = section(text, SWEEPS).split('laid out as paper Table 2', 1)[1]
  part = part.split(f'\n{level}:\n', 1)[1].split('\n\n- ', 1)[0]
  rows = [[p.strip() for p in line.strip().strip('|').split('|')]
          for line in part.splitlines() if line.startswith('| ')]
  return rows[0], {row[0]: row[1:] for row in rows[1:]}


def test_corrections_sweep_is_laid_out_as_table2_by_hand(tmp_path):
  sweep = tmp_path / 'sweep'
  # (correction, replay capacity, seed) -> the final 4 episodes' mean; every
  # episode equals it, so each interval is that value exactly.
  # Members of the replay column come first: columns are in numeric order.
  finals = {('no-correction', 100, 1): 2.0, ('no-correction', 100, 2): 4.0,
            ('vtrace', 100, 1): 5.0, ('vtrace', 100, 2): 5.0,
            ('vtrace', 0, 1): 6.0, ('vtrace', 0, 2): 8.0,
            ('1-step-is', 0, 1): 9.0, ('1-step-is', 0, 2): 9.0,
            ('no-correction', 0, 1): 1.0, ('no-correction', 0, 2): 3.0}
  for i, ((correction, replay, seed), value) in enumerate(finals.items()):
    name = f'member_{i:02d}'
    config = {'level_name': 'breakout', 'seed': seed,
              'correction': correction, 'replay_capacity': replay,
              'logdir': str(sweep / name),
              # Differ, but do not change what a run learns: not columns.
              'progress_secs': float(i), 'experiment': 'sweep'}
    if i == 0:
      del config['experiment']  # As written by an older version.
    # One arm is still running: its last episode came at 2,500 frames, not
    # 4,000 (1,000 + 3 steps of 500 instead of 1,000).
    step = 500 if (correction, replay) == ('no-correction', 100) else 1000
    write_run(sweep / name, {'breakout': [value] * 4}, config=config,
              step=step)
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings(final_episodes=4))
  text = read_report(out)
  header, rows = _corrections_table(text, 'breakout')
  assert header == ['correction', 'replay_capacity 0', 'replay_capacity 100']
  # Rows in the paper's order; means pooled over the 2 seeds by hand.
  assert list(rows) == ['vtrace', '1-step-is', 'no-correction']
  assert rows['vtrace'] == ['7.00 [6.00, 8.00] (#2, 2 runs)',
                           '5.00 [5.00, 5.00] (#1, 2 runs)']
  assert rows['1-step-is'] == ['9.00 [9.00, 9.00] (#1, 2 runs)', '—']
  assert rows['no-correction'] == [
      '2.00 [1.00, 3.00] (#3, 2 runs)',
      '3.00 [2.00, 4.00] (#2, 2 runs, only 2.5K frames)']
  assert ('- replay_capacity 0: 1-step-is > vtrace > no-correction'
          in text)
  assert '- replay_capacity 100: vtrace > no-correction' in text
  members = section(text, SWEEPS).split('Members (', 1)[1]
  header_line = [line for line in members.splitlines()
                 if line.startswith('| member')][0]
  assert header_line == ('| member | correction | replay_capacity | seed | '
                         'final return |')
  assert row_of(text, 'member_00', heading=SWEEPS)[-1] == (
      'breakout: 2.00 [2.00, 2.00] at 2.5K frames')
  assert row_of(text, 'member_04', heading=SWEEPS)[-1].endswith(
      ' at 4.0K frames')
  # The paper's Table 2 follows, with its ranks (typed from section 5.2.2).
  paper_part = text.split('Paper Table 2', 1)[1]
  assert '| vtrace | 47.1 (#2) | 35.8 (#1) | 34.5 (#1) | 250.8 (#1) | ' \
      '46.9 (#1) |' in paper_part
  assert ('- first with replay: vtrace in 4 of 5 tasks, 1-step-is in 1 of 5 '
          'tasks.') in paper_part
  assert ('- first without replay: vtrace in 3 of 5 tasks, 1-step-is in 2 '
          'of 5 tasks.') in paper_part


def test_a_sweep_of_other_fields_has_no_corrections_table(tmp_path):
  sweep = tmp_path / 'sweep'
  for i in range(2):
    write_run(sweep / f'member_{i:02d}', {'pong': [float(i)] * 5},
              config={'level_name': 'pong', 'learning_rate': 1e-4 * (i + 1),
                      'logdir': str(sweep / f'member_{i:02d}')})
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings())
  text = read_report(out)
  assert 'laid out as paper Table 2' not in text
  assert 'Paper Table 2' not in text


def test_settings_of_a_sweep_not_started_yet_are_named(tmp_path):
  sweep = tmp_path / 'sweep'
  for i in range(2):
    write_run(sweep / f'member_{i:02d}', {'pong': [float(i)] * 5},
              config={'level_name': 'pong', 'learning_rate': 1e-4 * (i + 1),
                      'logdir': str(sweep / f'member_{i:02d}')})
  (sweep / 'sweep.json').write_text(json.dumps(
      {'version': 1, 'settings': [{}] * 5}))
  out = str(tmp_path / 'out')
  compare.run([str(sweep)], out, settings())
  notes = section(read_report(out), '## Notes')
  assert ('sweep.json lists 5 settings; 3 of them have no run directory yet '
          '(not started)') in notes


def test_ranks_share_the_best_rank_on_ties():
  assert corrections.ranks({'a': 1.0, 'b': 3.0, 'c': 1.0, 'd': 0.5}) == {
      'a': 2, 'b': 1, 'c': 2, 'd': 4}


def test_two_stage_bootstrap():
  rng = np.random.default_rng(0)
  one = statistics.over_runs_and_episodes([np.array([1.0, 3.0])], 500, rng)
  assert set(np.unique(one)) <= {1.0, 2.0, 3.0}  # Episodes only.
  constant = statistics.over_runs_and_episodes(
      [np.full(4, 10.0), np.full(4, 20.0)], 2000, rng)
  assert set(np.unique(constant)) == {10.0, 15.0, 20.0}  # Seeds only.
  assert abs(constant.mean() - 15.0) < 0.5
  assert statistics.over_runs_and_episodes([np.array([])], 10, rng) is None


def test_top_k_mean_with_fewer_members_than_k():
  assert statistics.top_k_mean([4.0, 2.0]) == 3.0
  assert statistics.top_k_mean([1.0, 9.0, 5.0, 7.0], k=2) == 8.0


def test_seeds_group_is_not_a_sweep_and_has_run_intervals(tmp_path):
  group = tmp_path / 'seeds'
  for seed, level_mean in enumerate([0.0, 2.0, 4.0]):
    write_run(group / f'seed_{seed}', {'pong': [level_mean] * 5},
              config={'level_name': 'pong', 'seed': seed,
                      'logdir': str(group / f'seed_{seed}')})
  entry = runs.load_entry(str(group))
  assert entry.kind == runs.KIND_SEEDS
  comparison = comparing.compare_entry(entry, settings())
  level = runs.Level('atari57', 'pong')
  assert comparison.results[level].mean == 2.0
  low, high = statistics.interval(comparison.over_runs[level], 0.95)
  assert 0.0 <= low < 2.0 < high <= 4.0
  # Constant episodes: no spread over episodes.
  assert statistics.interval(comparison.over_episodes[level], 0.95) == (2.0,
                                                                        2.0)
  out = str(tmp_path / 'out')
  compare.run([str(group)], out, settings())
  text = read_report(out)
  assert 'group of 3 runs: seeds' in text
  assert 'Table 2 statistic' not in text


def test_bootstrap_interval_contains_estimate_and_shrinks():
  rng = np.random.default_rng(7)
  many = rng.normal(10.0, 3.0, size=2000)
  few = many[:20]
  widths = []
  for returns in (few, many):
    samples = statistics.level_over_episodes(
        [returns], 1000, np.random.default_rng(0))
    low, high = statistics.interval(samples, 0.95)
    assert low < returns.mean() < high
    widths.append(high - low)
  assert widths[1] < widths[0] / 3  # sqrt(100) = 10 times in theory.
  # Same seed, same interval.
  again = statistics.level_over_episodes([few], 1000, np.random.default_rng(0))
  first = statistics.level_over_episodes([few], 1000, np.random.default_rng(0))
  assert np.array_equal(again, first)


def test_aggregate_interval_contains_point_estimate(tmp_path):
  rng = np.random.default_rng(3)
  run = write_run(tmp_path / 'run', {
      'pong': list(rng.normal(5, 4, 100)),
      'breakout': list(rng.normal(30, 10, 100)),
      'seaquest': list(rng.normal(900, 300, 100))})
  comparison = comparing.compare_entry(runs.load_entry(run), settings())
  point = statistics.subset_aggregates('atari57',
                                       comparison.suite_scores('atari57'))
  samples = {lv.key: s for lv, s in comparison.over_episodes.items()}
  intervals = statistics.aggregate_intervals('atari57', samples, 0.95)
  for name, value in point.items():
    low, high = intervals[name]
    assert low < value < high, name


def test_evaluation_is_preferred_and_eval_dir_elsewhere(tmp_path):
  run = write_run(tmp_path / 'run', {'pong': [-21.0, -20.0, 18.0]})
  eval_dir = write_eval(tmp_path / 'elsewhere', 'pong', [19.0, 20.0, 21.0])
  out = str(tmp_path / 'out')
  compare.run([run], out, settings(), eval_dirs=[eval_dir])
  row = row_of(read_report(out), 'run', 'pong')
  assert row[2] == '20.00' and row[5] == 'evaluation, 3 episodes'
  assert row[6] == '50.0K' and row[7] == '-7.67'  # Training column.
  # Without --eval_dir the run's own eval/ is not there: training.
  compare.run([run], out, settings())
  row = row_of(read_report(out), 'run', 'pong')
  assert row[5] == 'training, only 3 episodes (< 100)'
  # An eval/ inside the run is found by itself.
  write_eval(os.path.join(run, 'eval'), 'pong', [10.0, 12.0])
  compare.run([run], out, settings())
  assert row_of(read_report(out), 'run', 'pong')[2] == '11.00'


def test_partial_and_running_runs_do_not_crash(tmp_path):
  group = tmp_path / 'sweep'
  write_run(group / 'member_00', {'pong': [1.0, 2.0]},
            extra='99000,1700000000.0,episode_return/pong,')  # Cut short.
  write_run(group / 'member_01', {})  # Header and losses only.
  os.makedirs(group / 'member_02' / 'checkpoints')  # No metrics.csv yet.
  with open(group / 'member_02' / 'config.json', 'w') as f:
    f.write('{"level_name": "pong", "learning_rate": 0.1')  # Half written.
  os.makedirs(group / 'notes')  # Not a run: ignored.
  out = str(tmp_path / 'out')
  _, notes = compare.run([str(group)], out, settings())
  text = read_report(out)
  row = row_of(text, 'sweep', 'pong')
  assert row[2] == '1.50'
  assert row[5] == 'training, < 100 episodes (1 of 3 runs)'
  joined = ' '.join(notes)
  assert 'member_02 has no metrics.csv' in joined
  assert 'No finished training episode in' in joined
  assert 'config.json cannot be read' in joined
  assert '2 of 3 runs have no score yet (member_01, member_02)' in joined
  assert 'sweep/member_00, pong: only 2 training episodes' in text


def test_mean_band_ignores_runs_outside_their_frames():
  curves = [(np.array([0.0, 10.0]), np.array([0.0, 10.0])),
            (np.array([0.0, 5.0]), np.array([2.0, 2.0]))]
  grid, mean, std, count = plots.mean_band(curves, num_points=3)
  np.testing.assert_allclose(grid, [0.0, 5.0, 10.0])
  np.testing.assert_allclose(mean, [1.0, 3.5, 10.0])
  np.testing.assert_allclose(std, [1.0, 1.5, 0.0])
  np.testing.assert_array_equal(count, [2, 2, 1])


def test_final_score_takes_the_last_episodes(tmp_path):
  run = runs.read_run(write_run(tmp_path / 'run', {'pong': [1, 2, 3, 4, 5]}))
  score = final.final_score(run, runs.Level('atari57', 'pong'), 2)
  assert score.mean == 4.5 and not score.few
  score = final.final_score(run, runs.Level('atari57', 'pong'), 9)
  assert score.mean == 3.0 and score.few


# (b) Fixtures: a real short Catch run and a tiny hand-made Atari run.


def test_report_from_fixtures(tmp_path):
  out = str(tmp_path / 'out')
  result = run_binary(os.path.join(_FIXTURES, 'atari_run'),
                      os.path.join(_FIXTURES, 'catch_run'),
                      '--label=atari,catch', '--final_episodes=3',
                      f'--out={out}')
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  text = read_report(out)
  for heading in ('## Inputs', '## Scores per level', '## Aggregates',
                  '## Learning curves', '## Notes'):
    assert heading in text
  # Training: last 3 pong episodes (-19, -18, -17); the cut-short last row
  # is skipped.
  pong = row_of(text, 'atari', 'pong')
  assert pong[2] == '-18.00' and pong[8] == f'{hns(-18.0, PONG):.1f}%'
  breakout = row_of(text, 'atari', 'breakout')  # From eval/.
  assert breakout[2] == '30.00' and breakout[5] == 'evaluation, 3 episodes'
  assert breakout[7] == '4.00'  # Training (2, 4, 6).
  seaquest = row_of(text, 'atari', 'seaquest')
  assert seaquest[5] == 'training, only 2 episodes (< 3)'
  median = row_of(text, 'atari', 'Atari-57', 'median HNS',
                  heading=AGGREGATES)
  assert median[4] == f'{hns(-18.0, PONG):.1f}%'
  assert median[2] == '3 of 57'
  assert 'space_invaders' in text.split('54 missing:')[1]
  # The real Catch run: the mean of its last 3 training episodes.
  with open(os.path.join(_FIXTURES, 'catch_run', 'metrics.csv')) as f:
    catch = [float(line.rsplit(',', 1)[1]) for line in f
             if ',episode_return/catch,' in line]
  assert len(catch) > 1000
  catch_row = row_of(text, 'catch', 'catch')
  assert catch_row[2] == f'{np.mean(catch[-3:]):.2f}'
  assert catch_row[8] == '—' and catch_row[9] == '—'
  assert 'catch is neither an Atari-57 game nor a DMLab-30 level' in text
  for png in ('curve_pong.png', 'curve_breakout.png', 'curve_seaquest.png',
              'curve_catch.png', 'bars_atari57.png'):
    assert f']({png})' in text
    with open(os.path.join(out, png), 'rb') as f:
      assert f.read(8) == _PNG_MAGIC, png


# (c) Bad input: one sentence, no traceback.


def _write_config_only(path):
  os.makedirs(path)
  with open(os.path.join(path, 'config.json'), 'w') as f:
    f.write('{"level_name": "pong"}')


@pytest.mark.parametrize('case, expected', [
    ('missing', 'does not exist.'),
    ('file', 'is a file; give a run directory'),
    ('empty', 'is neither a run directory'),
    ('eval_as_run', 'is an evaluation directory; give its run directory '
     'with --eval_dir='),
    ('no_metrics', 'nothing to compare: '),
    ('no_out', '--out is required'),
    ('labels', '--label: 2 items for 1 directory;'),
    ('column', "--paper_column: unknown column 'impala_huge'"),
    ('eval_dir', 'has no summary.json'),
    ('final_episodes', '--final_episodes must be >= 1, got 0.'),
    ('no_args', 'give at least one run or group directory'),
])
def test_bad_input_is_one_sentence(tmp_path, case, expected):
  good = os.path.join(_FIXTURES, 'atari_run')
  out = f'--out={tmp_path / "out"}'
  args = {
      'missing': [str(tmp_path / 'nope'), out],
      'file': [os.path.join(good, 'metrics.csv'), out],
      'empty': [str(tmp_path), out],
      'eval_as_run': [os.path.join(good, 'eval'), out],
      'no_metrics': [str(tmp_path / 'fresh'), out],
      'no_out': [good],
      'labels': [good, '--label=a,b', out],
      'column': [good, '--paper_column=impala_huge', out],
      'eval_dir': [good, f'--eval_dir={tmp_path}', out],
      'final_episodes': [good, '--final_episodes=0', out],
      'no_args': [out],
  }[case]
  if case == 'no_metrics':
    _write_config_only(str(tmp_path / 'fresh'))
  result = run_binary(*args)
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith('impala_tf.compare: error: ')
  assert expected in lines[0]
  if case == 'no_metrics':
    assert 'has no metrics.csv' in lines[0]
  assert not os.path.exists(tmp_path / 'out' / 'report.md')


def test_seeds_of_one_setting_are_seeds_whatever_they_print_or_save():
  seeds = [{'seed': 1, 'progress_secs': 5.0, 'logdir': 'a'},
           {'seed': 2, 'progress_secs': 60.0, 'logdir': 'b',
            'experiment': 'train'}]
  assert not runs.settings_differ(seeds)
  assert runs.settings_differ(seeds + [{'seed': 3, 'learning_rate': 1.0}])
