"""V-trace against a float64 ground truth written straight from equation (1).

The ground truth is the O(T^2) sum of the paper, not the recursion the
implementation uses, so the two are independent derivations.
"""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import vtrace

# A fresh seed per test session; printed on failure so a failure can be replayed.
SESSION_SEED = np.random.SeedSequence().entropy


def _rng(*salt):
  return np.random.default_rng([SESSION_SEED % (2**63), *salt])


def ground_truth(log_rhos, discounts, rewards, values, bootstrap_value,
                 clip_rho_threshold, clip_pg_rho_threshold, lambda_=1.0):
  """Eq. (1): v_s = V_s + sum_t (prod_{i<t} discount_i c_i) rho_t delta_t.

  Inputs of different shapes broadcast as in scalable_agent vtrace.py:
  V(x_{t+1}) is values[1:] followed by bootstrap_value, and then every input
  is broadcast to one shape (so a values with a single time step gives
  V(x_{t+1}) = bootstrap_value for every t, as there).
  """
  log_rhos, discounts, rewards, values, bootstrap_value = (
      np.asarray(x, np.float64)
      for x in (log_rhos, discounts, rewards, values, bootstrap_value))
  values_t_plus_1 = np.concatenate([values[1:], bootstrap_value[None]], axis=0)
  per_step = (log_rhos, discounts, rewards, values, values_t_plus_1)
  shape = np.broadcast_shapes(*(x.shape for x in per_step))
  log_rhos, discounts, rewards, values, values_t_plus_1 = (
      np.broadcast_to(x, shape) for x in per_step)
  rhos = np.exp(log_rhos)
  cs = lambda_ * np.minimum(rhos, 1.0)
  clipped_rhos = rhos if clip_rho_threshold is None else np.minimum(
      rhos, clip_rho_threshold)
  pg_rhos = rhos if clip_pg_rho_threshold is None else np.minimum(
      rhos, clip_pg_rho_threshold)
  seq_len = log_rhos.shape[0]
  vs = np.zeros_like(values)
  for s in range(seq_len):
    total = np.zeros_like(values[0])
    for t in range(s, seq_len):
      trace = np.ones_like(values[0])
      for i in range(s, t):
        trace = trace * discounts[i] * cs[i]
      delta = clipped_rhos[t] * (
          rewards[t] + discounts[t] * values_t_plus_1[t] - values[t])
      total = total + trace * delta
    vs[s] = values[s] + total
  vs_t_plus_1 = np.concatenate([vs[1:], bootstrap_value[None]], axis=0)
  pg_advantages = pg_rhos * (rewards + discounts * vs_t_plus_1 - values)
  return vs, pg_advantages


def random_inputs(rng, seq_len, batch_size, trailing=(), zero_discounts=True):
  shape = (seq_len, batch_size) + tuple(trailing)
  return inputs_of_shapes(rng, shape, shape, shape, shape, shape[1:],
                          zero_discounts)


