"""Experience replay (paper section 5.2.2): the buffer, the staging area's
mixed batches, the config fields, and short real training runs with replay
and with a controlled policy lag (paper Fig. E.1)."""

import os

import numpy as np
import pytest

from impala_tf import flags as flags_lib
from impala_tf import plot
from impala_tf import trajectory as trajectory_lib
from impala_tf import training_loop
from impala_tf.config import Config, ConfigError
from impala_tf.replay import ReplayBuffer, replayed_per_batch
from impala_tf.staging import StagingArea
from impala_tf.stopping import StopSignal
from impala_tf.trajectory_queue import TrajectoryQueue

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _unrolls(first_id, size, version=0, steps=3):
  """``size`` unrolls numbered by task_id (also written into every field)."""
  ids = np.arange(first_id, first_id + size, dtype=np.int32)
  return trajectory_lib.Trajectory(
      frame=np.broadcast_to(ids[None, :, None, None, None] % 256,
                            (steps, size, 2, 2, 1)).astype(np.uint8),
      reward=np.tile(ids.astype(np.float32), (steps, 1)),
      done=np.zeros((steps, size), bool),
      last_action=np.zeros((steps, size), np.int32),
      instruction=np.zeros((steps, size, 0), np.int32),
      action=np.tile(ids, (steps, 1)),
      behaviour_logits=np.zeros((steps, size, 3), np.float32),
      core_state=(ids.astype(np.float32)[:, None] * np.ones((1, 4))),
      task_id=ids, policy_version=np.full(size, version, np.int64))


def _ids(trajectory):
  return list(trajectory.task_id)


def _assert_consistent(trajectory):
  """Every field of each unroll carries that unroll's id."""
  ids = trajectory.task_id
  np.testing.assert_array_equal(trajectory.reward[0], ids)
  np.testing.assert_array_equal(trajectory.action[-1], ids)
  np.testing.assert_array_equal(trajectory.frame[1, :, 0, 0, 0], ids % 256)
  np.testing.assert_array_equal(trajectory.core_state[:, 3], ids)


# The buffer.


def test_fifo_eviction_keeps_exactly_the_newest_capacity_unrolls():
  buffer = ReplayBuffer(capacity=5, seed=0)
  buffer.add(_unrolls(0, 3))
  assert len(buffer) == 3
  assert sorted(_ids(buffer.sample(3))) == [0, 1, 2]
  buffer.add(_unrolls(3, 4))  # 7 added: 0 and 1 are evicted.
  assert len(buffer) == 5
  assert sorted(_ids(buffer.sample(5))) == [2, 3, 4, 5, 6]
  buffer.add(_unrolls(7, 1))  # Then 2, the oldest.
  assert sorted(_ids(buffer.sample(5))) == [3, 4, 5, 6, 7]
  buffer.add(_unrolls(100, 7))  # More than capacity at once: its last 5.
  held = buffer.sample(5)
  assert sorted(_ids(held)) == [102, 103, 104, 105, 106]
  _assert_consistent(held)


def test_the_buffer_keeps_copies_and_hands_out_copies():
  buffer = ReplayBuffer(capacity=4, seed=0)
  unrolls = _unrolls(0, 2)
  buffer.add(unrolls)
  unrolls.reward[:] = -1  # The actor side reuses its buffers.
  for n in (1, 2):
    drawn = buffer.sample(n)
    _assert_consistent(drawn)
    drawn.reward[:] = -5
  _assert_consistent(buffer.sample(2))


def test_a_sample_holds_distinct_unrolls_and_cannot_exceed_the_buffer():
  buffer = ReplayBuffer(capacity=10, seed=3)
  buffer.add(_unrolls(0, 10))
  for _ in range(200):
    assert len(set(_ids(buffer.sample(6)))) == 6  # Without replacement.
  with pytest.raises(ValueError, match='cannot sample 11 unrolls'):
    buffer.sample(11)
  with pytest.raises(ValueError, match='capacity must be > 0'):
    ReplayBuffer(capacity=0, seed=0)


def _chi_square(counts):
  """Pearson's statistic of ``counts`` against equal expected counts."""
  counts = np.asarray(counts, np.float64)
  expected = counts.sum() / len(counts)
  return float(np.sum((counts - expected) ** 2 / expected))


# 99.9th percentile of chi-square with 19 degrees of freedom (20 cells).
_CHI2_19_P999 = 43.82


def test_sampling_is_uniform_over_the_held_unrolls():
  """20 held unrolls (ids 10..29, after 10 evictions), 4000 draws of 4: each
  must come up about 800 times. A fixed seed makes this deterministic."""
  buffer = ReplayBuffer(capacity=20, seed=1234)
  buffer.add(_unrolls(0, 30))
  counts = np.zeros(30, np.int64)
  for _ in range(4000):
    np.add.at(counts, buffer.sample(4).task_id, 1)
  assert counts[:10].sum() == 0  # Evicted ones never come back.
  assert _chi_square(counts[10:]) < _CHI2_19_P999, counts[10:]


