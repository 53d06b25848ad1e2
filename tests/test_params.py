"""The parameter store: actors get whole, consistent versions."""

import numpy as np
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
