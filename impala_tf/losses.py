"""IMPALA's loss terms, reward clipping and the Table 2 correction variants.

All tensors are time-major and already aligned by the learner (T steps, batch
B, A actions):

  clip_rewards(rewards [T, B], mode) -> [T, B]
  policy_gradient_loss(logits [T, B, A], actions [T, B], advantages [T, B]) -> []
  baseline_loss(advantages [T, B]) -> []          # 0.5 * sum(adv^2)
  entropy_loss(logits [T, B, A]) -> []             # sum(pi log pi) = -entropy
  compute_targets(variant, ...) -> Targets(vs [T, B], pg_advantages [T, B])

The paper (Table D.1 caption) and the released code *sum* the losses over time
and batch; ``reduction='mean'`` averages instead (as SEED RL does), which
scales the effective learning rate by 1 / (T * B).
"""

import collections

import tensorflow as tf

from impala_tf import vtrace
# The option names live in the TF-free config module (flags validate them).
from impala_tf.config import CORRECTIONS, REDUCTIONS, REWARD_CLIPPING

# The epsilon of the epsilon-correction variant (paper section 5.2.2).
EPSILON_CORRECTION = 1e-6

Targets = collections.namedtuple('Targets', 'vs pg_advantages log_rhos')


def _check_choice(name, value, choices):
  if value not in choices:
    raise ValueError(f'{name} must be one of {choices}, got {value!r}.')


def _reduce(tensor, reduction):
  _check_choice('reduction', reduction, REDUCTIONS)
  return tf.reduce_sum(tensor) if reduction == 'sum' else tf.reduce_mean(
      tensor)


def clip_rewards(rewards, mode):
  """Clips rewards for the learner.

  'abs_one': clip to [-1, 1] (Atari and single DMLab tasks).
  'soft_asymmetric': the released code's optimistic asymmetric clipping,
    5 * tanh(r / 5) for r >= 0 and 0.3 * 5 * tanh(r / 5) for r < 0. The paper's
    Figure D.1 caption prints a different formula; the code's is the one that
    produced the published DMLab-30 results (scalable_agent experiment.py).
    (The two differ: the caption has no /5 inside tanh and scales negative
    rewards by 0.3.)
  'none': unchanged.
  """
  _check_choice('reward_clipping', mode, REWARD_CLIPPING)
  rewards = tf.convert_to_tensor(rewards, tf.float32)
  if mode == 'abs_one':
    return tf.clip_by_value(rewards, -1.0, 1.0)
  if mode == 'soft_asymmetric':
    squeezed = tf.tanh(rewards / 5.0)
    return 5.0 * tf.where(rewards < 0, 0.3 * squeezed, squeezed)
  return rewards


def policy_gradient_loss(logits, actions, advantages, reduction='sum',
                         epsilon=None):
  """Cross-entropy of the taken actions times stop-gradient advantages.

  Args:
    logits: [T, B, A] learner policy logits.
    actions: [T, B] int actions taken by the actors.
    advantages: [T, B]; gradients do not flow into them.
    reduction: 'sum' (paper) or 'mean'.
    epsilon: if set, uses -log(pi(a) + epsilon) instead of -log pi(a) (the
      Table 2 epsilon-correction variant).

  Returns:
    Scalar loss.
  """
  actions = tf.convert_to_tensor(actions, tf.int32)
  if epsilon is None:
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=actions, logits=logits)
  else:
    probs = tf.nn.softmax(logits)
    taken = tf.gather(probs, actions, batch_dims=2)
    cross_entropy = -tf.math.log(taken + epsilon)
  return _reduce(cross_entropy * tf.stop_gradient(advantages), reduction)


def baseline_loss(advantages, reduction='sum'):
  """0.5 * sum((vs - V)^2); the learner multiplies it by ``baseline_cost``.

  Args:
    advantages: [T, B], vs - V(x).
  """
  return 0.5 * _reduce(tf.square(advantages), reduction)


def entropy_loss(logits, reduction='sum'):
  """Negative entropy, sum over actions of pi log pi; weighted by entropy_cost.

  Args:
    logits: [T, B, A].
  """
  policy = tf.nn.softmax(logits)
  log_policy = tf.nn.log_softmax(logits)
  return _reduce(tf.reduce_sum(policy * log_policy, axis=-1), reduction)


