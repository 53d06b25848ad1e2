"""Experience replay of whole unrolls (paper section 5.2.2, Table D.3).

The paper's replay experiments keep the last 10,000 trajectories on the
learner, remove the oldest first (FIFO) and draw half of every batch from it
uniformly; the other half is fresh from the actors. Replayed unrolls are
off-policy by many updates, which is what the corrections of paper Table 2
(--correction) are compared on.

  buffer = ReplayBuffer(capacity, seed)
  buffer.add(unrolls)        a Trajectory [T+1, B]: B unrolls, oldest evicted
  buffer.sample(n)           -> Trajectory [T+1, n], n distinct unrolls
  len(buffer)
  replayed_per_batch(batch_size, proportion) -> int

Sampling is uniform over the unrolls held and without replacement within one
call (a batch never holds the same unroll twice); separate calls are
independent, so an unroll can be drawn again by a later batch.

Memory: the buffer keeps its own copy of every unroll. One Atari unroll of
T + 1 = 21 frames of 84x84x4 bytes is about 0.6 MB, so the paper's 10,000
unrolls take about 6 GB of host memory (DMLab, T = 100: 101 x 72x96x3 bytes
is about 2.1 MB, 21 GB). Choose --replay_capacity with that in mind.

Checkpoints: neither the contents nor the sampling RNG are saved (the
contents would be gigabytes). A resumed run starts with an empty buffer and
trains on fresh unrolls only until it holds enough again; it seeds its RNG
from the run's seed and generation, so it does not repeat the index draws of
the run before it.

Not thread-safe: one thread (the StagingArea's) adds and samples.
"""

import math

import numpy as np

from impala_tf import trajectory as trajectory_lib


def replayed_per_batch(batch_size, proportion):
  """How many of ``batch_size`` unrolls come from replay.

  ``proportion`` x ``batch_size`` rounded half up, but at most
  ``batch_size`` - 1: every batch keeps at least one fresh unroll, or the
  learner would stop consuming the actors' queue.

  Args:
    batch_size: unrolls per batch (> 0).
    proportion: the replayed share, in [0, 1).
  """
  if not 0.0 <= proportion < 1.0:
    raise ValueError(f'replay proportion must be in [0, 1), got '
                     f'{proportion}.')
  wanted = int(math.floor(proportion * batch_size + 0.5))
  return max(0, min(wanted, batch_size - 1))


class ReplayBuffer:
  """A FIFO store of single unrolls with uniform sampling.

  Args:
    capacity: the most unrolls held (> 0); adding more evicts the oldest.
    seed: seed of the sampling RNG (an int or a sequence of ints, as
      numpy.random.default_rng takes).
  """

  def __init__(self, capacity, seed):
    if capacity <= 0:
      raise ValueError(f'replay capacity must be > 0, got {capacity}.')
    self.capacity = int(capacity)
    self._rng = np.random.default_rng(seed)
    self._slots = []  # Single-unroll Trajectories ([T+1, 1]).
    self._oldest = 0  # Slot to overwrite next once full.

  def __len__(self):
    return len(self._slots)

  def add(self, unrolls):
    """Stores copies of the B unrolls of ``unrolls`` ([T+1, B]), in order;
    once full, each one replaces the oldest held."""
    for i in range(trajectory_lib.batch_size_of(unrolls)):
      self._store(trajectory_lib.take(unrolls, np.array([i])))

  def _store(self, unroll):
    if len(self._slots) < self.capacity:
      self._slots.append(unroll)
      return
    self._slots[self._oldest] = unroll
    self._oldest = (self._oldest + 1) % self.capacity

  def sample(self, n):
    """``n`` distinct unrolls drawn uniformly: a Trajectory [T+1, n] (copies).

    Raises:
      ValueError: fewer than ``n`` unrolls are held.
    """
    if not 0 < n <= len(self._slots):
      raise ValueError(f'cannot sample {n} unrolls from a replay buffer '
                       f'holding {len(self._slots)}.')
    index = self._rng.choice(len(self._slots), size=n, replace=False)
    if n == 1:  # concat would hand out the stored unroll itself.
      return trajectory_lib.take(self._slots[index[0]], np.array([0]))
    return trajectory_lib.concat([self._slots[i] for i in index])