def inputs_of_shapes(rng, log_rhos_shape, discounts_shape, rewards_shape,
                     values_shape, bootstrap_shape, zero_discounts=True):
  """Random float32 V-trace inputs, each of its own (broadcastable) shape."""
  log_rhos = rng.uniform(-2.5, 2.5, size=log_rhos_shape)  # rho ~[0.08, 12.2]
  discounts = np.full(discounts_shape, 0.99) * rng.uniform(
      0.8, 1.0, size=discounts_shape)
  seq_len = discounts_shape[0]
  if zero_discounts and seq_len > 2:
    # Episode ends in the middle of the unroll for some batch entries.
    mask = rng.uniform(size=discounts_shape) < 0.2
    mask[seq_len // 2] = True
    discounts = np.where(mask, 0.0, discounts)
  rewards = rng.normal(size=rewards_shape)
  values = rng.normal(size=values_shape)
  bootstrap_value = rng.normal(size=bootstrap_shape)
  return [np.asarray(x, np.float32)
          for x in (log_rhos, discounts, rewards, values, bootstrap_value)]


def assert_close(actual, expected, what):
  expected = np.asarray(expected)
  scale = max(1.0, float(np.max(np.abs(expected))))
  np.testing.assert_allclose(
      actual, expected, rtol=1e-5, atol=1e-6 * scale,
      err_msg=f'{what} (session seed {SESSION_SEED})')


def _runner(mode):
  fn = vtrace.from_importance_weights
  if mode == 'eager':
    return fn
  if mode == 'function':
    return tf.function(fn)
  return tf.function(fn, jit_compile=True)


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
@pytest.mark.parametrize('seq_len,batch_size', [(1, 1), (1, 4), (5, 1),
                                                (7, 5), (20, 3)])
@pytest.mark.parametrize('clip_rho,clip_pg_rho', [(None, None), (3.7, 2.2),
                                                  (1.0, 1.0)])
def test_from_importance_weights_matches_equation_1(mode, seq_len, batch_size,
                                                    clip_rho, clip_pg_rho):
  rng = _rng(seq_len, batch_size, int(clip_rho or 0) * 10)
  inputs = random_inputs(rng, seq_len, batch_size)
  out = _runner(mode)(*inputs, clip_rho_threshold=clip_rho,
                      clip_pg_rho_threshold=clip_pg_rho)
  vs, pg = ground_truth(*inputs, clip_rho, clip_pg_rho)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
@pytest.mark.parametrize('lambda_', [0.0, 0.5, 0.95])
def test_lambda_matches_equation_1(mode, lambda_):
  inputs = random_inputs(_rng(11, int(lambda_ * 100)), 9, 4)
  out = _runner(mode)(*inputs, clip_rho_threshold=1.0,
                      clip_pg_rho_threshold=1.0, lambda_=lambda_)
  vs, pg = ground_truth(*inputs, 1.0, 1.0, lambda_)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


def test_lambda_changes_the_targets():
  # Guards the test above against a lambda that is silently ignored.
  inputs = random_inputs(_rng(12), 9, 4, zero_discounts=False)
  with_trace = vtrace.from_importance_weights(*inputs, lambda_=1.0)
  without = vtrace.from_importance_weights(*inputs, lambda_=0.5)
  assert np.max(np.abs(with_trace.vs.numpy() - without.vs.numpy())) > 1e-3


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
def test_extra_trailing_dimensions(mode):
  inputs = random_inputs(_rng(13), 6, 3, trailing=(4, 2))
  out = _runner(mode)(*inputs, clip_rho_threshold=3.7,
                      clip_pg_rho_threshold=2.2)
  assert out.vs.shape == (6, 3, 4, 2)
  vs, pg = ground_truth(*inputs, 3.7, 2.2)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


def test_on_policy_reduces_to_n_step_return():
  # Paper eq. (2): with pi == mu, v_s is the discounted n-step return.
  rng = _rng(14)
  seq_len, batch_size = 6, 2
  rewards = rng.normal(size=(seq_len, batch_size)).astype(np.float32)
  values = rng.normal(size=(seq_len, batch_size)).astype(np.float32)
  bootstrap = rng.normal(size=(batch_size,)).astype(np.float32)
  discounts = np.full((seq_len, batch_size), 0.9, np.float32)
  out = vtrace.from_importance_weights(
      np.zeros_like(rewards), discounts, rewards, values, bootstrap)
  expected = sum(0.9**t * rewards[t] for t in range(seq_len)) + (
      0.9**seq_len * bootstrap)
  np.testing.assert_allclose(out.vs.numpy()[0], expected, rtol=1e-5)


def test_log_probs_from_logits_and_actions():
  rng = _rng(15)
  logits = rng.normal(size=(7, 2, 3)).astype(np.float32)
  actions = rng.integers(0, 3, size=(7, 2)).astype(np.int32)
  out = vtrace.log_probs_from_logits_and_actions(logits, actions).numpy()
  logits64 = logits.astype(np.float64)
  log_softmax = logits64 - np.log(np.exp(logits64).sum(-1, keepdims=True))
  expected = np.take_along_axis(log_softmax, actions[..., None], -1)[..., 0]
  np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
def test_from_logits_equals_from_importance_weights(mode):
  rng = _rng(16)
  seq_len, batch_size, num_actions = 8, 3, 5
  behaviour = rng.normal(size=(seq_len, batch_size, num_actions))
  target = rng.normal(size=(seq_len, batch_size, num_actions))
  actions = rng.integers(0, num_actions, size=(seq_len, batch_size))
  _, discounts, rewards, values, bootstrap = random_inputs(
      rng, seq_len, batch_size)
  fn = vtrace.from_logits
  if mode == 'function':
    fn = tf.function(fn)
  elif mode == 'xla':
    fn = tf.function(fn, jit_compile=True)
  out = fn(behaviour.astype(np.float32), target.astype(np.float32),
           actions.astype(np.int32), discounts, rewards, values, bootstrap,
           clip_rho_threshold=None, clip_pg_rho_threshold=None)
  target_lp = vtrace.log_probs_from_logits_and_actions(
      target.astype(np.float32), actions).numpy()
  behaviour_lp = vtrace.log_probs_from_logits_and_actions(
      behaviour.astype(np.float32), actions).numpy()
  np.testing.assert_allclose(out.target_action_log_probs, target_lp, rtol=1e-5)
  np.testing.assert_allclose(out.behaviour_action_log_probs, behaviour_lp,
                             rtol=1e-5)
  np.testing.assert_allclose(out.log_rhos, target_lp - behaviour_lp,
                             rtol=1e-5, atol=1e-6)
  vs, pg = ground_truth(target_lp - behaviour_lp, discounts, rewards, values,
                        bootstrap, None, None)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


def test_outputs_carry_no_gradient():
  inputs = [tf.Variable(x) for x in random_inputs(_rng(17), 4, 2)]
  with tf.GradientTape(persistent=True) as tape:
    out = vtrace.from_importance_weights(*inputs)
    total = tf.reduce_sum(out.vs) + tf.reduce_sum(out.pg_advantages)
  grads = tape.gradient(total, inputs)
  assert all(g is None for g in grads)


def test_dynamic_shapes_inside_tf_function():
  fn = tf.function(vtrace.from_importance_weights, input_signature=[
      tf.TensorSpec([None, None], tf.float32)] * 4 + [
          tf.TensorSpec([None], tf.float32)])
  inputs = random_inputs(_rng(18), 5, 3)
  vs, pg = ground_truth(*inputs, 1.0, 1.0)
  out = fn(*inputs)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


@pytest.mark.parametrize('bad_arg,shape,pattern', [
    ('bootstrap_value', (5, 2), r'bootstrap_value must have rank 1 '
     r'\(expected shape \[B\]\)'),
    ('bootstrap_value', (3,), r'bootstrap_value must have shape \[2\]'),
    ('values', (5,), r'values must have rank 2 \(expected shape \[T, B\]\)'),
    ('rewards', (4, 2), r'rewards must have the shape of log_rhos \[5, 2\]'),
    ('discounts', (5, 2, 1), r'discounts must have rank 2'),
])
def test_shape_mistakes_name_the_argument(bad_arg, shape, pattern):
  names = ['log_rhos', 'discounts', 'rewards', 'values', 'bootstrap_value']
  args = dict(zip(names, random_inputs(_rng(19), 5, 2)))
  args[bad_arg] = np.zeros(shape, np.float32)
  with pytest.raises(ValueError, match=pattern):
    vtrace.from_importance_weights(**args)


def test_logits_shape_mistakes():
  logits = np.zeros((5, 2, 3), np.float32)
  with pytest.raises(ValueError, match=r'actions must have rank 2'):
    vtrace.log_probs_from_logits_and_actions(logits, np.zeros((5,), np.int32))
  with pytest.raises(ValueError, match=r'policy_logits must have rank 3'):
    vtrace.log_probs_from_logits_and_actions(logits[0],
                                             np.zeros((5, 2), np.int32))
  with pytest.raises(ValueError, match=r'actions must have shape \[T, B\]'):
    vtrace.log_probs_from_logits_and_actions(logits,
                                             np.zeros((4, 2), np.int32))


def test_bad_thresholds_and_lambda():
  inputs = random_inputs(_rng(20), 3, 2)
  with pytest.raises(ValueError, match='lambda_ must be in'):
    vtrace.from_importance_weights(*inputs, lambda_=1.5)
  with pytest.raises(ValueError, match='clip_rho_threshold must be None or'):
    vtrace.from_importance_weights(*inputs, clip_rho_threshold=0.0)


# What scalable_agent vtrace.py accepts: ranks R, R, R, R, R - 1 (R >= 1) and
# shapes that broadcast against the targets' shape [T] + values.shape[1:].
T, B, K = 6, 3, 4
BROADCAST_CASES = {
    # One importance weight and discount per step, K value heads.
    'value_heads': [(T, B, 1), (T, B, 1), (T, B, K), (T, B, K), (B, K)],
    'shared_rewards': [(T, B, 1), (T, B, K), (T, B, 1), (T, B, K), (B, K)],
    'batch_axis': [(T, 1), (T, B), (T, 1), (T, B), (B,)],
    'time_only': [(T,), (T,), (T,), (T,), ()],
    'one_reward_step': [(T, B), (T, B), (1, B), (T, B), (B,)],
    'one_value_step': [(T, B), (T, B), (T, B), (1, B), (B,)],
}


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
def test_value_heads_share_importance_weights(mode):
  # [T, B, 1] log_rhos and discounts with [T, B, K] rewards and values: each
  # head k must get exactly the [T, B] V-trace of its own rewards and values.
  inputs = inputs_of_shapes(_rng(21), *BROADCAST_CASES['value_heads'])
  log_rhos, discounts, rewards, values, bootstrap = inputs
  out = _runner(mode)(*inputs, clip_rho_threshold=3.7,
                      clip_pg_rho_threshold=2.2)
  assert out.vs.shape == (T, B, K)
  assert out.pg_advantages.shape == (T, B, K)
  for k in range(K):
    vs, pg = ground_truth(log_rhos[..., 0], discounts[..., 0],
                          rewards[..., k], values[..., k], bootstrap[..., k],
                          3.7, 2.2)
    assert_close(out.vs.numpy()[..., k], vs, f'vs of head {k}')
    assert_close(out.pg_advantages.numpy()[..., k], pg,
                 f'pg_advantages of head {k}')


@pytest.mark.parametrize('mode', ['eager', 'function', 'xla'])
@pytest.mark.parametrize('case', sorted(BROADCAST_CASES))
def test_broadcasting_the_released_code_accepts(mode, case):
  shapes = BROADCAST_CASES[case]
  inputs = inputs_of_shapes(_rng(22, sorted(BROADCAST_CASES).index(case)),
                            *shapes)
  out = _runner(mode)(*inputs, clip_rho_threshold=3.7,
                      clip_pg_rho_threshold=2.2, lambda_=0.9)
  vs, pg = ground_truth(*inputs, 3.7, 2.2, 0.9)
  assert out.vs.shape == (shapes[0][0],) + shapes[4]
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


def test_value_heads_with_unknown_time_and_batch():
  # scalable_agent vtrace_test.py, test_higher_rank_inputs_for_importance_
  # weights: the same shapes with T and B unknown while tracing.
  specs = [tf.TensorSpec(shape, tf.float32) for shape in (
      [None, None, 1], [None, None, 1], [None, None, 42], [None, None, 42],
      [None, 42])]
  traced = tf.function(vtrace.from_importance_weights).get_concrete_function(
      *specs)
  assert traced.structured_outputs.vs.shape.as_list() == [None, None, 42]
  inputs = inputs_of_shapes(_rng(23), (5, 2, 1), (5, 2, 1), (5, 2, 42),
                            (5, 2, 42), (2, 42))
  out = traced(*[tf.constant(x) for x in inputs])
  vs, pg = ground_truth(*inputs, 1.0, 1.0)
  assert_close(out.vs.numpy(), vs, 'vs')
  assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


@pytest.mark.parametrize('bad_arg,shape', [
    ('bootstrap_value', (3,)),
    ('bootstrap_value', (3, 42, 1)),
    ('values', (5, 3)),
    ('discounts', (5, 3)),
    ('rewards', (5, 3, 42, 1)),
])
@pytest.mark.parametrize('dynamic', [False, True])
def test_wrong_rank_like_the_released_test(bad_arg, shape, dynamic):
  # scalable_agent vtrace_test.py, test_inconsistent_rank_inputs_for_
  # importance_weights, extended to every argument: log_rhos [T, B, 1] sets
  # rank 3, so bootstrap_value needs rank 2 and the others rank 3.
  args = dict(zip(
      ['log_rhos', 'discounts', 'rewards', 'values', 'bootstrap_value'],
      inputs_of_shapes(_rng(24), (5, 3, 1), (5, 3, 1), (5, 3, 42),
                       (5, 3, 42), (3, 42))))
  args[bad_arg] = np.zeros(shape, np.float32)
  rank = 2 if bad_arg == 'bootstrap_value' else 3
  fn = vtrace.from_importance_weights
  if dynamic:
    # As with the released test's placeholders: only the ranks are known.
    specs = {name: tf.TensorSpec([None] * np.ndim(value), tf.float32)
             for name, value in args.items()}
    fn = tf.function(fn).get_concrete_function
    args = specs
  # For bootstrap_value this contains the released test's 'must have rank 2'.
  with pytest.raises(ValueError, match=f'{bad_arg} must have rank {rank}'):
    fn(**args)


def test_time_only_inputs_and_rank_0():
  # Rank 1 ([T], bootstrap []) is accepted there; rank 0 never is.
  with pytest.raises(ValueError, match=r'log_rhos must have rank >= 1'):
    vtrace.from_importance_weights(0.0, 0.9, 1.0, 0.5, 0.5)
  with pytest.raises(ValueError, match=r'bootstrap_value must have rank 0 '
                     r'\(expected shape \[\]\)'):
    vtrace.from_importance_weights(*inputs_of_shapes(
        _rng(25), (4,), (4,), (4,), (4,), (1,)))


@pytest.mark.parametrize('shapes,pattern', [
    # The reverse scan walks log_rhos and discounts step by step.
    ([(6, 3), (1, 3), (6, 3), (6, 3), (3,)],
     r'discounts must have the shape of log_rhos \[6, 3\] or broadcast to '
     r"the targets' shape \[6, 3\] on every axis but time, which must be "
     r'T = 6, got \[1, 3\]'),
    ([(6, 3), (5, 3), (6, 3), (6, 3), (3,)], r'discounts must .* T = 6'),
    # The accumulator has bootstrap_value's shape: nothing may widen it.
    ([(6, 3, 2), (6, 3, 1), (6, 3, 4), (6, 3, 4), (3, 4)],
     r"log_rhos must broadcast to the targets' shape \[6, 3, 4\] .*"
     r'got \[6, 3, 2\]'),
    ([(6, 3, 4), (6, 3, 1), (6, 3, 4), (6, 3, 1), (3, 1)],
     r"log_rhos must broadcast to the targets' shape \[6, 3, 1\]"),
    ([(6, 3, 1), (6, 3, 2), (6, 3, 4), (6, 3, 4), (3, 4)],
     r'discounts must .* got \[6, 3, 2\]'),
    ([(6, 3, 1), (6, 3, 1), (6, 3, 2), (6, 3, 4), (3, 4)],
     r'rewards must have the shape of log_rhos \[6, 3, 1\] or broadcast to '
     r"the targets' shape \[6, 3, 4\], got \[6, 3, 2\]"),
    ([(6, 3), (6, 3), (4, 3), (6, 3), (3,)],
     r'rewards must have the shape of log_rhos \[6, 3\]'),
    ([(6, 3), (6, 3), (6, 3), (4, 3), (3,)],
     r'values must have the T = 6 steps of log_rhos, or 1 step, on its time '
     r'axis, got \[4, 3\]'),
    # bootstrap_value is appended to values along time: no broadcasting.
    ([(6, 3, 1), (6, 3, 1), (6, 3, 4), (6, 3, 4), (3, 1)],
     r'bootstrap_value must have shape \[3, 4\]'),
    ([(6, 3, 1), (6, 3, 1), (6, 3, 4), (6, 1, 4), (3, 4)],
     r'bootstrap_value must have shape \[1, 4\]'),
])
@pytest.mark.parametrize('mode', ['eager', 'function'])
def test_shapes_that_cannot_broadcast_name_the_argument(shapes, pattern,
                                                        mode):
  inputs = [np.zeros(shape, np.float32) for shape in shapes]
  with pytest.raises(ValueError, match=pattern):
    _runner(mode)(*inputs)


def test_partly_unknown_shapes_still_name_the_argument():
  # values' last axis unknown: log_rhos' 2 and rewards' 3 cannot both fit.
  specs = [tf.TensorSpec(shape, tf.float32) for shape in (
      [None, None, 2], [None, None, 1], [None, None, 3], [None, None, None],
      [None, None])]
  with pytest.raises(ValueError,
                     match=r'rewards must .* got \[None, None, 3\]'):
    tf.function(vtrace.from_importance_weights).get_concrete_function(*specs)


def test_code_written_for_the_released_signature_runs():
  # scalable_agent vtrace.py's from_importance_weights(log_rhos, discounts,
  # rewards, values, bootstrap_value, clip_rho_threshold,
  # clip_pg_rho_threshold, name), thresholds as numbers or scalar tensors.
  inputs = random_inputs(_rng(26), 7, 3)
  vs, pg = ground_truth(*inputs, 3.7, 2.2)
  positional = vtrace.from_importance_weights(*inputs, 3.7, 2.2, 'my_vtrace')
  by_name = dict(zip(
      ['log_rhos', 'discounts', 'rewards', 'values', 'bootstrap_value'],
      inputs))
  keywords = vtrace.from_importance_weights(
      **by_name, clip_rho_threshold=tf.constant(3.7),
      clip_pg_rho_threshold=np.float32(2.2), name='my_vtrace')
  traced = tf.function(vtrace.from_importance_weights)(
      *inputs, tf.constant(3.7), tf.constant(2.2), 'my_vtrace')
  for out in (positional, keywords, traced):
    assert_close(out.vs.numpy(), vs, 'vs')
    assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')
  unclipped = vtrace.from_importance_weights(*inputs, None, None, 'no_clip')
  vs, pg = ground_truth(*inputs, None, None)
  assert_close(unclipped.vs.numpy(), vs, 'vs')


def test_code_written_for_the_released_from_logits_runs():
  # from_logits(behaviour_policy_logits, target_policy_logits, actions,
  # discounts, rewards, values, bootstrap_value, clip_rho_threshold,
  # clip_pg_rho_threshold, name).
  rng = _rng(27)
  behaviour = rng.normal(size=(5, 2, 3)).astype(np.float32)
  target = rng.normal(size=(5, 2, 3)).astype(np.float32)
  actions = rng.integers(0, 3, size=(5, 2)).astype(np.int32)
  _, discounts, rewards, values, bootstrap = random_inputs(rng, 5, 2)
  positional = vtrace.from_logits(behaviour, target, actions, discounts,
                                  rewards, values, bootstrap, None, 2.2,
                                  'my_vtrace_from_logits')
  keywords = vtrace.from_logits(
      behaviour_policy_logits=behaviour, target_policy_logits=target,
      actions=actions, discounts=discounts, rewards=rewards, values=values,
      bootstrap_value=bootstrap, clip_rho_threshold=None,
      clip_pg_rho_threshold=tf.constant(2.2), name='my_vtrace_from_logits')
  log_rhos = positional.log_rhos.numpy()
  vs, pg = ground_truth(log_rhos, discounts, rewards, values, bootstrap,
                        None, 2.2)
  for out in (positional, keywords):
    assert_close(out.vs.numpy(), vs, 'vs')
    assert_close(out.pg_advantages.numpy(), pg, 'pg_advantages')


def test_from_logits_needs_matching_time_and_batch_axes_only():
  # As there, the two policies' logits are only tied through actions [T, B].
  rng = _rng(28)
  actions = rng.integers(0, 3, size=(5, 2)).astype(np.int32)
  _, discounts, rewards, values, bootstrap = random_inputs(rng, 5, 2)
  out = vtrace.from_logits(np.zeros((5, 2, 3), np.float32),
                           np.zeros((5, 2, 4), np.float32), actions,
                           discounts, rewards, values, bootstrap)
  np.testing.assert_allclose(out.log_rhos, np.log(3 / 4) * np.ones((5, 2)),
                             rtol=1e-5)
  with pytest.raises(ValueError, match=r'target_policy_logits must have the '
                     r'time and batch axes of behaviour_policy_logits'):
    vtrace.from_logits(np.zeros((5, 2, 3), np.float32),
                       np.zeros((4, 2, 3), np.float32), actions,
                       discounts, rewards, values, bootstrap)


def test_threshold_must_be_a_scalar():
  inputs = random_inputs(_rng(29), 3, 2)
  with pytest.raises(ValueError,
                     match=r'clip_pg_rho_threshold must have rank 0'):
    vtrace.from_importance_weights(*inputs, clip_pg_rho_threshold=[1.0, 2.0])
  with pytest.raises(ValueError, match='clip_rho_threshold must be None or'):
    vtrace.from_importance_weights(*inputs, clip_rho_threshold=tf.constant(
        -1.0))
