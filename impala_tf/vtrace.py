"""V-trace off-policy targets (IMPALA paper, section 4; Remark 2 for lambda).

Everything is time-major. With T the unroll length and B the batch size:

  log_probs_from_logits_and_actions(logits [T, B, A], actions [T, B]) -> [T, B]
  from_logits(behaviour_logits [T, B, A], target_logits [T, B, A],
              actions [T, B], discounts [T, B], rewards [T, B],
              values [T, B], bootstrap_value [B]) -> VTraceFromLogitsReturns
  from_importance_weights(log_rhos [T, B], discounts [T, B], rewards [T, B],
                          values [T, B], bootstrap_value [B]) -> VTraceReturns

The arguments, their order and what they accept follow scalable_agent
vtrace.py; ``lambda_`` is an addition that comes after its ``name``.
``from_importance_weights`` takes ``log_rhos`` of any rank R >= 1, the same
rank R for ``discounts``, ``rewards`` and ``values`` and rank R - 1 for
``bootstrap_value``. The arguments then broadcast, as TensorFlow does, against
the shape of the targets: T from ``log_rhos``, then the axes of ``values``
after time. For example one importance weight per step can serve K value
heads:

  log_rhos [T, B, 1], discounts [T, B, 1], rewards [T, B, K],
  values [T, B, K], bootstrap_value [B, K] -> vs, pg_advantages [T, B, K]

Two kinds of axis do not broadcast and must equal the targets' axis: the time
axis of ``log_rhos`` and ``discounts`` (the reverse scan walks both step by
step), and the axes after time of ``values`` and ``bootstrap_value`` (the
bootstrap value is appended to ``values`` along time). A ``values`` with a
single time step broadcasts as it does in scalable_agent vtrace.py: V(x_s) is
then that step for every s, and V(x_{s+1}) is the bootstrap value.

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
                name='vtrace_from_logits',
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
      discounts, rewards, values and bootstrap_value broadcast against the
      [T, B] log_rhos as in ``from_importance_weights`` (e.g. rewards
      [T, 1]).
    clip_rho_threshold: rho-bar, or None for no clipping.
    clip_pg_rho_threshold: rho-bar for the policy-gradient weight, or None.
    name: name scope of the ops.
    lambda_: trace-cutting mixing coefficient in [0, 1] (paper Remark 2).

  Returns:
    VTraceFromLogitsReturns with vs [T, B], pg_advantages [T, B],
    log_rhos [T, B], behaviour_action_log_probs [T, B] and
    target_action_log_probs [T, B].

  Raises:
    ValueError: a rank or shape that does not fit the above, naming the
      argument.
  """
  with tf.name_scope(name):
    behaviour_policy_logits = tf.convert_to_tensor(
        behaviour_policy_logits, dtype=tf.float32)
    target_policy_logits = tf.convert_to_tensor(
        target_policy_logits, dtype=tf.float32)
    actions = tf.convert_to_tensor(actions, dtype=tf.int32)
    _check_rank('behaviour_policy_logits', behaviour_policy_logits, 3,
                '[T, B, NUM_ACTIONS]')
    _check_rank('target_policy_logits', target_policy_logits, 3,
                '[T, B, NUM_ACTIONS]')
    _check_rank('actions', actions, 2, '[T, B]')
    if not target_policy_logits.shape[:2].is_compatible_with(
        behaviour_policy_logits.shape[:2]):
      raise ValueError(
          'target_policy_logits must have the time and batch axes of '
          f'behaviour_policy_logits {behaviour_policy_logits.shape.as_list()}'
          f', got {target_policy_logits.shape.as_list()}.')

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
        behaviour_action_log_probs=tf.stop_gradient(
            behaviour_action_log_probs),
        target_action_log_probs=tf.stop_gradient(target_action_log_probs))


def _threshold(name, value):
  """None, or ``value`` as a float32 scalar; rejects a known value <= 0.

  Args:
    name: the argument's name, for errors.
    value: None, a Python or numpy number, or a scalar tensor.

  Returns:
    None or a float32 tensor of shape [].
  """
  if value is None:
    return None
  value = tf.convert_to_tensor(value, dtype=tf.float32)
  _check_rank(name, value, 0, '[]')
  known = tf.get_static_value(value)
  if known is not None and not known > 0:
    raise ValueError(f'{name} must be None or > 0, got {known}.')
  return value


def _axis_names(rank):
  """Names of the axes of a rank-``rank`` input: ['T', 'B', '...', ...]."""
  return (['T', 'B'] + ['...'] * max(rank - 2, 0))[:rank]


