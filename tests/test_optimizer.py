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


# Sparse (IndexedSlices) gradients: TF1's sparse path.

ROWS, WIDTH = 10, 3
# Rows named at each step, with a duplicate each time; rows 8 and 9 never.
SPARSE_ROWS = [[0, 2, 2, 5], [1, 5, 7, 1], [2, 3], [6, 0, 0, 0], [4, 7, 3]]


def _sparse_gradients(rng):
  return [tf.IndexedSlices(
      tf.constant(rng.normal(size=(len(rows), WIDTH)).astype(np.float32) * 3),
      tf.constant(rows, tf.int64), tf.constant([ROWS, WIDTH], tf.int64))
          for rows in SPARSE_ROWS]


def _snapshot(optimizer, var):
  return {'var': var.numpy(), 'rms': optimizer.slots['rms'][0].numpy(),
          'momentum': optimizer.slots['momentum'][0].numpy()}


@pytest.mark.parametrize('in_function', [False, True])
@pytest.mark.parametrize('epsilon', [0.1, 0.01])
@pytest.mark.parametrize('momentum', [0.0, 0.9])
def test_sparse_matches_tf1_rmsprop_step_by_step(epsilon, momentum,
                                                 in_function):
  rng = np.random.default_rng(int(epsilon * 100) + int(momentum * 10))
  init = rng.normal(size=(ROWS, WIDTH)).astype(np.float32)
  grads = _sparse_gradients(rng)
  lrs = [0.01 * (1 - i / 10) for i in range(len(grads))]

  var = tf.Variable(init)
  ours = optimizer_lib.RMSProp(decay=0.99, momentum=momentum, epsilon=epsilon)
  ours.create_slots([var])
  apply = lambda g, lr: ours.apply([g], [var], lr)
  if in_function:
    apply = tf.function(apply)
  ref_var = tf.Variable(init)
  reference = tf.compat.v1.train.RMSPropOptimizer(
      learning_rate=lrs[0], decay=0.99, momentum=momentum, epsilon=epsilon)

  for step, (g, lr) in enumerate(zip(grads, lrs)):
    before = _snapshot(ours, var)
    reference._learning_rate = lr  # pylint: disable=protected-access
    reference.apply_gradients([(g, ref_var)])
    apply(g, tf.constant(lr, tf.float32))
    after = _snapshot(ours, var)
    expected = {'var': ref_var.numpy(),
                'rms': reference.get_slot(ref_var, 'rms').numpy()}
    if momentum:  # With momentum 0 TF1 stores the step there; we do not.
      expected['momentum'] = reference.get_slot(ref_var, 'momentum').numpy()
    for name, value in expected.items():
      np.testing.assert_allclose(after[name], value, rtol=1e-5, atol=1e-7,
                                 err_msg=f'{name}, step {step}')
    untouched = np.setdiff1d(np.arange(ROWS), SPARSE_ROWS[step])
    for name in after:
      np.testing.assert_array_equal(after[name][untouched],
                                    before[name][untouched],
                                    err_msg=f'{name}, step {step}')
  # Rows 8 and 9 were never named: exactly as created.
  final = _snapshot(ours, var)
  np.testing.assert_array_equal(final['var'][8:], init[8:])
  np.testing.assert_array_equal(final['rms'][8:], np.ones((2, WIDTH)))
  np.testing.assert_array_equal(final['momentum'][8:], np.zeros((2, WIDTH)))
  assert int(ours.iterations.numpy()) == len(grads)


def test_sparse_duplicates_are_summed():
  values = np.array([[1.0, -2.0], [0.5, 3.0], [4.0, 1.0]], np.float32)
  twice = tf.IndexedSlices(tf.constant(values), tf.constant([3, 1, 3]),
                           tf.constant([5, 2]))
  once = tf.IndexedSlices(tf.constant([values[0] + values[2], values[1]]),
                          tf.constant([3, 1]), tf.constant([5, 2]))
  results = []
  for g in (twice, once):
    var = tf.Variable(tf.zeros([5, 2]))
    opt = optimizer_lib.RMSProp(epsilon=0.1, momentum=0.5)
    opt.create_slots([var])
    opt.apply([g], [var], 0.1)
    opt.apply([g], [var], 0.1)
    results.append(_snapshot(opt, var))
  for name in results[0]:
    np.testing.assert_allclose(results[0][name], results[1][name], rtol=1e-6,
                               err_msg=name)