def compute_targets(correction, behaviour_logits, target_logits, actions,
                    discounts, rewards, values, bootstrap_value,
                    clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0,
                    lambda_=1.0):
  """Value targets and policy-gradient advantages for one correction variant.

  Variants (paper section 5.2.2):
    'vtrace': V-trace for both (section 4).
    '1-step-is': no correction of the value targets (on-policy n-step
      returns); the advantage r + gamma v_{s+1} - V is multiplied by the
      per-step importance weight min(clip_pg_rho_threshold, pi/mu).
    'epsilon-correction': no importance weights at all; the policy-gradient
      loss adds epsilon inside the log (see ``policy_gradient_loss``).
    'no-correction': no importance weights at all (ignores the policy lag).

  Args:
    correction: one of CORRECTIONS.
    behaviour_logits, target_logits: [T, B, A].
    actions, discounts, rewards, values: [T, B].
    bootstrap_value: [B].

  Returns:
    Targets(vs [T, B], pg_advantages [T, B], log_rhos [T, B]); no gradient.
  """
  _check_choice('correction', correction, CORRECTIONS)
  if correction == 'vtrace':
    returns = vtrace.from_logits(
        behaviour_logits, target_logits, actions, discounts, rewards, values,
        bootstrap_value, clip_rho_threshold=clip_rho_threshold,
        clip_pg_rho_threshold=clip_pg_rho_threshold, lambda_=lambda_)
    return Targets(returns.vs, returns.pg_advantages, returns.log_rhos)

  log_rhos = tf.stop_gradient(
      vtrace.log_probs_from_logits_and_actions(target_logits, actions) -
      vtrace.log_probs_from_logits_and_actions(behaviour_logits, actions))
  # Uncorrected targets are V-trace with every importance weight equal to 1.
  uncorrected = vtrace.from_importance_weights(
      tf.zeros_like(log_rhos), discounts, rewards, values, bootstrap_value,
      clip_rho_threshold=None, clip_pg_rho_threshold=None, lambda_=lambda_)
  pg_advantages = uncorrected.pg_advantages
  if correction == '1-step-is':
    rhos = tf.exp(log_rhos)
    if clip_pg_rho_threshold is not None:
      rhos = tf.minimum(clip_pg_rho_threshold, rhos)
    pg_advantages = rhos * pg_advantages
  return Targets(uncorrected.vs, tf.stop_gradient(pg_advantages), log_rhos)


LossOutput = collections.namedtuple(
    'LossOutput',
    ['total', 'policy_gradient', 'baseline', 'entropy', 'rho_clip_fraction',
     'mean_log_rho'])


def impala_loss(learner_logits, learner_values, bootstrap_value,
                behaviour_logits, actions, rewards, dones, *, discounting,
                baseline_cost, entropy_cost, reward_clipping='abs_one',
                correction='vtrace', clip_rho_threshold=1.0,
                clip_pg_rho_threshold=1.0, lambda_=1.0, reduction='sum'):
  """The learner's total loss on aligned [T, B] data.

  Args:
    learner_logits: [T, B, A], pi at x_0..x_{T-1} (learner parameters).
    learner_values: [T, B], V(x_0..x_{T-1}).
    bootstrap_value: [B], V(x_T).
    behaviour_logits: [T, B, A], mu that chose ``actions``.
    actions: [T, B] int.
    rewards: [T, B] raw rewards of the transitions (clipped here).
    dones: [T, B] bool, the transition ended an episode.
    discounting: gamma.
    baseline_cost, entropy_cost: loss weights (paper: 0.5, swept).

  Returns:
    LossOutput: total loss and its parts (scalars), plus diagnostics: the
    fraction of importance weights clipped by clip_rho_threshold and the mean
    log importance weight.
  """
  clipped_rewards = clip_rewards(rewards, reward_clipping)
  discounts = tf.cast(tf.logical_not(dones), tf.float32) * discounting
  targets = compute_targets(
      correction, behaviour_logits, learner_logits, actions, discounts,
      clipped_rewards, learner_values, bootstrap_value,
      clip_rho_threshold=clip_rho_threshold,
      clip_pg_rho_threshold=clip_pg_rho_threshold, lambda_=lambda_)
  epsilon = EPSILON_CORRECTION if correction == 'epsilon-correction' else None
  pg = policy_gradient_loss(learner_logits, actions, targets.pg_advantages,
                            reduction, epsilon=epsilon)
  baseline = baseline_cost * baseline_loss(targets.vs - learner_values,
                                           reduction)
  entropy = entropy_cost * entropy_loss(learner_logits, reduction)
  threshold = 1.0 if clip_rho_threshold is None else clip_rho_threshold
  clip_fraction = tf.reduce_mean(
      tf.cast(targets.log_rhos > tf.math.log(threshold), tf.float32))
  return LossOutput(
      total=pg + baseline + entropy,
      policy_gradient=pg,
      baseline=baseline,
      entropy=entropy,
      rho_clip_fraction=clip_fraction,
      mean_log_rho=tf.reduce_mean(targets.log_rhos))
