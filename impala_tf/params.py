"""Learner parameters, published by version, pulled by actors.

The learner calls ``publish(version)`` after each update; an actor calls
``pull_into(variables, have_version)`` at the start of each unroll and gets a
copy only when a newer version exists. In one process the store reads the
learner's variables directly; a cross-process store (later) keeps the same
two calls over RPC.
"""

import threading

import tensorflow as tf


class ParameterStore:
  """The newest learner parameters and their version (number of updates)."""

  def __init__(self, variables, version=0):
    self._variables = list(variables)
    self._version = int(version)
    self._lock = threading.Lock()

  @property
  def version(self):
    with self._lock:
      return self._version

  def publish(self, version):
    with self._lock:
      self._version = int(version)

  def pull_into(self, variables, have_version):
    """Copies the parameters into ``variables`` if newer than have_version.

    Returns:
      The version now held by the caller.
    """
    version = self.version
    if version == have_version:
      return have_version
    if len(variables) != len(self._variables):
      raise ValueError(f'{len(variables)} actor variables for '
                       f'{len(self._variables)} learner variables.')
    _copy(variables, self._variables)
    return version


@tf.function
def _copy(targets, sources):
  for target, source in zip(targets, sources):
    target.assign(tf.identity(source))
