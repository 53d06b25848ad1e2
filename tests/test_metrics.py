"""Episode statistics, the TensorBoard/CSV writer and the progress line."""

import csv
import glob
import json
import math
import os
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import metrics
from impala_tf.metrics import EpisodeStats
from impala_tf.metrics import MetricsWriter
from impala_tf.metrics import ProgressLine

# ----------------------------------------------------------------- episodes


def test_recent_mean_is_none_before_any_episode():
  stats = EpisodeStats(['pong', 'breakout'])
  assert stats.recent_mean() is None
  assert stats.recent_mean(0) is None
  assert stats.count(0) == 0
  assert stats.drain_new() == []


def test_window_keeps_only_last_episodes_per_task():
  stats = EpisodeStats(['a', 'b'], window=3)
  for r in [1.0, 2.0, 3.0, 4.0, 5.0]:
    stats.record(0, r, 10)
  stats.record(1, 100.0, 7)
  assert stats.recent_mean(0) == pytest.approx((3 + 4 + 5) / 3)
  assert stats.recent_mean(1) == 100.0
  # None pools every task's recent window: 3, 4, 5 and 100.
  assert stats.recent_mean() == pytest.approx((3 + 4 + 5 + 100) / 4)
  assert stats.recent_means() == {'a': pytest.approx(4.0), 'b': 100.0}
  assert stats.count(0) == 5 and stats.count(1) == 1 and stats.count() == 6
  assert stats.total_return(0) == 15.0
  assert stats.total_length(0) == 50 and stats.total_length() == 57
  assert stats.recent_mean_length(1) == 7


def test_drain_returns_each_episode_once_in_order():
  stats = EpisodeStats(['pong', 'breakout'], window=2)
  stats.record(0, -21.0, 800)
  stats.record(1, 3.0, 200)
  stats.record(np.int64(0), -20.0, 900)  # NumPy ids are fine.
  assert stats.drain_new() == [('pong', -21.0, 800), ('breakout', 3.0, 200),
                               ('pong', -20.0, 900)]
  assert stats.drain_new() == []
  stats.record(1, 5.0, 10)
  assert stats.drain_new() == [('breakout', 5.0, 10)]
  # Draining does not touch the windows or counts.
  assert stats.count(0) == 2 and stats.recent_mean(0) == -20.5


def test_pending_queue_is_bounded():
  stats = EpisodeStats(['a'], max_pending=3)
  for i in range(5):
    stats.record(0, float(i), 1)
  assert [r for _, r, _ in stats.drain_new()] == [2.0, 3.0, 4.0]
  assert stats.dropped_pending == 2
  assert stats.count(0) == 5


def test_invalid_arguments():
  with pytest.raises(ValueError):
    EpisodeStats([])
  with pytest.raises(ValueError):
    EpisodeStats(['a', 'a'])
  with pytest.raises(ValueError):
    EpisodeStats(['a'], window=0)
  stats = EpisodeStats(['a', 'b'])
  with pytest.raises(IndexError):
    stats.record(2, 1.0, 1)
  with pytest.raises(IndexError):
    stats.record(-1, 1.0, 1)
  with pytest.raises(TypeError):
    stats.record(1.0, 1.0, 1)
  with pytest.raises(IndexError):
    stats.recent_mean(5)


def test_concurrent_recording_loses_nothing():
  # Switch threads very often so that a missing lock would show.
  old_interval = sys.getswitchinterval()
  sys.setswitchinterval(1e-6)
  try:
    _record_concurrently()
  finally:
    sys.setswitchinterval(old_interval)


