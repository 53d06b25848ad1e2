"""Queue backpressure, stall reports, and the staging area's batching."""

import threading
import time

import numpy as np
import pytest

from impala_tf import trajectory as trajectory_lib
from impala_tf.staging import StagingArea
from impala_tf.stopping import StopSignal
from impala_tf.trajectory_queue import QueueClosed, StallError, TrajectoryQueue


def _chunk(first_id, size, steps=3):
  """A Trajectory whose task_id numbers its unrolls (to track order)."""
  ids = np.arange(first_id, first_id + size, dtype=np.int32)
  return trajectory_lib.Trajectory(
      frame=np.broadcast_to(ids[None, :, None, None, None],
                            (steps, size, 2, 2, 1)).astype(np.uint8),
      reward=np.tile(ids.astype(np.float32), (steps, 1)),
      done=np.zeros((steps, size), bool),
      last_action=np.zeros((steps, size), np.int32),
      instruction=np.zeros((steps, size, 0), np.int32),
      action=np.zeros((steps, size), np.int32),
      behaviour_logits=np.zeros((steps, size, 3), np.float32),
      core_state=(ids.astype(np.float32)[:, None] * np.ones((1, 4))),
      task_id=ids, policy_version=np.zeros(size, np.int64))


def test_full_queue_blocks_the_producer():
  stop = StopSignal()
  queue = TrajectoryQueue(2, stop, stall_timeout=30)
  queue.put(1)
  queue.put(2)
  done = threading.Event()

  def producer():
    queue.put(3)
    done.set()

  thread = threading.Thread(target=producer, daemon=True)
  thread.start()
  time.sleep(0.3)
  assert not done.is_set()  # Backpressure: waits for space.
  assert queue.get() == 1
  assert done.wait(5)
  assert queue.size() == 2
  assert queue.put_wait_seconds > 0.2


def test_stalls_are_reported_with_the_stalled_side():
  stop = StopSignal()
  queue = TrajectoryQueue(1, stop, stall_timeout=0.3)
  with pytest.raises(StallError, match='actors are not producing'):
    queue.get()
  queue.put(1)
  with pytest.raises(StallError, match='learner is not consuming'):
    queue.put(2)


def test_stop_event_releases_waiters():
  stop = StopSignal()
  queue = TrajectoryQueue(1, stop, stall_timeout=30)
  threading.Timer(0.2, stop.request, ('test',)).start()
  start = time.monotonic()
  with pytest.raises(QueueClosed):
    queue.get()
  assert time.monotonic() - start < 5


def test_staging_assembles_exact_batches_in_order_and_splits_chunks():
  stop = StopSignal()
  queue = TrajectoryQueue(16, stop, stall_timeout=30)
  for i in range(5):
    queue.put(_chunk(i * 3, 3))  # 15 unrolls in chunks of 3.
  placed_log = []

  def place(batch):
    placed_log.append(threading.current_thread().name)
    return batch

  staging = StagingArea(queue, 4, place, stop, stall_timeout=30).start()
  try:
    batches = [staging.get()[1] for _ in range(3)]
  finally:
    stop.request('test over')
  for k, batch in enumerate(batches):
    expected = np.arange(4 * k, 4 * k + 4)
    np.testing.assert_array_equal(batch.task_id, expected)
    np.testing.assert_array_equal(batch.reward[0], expected)
    np.testing.assert_array_equal(batch.frame[1, :, 0, 0, 0], expected)
    np.testing.assert_array_equal(batch.core_state[:, 0], expected)
    assert batch.frame.shape == (3, 4, 2, 2, 1)
  assert set(placed_log) == {'staging'}  # Placement happens off the learner.


def test_staging_prepares_the_next_batch_while_the_learner_works():
  stop = StopSignal()
  queue = TrajectoryQueue(16, stop, stall_timeout=30)
  for i in range(4):
    queue.put(_chunk(i * 2, 2))
  staging = StagingArea(queue, 2, lambda b: b, stop, stall_timeout=30).start()
  try:
    staging.get()
    time.sleep(0.3)  # "Learner step": the next batch gets staged meanwhile.
    assert staging._ready.full()  # pylint: disable=protected-access
    # Only one batch is staged ahead; the rest stays in the queue.
    assert queue.size() == 1
  finally:
    stop.request('test over')
