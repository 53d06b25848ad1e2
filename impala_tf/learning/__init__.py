"""The learner: one update per batch of unrolls."""

from impala_tf.learning.learner import Learner, LossSettings, OptimizerSettings

__all__ = ['Learner', 'LossSettings', 'OptimizerSettings']
