"""V-trace off-policy targets (IMPALA paper, section 4; Remark 2 for lambda).

Everything is time-major. With T the unroll length and B the batch size:

  log_probs_from_logits_and_actions(logits [T, B, A], actions [T, B]) -> [T, B]
  from_logits(behaviour_logits [T, B, A], target_logits [T, B, A],
              actions [T, B], discounts [T, B], rewards [T, B],
              values [T, B], bootstrap_value [B]) -> VTraceFromLogitsReturns
  from_importance_weights(log_rhos [T, B], discounts [T, B], rewards [T, B],
                          values [T, B], bootstrap_value [B]) -> VTraceReturns

``from_importance_weights`` also accepts extra trailing dimensions, the same on
every argument ([T, B, ...] and [B, ...] for the bootstrap value).

``discounts[t]`` is gamma * (1 - done[t]): a zero cuts both the bootstrap and
the trace at an episode end. The returned tensors are wrapped in
``tf.stop_gradient``: they are targets, not something to differentiate.

The recursion used (paper Remark 1, with lambda folded into c_s):

  v_s - V(x_s) = delta_s + discount_s * c_s * (v_{s+1} - V(x_{s+1}))
  delta_s = rho_s * (r_s + discount_s * V(x_{s+1}) - V(x_s))
  rho_s = min(rho_bar, pi/mu),  c_s = lambda * min(1, pi/mu)
  pg_advantage_s = min(rho_bar_pg, pi/mu) * (r_s + discount_s * v_{s+1} - V(x_s))
"""

import collections

import tensorflow as tf

VTraceReturns = collections.namedtuple('VTraceReturns', 'vs pg_advantages')

VTraceFromLogitsReturns = collections.namedtuple(
    'VTraceFromLogitsReturns',
    ['vs', 'pg_advantages', 'log_rhos', 'behaviour_action_log_probs',
     'target_action_log_probs'])


def _check_rank(name, tensor, rank, expected):
  if tensor.shape.rank is not None and tensor.shape.rank != rank:
    raise ValueError(
        f'{name} must have rank {rank} (expected shape {expected}), '
        f'got shape {tensor.shape.as_list()}.')


def _check_same_shape(name, tensor, reference_name, reference):
  if not tensor.shape.is_compatible_with(reference.shape):
    raise ValueError(
        f'{name} must have the shape of {reference_name} '
        f'{reference.shape.as_list()}, got {tensor.shape.as_list()}.')


def log_probs_from_logits_and_actions(policy_logits, actions):
  """log pi(a_t | x_t) for the taken actions.

  Args:
    policy_logits: [T, B, NUM_ACTIONS] float, unnormalised log-probabilities.
    actions: [T, B] int, the actions taken.

  Returns:
    [T, B] float: log-probabilities of ``actions`` under ``policy_logits``.
  """
  policy_logits = tf.convert_to_tensor(policy_logits, dtype=tf.float32)
  actions = tf.convert_to_tensor(actions, dtype=tf.int32)
  _check_rank('policy_logits', policy_logits, 3, '[T, B, NUM_ACTIONS]')
  _check_rank('actions', actions, 2, '[T, B]')
  if not policy_logits.shape[:2].is_compatible_with(actions.shape):
    raise ValueError(
        f'actions must have shape [T, B] = {policy_logits.shape[:2].as_list()}'
        f' to match policy_logits, got {actions.shape.as_list()}.')
  return -tf.nn.sparse_softmax_cross_entropy_with_logits(
      logits=policy_logits, labels=actions)


def from_logits(behaviour_policy_logits,
                target_policy_logits,
                actions,
                discounts,
                rewards,
                values,
                bootstrap_value,
                clip_rho_threshold=1.0,
                clip_pg_rho_threshold=1.0,
                lambda_=1.0):
  """V-trace for softmax policies given as logits.

  Args:
    behaviour_policy_logits: [T, B, NUM_ACTIONS], logits of mu (the actor's).
    target_policy_logits: [T, B, NUM_ACTIONS], logits of pi (the learner's).
    actions: [T, B] int, actions sampled from mu.
    discounts: [T, B], gamma * (1 - done).
    rewards: [T, B], (clipped) rewards.
    values: [T, B], V(x_t) under the learner's parameters.
    bootstrap_value: [B], V(x_T).
    clip_rho_threshold: rho-bar, or None for no clipping.
    clip_pg_rho_threshold: rho-bar for the policy-gradient weight, or None.
    lambda_: trace-cutting mixing coefficient in [0, 1] (paper Remark 2).

  Returns:
    VTraceFromLogitsReturns with vs [T, B], pg_advantages [T, B],
    log_rhos [T, B], behaviour_action_log_probs [T, B] and
    target_action_log_probs [T, B].
  """
  behaviour_policy_logits = tf.convert_to_tensor(
      behaviour_policy_logits, dtype=tf.float32)
  target_policy_logits = tf.convert_to_tensor(
      target_policy_logits, dtype=tf.float32)
  actions = tf.convert_to_tensor(actions, dtype=tf.int32)
  _check_rank('behaviour_policy_logits', behaviour_policy_logits, 3,
              '[T, B, NUM_ACTIONS]')
  _check_rank('target_policy_logits', target_policy_logits, 3,
              '[T, B, NUM_ACTIONS]')
  _check_same_shape('target_policy_logits', target_policy_logits,
                    'behaviour_policy_logits', behaviour_policy_logits)
  _check_rank('actions', actions, 2, '[T, B]')

  target_action_log_probs = log_probs_from_logits_and_actions(
      target_policy_logits, actions)
  behaviour_action_log_probs = log_probs_from_logits_and_actions(
      behaviour_policy_logits, actions)
  log_rhos = target_action_log_probs - behaviour_action_log_probs
  returns = from_importance_weights(
      log_rhos=log_rhos,
      discounts=discounts,
      rewards=rewards,
      values=values,
      bootstrap_value=bootstrap_value,
      clip_rho_threshold=clip_rho_threshold,
      clip_pg_rho_threshold=clip_pg_rho_threshold,
      lambda_=lambda_)
  return VTraceFromLogitsReturns(
      vs=returns.vs,
      pg_advantages=returns.pg_advantages,
      log_rhos=tf.stop_gradient(log_rhos),
      behaviour_action_log_probs=tf.stop_gradient(behaviour_action_log_probs),
      target_action_log_probs=tf.stop_gradient(target_action_log_probs))


