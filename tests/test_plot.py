"""Learning-curve plotting from the CSV metrics mirror."""

import os
import subprocess
import sys

import numpy as np
import pytest

from impala_tf import plot

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _write_csv(path, rows, header='step,wall_time,tag,value'):
  with open(path, 'w', encoding='utf-8') as f:
    f.write(header + '\n')
    for step, tag, value in rows:
      f.write(f'{step},1700000000.000,{tag},{value}\n')


def _synthetic_rows(tasks=('pong', 'breakout'), n=200):
  rng = np.random.default_rng(0)
  rows = []
  for i in range(n):
    step = (i + 1) * 40_000
    rows.append((step, 'loss/total', float(rng.normal())))
    for k, task in enumerate(tasks):
      rows.append((step, f'episode_return/{task}',
                   float(k * 10 + i / 10 + rng.normal())))
  rows.append((n * 40_000, 'episode_return/pong', 'nan'))  # Skipped.
  return rows


def _run_cli(*args):
  return subprocess.run(
      [sys.executable, '-m', 'impala_tf.plot', *args], cwd=_REPO,
      capture_output=True, text=True, timeout=120, check=False)


def test_plot_learning_curve_writes_png(tmp_path):
  csv_path = tmp_path / 'metrics.csv'
  _write_csv(csv_path, _synthetic_rows())
  out = tmp_path / 'sub' / 'curve.png'
  counts = plot.plot_learning_curve(str(csv_path), str(out),
                                    'episode_return/', 0.9)
  assert counts == {'breakout': 200, 'pong': 200}
  data = out.read_bytes()
  assert data.startswith(_PNG_MAGIC) and len(data) > 10_000


def test_plot_many_tasks_and_no_smoothing(tmp_path):
  csv_path = tmp_path / 'metrics.csv'
  tasks = [f'game_{i:02d}' for i in range(57)]
  _write_csv(csv_path, _synthetic_rows(tasks, n=20))
  out = tmp_path / 'many.png'
  counts = plot.plot_learning_curve(csv_path, out, 'episode_return/', 0.0)
  assert len(counts) == 57
  assert out.read_bytes().startswith(_PNG_MAGIC)


def test_read_curves_sorts_filters_and_skips_bad_rows(tmp_path):
  csv_path = tmp_path / 'metrics.csv'
  _write_csv(csv_path, [(30, 'episode_return/a', 3.0),
                        (10, 'episode_return/a', 1.0),
                        (20, 'episode_return/a', 'inf'),
                        (20, 'episode_return/b', 5.0),
                        (20, 'loss/total', 9.0)])
  with open(csv_path, 'a', encoding='utf-8') as f:
    f.write('40,1.0,episode_return/a\n')  # Cut short by a crash.
  curves = plot.read_curves(csv_path, 'episode_return/')
  assert curves == {'a': ([10.0, 30.0], [1.0, 3.0]), 'b': ([20.0], [5.0])}


def test_smoothing_matches_tensorboard():
  assert plot.smooth_values([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
  # Debiased: a constant stays constant from the first point.
  assert plot.smooth_values([4.0] * 5, 0.9) == pytest.approx([4.0] * 5)
  s = plot.smooth_values([0.0, 10.0], 0.5)
  assert s == pytest.approx([0.0, 5.0 / 0.75])
  with pytest.raises(ValueError):
    plot.smooth_values([1.0], 1.0)


@pytest.mark.parametrize('content,message', [
    (None, 'No metrics file'),
    ('', 'is empty'),
    ('step,wall_time,tag,value\n', 'No tags starting with'),
    ('step,wall_time,tag,value\n1,1.0,loss/total,2.0\n',
     'No tags starting with'),
    ('step,wall_time,tag,value\n1,1.0,episode_return/a,nan\n',
     'No finite values'),
    ('a,b\n1,2\n', 'has no column'),
])
def test_read_curves_errors(tmp_path, content, message):
  csv_path = tmp_path / 'metrics.csv'
  if content is not None:
    csv_path.write_text(content, encoding='utf-8')
  with pytest.raises(plot.PlotError, match=message):
    plot.read_curves(csv_path, 'episode_return/')


def test_cli_saves_to_default_path(tmp_path):
  _write_csv(tmp_path / 'metrics.csv', _synthetic_rows(n=30))
  result = _run_cli('--logdir', str(tmp_path), '--smooth', '0.6')
  assert result.returncode == 0, result.stderr
  out = tmp_path / 'learning_curve.png'
  assert out.read_bytes().startswith(_PNG_MAGIC)
  assert str(out) in result.stdout


def test_cli_tag_prefix_and_out(tmp_path):
  _write_csv(tmp_path / 'metrics.csv', _synthetic_rows(n=30))
  out = tmp_path / 'loss.png'
  result = _run_cli('--logdir', str(tmp_path), '--out', str(out),
                    '--tag_prefix', 'loss/')
  assert result.returncode == 0, result.stderr
  assert out.stat().st_size > 0
  assert '1 task(s)' in result.stdout


def test_cli_missing_csv_fails_cleanly(tmp_path):
  result = _run_cli('--logdir', str(tmp_path / 'nope'))
  assert result.returncode == 1
  assert 'No metrics file' in result.stderr
  assert 'Traceback' not in result.stderr + result.stdout
  assert not (tmp_path / 'nope').exists()


def test_cli_no_matching_tags_fails_cleanly(tmp_path):
  _write_csv(tmp_path / 'metrics.csv', [(1, 'loss/total', 1.0)])
  result = _run_cli('--logdir', str(tmp_path))
  assert result.returncode == 1
  assert "No tags starting with 'episode_return/'" in result.stderr
  assert 'Traceback' not in result.stderr + result.stdout
  assert not (tmp_path / 'learning_curve.png').exists()


def test_cli_bad_smooth_fails_cleanly(tmp_path):
  _write_csv(tmp_path / 'metrics.csv', _synthetic_rows(n=5))
  result = _run_cli('--logdir', str(tmp_path), '--smooth', '1.5')
  assert result.returncode == 1
  assert 'smooth must be in [0, 1)' in result.stderr
  assert 'Traceback' not in result.stderr + result.stdout
