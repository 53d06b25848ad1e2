"""The throughput benchmark: fixed-work rows, CPU accounting, the compute
limit, the distributed rows (child processes, their CPU and their clean-up),
the projection, and flag errors. No test asserts a speed: work is fixed,
times only appear in structural checks (> 0, ordering) and generous hang
guards."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from absl import flags as absl_flags
import pytest

from impala_tf import benchmarks
from impala_tf import flags as flags_lib
from impala_tf import signal_flags
from impala_tf.benchmarks import distributed
from impala_tf.benchmarks import projection
from impala_tf.benchmarks import report
from impala_tf.benchmarks import watched_learner
from impala_tf.benchmarks.measure import parse_proc_stat
from impala_tf.benchmarks.window import UpdateWindow
from impala_tf.config import Config
from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Fixed, small work per row: --seconds=0 and --warmup_seconds=0 make the rows
# stop on work alone, however slow or loaded the machine is.
FIXED_WORK = ['--seconds=0', '--warmup_seconds=0', '--warmup_updates=1',
              '--min_env_steps=40', '--min_inference_calls=2',
              '--min_learner_updates=1', '--min_end_to_end_updates=2',
              '--num_actors=4', '--batch_size=4', '--unroll_length=5',
              '--dmlab_unroll_length=5']
ONE_PROCESS_ROWS = '--rows=env,inference,learner,end_to_end'


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


def _run_benchmark(tmp_path, *flags):
  """Runs the binary with FIXED_WORK and ``flags``; (payload, table)."""
  out_json, out_md = tmp_path / 'bench.json', tmp_path / 'bench.md'
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.benchmark'] + FIXED_WORK +
      list(flags) + [f'--output_json={out_json}', f'--output_md={out_md}'],
      cwd=REPO, capture_output=True, text=True, timeout=1200)  # Hang guard.
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(out_json.read_text()), out_md.read_text()


def _check_row_values(row):
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


def _running(pid):
  """True if ``pid`` is a live (not zombie) impala_tf process. A child in the
  middle of its exec (seen on a loaded machine right after it was started)
  has an empty command line for a moment: that counts as running too."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      stat = f.read()
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      command = f.read()
  except (FileNotFoundError, ProcessLookupError):
    return False
  return stat[stat.rindex(')') + 2] not in 'ZX' and (
      not command or b'impala_tf' in command)


def test_benchmark_binary_writes_the_one_process_rows_with_fixed_work(
    tmp_path):
  payload, table = _run_benchmark(tmp_path, ONE_PROCESS_ROWS)
  rows = [r['row'] for r in payload['rows']]
  assert sum(r.startswith('environment alone') for r in rows) == 2
  assert sum(r.startswith('inference alone') for r in rows) == 2
  assert sum(r.startswith('learner alone') for r in rows) == 4
  assert sum(r.startswith('end-to-end') for r in rows) == 1
  assert len(rows) == 9 and payload['projection'] is None
  for row in payload['rows']:
    _check_row_values(row)
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
  assert '| CPU ms / agent step | cores busy |' in table
  assert 'Compute limit' in table and 'Serial composition' in table
  assert 'of the compute limit' in table
  assert 'Projection' not in table


# Measured updates of the distributed rows: more than the learner's queue,
# staging area and pending pushes hold (about 6 updates of 4 x 5 here), so
# that the actor processes' CPU is measured over real work, not a few ticks.
DISTRIBUTED_UPDATES = 12
DISTRIBUTED_NAMES = {
    (1, 1): 'distributed: learner + 1 actor process, pong, shallow, 4 actors',
    (1, 2): 'distributed: learner + 2 actor processes, pong, shallow, 4 actors',
    (1, 4): 'distributed: learner + 4 actor processes, pong, shallow, 4 actors',
    (2, 2): 'distributed: 2 learners + 2 actor processes, pong, shallow, 4 '
            'actors'}