def test_the_uniformity_threshold_rejects_a_mildly_biased_sampler():
  """The statistic and threshold above have the power to catch a sampler
  that favours newer unrolls even mildly (weights 1.0 .. 1.5)."""
  rng = np.random.default_rng(0)
  weights = np.linspace(1.0, 1.5, 20)
  counts = np.zeros(20, np.int64)
  for _ in range(4000):
    np.add.at(counts, rng.choice(20, size=4, replace=False,
                                 p=weights / weights.sum()), 1)
  assert _chi_square(counts) > _CHI2_19_P999


def test_the_same_seed_draws_the_same_unrolls():
  a, b = ReplayBuffer(8, seed=(7, 0)), ReplayBuffer(8, seed=(7, 0))
  for buffer in (a, b):
    buffer.add(_unrolls(0, 8))
  assert [_ids(a.sample(3)) for _ in range(5)] == [
      _ids(b.sample(3)) for _ in range(5)]


def test_replayed_per_batch_rounds_half_up_and_keeps_one_fresh_unroll():
  assert replayed_per_batch(32, 0.5) == 16
  assert replayed_per_batch(5, 0.5) == 3  # 2.5 rounds up.
  assert replayed_per_batch(4, 0.3) == 1  # 1.2 rounds down.
  assert replayed_per_batch(2, 0.9) == 1  # Not 2: one stays fresh.
  assert replayed_per_batch(16, 0.0) == 0
  with pytest.raises(ValueError, match=r'in \[0, 1\)'):
    replayed_per_batch(4, 1.0)


# The staging area.


def _staging(queue, batch_size, stop, **kwargs):
  return StagingArea(queue, batch_size, lambda b: b, stop, stall_timeout=30,
                     **kwargs).start()


def test_staged_batches_mix_fresh_and_replayed_unrolls():
  """Batch 4, proportion 0.5: all fresh until the buffer holds 2 unrolls,
  then exactly 2 fresh (in queue order) + 2 replayed from earlier batches."""
  stop = StopSignal()
  queue = TrajectoryQueue(16, stop, stall_timeout=30)
  buffer = ReplayBuffer(capacity=100, seed=0)
  for i in range(5):
    queue.put(_unrolls(2 * i, 2))  # Ids 0..9: 4 fresh + 3 batches of 2.
  staging = _staging(queue, 4, stop, replay=buffer, replay_proportion=0.5)
  try:
    batches, replayed = [], []
    for _ in range(4):
      batches.append(staging.get()[0])
      replayed.append(staging.replayed_in_last_batch)
  finally:
    stop.request('test over')
  assert replayed == [0, 2, 2, 2]
  assert staging.replayed_unrolls == 6
  assert _ids(batches[0]) == [0, 1, 2, 3]
  fresh_so_far = {0, 1, 2, 3}
  for k, batch in enumerate(batches[1:]):
    assert batch.task_id.shape == (4,)
    fresh, old = _ids(batch)[:2], _ids(batch)[2:]
    assert fresh == [4 + 2 * k, 5 + 2 * k]
    assert set(old) <= fresh_so_far and len(set(old)) == 2
    _assert_consistent(batch)
    fresh_so_far |= set(fresh)
  # Every fresh unroll went into the buffer, and only those.
  assert len(buffer) == 10
  assert sorted(_ids(buffer.sample(10))) == list(range(10))


def test_the_policy_lag_filter_applies_to_fresh_unrolls_only():
  """max_policy_lag=1 at learner version 5: fresh unrolls of version 3 are
  dropped (and never enter the buffer); replayed ones keep coming even once
  the learner has moved far past them."""
  stop = StopSignal()
  queue = TrajectoryQueue(16, stop, stall_timeout=30)
  buffer = ReplayBuffer(capacity=100, seed=0)
  learner = {'version': 5}
  queue.put(_unrolls(0, 4, version=5))
  queue.put(_unrolls(100, 3, version=3))  # Too old: dropped.
  queue.put(_unrolls(4, 2, version=4))
  queue.put(_unrolls(200, 2, version=3))  # Too old: dropped.
  queue.put(_unrolls(6, 2, version=9))
  staging = _staging(queue, 4, stop, replay=buffer, replay_proportion=0.5,
                     max_policy_lag=1,
                     learner_version=lambda: learner['version'])
  try:
    first = staging.get()[0]
    second = staging.get()[0]
    learner['version'] = 9
    third = staging.get()[0]
  finally:
    stop.request('test over')
  assert _ids(first) == [0, 1, 2, 3]
  assert _ids(second)[:2] == [4, 5]
  assert _ids(third)[:2] == [6, 7]
  assert staging.dropped_for_lag == 5
  assert staging.replayed_in_last_batch == 2
  # Replayed at version 9: unrolls of versions 4-5 (lag >= 4 > 1) are kept.
  assert set(third.policy_version[2:]) <= {4, 5}
  assert sorted(_ids(buffer.sample(len(buffer)))) == list(range(8))