def _check_ranks(log_rhos, discounts, rewards, values, bootstrap_value):
  """The rank checks of scalable_agent vtrace.py, naming the argument.

  Args:
    log_rhos: [T, B, ...] tensor; its rank R is the reference.
    discounts, rewards, values: tensors that must have rank R.
    bootstrap_value: a tensor that must have rank R - 1.

  Raises:
    ValueError: for the first argument (in the released code's order of
      checks) whose static rank is wrong; a rank-0 log_rhos is rejected.
  """
  rank = log_rhos.shape.rank
  if rank is None:
    return
  if rank < 1:
    raise ValueError(
        'log_rhos must have rank >= 1 (expected shape [T, B, ...]), got '
        f'shape {log_rhos.shape.as_list()}.')
  names = _axis_names(rank)
  expected = '[' + ', '.join(names) + ']'
  _check_rank('values', values, rank, expected)
  _check_rank('bootstrap_value', bootstrap_value, rank - 1,
              '[' + ', '.join(names[1:]) + ']')
  _check_rank('discounts', discounts, rank, expected)
  _check_rank('rewards', rewards, rank, expected)


def _dims(tensor, rank):
  """The static shape of ``tensor`` as ``rank`` ints or Nones."""
  if tensor.shape.rank is None:
    return [None] * rank
  return tensor.shape.as_list()


def _first_known(dims, skip_ones=False):
  """The first dimension in ``dims`` that is known (and not 1 if asked)."""
  for dim in dims:
    if dim is not None and not (skip_ones and dim == 1):
      return dim
  return None


def _targets_shape(log_rhos, discounts, rewards, values, bootstrap_value):
  """Static shape of vs and pg_advantages: [T] + values.shape[1:].

  Unknown axes are filled in from the arguments that must match them
  exactly, then from the arguments that are not 1 there (a 1 may broadcast).

  Args:
    log_rhos, discounts, rewards, values: shapes as lists of R ints or Nones.
    bootstrap_value: the same for R - 1 axes, compatible with values[1:].

  Returns:
    A list of R ints or Nones.
  """
  time = _first_known([log_rhos[0], discounts[0]])
  if time is None:
    time = _first_known([rewards[0], values[0]], skip_ones=True)
  others = []
  for axis in range(1, len(values)):
    dim = _first_known([values[axis], bootstrap_value[axis - 1]])
    if dim is None:
      dim = _first_known(
          [shape[axis] for shape in (log_rhos, discounts, rewards)],
          skip_ones=True)
    others.append(dim)
  return [time] + others


def _fits(shape, targets, exact_time, exact_others):
  """Whether ``shape`` broadcasts to ``targets`` with some axes held exact.

  Args:
    shape: a list of ints or Nones.
    targets: a list of ints or Nones, the same length.
    exact_time: the time axis must equal (not broadcast to) the target's.
    exact_others: likewise for every other axis.

  Returns:
    False only if some axis is known on both sides and cannot match.
  """
  for axis, (dim, target) in enumerate(zip(shape, targets)):
    exact = exact_time if axis == 0 else exact_others
    if dim is None or target is None or dim == target:
      continue
    if exact or dim != 1:
      return False
  return True


# (argument, time axis exact, other axes exact, what it must be). The time
# axis of log_rhos and discounts is walked step by step by the reverse scan;
# the other axes of values must take bootstrap_value appended along time.
_BROADCAST_RULES = (
    ('log_rhos', True, False,
     "broadcast to the targets' shape {targets} (each axis after time 1 or "
     'equal)'),
    ('discounts', True, False,
     "have the shape of log_rhos {log_rhos} or broadcast to the targets' "
     'shape {targets} on every axis but time, which must be T = {time}'),
    ('rewards', False, False,
     "have the shape of log_rhos {log_rhos} or broadcast to the targets' "
     'shape {targets}'),
    ('values', False, True,
     'have the T = {time} steps of log_rhos, or 1 step, on its time axis'),
)


def _check_broadcasting(log_rhos, discounts, rewards, values, bootstrap_value):
  """Rejects, naming the argument, static shapes the V-trace ops cannot take.

  These are the shapes that scalable_agent vtrace.py's ops reject: every
  argument must broadcast to the targets' shape [T] + values.shape[1:], with
  no broadcasting on the time axis of log_rhos and discounts nor on the
  other axes of values and bootstrap_value.

  Args:
    log_rhos: tensor of known rank R >= 1.
    discounts, rewards, values: tensors of rank R (or unknown rank).
    bootstrap_value: tensor of rank R - 1 (or unknown rank).

  Raises:
    ValueError: for the first argument whose shape cannot fit.
  """
  if not bootstrap_value.shape.is_compatible_with(values.shape[1:]):
    raise ValueError(
        f'bootstrap_value must have shape {values.shape[1:].as_list()} '
        f'(values without its time axis), got '
        f'{bootstrap_value.shape.as_list()}.')
  rank = log_rhos.shape.rank
  shapes = {
      'log_rhos': _dims(log_rhos, rank),
      'discounts': _dims(discounts, rank),
      'rewards': _dims(rewards, rank),
      'values': _dims(values, rank),
  }
  targets = _targets_shape(bootstrap_value=_dims(bootstrap_value, rank - 1),
                           **shapes)
  for name, exact_time, exact_others, requirement in _BROADCAST_RULES:
    if not _fits(shapes[name], targets, exact_time, exact_others):
      requirement = requirement.format(
          targets=targets, log_rhos=shapes['log_rhos'], time=targets[0])
      raise ValueError(
          f'{name} must {requirement}, got {shapes[name]}. (The targets vs '
          'and pg_advantages take T from log_rhos and the other axes from '
          'values.)')