def _check_distributed_rows(payload, table, shapes):
  """Structure of the distributed rows ``shapes`` [(learners, actors)], their
  CPU sums over every process, the projection, and that no child is left."""
  rows = [r for r in payload['rows'] if r['row'].startswith('distributed')]
  assert [r['row'] for r in rows] == [DISTRIBUTED_NAMES[s] for s in shapes]
  for row, (learners, actors) in zip(rows, shapes):
    _check_row_values(row)
    assert (row['num_learners'], row['num_actor_processes']) == (learners,
                                                                 actors)
    assert row['agent_steps'] >= DISTRIBUTED_UPDATES * 4 * 5
    children = row['children']
    assert [c['group'] for c in children] == (['learners'] * learners +
                                              ['actors'] * actors)
    assert len({c['pid'] for c in children}) == learners + actors
    assert os.getpid() not in {c['pid'] for c in children}
    # Every child had run (imported TensorFlow, built a network) by the end
    # of the window, and the row's CPU is the sum over all processes.
    assert all(c['cpu_seconds_at_window_end'] > 0 for c in children)
    assert all(c['window_cpu_seconds'] >= 0 for c in children)
    for group, key in (('learners', 'learner'), ('actors', 'actor')):
      assert row[f'{key}_cpu_seconds'] == pytest.approx(sum(
          c['window_cpu_seconds'] for c in children if c['group'] == group))
    assert row['learner_cpu_seconds'] > 0  # The updates ran in a child.
    # More updates than the queue and staging area can buffer: the actor
    # processes had to act during the window (>= 4 unrolls of 5 steps).
    assert row['actor_cpu_seconds'] > 0
    assert row['cpu_seconds'] == pytest.approx(
        row['learner_cpu_seconds'] + row['actor_cpu_seconds'] +
        row['coordinator_cpu_seconds'])
    assert row['cpu_seconds'] > row['coordinator_cpu_seconds']
    assert row['learner_cpu_ms_per_agent_step'] == pytest.approx(
        1000 * row['learner_cpu_seconds'] / row['agent_steps'])
    assert row['actor_cpu_ms_per_agent_step'] == pytest.approx(
        1000 * row['actor_cpu_seconds'] / row['agent_steps'])
    assert len(row['learner_addresses']) == learners
    assert all(a.startswith('127.0.0.1:') for a in row['learner_addresses'])
    assert 'learner' in row['note'] and 'actors' in row['note']
    for child in children:
      assert child['exit_code'] is not None  # Stopped and reaped.
      assert not _running(child['pid']), child
  single = [r for r in rows if r['num_learners'] == 1]
  learner_ms, actor_ms = projection.costs_of_rows(single)
  expected = projection.project(learner_ms, actor_ms, 4)
  assert payload['projection'] == dict(
      expected, source=payload['projection']['source'])
  assert payload['projection']['source'].startswith('k = ' + ', '.join(
      str(r['num_actor_processes']) for r in single) + ',')
  assert [r['cpus'] for r in payload['projection']['paper_rows']] == [
      150, 375, 500]
  assert 'Projection from CPU costs measured here (not a measurement)' in (
      table)
  assert '| IMPALA (optimised), batch 128 | 500 | 250,000 |' in table


# Slow: The distributed runtime has its own default tests; this one checks
# the benchmark's rows for it.
@pytest.mark.slow
def test_benchmark_binary_writes_distributed_rows_and_stops_every_child(
    tmp_path):
  payload, table = _run_benchmark(
      tmp_path, '--rows=distributed', '--actor_processes=1',
      '--two_learners', f'--min_end_to_end_updates={DISTRIBUTED_UPDATES}')
  _check_distributed_rows(payload, table, [(1, 1), (2, 2)])
  assert payload['limits'] is None
  assert payload['flags']['actor_processes'] == ['1']


@pytest.mark.slow
def test_benchmark_binary_writes_every_row_with_fixed_work(tmp_path):
  payload, table = _run_benchmark(  # Default rows: all of them.
      tmp_path, f'--min_end_to_end_updates={DISTRIBUTED_UPDATES}')
  _check_distributed_rows(payload, table, [(1, 1), (1, 2), (1, 4), (2, 2)])
  assert len(payload['rows']) == 9 + 4
  for row in payload['rows']:
    _check_row_values(row)
  assert payload['limits']['percent_of_compute_limit'] > 0


