"""The learner: one update per batch of unrolls."""

from impala_tf.learning.learner import Learner

__all__ = ['Learner']