def test_without_a_buffer_batches_are_all_fresh():
  stop = StopSignal()
  queue = TrajectoryQueue(16, stop, stall_timeout=30)
  for i in range(4):
    queue.put(_unrolls(2 * i, 2))
  staging = _staging(queue, 4, stop)
  try:
    batches = [staging.get()[0] for _ in range(2)]
  finally:
    stop.request('test over')
  assert [_ids(b) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
  assert staging.replayed_unrolls == 0


# Config.


@pytest.mark.parametrize('changes,flag,message', [
    (dict(replay_capacity=-1), 'replay_capacity', 'must be >= 0'),
    (dict(replay_capacity=10, replay_proportion=1.0), 'replay_proportion',
     r'in \[0, 1\)'),
    (dict(replay_proportion=-0.1), 'replay_proportion', r'in \[0, 1\)'),
    (dict(replay_capacity=15, batch_size=32), 'replay_capacity',
     'cannot supply the 16 replayed'),
    (dict(actor_policy_lag=-1), 'actor_policy_lag', 'must be >= 0'),
    (dict(actor_policy_lag=4, max_policy_lag=3), 'max_policy_lag',
     'would drop every unroll'),
])
def test_bad_replay_and_lag_flags_are_named(changes, flag, message):
  with pytest.raises(ConfigError, match=message) as info:
    Config(**changes).validate()
  assert info.value.flag == flag


def test_good_replay_and_lag_flags_validate():
  Config(replay_capacity=10_000, replay_proportion=0.5).validate()
  Config(replay_capacity=16, batch_size=32).validate()
  Config(actor_policy_lag=3, max_policy_lag=3).validate()
  Config(actor_policy_lag=3).validate()
  assert (Config().replay_capacity, Config().replay_proportion,
          Config().actor_policy_lag) == (0, 0.5, 0)


# Real short runs (paper_configs/catch.cfg, a few updates).


def _catch(tmp_path, **overrides):
  return flags_lib.config_from_flagfile(
      os.path.join(REPO, 'paper_configs/catch.cfg'), logdir=str(tmp_path),
      summary_secs=0.001, progress_secs=100.0, checkpoint_secs=1e6,
      **overrides)


def _scalar_rows(tmp_path, tag):
  """[(step, value)] of one tag in metrics.csv, in step order."""
  curves = plot.read_curves(os.path.join(tmp_path, 'metrics.csv'), tag)
  steps, values = curves[tag]  # An exact tag is its own key.
  return list(zip(steps, values))


@pytest.mark.parametrize('lag', [3, 10])
def test_a_run_with_actor_policy_lag_logs_that_lag(tmp_path, lag):
  """Fig. E.1's controlled lag: with actor_policy_lag=k every batch from
  update k on (one summary per update) is at least k updates old, and the
  ones before are acted with version 0 (lag = the update).

  Catch's pipeline lags by up to about 5 updates on its own (a full queue and
  the staged batches), so k = 3 alone would not notice a store that ignores
  the lag; k = 10 does.
  """
  config = _catch(tmp_path, actor_policy_lag=lag, queue_capacity=1)
  updates = lag + 4
  result = training_loop.train(config, max_updates=updates,
                               install_signal_handlers=False)
  assert result.num_updates == updates
  rows = _scalar_rows(tmp_path, 'policy_lag/mean')
  assert len(rows) == updates
  per_update = config.frames_per_update
  later = [mean for step, mean in rows if step > lag * per_update]
  assert len(later) == 4
  assert min(later) >= lag, rows
  early = [mean for step, mean in rows if step <= lag * per_update]
  assert early == [float(u) for u in range(lag)], rows


def test_a_run_with_replay_logs_the_replayed_fraction(tmp_path):
  """Batch 16, proportion 0.5: the first batch is all fresh (empty buffer),
  every later one half replayed."""
  config = _catch(tmp_path, replay_capacity=64, replay_proportion=0.5,
                  correction='1-step-is')
  result = training_loop.train(config, max_updates=5,
                               install_signal_handlers=False)
  assert result.num_updates == 5
  fractions = [v for _, v in _scalar_rows(tmp_path, 'queue/replayed_fraction')]
  assert fractions == [0.0, 0.5, 0.5, 0.5, 0.5]
  counts = [v for _, v in _scalar_rows(tmp_path, 'queue/replayed_unrolls')]
  assert counts == [0, 8, 16, 24, 32]
