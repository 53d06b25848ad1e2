"""The throughput benchmark: fixed-work rows, CPU accounting, the compute
limit, and flag errors. No test asserts a speed: work is fixed, times only
appear in structural checks (> 0, ordering) and generous hang guards."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from impala_tf import benchmarks
from impala_tf.benchmarks.measure import parse_proc_stat
from impala_tf.benchmarks.rows import UpdateWindow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Fixed, small work per row: --seconds=0 and --warmup_seconds=0 make the rows
# stop on work alone, however slow or loaded the machine is.
FIXED_WORK = ['--seconds=0', '--warmup_seconds=0', '--warmup_updates=1',
              '--min_env_steps=40', '--min_inference_calls=2',
              '--min_learner_updates=1', '--min_end_to_end_updates=2',
              '--num_actors=4', '--batch_size=4', '--unroll_length=5',
              '--dmlab_unroll_length=5']


def _burn(iterations):
  """Fixed CPU work: a pure-Python loop (holds the GIL, so one core)."""
  total = 0
  for i in range(iterations):
    total += i * i
  return total


def test_compute_limit_of_the_paper_sized_example():
  # 0.60 + 0.24 + 0.22 = 1.06 CPU ms per agent step on 2 cores.
  assert benchmarks.compute_limit([0.60, 0.24, 0.22], 2) == pytest.approx(
      2000 / 1.06)
  assert round(benchmarks.compute_limit([0.60, 0.24, 0.22], 2)) == 1887
  assert benchmarks.compute_limit([1.0], 1) == pytest.approx(1000.0)


def test_serial_composition_is_the_harmonic_composition():
  assert benchmarks.serial_composition([100.0, 100.0, 100.0]) == (
      pytest.approx(100.0 / 3))
  assert benchmarks.serial_composition([1000.0, 1e12, 1e12]) == (
      pytest.approx(1000.0))


def test_measurement_rates_cpu_per_step_and_cores_busy():
  m = benchmarks.Measurement(agent_steps=2000, wall_seconds=4.0,
                             cpu_seconds=6.0, frames_per_step=4)
  assert m.agent_steps_per_second == 500.0
  assert m.frames_per_second == 2000.0
  assert m.cpu_ms_per_agent_step == pytest.approx(3.0)
  assert m.cores_busy == pytest.approx(1.5)
  with pytest.raises(ValueError, match='wall_seconds'):
    benchmarks.Measurement(agent_steps=1, wall_seconds=0.0, cpu_seconds=0.0)


def test_end_to_end_limits_from_row_values():
  m = benchmarks.Measurement
  env = m(agent_steps=3000, wall_seconds=1.0, cpu_seconds=1.80)  # 0.60 ms
  inference = m(agent_steps=5000, wall_seconds=1.0, cpu_seconds=1.20)
  learner = m(agent_steps=10000, wall_seconds=1.0, cpu_seconds=2.20)
  end_to_end = m(agent_steps=1780, wall_seconds=1.0, cpu_seconds=1.9)
  limits = benchmarks.end_to_end_limits(env, inference, learner, end_to_end,
                                        cores=2)
  assert limits['cpu_ms_per_agent_step'] == pytest.approx(
      dict(env=0.60, inference=0.24, learner=0.22, sum=1.06))
  assert round(limits['compute_limit']) == 1887
  assert limits['end_to_end'] == 1780
  assert limits['end_to_end_cpu_ms_per_agent_step'] == pytest.approx(
      1.9 / 1.78)
  assert limits['end_to_end_cores_busy'] == pytest.approx(1.9)
  assert limits['percent_of_compute_limit'] == pytest.approx(
      100 * 1780 * 1.06 / 2000)
  assert round(limits['percent_of_compute_limit']) == 94
  assert limits['environment_alone'] == 3000
  assert limits['percent_of_environment_alone'] == pytest.approx(
      100 * 1780 / 3000)
  serial = 1 / (1 / 3000 + 1 / 5000 + 1 / 10000)
  assert limits['serial_composition'] == pytest.approx(serial)
  assert limits['percent_of_serial_composition'] == pytest.approx(
      100 * 1780 / serial)
  without = benchmarks.end_to_end_limits(env, inference, learner, None, 2)
  assert 'percent_of_compute_limit' not in without
  assert without['compute_limit'] == limits['compute_limit']


def test_update_window_needs_both_updates_and_seconds():
  read = benchmarks.ClockReading
  window = UpdateWindow(warmup_updates=2, warmup_seconds=1.0, min_updates=2,
                        min_seconds=0.5)
  # (wall, cpu, frames) after each update; frames_per_step 4.
  samples = [(10.0, 0.0, 40), (10.2, 0.1, 80),   # 2 updates, 0.2 s: warm.
             (11.0, 0.5, 120),                    # Warm-up ends here.
             (11.1, 0.7, 160), (11.2, 0.9, 200),  # 2 updates but 0.2 s.
             (11.6, 1.5, 240),                    # Both: the window ends.
             (12.0, 2.0, 280)]
  done = [window.add(read(wall, cpu), frames)
          for wall, cpu, frames in samples]
  assert done == [False, False, False, False, False, True, True]
  measured = window.measurement(frames_per_step=4)
  assert measured.agent_steps == (240 - 120) / 4
  assert measured.wall_seconds == pytest.approx(0.6)
  assert measured.cpu_seconds == pytest.approx(1.0)
  assert measured.notes == f'{3 / 0.6:.2f} updates/s'
  with pytest.raises(ValueError, match='warmup_updates'):
    UpdateWindow(warmup_updates=0, warmup_seconds=0, min_updates=1,
                 min_seconds=0)


def test_parse_proc_stat_with_spaces_and_parentheses_in_the_name():
  fields = ['S'] + [str(i) for i in range(4, 53)]  # fields 3..52
  fields[14 - 3], fields[15 - 3] = '1234', '56'
  text = '4242 (a (weird) name) ' + ' '.join(fields) + '\n'
  assert parse_proc_stat(text) == (1234, 56)


def test_proc_cpu_seconds_of_a_child_doing_fixed_work():
  cores = benchmarks.usable_cores()[0]
  code = ('import sys\n'
          'total = 0\n'
          'for i in range(3_000_000):\n'
          '  total += i * i\n'
          'print("done", flush=True)\n'
          'sys.stdin.read()\n')
  start = time.perf_counter()
  child = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
  try:
    readings = [benchmarks.proc_cpu_seconds(child.pid)]
    done = []
    reader = threading.Thread(
        target=lambda: done.append(child.stdout.readline()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300  # Hang guard only.
    while reader.is_alive() and time.monotonic() < deadline:
      readings.append(benchmarks.proc_cpu_seconds(child.pid))
      time.sleep(0.02)
    assert done == ['done\n']
    readings.append(benchmarks.proc_cpu_seconds(child.pid))
    wall = time.perf_counter() - start
    own_before = time.process_time()
    combined = benchmarks.cpu_seconds([child.pid])
  finally:
    child.stdin.close()
    child.wait(timeout=60)
  assert all(a <= b for a, b in zip(readings, readings[1:]))  # Monotonic.
  assert readings[-1] > 0
  assert readings[-1] <= wall * cores + 0.05  # 0.05: clock-tick rounding.
  # This process (time.process_time) plus the child, not the child twice.
  assert combined >= own_before + readings[-1]
  assert benchmarks.cpu_seconds([os.getpid()]) <= time.process_time()
  with pytest.raises(ProcessLookupError, match=str(child.pid)):
    benchmarks.proc_cpu_seconds(child.pid)  # Exited and reaped.


def test_cpu_seconds_counts_every_thread_of_this_process():
  worker_cpu = []

  def work():
    begin = time.thread_time()
    _burn(2_000_000)
    worker_cpu.append(time.thread_time() - begin)

  before = benchmarks.cpu_seconds()
  stat_before = benchmarks.proc_cpu_seconds(os.getpid())
  thread = threading.Thread(target=work)
  thread.start()
  thread.join(timeout=300)
  after = benchmarks.cpu_seconds()
  stat_after = benchmarks.proc_cpu_seconds(os.getpid())
  assert worker_cpu and worker_cpu[0] > 0
  # The worker's CPU (it measured itself) is in this process's CPU time,
  # although the measuring thread was idle meanwhile; /proc agrees.
  assert after - before >= worker_cpu[0]
  assert after - before == pytest.approx(stat_after - stat_before, abs=0.05)


def test_usable_cores_prefers_the_affinity():
  cores, source = benchmarks.usable_cores()
  assert source == 'sched_getaffinity'
  assert cores == len(os.sched_getaffinity(0))


def test_end_to_end_stops_once_both_minimums_are_met(monkeypatch):
  # The time path (min_seconds > 0): the update callback ends the run at the
  # update that completes the window.
  from impala_tf.benchmarks import rows  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
  train, calls, raised_at = rows.training_loop.train, [], []

  def recording_train(config, **kwargs):
    callback = kwargs.pop('on_update')

    def on_update(frames, stats):
      calls.append(frames)
      try:
        callback(frames, stats)
      except Exception:
        raised_at.append(len(calls))
        raise

    return train(config, on_update=on_update, **kwargs)

  monkeypatch.setattr(rows.training_loop, 'train', recording_train)
  # A finite frame budget, so that a run the callback fails to stop ends.
  config = Config(level_name='catch', num_action_repeats=1, num_actors=2,
                  actor_threads=1, batch_size=2, unroll_length=5,
                  total_environment_frames=20_000)
  measured = rows.measure_end_to_end(config, min_seconds=0.01, min_updates=2,
                                     warmup_seconds=0.01, warmup_updates=1)
  assert raised_at == [len(calls)]  # Stopped by the callback, at once.
  assert measured.agent_steps >= 2 * 2 * 5
  assert measured.wall_seconds >= 0.01
  assert measured.cpu_seconds > 0


def test_benchmark_binary_writes_all_rows_with_fixed_work(tmp_path):
  out_json, out_md = tmp_path / 'bench.json', tmp_path / 'bench.md'
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.benchmark'] + FIXED_WORK +
      [f'--output_json={out_json}', f'--output_md={out_md}'],
      cwd=REPO, capture_output=True, text=True, timeout=1200)  # Hang guard.
  assert result.returncode == 0, result.stderr[-3000:]
  payload = json.loads(out_json.read_text())
  rows = [r['row'] for r in payload['rows']]
  assert sum(r.startswith('environment alone') for r in rows) == 2
  assert sum(r.startswith('inference alone') for r in rows) == 2
  assert sum(r.startswith('learner alone') for r in rows) == 4
  assert sum(r.startswith('end-to-end') for r in rows) == 1
  assert rows[-1].startswith('multi-process')
  placeholder = payload['rows'][-1]
  assert placeholder['agent_steps_per_second'] is None
  assert placeholder['cpu_ms_per_agent_step'] is None
  assert 'placeholder' in placeholder['note']
  for row in payload['rows'][:-1]:
    assert row['agent_steps'] > 0 and row['wall_seconds'] > 0
    assert row['cpu_seconds'] > 0
    assert row['agent_steps_per_second'] == pytest.approx(
        row['agent_steps'] / row['wall_seconds'])
    assert row['frames_per_second'] == pytest.approx(
        4 * row['agent_steps_per_second'])
    assert row['cpu_ms_per_agent_step'] == pytest.approx(
        1000 * row['cpu_seconds'] / row['agent_steps'])
    assert row['cores_busy'] == pytest.approx(
        row['cpu_seconds'] / row['wall_seconds'])
  by_name = {r['row']: r for r in payload['rows']}
  env = by_name['environment alone: pong, 4 envs (ale-py vector env)']
  assert env['agent_steps'] >= 40
  assert by_name['inference alone: shallow, batch 2']['agent_steps'] >= 2 * 2
  assert by_name['learner alone: shallow, Atari 4x5']['agent_steps'] >= 20
  end_to_end = by_name['end-to-end: pong, shallow, 4 actors in 2 threads']
  assert end_to_end['agent_steps'] >= 2 * 4 * 5
  limits = payload['limits']
  assert limits['cores'] == len(os.sched_getaffinity(0))
  assert limits['cpu_ms_per_agent_step']['env'] == pytest.approx(
      env['cpu_ms_per_agent_step'])
  assert limits['compute_limit'] == pytest.approx(benchmarks.compute_limit(
      [limits['cpu_ms_per_agent_step'][k]
       for k in ('env', 'inference', 'learner')], limits['cores']))
  assert limits['percent_of_compute_limit'] == pytest.approx(
      100 * end_to_end['agent_steps_per_second'] / limits['compute_limit'])
  assert limits['percent_of_environment_alone'] == pytest.approx(
      100 * end_to_end['agent_steps_per_second'] /
      env['agent_steps_per_second'])
  assert payload['system']['cores'] == len(os.sched_getaffinity(0))
  assert payload['system']['cpu_count'] == os.cpu_count()
  assert payload['peak_rss_megabytes'] > 0
  assert payload['flags']['seconds'] == 0
  table = out_md.read_text()
  assert '| CPU ms / agent step | cores busy |' in table
  assert 'Compute limit' in table and 'Serial composition' in table
  assert 'of the compute limit' in table


@pytest.mark.parametrize('flag, message', [
    ('--rows=gpu', "--rows: unknown ['gpu']"),
    ('--min_env_steps=-5', '--min_env_steps must be >= 1, got -5.'),
    ('--min_learner_updates=0', '--min_learner_updates must be >= 1, got 0.'),
    ('--warmup_updates=-1', '--warmup_updates must be >= 1, got -1.'),
    ('--seconds=-1', '--seconds must be >= 0, got -1.0.'),
])
def test_bad_flag_is_one_clear_line(flag, message):
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.benchmark', flag],
      cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith('impala_tf.benchmark: error: ')
  assert message in lines[0]