def test_clip_by_global_norm_of_sparse_gradient_is_its_dense_norm():
  # Row 1 twice: the gradient's row 1 is [3, 4] + [0, 4] = [3, 8].
  sparse = tf.IndexedSlices(tf.constant([[3.0, 4.0], [0.0, 4.0], [1.0, 2.0]]),
                            tf.constant([1, 1, 0]), tf.constant([3, 2]))
  dense_rows = np.array([[1.0, 2.0], [3.0, 8.0], [0.0, 0.0]], np.float32)
  other = tf.constant([2.0])
  expected_norm = np.sqrt(np.sum(dense_rows ** 2) + 4.0)
  clipped, norm = optimizer_lib.clip_by_global_norm([sparse, other], 2.0)
  assert float(norm) == pytest.approx(expected_norm, rel=1e-6)
  assert isinstance(clipped[0], tf.IndexedSlices)
  np.testing.assert_allclose(tf.convert_to_tensor(clipped[0]),
                             dense_rows * 2.0 / expected_norm, rtol=1e-6)
  np.testing.assert_allclose(clipped[1], [4.0 / expected_norm], rtol=1e-6)
  _, unclipped_norm = optimizer_lib.clip_by_global_norm([sparse, other], None)
  assert float(unclipped_norm) == pytest.approx(expected_norm, rel=1e-6)


@pytest.mark.parametrize('momentum', [0.0, 0.9])
def test_sparse_under_mirrored_strategy_matches_tf1(mirrored_strategy,
                                                    momentum):
  """The learner's path: all_reduce(SUM) -> clip_by_global_norm -> apply."""
  rng = np.random.default_rng(7)
  init = [rng.normal(size=(ROWS, WIDTH)).astype(np.float32),
          rng.normal(size=(4,)).astype(np.float32)]
  # Per step, the rows each replica names; replica 1 repeats some of 0's.
  replica_rows = [([0, 2, 2], [2, 5]), ([1, 5], [7, 1, 1]), ([3], [3])]
  steps = [(rows, [rng.normal(size=(len(r), WIDTH)).astype(np.float32)
                   for r in rows],
            [rng.normal(size=(4,)).astype(np.float32) for _ in rows])
           for rows in replica_rows]
  max_norm, lr, epsilon = 2.0, 0.05, 0.1

  strategy = mirrored_strategy
  with strategy.scope():
    variables = [tf.Variable(x) for x in init]
    ours = optimizer_lib.RMSProp(momentum=momentum, epsilon=epsilon)
    ours.create_slots(variables)

  @tf.function
  def step(rows, values, dense):
    def replica_fn(rows, values, dense):
      ctx = tf.distribute.get_replica_context()
      local = [tf.IndexedSlices(values, rows, tf.constant([ROWS, WIDTH])),
               dense]
      grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local)
      grads, _ = optimizer_lib.clip_by_global_norm(grads, max_norm)
      ours.apply(grads, variables, lr)
    strategy.run(replica_fn, args=(rows, values, dense))

  def per_replica(parts):
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(parts[ctx.replica_id_in_sync_group]))

  ref_vars = [tf.Variable(x) for x in init]
  reference = tf.compat.v1.train.RMSPropOptimizer(
      learning_rate=lr, decay=0.99, momentum=momentum, epsilon=epsilon)
  for rows, values, dense in steps:
    step(per_replica(rows), per_replica(values), per_replica(dense))
    # The reference gradient, built in numpy: rows summed, clipped densely.
    summed = np.zeros((ROWS, WIDTH), np.float32)
    for r, v in zip(rows, values):
      np.add.at(summed, r, v)
    dense_sum = dense[0] + dense[1]
    scale = min(1.0, max_norm / np.sqrt(np.sum(summed ** 2) +
                                        np.sum(dense_sum ** 2)))
    named = np.unique(np.concatenate(rows))
    reference.apply_gradients([
        (tf.IndexedSlices(tf.constant(summed[named] * scale),
                          tf.constant(named), tf.constant([ROWS, WIDTH])),
         ref_vars[0]),
        (tf.constant(dense_sum * scale), ref_vars[1])])
    for ours_var, ref_var in zip(variables, ref_vars):
      for component in strategy.experimental_local_results(ours_var):
        np.testing.assert_allclose(component.numpy(), ref_var.numpy(),
                                   rtol=1e-5, atol=1e-7)
  never = np.setdiff1d(np.arange(ROWS), np.concatenate(
      [np.concatenate(r) for r in replica_rows]))
  for component in strategy.experimental_local_results(ours.slots['rms'][0]):
    np.testing.assert_allclose(
        component.numpy(),
        reference.get_slot(ref_vars[0], 'rms').numpy(), rtol=1e-5)
    np.testing.assert_array_equal(component.numpy()[never], 1.0)
  for component in strategy.experimental_local_results(variables[0]):
    np.testing.assert_array_equal(component.numpy()[never], init[0][never])
