"""The paper's optimiser: RMSProp with TF1 ``RMSPropOptimizer`` semantics.

Update per variable (non-centred, as the released code used it):

  ms  <- decay * ms + (1 - decay) * g^2          (ms starts at ONES)
  mom <- momentum * mom + lr * g / sqrt(ms + epsilon)
  var <- var - mom

Keras' RMSprop starts ms at zeros and, in older versions, puts epsilon outside
the square root; with the paper's epsilon of 0.1 or 0.01 those differ a lot
(paper_facts 1.4), hence this small optimiser.

Also here: the learning-rate schedule (linear to 0 over the total number of
environment frames) and global-norm gradient clipping.

Works in a ``tf.distribute`` strategy: build (``create_slots``) inside
``strategy.scope()`` and call ``apply`` from the replica function with
gradients that are already all-reduced.
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


def clip_by_global_norm(gradients, max_norm):
  """Clips a list of gradients to a global norm; ``max_norm`` None = no clip.

  Returns:
    (clipped gradients, global norm before clipping).
  """
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
      gradients: list of tensors (all-reduced already under a strategy).
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
    decay, momentum = self.decay, self.momentum
    epsilon = self.epsilon

    def update(var, grad, ms, mom, lr):
      ms_new = ms.assign(decay * ms + (1.0 - decay) * tf.square(grad))
      step = lr * grad * tf.math.rsqrt(ms_new + epsilon.value())
      if momentum:
        step = mom.assign(momentum * mom + step)
      return var.assign_sub(step)

    for grad, var, ms, mom in zip(gradients, variables, self._ms, self._mom):
      strategy.extended.update(var, update, args=(grad, ms, mom,
                                                  learning_rate), group=True)
    strategy.extended.update(self.iterations, lambda it: it.assign_add(1),
                             group=True)
