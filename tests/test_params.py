"""The parameter store: actors get whole, consistent versions."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf.params import ParameterStore


def test_a_pull_during_an_update_gets_the_published_version_whole():
  """The learner updates its variables one by one; an actor that pulls in
  the middle must get version k entirely, never a mix of k and k + 1."""
  learner = [tf.Variable(np.zeros(3, np.float32)) for _ in range(2)]
  actor = [tf.Variable(np.full(3, -1, np.float32)) for _ in range(2)]
  store = ParameterStore(learner, version=0)
  learner[0].assign(np.ones(3, np.float32))  # Update 1 half applied...
  assert store.pull_into(actor, have_version=-1) == 0  # ...an actor pulls.
  np.testing.assert_array_equal(actor[0], np.zeros(3))
  np.testing.assert_array_equal(actor[1], np.zeros(3))
  learner[1].assign(np.ones(3, np.float32))
  store.publish(1)
  learner[0].assign(np.full(3, 2, np.float32))  # Update 2 half applied.
  assert store.pull_into(actor, have_version=0) == 1
  np.testing.assert_array_equal(actor[0], np.ones(3))
  np.testing.assert_array_equal(actor[1], np.ones(3))


def test_latest_is_a_snapshot_and_pulls_copy_only_newer_versions():
  learner = [tf.Variable(np.arange(4, dtype=np.float32))]
  store = ParameterStore(learner, version=5)
  version, values = store.latest()
  learner[0].assign_add(np.ones(4, np.float32))
  assert version == 5
  np.testing.assert_array_equal(values[0], np.arange(4))  # Not aliased.
  actor = [tf.Variable(np.zeros(4, np.float32))]
  assert store.pull_into(actor, have_version=5) == 5
  np.testing.assert_array_equal(actor[0], np.zeros(4))  # Same version: no copy.


def _store_with_history(lag, first=0, last=6):
  """A store with lag ``lag`` that published versions first..last, where
  version v set every learner value to v."""
  learner = [tf.Variable(np.full(3, first, np.float32)),
             tf.Variable(np.full(2, first, np.float32))]
  store = ParameterStore(learner, version=first, lag=lag)
  handed_out = {}
  for version in range(first, last + 1):
    if version > first:
      for variable in learner:
        variable.assign(tf.fill(variable.shape, float(version)))
      store.publish(version)
    handed_out[version] = store.latest()
  return store, handed_out


def test_with_actor_policy_lag_actors_get_version_newest_minus_k():
  """Paper Fig. E.1's controlled lag, k = 3: version max(0, newest - 3),
  with that version's values, while ``version`` stays the newest."""
  store, handed_out = _store_with_history(lag=3)
  for newest, (version, values) in handed_out.items():
    assert version == max(0, newest - 3), newest
    for value in values:
      np.testing.assert_array_equal(value, np.full(value.shape, version))
  assert store.version == 6 and store.acting_version == 3
  actor = [tf.Variable(np.full(3, -1, np.float32)),
           tf.Variable(np.full(2, -1, np.float32))]
  assert store.pull_into(actor, have_version=-1) == 3
  np.testing.assert_array_equal(actor[0], np.full(3, 3))
  np.testing.assert_array_equal(actor[1], np.full(2, 3))
  assert store.pull_into(actor, have_version=3) == 3  # Held: no copy.


def test_a_lagged_store_after_a_resume_hands_out_its_oldest_version():
  """Resumed at update 100, the store never had versions before 100: it
  hands out 100 until 100 + k is published."""
  _, handed_out = _store_with_history(lag=2, first=100, last=104)
  assert [v for v, _ in handed_out.values()] == [100, 100, 100, 101, 102]


def test_without_lag_actors_get_the_newest_and_versions_only_grow():
  store, handed_out = _store_with_history(lag=0, last=3)
  assert [v for v, _ in handed_out.values()] == [0, 1, 2, 3]
  assert store.acting_version == store.version == 3
  with pytest.raises(ValueError, match='cannot publish version 2 after'):
    store.publish(2)
  with pytest.raises(ValueError, match='--actor_policy_lag'):
    ParameterStore([tf.Variable(1.0)], lag=-1)


def _one_unroll(steps):
  from impala_tf import trajectory as trajectory_lib  # pylint: disable=g-import-not-at-top
  return trajectory_lib.Trajectory(
      frame=np.zeros((steps, 1, 2, 2, 1), np.uint8),
      reward=np.zeros((steps, 1), np.float32),
      done=np.zeros((steps, 1), bool),
      last_action=np.zeros((steps, 1), np.int32),
      instruction=np.zeros((steps, 1, 0), np.int32),
      action=np.zeros((steps, 1), np.int32),
      behaviour_logits=np.zeros((steps, 1, 3), np.float32),
      core_state=(np.zeros((1, 4), np.float32),),
      task_id=np.zeros(1, np.int32), policy_version=np.zeros(1, np.int64))


def test_the_learner_service_serves_the_lagged_version():
  """Actor processes get the lag through the service: the handshake, the
  push replies and the parameters all carry version newest - k, so an actor
  holding it does not fetch again."""
  from impala_tf.distributed.actor_job import RemoteParameters  # pylint: disable=g-import-not-at-top
  from impala_tf.distributed.client import LearnerClient  # pylint: disable=g-import-not-at-top
  from impala_tf.distributed.service import LearnerService  # pylint: disable=g-import-not-at-top
  from impala_tf.stopping import StopSignal  # pylint: disable=g-import-not-at-top
  from impala_tf.trajectory_queue import TrajectoryQueue  # pylint: disable=g-import-not-at-top
  from tests.processes import free_port  # pylint: disable=g-import-not-at-top
  store, _ = _store_with_history(lag=2, last=5)
  address = f'127.0.0.1:{free_port()}'
  description = {'network': 'test'}
  service = LearnerService(address, description, template=_one_unroll(2),
                           unroll_length=1)
  queue = TrajectoryQueue(4, StopSignal(), stall_timeout=30)
  service.start(queue, store)
  client = LearnerClient(address, 'actor 0', description, StopSignal(),
                         connect_timeout=30, log=lambda *a, **k: None)
  client.connect()
  assert client.learner_version == 3
  actor = [tf.Variable(np.full(3, -1, np.float32)),
           tf.Variable(np.full(2, -1, np.float32))]
  remote = RemoteParameters(client, actor)
  assert remote.pull_into(actor, have_version=-1) == 3
  np.testing.assert_array_equal(actor[0], np.full(3, 3))
  np.testing.assert_array_equal(actor[1], np.full(2, 3))
  client.learner_version = -1
  client.push(_one_unroll(2))
  assert queue.size() == 1
  assert client.learner_version == 3  # From the push reply.