def _record_concurrently():
  num_threads, per_thread = 8, 10_000
  stats = EpisodeStats([f't{i}' for i in range(4)], window=50)
  drained = []
  errors = []
  stop = threading.Event()

  def guarded(fn):
    def run(*args):
      try:
        fn(*args)
      except Exception as e:  # pylint: disable=broad-except
        errors.append(e)
    return run

  @guarded
  def actor(k):
    for i in range(per_thread):
      stats.record(k % 4, float(k * per_thread + i), 1)

  @guarded
  def learner():  # Reads and drains concurrently, as the learner loop does.
    while not stop.is_set():
      drained.extend(stats.drain_new())
      stats.recent_mean()
      stats.state_dict()

  learner_thread = threading.Thread(target=learner)
  learner_thread.start()
  actors = [threading.Thread(target=actor, args=(k,))
            for k in range(num_threads)]
  for t in actors:
    t.start()
  for t in actors:
    t.join(timeout=30)
  stop.set()
  learner_thread.join(timeout=30)
  assert not any(t.is_alive() for t in actors + [learner_thread])
  assert not errors, errors
  drained.extend(stats.drain_new())

  total = num_threads * per_thread
  assert stats.count() == total
  assert stats.total_length() == total
  assert len(drained) == total
  assert sorted(r for _, r, _ in drained) == [float(x) for x in range(total)]
  for task in range(4):
    assert stats.count(task) == total // 4
    assert len(stats.state_dict()['recent_returns'][task]) == 50


def test_state_dict_round_trip_through_json_is_exact():
  stats = EpisodeStats(['pong', 'breakout', 'qbert'], window=4)
  rng = np.random.default_rng(0)
  for _ in range(23):
    stats.record(int(rng.integers(0, 2)), float(rng.normal()),
                 int(rng.integers(1, 1000)))
  stats.record(0, float('nan'), 5)  # Non-finite returns survive too.
  stats.drain_new()
  stats.record(1, 2.5, 3)  # Pending at save time.

  state = json.loads(json.dumps(stats.state_dict()))
  restored = EpisodeStats(['pong', 'breakout', 'qbert'], window=4)
  restored.load_state_dict(state)

  assert json.dumps(restored.state_dict()) == json.dumps(stats.state_dict())
  for task in (1, 2):
    assert restored.recent_mean(task) == stats.recent_mean(task)
  assert math.isnan(restored.recent_mean(0))
  assert restored.count() == stats.count()
  assert restored.drain_new() == [('breakout', 2.5, 3)]
  # The windows continue: one more episode pushes the oldest out the same way.
  stats.record(1, 9.0, 1)
  restored.record(1, 9.0, 1)
  assert restored.recent_mean(1) == stats.recent_mean(1)


def test_load_state_dict_checks_tasks_and_allows_a_smaller_window():
  stats = EpisodeStats(['a', 'b'], window=5)
  for i in range(5):
    stats.record(0, float(i), 1)
  with pytest.raises(ValueError, match='tasks'):
    EpisodeStats(['b', 'a']).load_state_dict(stats.state_dict())
  small = EpisodeStats(['a', 'b'], window=2)
  small.load_state_dict(stats.state_dict())
  assert small.recent_mean(0) == 3.5  # The last two: 3, 4.
  assert small.count(0) == 5


# ------------------------------------------------------------------ writer


def _read_events(logdir):
  """{tag: [(step, value)]} from every event file under logdir."""
  found = {}
  files = glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))
  assert files, f'no event file in {logdir}'
  for path in sorted(files):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        found.setdefault(value.tag, []).append(
            (event.step, value.metadata.plugin_data.plugin_name,
             tf.make_ndarray(value.tensor)))
  return found


def _read_csv(path):
  with open(path, newline='', encoding='utf-8') as f:
    return list(csv.reader(f))


def test_writer_writes_tensorboard_scalars_and_csv(tmp_path):
  logdir = str(tmp_path / 'run')
  with MetricsWriter(logdir) as writer:
    writer.scalars(100, {'loss/total': 1.5, 'episode_return/pong': -21.0})
    writer.scalars(200, {'loss/total': np.float32(0.25),
                         'throughput/frames_per_second': tf.constant(6412.0),
                         'episode_return/pong': 3})

  events = _read_events(logdir)
  assert [(s, p, float(v)) for s, p, v in events['loss/total']] == [
      (100, 'scalars', 1.5), (200, 'scalars', 0.25)]
  assert [(s, float(v)) for s, _, v in events['episode_return/pong']] == [
      (100, -21.0), (200, 3.0)]
  assert [(s, float(v)) for s, _, v in
          events['throughput/frames_per_second']] == [(200, 6412.0)]

  rows = _read_csv(os.path.join(logdir, 'metrics.csv'))
  assert rows[0] == ['step', 'wall_time', 'tag', 'value']
  assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
      ('100', 'loss/total', '1.5'),
      ('100', 'episode_return/pong', '-21.0'),
      ('200', 'loss/total', '0.25'),
      ('200', 'throughput/frames_per_second', '6412.0'),
      ('200', 'episode_return/pong', '3.0'),
  ]
  for r in rows[1:]:
    assert len(r) == 4 and float(r[1]) > 1e9  # A Unix time.


