"""RMSProp against tf.compat.v1.train.RMSPropOptimizer, step by step."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import optimizer as optimizer_lib


def _gradient_sequence(rng, shapes, steps):
  return [[rng.normal(size=s).astype(np.float32) * 3 for s in shapes]
          for _ in range(steps)]


SHAPES = [(3, 4), (4,), ()]


@pytest.mark.parametrize('epsilon', [0.1, 0.01, 1e-5])
@pytest.mark.parametrize('momentum', [0.0, 0.9])
def test_matches_tf1_rmsprop_step_by_step(epsilon, momentum):
  rng = np.random.default_rng(int(epsilon * 1e5) + int(momentum * 10))
  init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
  grads = _gradient_sequence(rng, SHAPES, 12)
  lrs = [0.0006 * (1 - i / 12) for i in range(12)]

  ours_vars = [tf.Variable(x) for x in init]
  ours = optimizer_lib.RMSProp(decay=0.99, momentum=momentum, epsilon=epsilon)
  ours.create_slots(ours_vars)
  ref_vars = [tf.Variable(x) for x in init]
  for step, (g, lr) in enumerate(zip(grads, lrs)):
    ref = tf.compat.v1.train.RMSPropOptimizer(
        learning_rate=lr, decay=0.99, momentum=momentum, epsilon=epsilon)
    if step == 0:
      reference = ref
    else:  # Keep the slot state: reuse the first optimiser, change its lr.
      reference._learning_rate = lr  # pylint: disable=protected-access
      ref = reference
    ref.apply_gradients(zip([tf.constant(x) for x in g], ref_vars))
    ours.apply([tf.constant(x) for x in g], ours_vars, lr)
    for a, b in zip(ours_vars, ref_vars):
      np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7,
                                 err_msg=f'step {step}')
  assert int(ours.iterations.numpy()) == 12


def test_mean_square_starts_at_ones():
  # With ms = 1 the first step is lr * g / sqrt(0.99 + 0.01 g^2 + eps); with
  # a zeros start (Keras) it would be about 10x larger for small g.
  var = tf.Variable([1.0])
  opt = optimizer_lib.RMSProp(epsilon=0.1)
  opt.create_slots([var])
  opt.apply([tf.constant([0.5])], [var], 0.1)
  expected = 1.0 - 0.1 * 0.5 / np.sqrt(0.99 + 0.01 * 0.25 + 0.1)
  np.testing.assert_allclose(var.numpy(), [expected], rtol=1e-6)


def test_linear_learning_rate():
  lr = lambda f: float(optimizer_lib.linear_learning_rate(0.0006, f, 1000))
  assert lr(0) == pytest.approx(0.0006)
  assert lr(250) == pytest.approx(0.00045)
  assert lr(1000) == 0.0
  assert lr(5000) == 0.0


def test_clip_by_global_norm():
  grads = [tf.constant([3.0, 0.0]), tf.constant([4.0])]
  clipped, norm = optimizer_lib.clip_by_global_norm(grads, 1.0)
  assert float(norm) == pytest.approx(5.0)
  np.testing.assert_allclose(clipped[0], [0.6, 0.0], rtol=1e-6)
  np.testing.assert_allclose(clipped[1], [0.8], rtol=1e-6)
  unclipped, _ = optimizer_lib.clip_by_global_norm(grads, None)
  np.testing.assert_allclose(unclipped[1], [4.0])


def test_under_mirrored_strategy_equals_one_device(mirrored_strategy):
  rng = np.random.default_rng(3)
  init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
  grads = _gradient_sequence(rng, SHAPES, 5)

  single_vars = [tf.Variable(x) for x in init]
  single = optimizer_lib.RMSProp(epsilon=0.1)
  single.create_slots(single_vars)
  for g in grads:
    single.apply([tf.constant(x) for x in g], single_vars, 0.01)

  strategy = mirrored_strategy
  with strategy.scope():
    mirrored_vars = [tf.Variable(x) for x in init]
    mirrored = optimizer_lib.RMSProp(epsilon=0.1)
    mirrored.create_slots(mirrored_vars)

  @tf.function
  def step(g):
    def replica_fn():
      ctx = tf.distribute.get_replica_context()
      # Each replica holds half the gradient; the all-reduced sum is g.
      local = [x / 2.0 for x in g]
      reduced = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local)
      mirrored.apply(reduced, mirrored_vars, 0.01)
    strategy.run(replica_fn)

  for g in grads:
    step([tf.constant(x) for x in g])
  for a, b in zip(mirrored_vars, single_vars):
    for component in strategy.experimental_local_results(a):
      np.testing.assert_allclose(component.numpy(), b.numpy(), rtol=1e-5,
                                 atol=1e-7)


def test_bad_hyperparameters():
  with pytest.raises(ValueError, match='epsilon must be > 0'):
    optimizer_lib.RMSProp(epsilon=0.0)
  with pytest.raises(ValueError, match='decay must be in'):
    optimizer_lib.RMSProp(decay=1.0)
  opt = optimizer_lib.RMSProp()
  with pytest.raises(RuntimeError, match='create_slots'):
    opt.apply([tf.constant(1.0)], [tf.Variable(1.0)], 0.1)