def from_importance_weights(log_rhos,
                            discounts,
                            rewards,
                            values,
                            bootstrap_value,
                            clip_rho_threshold=1.0,
                            clip_pg_rho_threshold=1.0,
                            name='vtrace_from_importance_weights',
                            lambda_=1.0):
  """V-trace targets from log importance weights log(pi(a_t|x_t)/mu(a_t|x_t)).

  Shapes below are for the common case; any rank R >= 1 works (R for the
  first four arguments, R - 1 for bootstrap_value), and the arguments
  broadcast against the targets' shape, which is [T] + values.shape[1:] (see
  the module docstring for the axes that must match exactly).

  Args:
    log_rhos: [T, B] float, log importance weights; e.g. [T, B, 1] to share
      them between K value heads.
    discounts: [T, B], gamma * (1 - done); e.g. [T, B, 1] with K heads.
    rewards: [T, B]; e.g. [T, B, K] with K heads.
    values: [T, B], V(x_t); e.g. [T, B, K] with K heads.
    bootstrap_value: [B], V(x_T); in general values.shape[1:], e.g. [B, K].
    clip_rho_threshold: rho-bar in the value targets, a scalar > 0 (number or
      tensor), or None for no clip.
    clip_pg_rho_threshold: rho-bar in the policy-gradient weight, a scalar
      > 0, or None.
    name: name scope of the ops.
    lambda_: float in [0, 1]; c_s = lambda_ * min(1, pi/mu).

  Returns:
    VTraceReturns(vs [T, B], pg_advantages [T, B]) (in general both have the
    targets' shape, e.g. [T, B, K]), no gradient.

  Raises:
    ValueError: a rank or shape that does not fit the above, naming the
      argument; a wrong rank says "<argument> must have rank N".
  """
  with tf.name_scope(name):
    log_rhos = tf.convert_to_tensor(log_rhos, dtype=tf.float32)
    discounts = tf.convert_to_tensor(discounts, dtype=tf.float32)
    rewards = tf.convert_to_tensor(rewards, dtype=tf.float32)
    values = tf.convert_to_tensor(values, dtype=tf.float32)
    bootstrap_value = tf.convert_to_tensor(bootstrap_value, dtype=tf.float32)
    clip_rho_threshold = _threshold('clip_rho_threshold', clip_rho_threshold)
    clip_pg_rho_threshold = _threshold('clip_pg_rho_threshold',
                                       clip_pg_rho_threshold)
    if not 0.0 <= lambda_ <= 1.0:
      raise ValueError(f'lambda_ must be in [0, 1], got {lambda_}.')
    _check_ranks(log_rhos, discounts, rewards, values, bootstrap_value)
    if log_rhos.shape.rank is not None:
      _check_broadcasting(log_rhos, discounts, rewards, values,
                          bootstrap_value)
    return _vtrace(log_rhos, discounts, rewards, values, bootstrap_value,
                   clip_rho_threshold, clip_pg_rho_threshold, lambda_)


def _vtrace(log_rhos, discounts, rewards, values, bootstrap_value,
            clip_rho_threshold, clip_pg_rho_threshold, lambda_):
  """The V-trace computation on checked float32 tensors.

  Args:
    log_rhos: [T, ...]; discounts: [T, ...]; rewards, values: [T or 1, ...];
      bootstrap_value: values.shape[1:]. All broadcast against the targets'
      shape [T] + values.shape[1:].
    clip_rho_threshold, clip_pg_rho_threshold: None or float32 scalars.
    lambda_: float in [0, 1].

  Returns:
    VTraceReturns(vs, pg_advantages), both of the targets' shape.
  """
  rhos = tf.exp(log_rhos)
  if clip_rho_threshold is not None:
    clipped_rhos = tf.minimum(clip_rho_threshold, rhos)
  else:
    clipped_rhos = rhos
  cs = lambda_ * tf.minimum(1.0, rhos)

  # Appended along time as in scalable_agent vtrace.py, so a values with one
  # step broadcasts the same way there and here.
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
