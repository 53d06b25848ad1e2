"""Per-task episode statistics, shared by the actor threads and the learner.

Actor threads call ``record`` when an episode ends; the learner loop reads
``recent_mean`` for the progress line and summaries, and ``drain_new`` to log
every finished episode once. ``state_dict``/``load_state_dict`` save and
restore everything (as plain JSON-serialisable data) with a checkpoint, so a
resumed run continues its windows and counts exactly.

Lengths are agent steps, as the environment reports them; converting to
frames (x4 for Atari/DMLab action repeats) is the caller's business.
"""

import collections
import math
import operator
import threading

_STATE_VERSION = 1


class EpisodeStats:
  """Thread-safe per-task episode returns, lengths and counts.

  Attributes (read-only):
    task_names: the task names, indexed by task id.
    window: how many recent episodes per task ``recent_mean`` averages.
  """

  def __init__(self, task_names, window=100, max_pending=100_000):
    """Creates empty statistics.

    Args:
      task_names: list of task names; a task's id is its index in this list.
      window: number of most recent episodes per task kept for
        ``recent_mean``.
      max_pending: at most this many not-yet-drained episodes are kept (the
        oldest are dropped beyond that, counted in ``dropped_pending``), so
        memory stays bounded if nobody calls ``drain_new``.
    """
    task_names = [str(n) for n in task_names]
    if not task_names:
      raise ValueError('task_names must not be empty.')
    if len(set(task_names)) != len(task_names):
      raise ValueError(f'task_names must be unique, got {task_names}.')
    if int(window) < 1:
      raise ValueError(f'window must be >= 1, got {window}.')
    if int(max_pending) < 1:
      raise ValueError(f'max_pending must be >= 1, got {max_pending}.')
    self._task_names = tuple(task_names)
    self._window = int(window)
    self._max_pending = int(max_pending)
    self._lock = threading.Lock()
    self._reset()

  def _reset(self):
    n = len(self._task_names)
    self._recent_returns = [collections.deque(maxlen=self._window)
                            for _ in range(n)]
    self._recent_lengths = [collections.deque(maxlen=self._window)
                            for _ in range(n)]
    self._counts = [0] * n
    self._total_returns = [0.0] * n
    self._total_lengths = [0] * n
    self._pending = collections.deque(maxlen=self._max_pending)
    self._dropped_pending = 0

  @property
  def task_names(self):
    return list(self._task_names)

  @property
  def window(self):
    return self._window

  @property
  def dropped_pending(self):
    """Episodes dropped from the drain queue because it was full."""
    with self._lock:
      return self._dropped_pending

  def _check_task(self, task_id):
    try:
      task_id = operator.index(task_id)  # Also numpy integers; not floats.
    except TypeError:
      raise TypeError(f'task_id must be an int, got {task_id!r}.') from None
    if not 0 <= task_id < len(self._task_names):
      raise IndexError(f'task_id {task_id} out of range for '
                       f'{len(self._task_names)} tasks.')
    return task_id

  def record(self, task_id, episode_return, episode_length):
    """Records one finished episode of task ``task_id`` (any thread)."""
    task_id = self._check_task(task_id)
    episode_return = float(episode_return)
    episode_length = int(episode_length)
    with self._lock:
      self._recent_returns[task_id].append(episode_return)
      self._recent_lengths[task_id].append(episode_length)
      self._counts[task_id] += 1
      self._total_returns[task_id] += episode_return
      self._total_lengths[task_id] += episode_length
      if len(self._pending) == self._max_pending:
        self._dropped_pending += 1
      self._pending.append((task_id, episode_return, episode_length))

  def recent_mean(self, task_id=None):
    """Mean return over the recent window; None if there is no episode yet.

    Args:
      task_id: a task id, or None for the mean over the pooled recent
        windows of all tasks (every task contributes its last ``window``
        episodes).
    """
    if task_id is not None:
      task_id = self._check_task(task_id)
    with self._lock:
      if task_id is None:
        values = [r for d in self._recent_returns for r in d]
      else:
        values = list(self._recent_returns[task_id])
    return math.fsum(values) / len(values) if values else None

  def recent_means(self):
    """{task name: recent mean return or None} for all tasks."""
    return {name: self.recent_mean(i)
            for i, name in enumerate(self._task_names)}

  def recent_mean_length(self, task_id=None):
    """Like ``recent_mean`` for episode lengths (agent steps)."""
    if task_id is not None:
      task_id = self._check_task(task_id)
    with self._lock:
      if task_id is None:
        values = [x for d in self._recent_lengths for x in d]
      else:
        values = list(self._recent_lengths[task_id])
    return sum(values) / len(values) if values else None

  def drain_new(self):
    """Returns and forgets episodes recorded since the last drain.

    Returns:
      list of (task_name, episode_return, episode_length), oldest first.
    """
    with self._lock:
      pending = list(self._pending)
      self._pending.clear()
    return [(self._task_names[t], r, l) for t, r, l in pending]

  def count(self, task_id=None):
    """Episodes recorded for a task since the start (all tasks if None)."""
    if task_id is None:
      with self._lock:
        return sum(self._counts)
    task_id = self._check_task(task_id)
    with self._lock:
      return self._counts[task_id]

  def total_length(self, task_id=None):
    """Sum of the lengths (agent steps) of all recorded episodes."""
    if task_id is None:
      with self._lock:
        return sum(self._total_lengths)
    task_id = self._check_task(task_id)
    with self._lock:
      return self._total_lengths[task_id]

  def total_return(self, task_id=None):
    """Sum of the returns of all recorded episodes."""
    if task_id is None:
      with self._lock:
        return math.fsum(self._total_returns)
    task_id = self._check_task(task_id)
    with self._lock:
      return self._total_returns[task_id]

  def state_dict(self):
    """A JSON-serialisable snapshot of all the statistics.

    The not-yet-drained episodes are included, so that a restore is exact.
    Non-finite returns are kept as float NaN/inf, which Python's ``json``
    writes and reads (as NaN/Infinity) by default.
    """
    with self._lock:
      return {
          'version': _STATE_VERSION,
          'task_names': list(self._task_names),
          'window': self._window,
          'counts': list(self._counts),
          'total_returns': list(self._total_returns),
          'total_lengths': list(self._total_lengths),
          'recent_returns': [list(d) for d in self._recent_returns],
          'recent_lengths': [list(d) for d in self._recent_lengths],
          'pending': [list(p) for p in self._pending],
          'dropped_pending': self._dropped_pending,
      }

  def load_state_dict(self, state):
    """Restores a ``state_dict`` snapshot, replacing the current statistics.

    The task names must be the same, in the same order. A different window
    is allowed: the restored windows keep their most recent episodes.

    Raises:
      ValueError: if the snapshot does not match these tasks or is malformed.
    """
    if state.get('version') != _STATE_VERSION:
      raise ValueError(f'Unsupported EpisodeStats state version '
                       f'{state.get("version")!r}.')
    names = [str(n) for n in state['task_names']]
    if names != list(self._task_names):
      raise ValueError(f'EpisodeStats state is for tasks {names}, '
                       f'not {list(self._task_names)}.')
    n = len(names)
    keys = ('counts', 'total_returns', 'total_lengths', 'recent_returns',
            'recent_lengths')
    for key in keys:
      if len(state[key]) != n:
        raise ValueError(f'EpisodeStats state: {key!r} has '
                         f'{len(state[key])} entries for {n} tasks.')
    for rets, lens in zip(state['recent_returns'], state['recent_lengths']):
      if len(rets) != len(lens):
        raise ValueError('EpisodeStats state: recent returns and lengths '
                         'differ in size.')
    pending = [(self._check_task(t), float(r), int(l))
               for t, r, l in state.get('pending', [])]
    with self._lock:
      self._reset()
      self._counts = [int(c) for c in state['counts']]
      self._total_returns = [float(x) for x in state['total_returns']]
      self._total_lengths = [int(x) for x in state['total_lengths']]
      for i in range(n):
        self._recent_returns[i].extend(float(x)
                                       for x in state['recent_returns'][i])
        self._recent_lengths[i].extend(int(x)
                                       for x in state['recent_lengths'][i])
      self._pending.extend(pending)
      self._dropped_pending = int(state.get('dropped_pending', 0))