def _check_threshold(name, value):
  if value is not None and not value > 0:
    raise ValueError(f'{name} must be None or > 0, got {value}.')


def from_importance_weights(log_rhos,
                            discounts,
                            rewards,
                            values,
                            bootstrap_value,
                            clip_rho_threshold=1.0,
                            clip_pg_rho_threshold=1.0,
                            lambda_=1.0):
  """V-trace targets from log importance weights log(pi(a_t|x_t)/mu(a_t|x_t)).

  Args:
    log_rhos: [T, B, ...] float, log importance weights.
    discounts: [T, B, ...], gamma * (1 - done).
    rewards: [T, B, ...].
    values: [T, B, ...], V(x_t).
    bootstrap_value: [B, ...], V(x_T).
    clip_rho_threshold: rho-bar in the value targets, or None for no clip.
    clip_pg_rho_threshold: rho-bar in the policy-gradient weight, or None.
    lambda_: float in [0, 1]; c_s = lambda_ * min(1, pi/mu).

  Returns:
    VTraceReturns(vs [T, B, ...], pg_advantages [T, B, ...]), no gradient.

  Raises:
    ValueError: a rank or shape that does not fit the above, naming the
      argument and the expected shape.
  """
  log_rhos = tf.convert_to_tensor(log_rhos, dtype=tf.float32)
  discounts = tf.convert_to_tensor(discounts, dtype=tf.float32)
  rewards = tf.convert_to_tensor(rewards, dtype=tf.float32)
  values = tf.convert_to_tensor(values, dtype=tf.float32)
  bootstrap_value = tf.convert_to_tensor(bootstrap_value, dtype=tf.float32)
  _check_threshold('clip_rho_threshold', clip_rho_threshold)
  _check_threshold('clip_pg_rho_threshold', clip_pg_rho_threshold)
  if not 0.0 <= lambda_ <= 1.0:
    raise ValueError(f'lambda_ must be in [0, 1], got {lambda_}.')

  rho_rank = log_rhos.shape.rank
  if rho_rank is not None:
    if rho_rank < 2:
      raise ValueError(
          'log_rhos must have rank >= 2 (expected shape [T, B, ...]), '
          f'got shape {log_rhos.shape.as_list()}.')
    expected = '[T, B' + ', ...' * (rho_rank - 2) + ']'
    for name, tensor in (('discounts', discounts), ('rewards', rewards),
                         ('values', values)):
      _check_rank(name, tensor, rho_rank, expected)
      _check_same_shape(name, tensor, 'log_rhos', log_rhos)
    _check_rank('bootstrap_value', bootstrap_value, rho_rank - 1,
                '[B' + ', ...' * (rho_rank - 2) + ']')
    if not bootstrap_value.shape.is_compatible_with(values.shape[1:]):
      raise ValueError(
          f'bootstrap_value must have shape {values.shape[1:].as_list()} '
          f'(values without its time axis), got '
          f'{bootstrap_value.shape.as_list()}.')

  rhos = tf.exp(log_rhos)
  if clip_rho_threshold is not None:
    clipped_rhos = tf.minimum(clip_rho_threshold, rhos)
  else:
    clipped_rhos = rhos
  cs = lambda_ * tf.minimum(1.0, rhos)

  values_t_plus_1 = tf.concat([values[1:], bootstrap_value[None]], axis=0)
  deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)

  def backward_step(acc, elems):
    delta, discount_c = elems
    return delta + discount_c * acc

  vs_minus_v = tf.scan(
      backward_step,
      elems=(deltas, discounts * cs),
      initializer=tf.zeros_like(bootstrap_value),
      reverse=True)
  vs = vs_minus_v + values

  vs_t_plus_1 = tf.concat([vs[1:], bootstrap_value[None]], axis=0)
  if clip_pg_rho_threshold is not None:
    pg_rhos = tf.minimum(clip_pg_rho_threshold, rhos)
  else:
    pg_rhos = rhos
  pg_advantages = pg_rhos * (rewards + discounts * vs_t_plus_1 - values)
  return VTraceReturns(
      vs=tf.stop_gradient(vs), pg_advantages=tf.stop_gradient(pg_advantages))
