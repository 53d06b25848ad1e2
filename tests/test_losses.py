"""Loss terms, reward clipping and the Table 2 correction variants."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import losses
from tests.test_vtrace import ground_truth, random_inputs

T, B, A = 6, 3, 4


def _np_log_softmax(logits):
  logits = logits.astype(np.float64)
  return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


@pytest.fixture
def data():
  rng = np.random.default_rng(7)
  log_rhos, discounts, rewards, values, bootstrap = random_inputs(rng, T, B)
  return dict(
      behaviour=rng.normal(size=(T, B, A)).astype(np.float32),
      target=rng.normal(size=(T, B, A)).astype(np.float32),
      actions=rng.integers(0, A, size=(T, B)).astype(np.int32),
      discounts=discounts, rewards=rewards, values=values,
      bootstrap=bootstrap, advantages=rng.normal(size=(T, B)).astype(
          np.float32))


def test_policy_gradient_loss_is_summed_cross_entropy_times_advantage(data):
  log_pi = _np_log_softmax(data['target'])
  taken = np.take_along_axis(log_pi, data['actions'][..., None], -1)[..., 0]
  expected = np.sum(-taken * data['advantages'])
  got = losses.policy_gradient_loss(data['target'], data['actions'],
                                    data['advantages'])
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  got_mean = losses.policy_gradient_loss(data['target'], data['actions'],
                                         data['advantages'], reduction='mean')
  np.testing.assert_allclose(got_mean, expected / (T * B), rtol=1e-5)


def test_policy_gradient_does_not_flow_into_advantages(data):
  advantages = tf.Variable(data['advantages'])
  logits = tf.Variable(data['target'])
  with tf.GradientTape() as tape:
    loss = losses.policy_gradient_loss(logits, data['actions'], advantages)
  grad_adv, grad_logits = tape.gradient(loss, [advantages, logits])
  assert grad_adv is None
  # d/dlogits of -log softmax(a) * adv = (softmax - onehot) * adv.
  probs = np.exp(_np_log_softmax(data['target']))
  onehot = np.eye(A)[data['actions']]
  expected = (probs - onehot) * data['advantages'][..., None]
  np.testing.assert_allclose(grad_logits, expected, rtol=1e-4, atol=1e-6)


def test_epsilon_correction_puts_epsilon_inside_the_log(data):
  probs = np.exp(_np_log_softmax(data['target']))
  taken = np.take_along_axis(probs, data['actions'][..., None], -1)[..., 0]
  expected = np.sum(-np.log(taken + 1e-6) * data['advantages'])
  got = losses.policy_gradient_loss(data['target'], data['actions'],
                                    data['advantages'], epsilon=1e-6)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_baseline_loss_and_its_gradient(data):
  values = tf.Variable(data['values'])
  vs = data['rewards']
  with tf.GradientTape() as tape:
    loss = 0.5 * losses.baseline_loss(vs - values)
  np.testing.assert_allclose(
      loss, 0.25 * np.sum((vs - data['values'])**2), rtol=1e-5)
  # baseline_cost 0.5 => gradient -0.5 (vs - V), as scalable_agent experiment.py.
  np.testing.assert_allclose(tape.gradient(loss, values),
                             -0.5 * (vs - data['values']), rtol=1e-5)


def test_entropy_loss_is_negative_entropy(data):
  log_pi = _np_log_softmax(data['target'])
  expected = np.sum(np.exp(log_pi) * log_pi)
  np.testing.assert_allclose(losses.entropy_loss(data['target']), expected,
                             rtol=1e-5)
  assert losses.entropy_loss(data['target']) < 0
  np.testing.assert_allclose(
      losses.entropy_loss(data['target'], reduction='mean'),
      expected / (T * B), rtol=1e-5)


@pytest.mark.parametrize('reward,abs_one,soft', [
    (0.0, 0.0, 0.0), (0.5, 0.5, 5 * np.tanh(0.1)), (10.0, 1.0,
                                                    5 * np.tanh(2.0)),
    (-10.0, -1.0, 1.5 * np.tanh(-2.0)), (-0.5, -0.5, 1.5 * np.tanh(-0.1)),
])
def test_reward_clipping(reward, abs_one, soft):
  np.testing.assert_allclose(losses.clip_rewards([reward], 'abs_one'),
                             [abs_one], rtol=1e-6)
  np.testing.assert_allclose(losses.clip_rewards([reward], 'soft_asymmetric'),
                             [soft], rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(losses.clip_rewards([reward], 'none'), [reward])


def _targets(correction, data, **kwargs):
  return losses.compute_targets(
      correction, data['behaviour'], data['target'], data['actions'],
      data['discounts'], data['rewards'], data['values'], data['bootstrap'],
      **kwargs)


def _log_rhos(data):
  lp = lambda logits: np.take_along_axis(  # pylint: disable=g-long-lambda
      _np_log_softmax(logits), data['actions'][..., None], -1)[..., 0]
  return lp(data['target']) - lp(data['behaviour'])


def test_vtrace_variant_is_vtrace(data):
  out = _targets('vtrace', data, clip_rho_threshold=1.0,
                 clip_pg_rho_threshold=1.0)
  vs, pg = ground_truth(_log_rhos(data), data['discounts'], data['rewards'],
                        data['values'], data['bootstrap'], 1.0, 1.0)
  np.testing.assert_allclose(out.vs, vs, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out.pg_advantages, pg, rtol=1e-5, atol=1e-5)


def test_uncorrected_variants_ignore_the_behaviour_policy(data):
  zero = np.zeros((T, B))
  vs, pg = ground_truth(zero, data['discounts'], data['rewards'],
                        data['values'], data['bootstrap'], None, None)
  for correction in ('no-correction', 'epsilon-correction'):
    out = _targets(correction, data)
    np.testing.assert_allclose(out.vs, vs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.pg_advantages, pg, rtol=1e-5, atol=1e-5)


def test_one_step_is_weights_only_the_advantage(data):
  zero = np.zeros((T, B))
  vs, pg = ground_truth(zero, data['discounts'], data['rewards'],
                        data['values'], data['bootstrap'], None, None)
  out = _targets('1-step-is', data, clip_pg_rho_threshold=1.0)
  rhos = np.minimum(1.0, np.exp(_log_rhos(data)))
  np.testing.assert_allclose(out.vs, vs, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out.pg_advantages, rhos * pg, rtol=1e-5,
                             atol=1e-5)


def test_variants_agree_on_policy(data):
  data = dict(data, behaviour=data['target'])
  reference = _targets('vtrace', data)
  for correction in losses.CORRECTIONS:
    out = _targets(correction, data)
    np.testing.assert_allclose(out.vs, reference.vs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.pg_advantages, reference.pg_advantages,
                               rtol=1e-5, atol=1e-5)


def test_impala_loss_assembles_the_terms(data):
  dones = data['discounts'] == 0
  out = losses.impala_loss(
      data['target'], data['values'], data['bootstrap'], data['behaviour'],
      data['actions'], data['rewards'] * 3, dones, discounting=0.99,
      baseline_cost=0.5, entropy_cost=0.01, reward_clipping='abs_one')
  rewards = np.clip(data['rewards'] * 3, -1, 1)
  discounts = np.where(dones, 0.0, 0.99)
  log_rhos = _log_rhos(data)
  vs, pg_adv = ground_truth(log_rhos, discounts, rewards, data['values'],
                            data['bootstrap'], 1.0, 1.0)
  log_pi = _np_log_softmax(data['target'])
  taken = np.take_along_axis(log_pi, data['actions'][..., None], -1)[..., 0]
  pg = np.sum(-taken * pg_adv)
  baseline = 0.5 * 0.5 * np.sum((vs - data['values'])**2)
  entropy = 0.01 * np.sum(np.exp(log_pi) * log_pi)
  np.testing.assert_allclose(out.policy_gradient, pg, rtol=1e-4)
  np.testing.assert_allclose(out.baseline, baseline, rtol=1e-4)
  np.testing.assert_allclose(out.entropy, entropy, rtol=1e-4)
  np.testing.assert_allclose(out.total, pg + baseline + entropy, rtol=1e-4)
  np.testing.assert_allclose(out.rho_clip_fraction, np.mean(log_rhos > 0),
                             rtol=1e-6)


def test_bad_options_are_named():
  with pytest.raises(ValueError, match='reward_clipping must be one of'):
    losses.clip_rewards([1.0], 'tanh')
  with pytest.raises(ValueError, match='correction must be one of'):
    losses.compute_targets('retrace', *([None] * 7))
  with pytest.raises(ValueError, match='reduction must be one of'):
    losses.baseline_loss([1.0], reduction='max')


def _one_step(pi, mu):
  """A hand-made batch T=1, B=1, 2 actions, action 0 taken with target
  probability ``pi`` and behaviour probability ``mu``; reward 1, V(x) = 0,
  bootstrap 0.5, discount 0.9: the on-policy TD error is 1 + 0.45 = 1.45."""
  logits = lambda p: np.log([[[p, 1.0 - p]]]).astype(np.float32)
  return dict(behaviour=logits(mu), target=logits(pi),
              actions=np.zeros((1, 1), np.int32),
              discounts=np.full((1, 1), 0.9, np.float32),
              rewards=np.ones((1, 1), np.float32),
              values=np.zeros((1, 1), np.float32),
              bootstrap=np.full((1,), 0.5, np.float32))


def test_each_correction_moves_the_targets_the_expected_way_by_hand():
  # pi/mu = 0.5: the target policy takes the action half as often.
  batch = _one_step(pi=0.25, mu=0.5)
  out = {c: _targets(c, batch) for c in losses.CORRECTIONS}
  val = lambda c, field: float(np.asarray(getattr(out[c], field))[0, 0])
  for c in ('no-correction', 'epsilon-correction'):  # The full TD error.
    assert val(c, 'pg_advantages') == pytest.approx(1.45)
    assert val(c, 'vs') == pytest.approx(1.45)
  # 1-step IS halves the advantage, not the value target.
  assert val('1-step-is', 'pg_advantages') == pytest.approx(0.725)
  assert val('1-step-is', 'vs') == pytest.approx(1.45)
  # V-trace halves both (rho-bar = c-bar = min(1, 0.5)).
  assert val('vtrace', 'pg_advantages') == pytest.approx(0.725)
  assert val('vtrace', 'vs') == pytest.approx(0.725)
  # pi/mu = 2: V-trace and clipped 1-step IS clip the weight at 1, i.e. the
  # uncorrected targets; the weight never grows the update.
  batch = _one_step(pi=0.8, mu=0.4)
  out = {c: _targets(c, batch) for c in losses.CORRECTIONS}
  for c in losses.CORRECTIONS:
    assert val(c, 'pg_advantages') == pytest.approx(1.45)
    assert val(c, 'vs') == pytest.approx(1.45)
  # Epsilon correction: log(pi + eps) > log(pi), so the loss of the same
  # advantage is smaller in size than without it.
  logits, actions = batch['target'], batch['actions']
  advantages = np.full((1, 1), 1.45, np.float32)
  plain = float(losses.policy_gradient_loss(logits, actions, advantages))
  eps = float(losses.policy_gradient_loss(logits, actions, advantages,
                                          epsilon=0.1))
  assert 0.0 < eps < plain