def _wait_until_busy(pids, cpu_seconds, timeout):
  """Waits (hang guard ``timeout``) until every pid used ``cpu_seconds``."""
  deadline = time.monotonic() + timeout
  while any(benchmarks.proc_cpu_seconds(pid) < cpu_seconds for pid in pids):
    assert time.monotonic() < deadline, 'children never got going'
    time.sleep(0.2)


# Ctrl-C at once (children still starting), SIGTERM once every child has
# loaded TensorFlow and installed its own signal handlers.
@pytest.mark.parametrize('signum, exit_code, name, busy_cpu_seconds', [
    (signal.SIGINT, 130, 'Ctrl-C', 0.0),
    (signal.SIGTERM, 143, 'SIGTERM', 3.0)])
def test_interrupted_benchmark_stops_its_child_processes(
    signum, exit_code, name, busy_cpu_seconds):
  command = [sys.executable, '-m', 'impala_tf.benchmark', '--rows=distributed',
             '--actor_processes=2', '--notwo_learners', '--seconds=600',
             '--warmup_seconds=600', '--num_actors=4', '--batch_size=4',
             '--unroll_length=5']
  with Child(command, cwd=REPO) as child:
    child.stdout.wait_for(': started ', timeout=600)  # Hang guard.
    started = [line for line in child.stdout.text().splitlines()
               if ': started ' in line][0]
    pids = [int(part.split(')')[0]) for part in started.split('(pid ')[1:]]
    assert len(pids) == 3
    assert all(_running(pid) for pid in pids)
    _wait_until_busy(pids, busy_cpu_seconds, timeout=600)
    child.send_signal(signum)
    assert child.wait(timeout=300) == exit_code  # Hang guard.
    _, stderr = child.output()
  assert not [pid for pid in pids if _running(pid)]
  assert stderr.strip().splitlines()[-1] == (
      f'impala_tf.benchmark: interrupted ({name}); the rows\' child '
      'processes were stopped.')


@pytest.mark.parametrize('signum, args', [
    (signal.SIGINT, ()), (signal.SIGTERM, ('SIGTERM',)),
    (signal.SIGHUP, ('SIGHUP',))])
def test_signals_during_a_row_are_raised_only_at_safe_points(signum, args):
  before = {s: signal.getsignal(s) for s in signal_flags.RaiseLater.SIGNALS}
  with pytest.raises(KeyboardInterrupt) as raised:
    with signal_flags.RaiseLater() as interrupts:
      os.kill(os.getpid(), signum)
      time.sleep(0.1)  # Delivered here, but nothing is raised...
      assert interrupts.received == signum
      os.kill(os.getpid(), signal.SIGINT)  # (A second one changes nothing.)
      time.sleep(0.1)
      assert interrupts.received == signum
      interrupts.raise_if_received()  # ...until the row asks.
  assert raised.value.args == args
  assert {s: signal.getsignal(s) for s in before} == before


def test_a_signal_the_row_did_not_raise_is_raised_on_leaving_it():
  with pytest.raises(KeyboardInterrupt):
    with signal_flags.RaiseLater():
      os.kill(os.getpid(), signal.SIGINT)
      time.sleep(0.1)
  with signal_flags.RaiseLater() as interrupts:  # None: nothing raised.
    pass
  assert interrupts.received is None


def test_children_get_sigterm_then_sigkill_and_are_always_reaped(tmp_path):
  ignores_sigterm = ('import signal, sys, time\n'
                     'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                     'print("ready", flush=True)\n'
                     'time.sleep(600)\n')
  polite = 'import time\nprint("ready", flush=True)\ntime.sleep(600)\n'
  with pytest.raises(RuntimeError, match='a failure'):
    with distributed.Children(str(tmp_path), grace_secs=0.5) as children:
      stubborn = children.start('stubborn', 'a',
                                [sys.executable, '-c', ignores_sigterm],
                                pipe_stdout=True)
      children.start('polite', 'b', [sys.executable, '-c', polite])
      assert stubborn.stdout.readline() == 'ready\n'  # Its handler is set.
      assert children.pids_by_group() == {
          'a': [stubborn.pid], 'b': [children.summary()[1]['pid']]}
      assert children.first_exited() is None
      raise RuntimeError('a failure')
  codes = {c['name']: c['exit_code'] for c in children.summary()}
  assert codes == {'stubborn': -signal.SIGKILL, 'polite': -signal.SIGTERM}
  assert not any(_running(c['pid']) for c in children.summary())