def test_csv_is_flushed_after_each_call(tmp_path):
  writer = MetricsWriter(str(tmp_path))
  writer.scalars(1, {'a': 1.0})
  rows = _read_csv(writer.csv_path)  # Read while the writer is still open.
  assert [(r[0], r[2], r[3]) for r in rows[1:]] == [('1', 'a', '1.0')]
  writer.close()
  writer.close()  # Idempotent.
  with pytest.raises(ValueError):
    writer.scalars(2, {'a': 1.0})


def test_resumed_writer_appends_without_second_header(tmp_path):
  with MetricsWriter(str(tmp_path)) as writer:
    writer.scalars(1, {'a': 1.0})
  # A run that died in the middle of a line.
  with open(tmp_path / 'metrics.csv', 'a', encoding='utf-8') as f:
    f.write('2,123.0,a')
  with MetricsWriter(str(tmp_path)) as writer:
    writer.scalars(3, {'a': 3.0})
  rows = _read_csv(tmp_path / 'metrics.csv')
  assert rows[0] == ['step', 'wall_time', 'tag', 'value']
  assert sum(r == rows[0] for r in rows) == 1
  assert rows[1][0] == '1' and rows[2] == ['2', '123.0', 'a']
  assert (rows[3][0], rows[3][2], rows[3][3]) == ('3', 'a', '3.0')


def test_non_finite_values_are_written_not_fatal(tmp_path):
  logdir = str(tmp_path)
  with MetricsWriter(logdir) as writer:
    writer.scalars(5, {'nan': float('nan'), 'inf': np.inf, 'ninf': -np.inf})
    writer.histogram(5, 'h', [1.0, 2.0, np.nan, np.inf, 2.0])
    writer.histogram(6, 'h', [np.nan])  # Nothing finite left: still fine.
  rows = _read_csv(os.path.join(logdir, 'metrics.csv'))
  values = {r[2]: float(r[3]) for r in rows[1:]}
  assert math.isnan(values['nan'])
  assert values['inf'] == math.inf and values['ninf'] == -math.inf
  events = _read_events(logdir)
  assert math.isnan(float(events['nan'][0][2]))
  assert float(events['ninf'][0][2]) == -math.inf
  step, plugin, buckets = events['h'][0]
  assert (step, plugin) == (5, 'histograms')
  # Buckets are [left, right, count]; the finite values all counted, no NaN.
  assert buckets[:, 2].sum() == 3 and np.isfinite(buckets).all()


def test_histogram_goes_to_tensorboard_only(tmp_path):
  logdir = str(tmp_path)
  with MetricsWriter(logdir) as writer:
    writer.histogram(7, 'policy/logits', np.arange(10.0))
  events = _read_events(logdir)
  assert events['policy/logits'][0][0] == 7
  assert events['policy/logits'][0][2][:, 2].sum() == 10
  assert _read_csv(os.path.join(logdir, 'metrics.csv')) == [
      ['step', 'wall_time', 'tag', 'value']]


def test_non_numeric_value_is_rejected_before_writing(tmp_path):
  with MetricsWriter(str(tmp_path)) as writer:
    with pytest.raises(TypeError):
      writer.scalars(1, {'ok': 1.0, 'bad': 'text'})
    with pytest.raises(TypeError):
      writer.scalars(1, {'bad': np.zeros(3)})
  assert len(_read_csv(tmp_path / 'metrics.csv')) == 1


def test_writer_and_plot_agree_on_the_csv_name():
  from impala_tf import plot  # pylint: disable=g-import-not-at-top
  assert plot.CSV_FILENAME == metrics.CSV_FILENAME


