"""Learner parameters, published by version, pulled by actors.

The learner calls ``publish(version)`` after each update, from its own thread
and between updates; this takes a snapshot of its variables. An actor calls
``pull_into(variables, have_version)`` at the start of each unroll and copies
that snapshot only when a newer version exists. Because actors copy the
snapshot and never the live variables, they cannot mix versions k and k + 1
while the learner applies an update, and the version recorded with an unroll
is the version of every one of its parameters. A cross-process transport
serves ``latest()`` the same way.

Snapshots cost no copy: TensorFlow's variable updates copy on write when a
read tensor still refers to the old buffer.
"""

import threading

import tensorflow as tf


class ParameterStore:
  """The newest published learner parameters and their version.

  Args:
    variables: the learner's variables (read at each ``publish``).
    version: the version of their current values (number of updates).
  """

  def __init__(self, variables, version=0):
    self._variables = list(variables)
    self._lock = threading.Lock()
    self._version = None
    self._values = None
    self.publish(version)

  @property
  def version(self):
    with self._lock:
      return self._version

  def publish(self, version):
    """Snapshots the variables as ``version``; call between updates."""
    values = _read(self._variables)
    with self._lock:
      self._version, self._values = int(version), values

  def latest(self):
    """(version, [tensor]): the newest snapshot, consistent as a whole."""
    with self._lock:
      return self._version, self._values

  def pull_into(self, variables, have_version):
    """Copies the newest snapshot into ``variables`` if newer than
    have_version.

    Returns:
      The version now held by the caller.
    """
    version, values = self.latest()
    if version == have_version:
      return have_version
    if len(variables) != len(values):
      raise ValueError(f'{len(variables)} actor variables for '
                       f'{len(values)} learner variables.')
    _copy(variables, values)
    return version


@tf.function
def _read(variables):
  return [tf.identity(v) for v in variables]


@tf.function
def _copy(targets, sources):
  for target, source in zip(targets, sources):
    target.assign(source)