@pytest.mark.parametrize('script, message', [
    ('exit 3', 'code 3'),  # Every process of the row fails at once.
    ('exec sleep 600', r'no learner update for 1s \(--distributed_timeout_'
                       r'secs\) after 0 updates'),  # A hung row.
])
def test_a_failing_distributed_row_reports_and_stops_every_child(
    tmp_path, script, message):
  fake_python = tmp_path / 'python'  # Stands in for every child process.
  fake_python.write_text(f'#!/bin/sh\necho "starting $2"\n{script}\n')
  fake_python.chmod(0o755)
  logged = []
  config = Config(level_name='pong', num_actors=4, batch_size=4,
                  unroll_length=5)
  with pytest.raises(RuntimeError, match=message) as failure:
    distributed.measure_distributed(
        config, 2, 2, min_seconds=0, min_updates=1, warmup_seconds=0,
        warmup_updates=1, timeout_secs=1, grace_secs=5,
        python=str(fake_python), log=lambda line, **_: logged.append(line))
  assert str(failure.value).startswith('2 learners + 2 actor processes: ')
  pids = [int(part.split(')')[0]) for part in logged[0].split('(pid ')[1:]]
  assert len(pids) == 4
  for pid in pids:  # Stopped and reaped: no such process any more.
    assert not os.path.exists(f'/proc/{pid}'), pid


def test_read_groups_adds_every_child_to_this_process():
  code = ('total = 0\n'
          'for i in range(2_000_000):\n'
          '  total += i * i\n'
          'print("done", flush=True)\n'
          'import sys; sys.stdin.read()\n')
  child = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
  try:
    assert child.stdout.readline() == 'done\n'
    reading = distributed.read_groups({'workers': [child.pid], 'none': []})
  finally:
    child.stdin.close()
    child.wait(timeout=60)
  assert reading.by_pid[child.pid] > 0
  assert reading.groups == {'workers': reading.by_pid[child.pid], 'none': 0}
  assert reading.cpu == pytest.approx(reading.own + reading.by_pid[child.pid])
  assert reading.own <= time.process_time()
  later = reading._replace(cpu=reading.cpu + 0.75, own=reading.own + 0.25,
                           groups={'workers': reading.groups['workers'] + 0.5,
                                   'none': 0})
  assert distributed.cpu_split(reading, later) == pytest.approx(
      {'workers': 0.5, 'none': 0, 'this process': 0.25})


def test_free_port_pairs_do_not_overlap_and_are_free():
  ports = distributed.free_port_pairs(3)
  taken = {p for port in ports for p in (port, port + 1)}
  assert len(taken) == 6
  for port in sorted(taken):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
      s.bind(('127.0.0.1', port))  # Free now (nothing else races here).


def test_train_flags_rebuild_the_config():
  config = Config(level_name='pong', num_actors=6, batch_size=4, xla=True,
                  sticky_actions=0.25, checkpoint_secs=1e9, dataset_path='',
                  full_action_space=False, logdir='/tmp/a b')
  flag_values = absl_flags.FlagValues()
  flags_lib.define_config_flags(flag_values)
  flag_values(['train'] + distributed.train_flags(config))
  assert flags_lib.config_from_flags(flag_values) == config
  assert distributed.cluster_flags(['h:1', 'h:3'], 2) == [
      '--learner_addresses=h:1,h:3', '--num_actor_processes=2']


def test_update_lines_round_trip_and_other_lines_are_ignored():
  line = watched_learner.update_line(3, 240)
  assert watched_learner.parse_update_line(line) == (3, 240)
  assert watched_learner.parse_update_line(line + '\n') == (3, 240)
  for other in ('[learner 0] serving actors at 127.0.0.1:5',
                'impala_tf.benchmark update x 1', '',
                'impala_tf.benchmark updates 1 2'):
    assert watched_learner.parse_update_line(other) is None


