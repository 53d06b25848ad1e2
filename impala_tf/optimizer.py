"""The paper's optimiser: RMSProp with TF1 ``RMSPropOptimizer`` semantics.

Update per variable (non-centred, as the released code used it):

  ms  <- decay * ms + (1 - decay) * g^2          (ms starts at ONES)
  mom <- momentum * mom + lr * g / sqrt(ms + epsilon)
  var <- var - mom

(with momentum 0 the momentum slot is not written; the step is the same).

Keras' RMSprop starts ms at zeros and, in older versions, puts epsilon outside
the square root; with the epsilons the paper uses (0.1 in scalable_agent
experiment.py, 0.01 for Atari in Table G.1) those differ a lot, hence this
small optimiser.

Sparse gradients (``tf.IndexedSlices``, e.g. from an embedding lookup) take
TF1's sparse path: duplicate indices are summed first, then only the named
rows of the variable and of both slots change; every other row keeps its mean
square, momentum and value.

Also here: the learning-rate schedule (linear to 0 over the total number of
environment frames) and global-norm gradient clipping.

Works in a ``tf.distribute`` strategy: build (``create_slots``) inside
``strategy.scope()`` and call ``apply`` from the replica function with
gradients that are already all-reduced. An all-reduce (SUM) of IndexedSlices
concatenates the replicas' rows, so the same index can appear several times;
both ``clip_by_global_norm`` and ``apply`` sum such duplicates.
"""

import tensorflow as tf


def linear_learning_rate(initial, frames, total_frames):
  """lr = initial * max(0, 1 - frames / total_frames) (polynomial_decay, p=1).

  Args:
    initial: learning rate at frame 0.
    frames: scalar, environment frames consumed so far.
    total_frames: the frame budget at which the rate reaches 0.
  """
  frames = tf.cast(frames, tf.float64)
  fraction = tf.minimum(frames / float(total_frames), 1.0)
  return tf.cast(initial * (1.0 - fraction), tf.float32)


def sum_duplicate_indices(gradient):
  """The same sparse gradient with each index once, its rows summed.

  Args:
    gradient: tf.IndexedSlices, values [K, ...], indices [K].

  Returns:
    tf.IndexedSlices, values [U, ...], indices [U] (U <= K distinct indices,
    in order of first appearance), same dense_shape.
  """
  indices, position = tf.unique(gradient.indices)
  values = tf.math.unsorted_segment_sum(gradient.values, position,
                                        tf.shape(indices)[0])
  return tf.IndexedSlices(values, indices, gradient.dense_shape)


def _without_duplicates(gradients):
  return [sum_duplicate_indices(g) if isinstance(g, tf.IndexedSlices) else g
          for g in gradients]


def clip_by_global_norm(gradients, max_norm):
  """Clips a list of gradients to a global norm; ``max_norm`` None = no clip.

  Args:
    gradients: list of dense tensors and/or tf.IndexedSlices. Duplicate
      indices of an IndexedSlices are summed first, so the norm is that of
      the gradient itself, however many times (or on however many replicas)
      a row was looked up.

  Returns:
    (clipped gradients, global norm before clipping).
  """
  gradients = _without_duplicates(gradients)
  norm = tf.linalg.global_norm(gradients)
  if max_norm is None:
    return list(gradients), norm
  clipped, _ = tf.clip_by_global_norm(gradients, max_norm, use_norm=norm)
  return clipped, norm


