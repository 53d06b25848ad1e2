"""The benchmark binary produces every row (tiny durations; no speed asserts)."""

import json
import os
import subprocess
import sys

import pytest

from impala_tf import benchmarks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pipeline_bound_is_the_harmonic_composition():
  assert benchmarks.pipeline_bound(100.0, 100.0, 100.0) == pytest.approx(
      100.0 / 3)
  assert benchmarks.pipeline_bound(1000.0, 1e12, 1e12) == pytest.approx(
      1000.0)


def test_benchmark_binary_writes_all_rows(tmp_path):
  out_json, out_md = tmp_path / 'bench.json', tmp_path / 'bench.md'
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.benchmark', '--seconds=2',
       '--warmup_seconds=4', '--num_actors=4', '--batch_size=4',
       '--unroll_length=5', '--dmlab_unroll_length=5',
       f'--output_json={out_json}', f'--output_md={out_md}'],
      cwd=REPO, capture_output=True, text=True, timeout=400)
  assert result.returncode == 0, result.stderr[-3000:]
  payload = json.loads(out_json.read_text())
  rows = [r['row'] for r in payload['rows']]
  assert any(r.startswith('environment alone') for r in rows)
  assert sum(r.startswith('inference alone') for r in rows) == 2
  assert sum(r.startswith('learner alone') for r in rows) == 4
  assert any(r.startswith('end-to-end') for r in rows)
  assert rows[-1].startswith('multi-process')
  for row in payload['rows'][:-1]:
    assert row['agent_steps_per_second'] > 0
    assert row['frames_per_second'] == pytest.approx(
        4 * row['agent_steps_per_second'])
  bound = payload['pipeline_bound']
  assert bound['percent'] == pytest.approx(
      100 * bound['end_to_end'] / bound['bound'])
  assert payload['system']['cores'] == os.cpu_count()
  assert payload['peak_rss_megabytes'] > 0
  assert 'Pipeline bound' in out_md.read_text()


def test_bad_row_name_is_one_clear_error():
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.benchmark', '--rows=gpu'],
      cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode != 0
  assert '--rows: unknown' in result.stderr and 'Traceback' not in (
      result.stderr)