def test_projection_from_hand_numbers():
  # 0.25 learner ms and 2.0 actor ms per agent step, 4 frames per step.
  p = projection.project(learner_ms=0.25, actor_ms=2.0, frames_per_step=4)
  assert p['learner_core_agent_steps_per_second'] == pytest.approx(4000)
  assert p['learner_core_frames_per_second'] == pytest.approx(16000)
  assert p['actor_core_agent_steps_per_second'] == pytest.approx(500)
  assert p['actor_core_frames_per_second'] == pytest.approx(2000)
  assert p['actor_cores_absorbed_per_learner_core'] == pytest.approx(8)
  first, second, third = p['paper_rows']
  assert (first['cpus'], first['paper_frames_per_second']) == (150, 80000)
  assert (second['cpus'], second['paper_frames_per_second']) == (375, 200000)
  assert (third['cpus'], third['paper_frames_per_second']) == (500, 250000)
  assert first['paper_frames_per_second_per_cpu'] == pytest.approx(
      80000 / 150)
  assert first['actor_frames_per_second'] == pytest.approx(150 * 500 * 4)
  assert first['learner_cores_needed'] == pytest.approx(150 / 8)
  assert first['learner_core_percent_of_paper'] == pytest.approx(20.0)
  assert third['learner_cores_needed'] == pytest.approx(62.5)
  assert third['learner_core_percent_of_paper'] == pytest.approx(6.4)
  with pytest.raises(ValueError, match='actor_ms'):
    projection.project(learner_ms=1.0, actor_ms=0.0, frames_per_step=4)


def test_pooled_costs_weigh_rows_by_agent_steps():
  rows = [dict(agent_steps=1000, learner_cpu_seconds=0.5,
               actor_cpu_seconds=1.0),
          dict(agent_steps=3000, learner_cpu_seconds=0.5,
               actor_cpu_seconds=7.0)]
  # (0.5 + 0.5) s / 4000 steps = 0.25 ms; (1 + 7) s / 4000 = 2 ms.
  assert projection.costs_of_rows(rows) == pytest.approx((0.25, 2.0))
  with pytest.raises(ValueError, match='agent_steps'):
    projection.pooled_cpu_ms([1.0], [0])


def test_project_rows_pools_only_the_one_learner_rows():
  rows = [dict(row='end-to-end', agent_steps=10),
          dict(num_learners=1, num_actor_processes=1, agent_steps=1000,
               learner_cpu_seconds=0.5, actor_cpu_seconds=1.0),
          dict(num_learners=1, num_actor_processes=4, agent_steps=3000,
               learner_cpu_seconds=0.5, actor_cpu_seconds=7.0),
          dict(num_learners=2, num_actor_processes=2, agent_steps=10,
               learner_cpu_seconds=99.0, actor_cpu_seconds=99.0)]
  p = projection.project_rows(rows, frames_per_step=4)
  assert p == dict(projection.project(0.25, 2.0, 4),
                   source='k = 1, 4, pooled by agent steps')
  assert projection.project_rows(rows[:1] + rows[3:], 4) is None
  idle = [dict(rows[1], actor_cpu_seconds=0.0)]  # Under one clock tick.
  assert 'too short for the CPU clock' in (
      projection.project_rows(idle, 4)['unavailable'])
  lines = report.projection_lines(projection.project_rows(idle, 4))
  assert lines[0].startswith(
      'No projection: the learner + k rows measured 0.500 learner and 0.000 '
      'actor CPU ms per agent step')


@pytest.mark.parametrize('flag, message', [
    ('--rows=gpu', "--rows: unknown ['gpu']"),
    ('--min_env_steps=-5', '--min_env_steps must be >= 1, got -5.'),
    ('--min_learner_updates=0', '--min_learner_updates must be >= 1, got 0.'),
    ('--warmup_updates=-1', '--warmup_updates must be >= 1, got -1.'),
    ('--seconds=-1', '--seconds must be >= 0, got -1.0.'),
    ('--actor_processes=1,0', "--actor_processes: '0' is not a count"),
    ('--actor_processes=64', "--actor_processes: '64' is not a count of "
     'actor processes from 1 to --num_actors (32).'),
    ('--batch_size=5', '--two_learners needs --num_actors >= 2 and an even '
     '--batch_size'),
    ('--distributed_timeout_secs=0', '--distributed_timeout_secs must be > 0'),
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