class RMSProp(tf.Module):
  """RMSProp as tf.compat.v1.train.RMSPropOptimizer computes it.

  The slots are ordinary tf.Variables owned by this module, so they are
  checkpointed with it (``tf.train.Checkpoint(optimizer=...)``).
  """

  def __init__(self, decay=0.99, momentum=0.0, epsilon=0.1, name='rmsprop'):
    super().__init__(name=name)
    if not 0.0 <= decay < 1.0:
      raise ValueError(f'decay must be in [0, 1), got {decay}.')
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f'momentum must be in [0, 1), got {momentum}.')
    if not epsilon > 0.0:
      raise ValueError(f'epsilon must be > 0, got {epsilon}.')
    self.decay = decay
    self.momentum = momentum
    # A variable so that population-based training can change it in place.
    self.epsilon = tf.Variable(epsilon, dtype=tf.float32, trainable=False,
                               name='epsilon')
    self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False,
                                  name='iterations')
    self._ms = None
    self._mom = None

  def create_slots(self, variables):
    """Creates the mean-square (ones) and momentum (zeros) slots."""
    if self._ms is not None:
      return
    with tf.name_scope(self.name):
      self._ms = [tf.Variable(tf.ones_like(v), trainable=False,
                              name=v.name.split(':')[0].replace('/', '_') +
                              '_rms') for v in variables]
      self._mom = [tf.Variable(tf.zeros_like(v), trainable=False,
                               name=v.name.split(':')[0].replace('/', '_') +
                               '_momentum') for v in variables]

  @property
  def slots(self):
    return {'rms': self._ms, 'momentum': self._mom}

  def apply(self, gradients, variables, learning_rate):
    """Applies one update.

    Args:
      gradients: list of dense tensors or tf.IndexedSlices (all-reduced
        already under a strategy); an IndexedSlices updates only its rows.
      variables: list of tf.Variables, the same order each call.
      learning_rate: scalar.
    """
    if self._ms is None:
      raise RuntimeError('RMSProp.create_slots(variables) must be called '
                         'first (inside the strategy scope).')
    if len(gradients) != len(self._ms):
      raise ValueError(f'Got {len(gradients)} gradients for '
                       f'{len(self._ms)} variables.')
    learning_rate = tf.convert_to_tensor(learning_rate, tf.float32)
    if tf.distribute.in_cross_replica_context():
      self._apply_cross_replica(tf.distribute.get_strategy(), gradients,
                                variables, learning_rate)
    else:
      tf.distribute.get_replica_context().merge_call(
          self._apply_cross_replica, args=(gradients, variables,
                                           learning_rate))

  def _apply_cross_replica(self, strategy, gradients, variables,
                           learning_rate):
    epsilon = self.epsilon

    def update(var, grad, ms, mom, lr):  # On each device, with its copies.
      hyper = (self.decay, self.momentum, epsilon.value(), lr)
      if isinstance(grad, tf.IndexedSlices):
        return _sparse_update(var, sum_duplicate_indices(grad), ms, mom,
                              *hyper)
      return _dense_update(var, grad, ms, mom, *hyper)

    for grad, var, ms, mom in zip(gradients, variables, self._ms, self._mom):
      strategy.extended.update(var, update, args=(grad, ms, mom,
                                                  learning_rate), group=True)
    strategy.extended.update(self.iterations, lambda it: it.assign_add(1),
                             group=True)


def _dense_update(var, grad, ms, mom, decay, momentum, epsilon, lr):
  """One RMSProp step of every element (TF1 ApplyRMSProp)."""
  ms_new = ms.assign(decay * ms + (1.0 - decay) * tf.square(grad))
  step = lr * grad * tf.math.rsqrt(ms_new + epsilon)
  if momentum:
    step = mom.assign(momentum * mom + step)
  return var.assign_sub(step)


def _sparse_update(var, grad, ms, mom, decay, momentum, epsilon, lr):
  """One RMSProp step of the rows ``grad`` names (TF1 SparseApplyRMSProp).

  Args:
    var, ms, mom: variables [R, ...].
    grad: tf.IndexedSlices, values [U, ...], indices [U] without duplicates.
  """
  rows = grad.indices
  ms_rows = (decay * tf.gather(ms, rows) +
             (1.0 - decay) * tf.square(grad.values))
  ms.scatter_update(tf.IndexedSlices(ms_rows, rows))
  step = lr * grad.values * tf.math.rsqrt(ms_rows + epsilon)
  if momentum:
    step = momentum * tf.gather(mom, rows) + step
    mom.scatter_update(tf.IndexedSlices(step, rows))
  return var.scatter_sub(tf.IndexedSlices(step, rows))
