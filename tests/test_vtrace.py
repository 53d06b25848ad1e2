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
  """Eq. (1): v_s = V_s + sum_t (prod_{i<t} discount_i c_i) rho_t delta_t."""
  log_rhos, discounts, rewards, values, bootstrap_value = (
      np.asarray(x, np.float64)
      for x in (log_rhos, discounts, rewards, values, bootstrap_value))
  rhos = np.exp(log_rhos)
  cs = lambda_ * np.minimum(rhos, 1.0)
  clipped_rhos = rhos if clip_rho_threshold is None else np.minimum(
      rhos, clip_rho_threshold)
  pg_rhos = rhos if clip_pg_rho_threshold is None else np.minimum(
      rhos, clip_pg_rho_threshold)
  values_t_plus_1 = np.concatenate([values[1:], bootstrap_value[None]], axis=0)
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
  log_rhos = rng.uniform(-2.5, 2.5, size=shape)  # rho in ~[0.08, 12.2]
  discounts = np.full(shape, 0.99) * rng.uniform(0.8, 1.0, size=shape)
  if zero_discounts and seq_len > 2:
    # Episode ends in the middle of the unroll for some batch entries.
    mask = rng.uniform(size=shape) < 0.2
    mask[seq_len // 2] = True
    discounts = np.where(mask, 0.0, discounts)
  rewards = rng.normal(size=shape)
  values = rng.normal(size=shape)
  bootstrap_value = rng.normal(size=shape[1:])
  return [x.astype(np.float32)
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
