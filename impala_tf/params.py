"""Learner parameters, published by version, pulled by actors.

The learner calls ``publish(version)`` after each update, from its own thread
and between updates; this takes a snapshot of its variables. An actor calls
``pull_into(variables, have_version)`` at the start of each unroll and copies
that snapshot only when another version is handed out. Because actors copy
the snapshot and never the live variables, they cannot mix versions k and
k + 1 while the learner applies an update, and the version recorded with an
unroll is the version of every one of its parameters. A cross-process
transport serves ``latest()`` the same way.

Controlled policy lag (paper appendix E.1, Fig. E.1): with ``lag`` = k > 0
the store keeps the last k + 1 snapshots and hands actors (``latest``,
``pull_into``, ``acting_version``) the one of version newest - k, so every
unroll is acted at least k updates behind the learner and the corrections of
paper Table 2 can be compared at a known lag. Until version newest - k was
published by this store (the first k updates, or the first k after a resume),
the oldest snapshot it holds is handed out instead: version 0 in a fresh run.
``version`` stays the newest (the learner's).

Snapshots cost no copy when taken: TensorFlow's variable updates copy on
write when a read tensor still refers to the old buffer. So the store holds
at most k + 1 copies of the parameters beside the live variables.
"""

import collections
import threading

import tensorflow as tf


def acting_snapshot(snapshots, lag):
  """The snapshot actors get: the newest of version <= newest - lag.

  Args:
    snapshots: non-empty sequence of (version, values), oldest first, with
      increasing versions.
    lag: k >= 0.

  Returns:
    (version, values); the oldest snapshot when none is old enough.
  """
  newest = snapshots[-1][0]
  chosen = snapshots[0]
  for snapshot in snapshots:
    if snapshot[0] <= newest - lag:
      chosen = snapshot
  return chosen


class ParameterStore:
  """The learner's recent parameter snapshots and their versions.

  Args:
    variables: the learner's variables (read at each ``publish``).
    version: the version of their current values (number of updates).
    lag: k >= 0 (--actor_policy_lag): actors get version newest - k.
  """

  def __init__(self, variables, version=0, lag=0):
    if lag < 0:
      raise ValueError(f'lag (--actor_policy_lag) must be >= 0, got {lag}.')
    self._variables = list(variables)
    self._lag = int(lag)
    self._lock = threading.Lock()
    # (version, [tensor]), oldest first: the newest lag + 1.
    self._snapshots = collections.deque(maxlen=self._lag + 1)
    self.publish(version)

  @property
  def version(self):
    """The newest published version (the learner's)."""
    with self._lock:
      return self._snapshots[-1][0]

  @property
  def acting_version(self):
    """The version handed to actors (``version`` - lag once available)."""
    return self.latest()[0]

  def publish(self, version):
    """Snapshots the variables as ``version``; call between updates.

    Publishing the newest version again replaces its snapshot.

    Raises:
      ValueError: ``version`` is older than the newest published.
    """
    version = int(version)
    values = _read(self._variables)
    with self._lock:
      if self._snapshots:
        newest = self._snapshots[-1][0]
        if version < newest:
          raise ValueError(f'cannot publish version {version} after version '
                           f'{newest}: versions only grow.')
        if version == newest:
          self._snapshots.pop()
      self._snapshots.append((version, values))

  def latest(self):
    """(version, [tensor]): the snapshot for actors, consistent as a whole
    (the newest one when lag is 0)."""
    with self._lock:
      return acting_snapshot(self._snapshots, self._lag)

  def pull_into(self, variables, have_version):
    """Copies the snapshot for actors into ``variables`` unless the caller
    holds its version already (``have_version``).

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
