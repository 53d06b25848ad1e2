"""Task sets: the levels one agent trains on, and which actor plays which.

    TaskSet.from_spec('dmlab30' | 'atari57' | 'pong' | 'pong,breakout', options)
      .options                -> the env options every level is made with
      .levels                 -> tuple of level names (n of them)
      .level_for_actor(i)     -> levels[i % n]   (fixed for the actor's life)
      .task_id(level)         -> int in [0, n), used to tag trajectories and
                                 episode statistics per task
      .spec                   -> the EnvSpec every level shares

As in the original multi-task setup, each actor plays one level for its whole
life, assigned round-robin, and the agent is not told which level it plays;
``task_id`` is only for bookkeeping. One network serves every level, so all
levels must come from one family and share observation shape, action count,
instruction input and frames per step; anything else raises ValueError.

Atari: games have minimal action sets of different sizes, so a multi-game set
needs ``full_action_space=True`` (all 18 actions, as the paper's multi-task
agent, "IMPALA, deep, multi-task" in Table 4, used). The spec 'atari57'
implies it: its options always get ``full_action_space=True``, whatever the
caller passed (``False`` is the default of the --full_action_space flag, so it
cannot mean "minimal sets, please"; overriding it is logged at INFO level).
Every env of the set must then be made with ``TaskSet.options``. A
hand-written list of games does not imply it; if their action counts differ
the consistency check fails with a hint to set it.
"""

import difflib
import importlib
import logging
from typing import Any, Dict, Iterable, Optional, Tuple

from impala_tf import envs
from impala_tf.envs.spec import EnvSpec

_LOG = logging.getLogger(__name__)

DMLAB30 = 'dmlab30'
ATARI57 = 'atari57'
SUITES = {DMLAB30: 'dmlab', ATARI57: 'atari'}  # spec word -> family package


def suite_levels(suite: str) -> Tuple[str, ...]:
  """The level names of a suite ('dmlab30' training levels, or 'atari57')."""
  module = importlib.import_module(f'impala_tf.envs.{SUITES[suite]}')
  return tuple(module.LEVELS)


def atari57_options(options: Dict[str, Any]) -> Dict[str, Any]:
  """``options`` with full_action_space=True, which 'atari57' implies."""
  if not options.get('full_action_space', True):
    _LOG.info("'atari57' plays all 57 games with one network, so every game "
              'uses the full 18-action set; full_action_space=%r is ignored.',
              options['full_action_space'])
  return dict(options, full_action_space=True)


def parse_task_spec(task_spec: str) -> Tuple[str, ...]:
  """Expands 'dmlab30', 'atari57', a level name or a comma list into levels."""
  if not isinstance(task_spec, str):
    raise TypeError(f'task spec must be a str, got {type(task_spec).__name__}')
  items = [item.strip() for item in task_spec.split(',')]
  if not any(items):
    raise ValueError('Empty task spec; give a level name, a comma-separated '
                     f'list of levels, {DMLAB30!r} or {ATARI57!r}.')
  if '' in items:
    raise ValueError(f'Empty entry in task spec {task_spec!r}.')
  levels = []
  for item in items:
    levels.extend(suite_levels(item) if item in SUITES else [item])
  return tuple(levels)


class TaskSet:
  """An ordered set of levels trained by one agent; see module docstring."""

  def __init__(self, levels: Iterable[str],
               options: Optional[Dict[str, Any]] = None,
               name: Optional[str] = None):
    self.levels: Tuple[str, ...] = tuple(levels)
    if not self.levels:
      raise ValueError('A TaskSet needs at least one level.')
    duplicates = sorted({l for l in self.levels if self.levels.count(l) > 1})
    if duplicates:
      raise ValueError(f'Levels listed more than once: {duplicates}')
    self.name = name or ','.join(self.levels)
    self.options: Dict[str, Any] = dict(options or {})
    self._index = {level: i for i, level in enumerate(self.levels)}

    families = {level: envs.family_of(level) for level in self.levels}
    if len(set(families.values())) > 1:
      by_family = {}
      for level, family in families.items():
        by_family.setdefault(family, []).append(level)
      raise ValueError(
          'All levels of a task set must come from one family (one network '
          'cannot take their different observations and action sets); got '
          + '; '.join(f'{f}: {", ".join(ls[:3])}{"..." if len(ls) > 3 else ""}'
                      for f, ls in sorted(by_family.items())))
    self.family: str = next(iter(families.values()))
    self.specs: Dict[str, EnvSpec] = {
        level: envs.env_spec(level, self.options) for level in self.levels}
    self.spec: EnvSpec = self._shared_spec()

  @classmethod
  def from_spec(cls, task_spec: str,
                options: Optional[Dict[str, Any]] = None) -> 'TaskSet':
    """Builds the TaskSet of a spec string (see ``parse_task_spec``)."""
    options = dict(options or {})
    words = [item.strip() for item in str(task_spec).split(',')]
    if ATARI57 in words:
      options = atari57_options(options)
    return cls(parse_task_spec(task_spec), options, name=task_spec.strip())

  @property
  def num_tasks(self) -> int:
    return len(self.levels)

  def __len__(self) -> int:
    return len(self.levels)

  def __repr__(self) -> str:
    return (f'TaskSet({self.name!r}, {self.num_tasks} level(s), '
            f'options={self.options})')

  def level_for_actor(self, actor_index: int) -> str:
    """The level actor ``actor_index`` plays: levels[actor_index % n]."""
    if int(actor_index) != actor_index or actor_index < 0:
      raise ValueError(f'actor_index must be a non-negative int, got '
                       f'{actor_index!r}')
    return self.levels[int(actor_index) % len(self.levels)]

  def task_id(self, level: str) -> int:
    """Index of ``level`` in ``levels``; ValueError if it is not in the set."""
    try:
      return self._index[level]
    except (KeyError, TypeError):
      close = difflib.get_close_matches(str(level), self.levels, n=3,
                                        cutoff=0.6)
      hint = (' Did you mean: ' + ', '.join(close) + '?') if close else ''
      raise ValueError(f'{level!r} is not in task set {self.name!r}.{hint}'
                       ) from None

  def task_for_actor(self, actor_index: int) -> int:
    """task_id of the level actor ``actor_index`` plays."""
    return self.task_id(self.level_for_actor(actor_index))

  def _shared_spec(self) -> EnvSpec:
    first = self.specs[self.levels[0]]
    fields = ('observation_shape', 'num_actions', 'has_instruction',
              'frames_per_step')
    for field in fields:
      values = {}
      for level, spec in self.specs.items():
        values.setdefault(getattr(spec, field), []).append(level)
      if len(values) > 1:
        detail = '; '.join(
            f'{value}: {", ".join(levels[:4])}'
            f'{f" (+{len(levels) - 4} more)" if len(levels) > 4 else ""}'
            for value, levels in values.items())
        hint = ''
        if field == 'num_actions' and self.family == 'atari':
          hint = (' Atari games have minimal action sets of different sizes; '
                  'pass options={"full_action_space": True} to use all 18 '
                  'actions for every game.')
        raise ValueError(f'Levels of task set {self.name!r} differ in '
                         f'{field}, so one network cannot serve them: '
                         f'{detail}.{hint}')
    return EnvSpec(name=self.name, observation_shape=first.observation_shape,
                   num_actions=first.num_actions,
                   has_instruction=first.has_instruction,
                   frames_per_step=first.frames_per_step)