# ---------------------------------------------------------------- progress


class FakeClock:

  def __init__(self):
    self.now = 1000.0

  def __call__(self):
    return self.now


def _progress(total=200_000_000, interval=5.0):
  clock = FakeClock()
  lines = []
  progress = ProgressLine(total, interval_seconds=interval,
                          print_fn=lines.append, clock=clock)
  return progress, clock, lines


def test_progress_line_format_fps_and_eta():
  progress, clock, lines = _progress()
  assert progress.maybe_print(1_000_000, None) is None  # Starts the clock.
  clock.now += 10.0
  line = progress.maybe_print(1_230_000, -20.314, {'loss': 12.3})
  # 230,000 frames in 10 s -> 23,000 fps; 198.77M left -> 8642 s = 2h24m.
  assert line == ('[  1.23M / 200.00M  0.6%]  23,000 fps  ETA 2h24m  '
                  'return(100) -20.31  loss 12.3')
  assert lines == [line]


def test_progress_fps_is_over_the_last_interval_only():
  progress, clock, lines = _progress(total=1_000_000)
  progress.maybe_print(0, None)
  clock.now += 10.0
  progress.maybe_print(100_000, 1.0)  # 10,000 fps.
  clock.now += 5.0
  progress.maybe_print(110_000, 1.0)  # 2,000 fps (not 7,333 since start).
  assert '10,000 fps' in lines[0]
  assert '2,000 fps' in lines[1]
  # 890,000 frames left at 2,000 fps = 445 s.
  assert 'ETA 7m25s' in lines[1]
  assert '[0.11M / 1.00M  11.0%]' in lines[1]


def test_progress_is_rate_limited_and_force_prints():
  progress, clock, lines = _progress(interval=5.0)
  progress.maybe_print(0, None)
  for _ in range(4):
    clock.now += 1.0
    assert progress.maybe_print(1000, None) is None
  clock.now += 1.0  # 5 s since the start.
  assert progress.maybe_print(5000, None) is not None
  clock.now += 4.9
  assert progress.maybe_print(6000, None) is None
  assert progress.maybe_print(6000, None, force=True) is not None
  assert len(lines) == 2
  clock.now += 4.0  # The forced line restarts the interval.
  assert progress.maybe_print(7000, None) is None


def test_progress_unknown_speed_and_done():
  progress, clock, lines = _progress(total=10_000)
  line = progress.maybe_print(0, None, force=True)
  assert line == '[ 0.00K / 10.00K  0.0%]  - fps  ETA ?  return(100) n/a'
  clock.now += 5.0
  line = progress.maybe_print(0, None)  # Stalled: no ETA.
  assert '0 fps  ETA ?' in line
  clock.now += 5.0
  line = progress.maybe_print(10_000, 2.0, {'steps': 1234})
  assert '2,000 fps  ETA 0s' in line and 'steps 1,234' in line
  assert len(lines) == 3


@pytest.mark.parametrize('seconds,text', [
    (0, '0s'), (59.4, '59s'), (60, '1m00s'), (3599, '59m59s'),
    (31260, '8h41m'), (86400 + 3 * 3600, '1d03h'), (None, '?'),
    (math.inf, '?'), (-1, '?')])
def test_format_duration(seconds, text):
  assert metrics.format_duration(seconds) == text


def test_drop_rows_after_keeps_the_header_and_earlier_steps(tmp_path):
  from impala_tf.metrics import drop_rows_after  # pylint: disable=g-import-not-at-top
  assert drop_rows_after(tmp_path, 10) == 0  # No file yet.
  path = tmp_path / 'metrics.csv'
  path.write_text('step,wall_time,tag,value\n'
                  '5,1.0,a,1.0\n10,2.0,a,2.0\n11,3.0,a,3.0\n40,4.0,b,4.0')
  assert drop_rows_after(tmp_path, 10) == 2
  assert path.read_text() == ('step,wall_time,tag,value\n'
                              '5,1.0,a,1.0\n10,2.0,a,2.0\n')
  assert drop_rows_after(tmp_path, 10) == 0
