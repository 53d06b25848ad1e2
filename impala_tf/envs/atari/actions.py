"""The 18 full-set actions, and how each maps onto what a game accepts.

    FULL_ACTIONS                       -> the 18 action names, ALE order
    full_to_legal(legal)               -> [18] int, positions in ``legal``
    nearest_legal(action, legal)       -> the legal action used for ``action``

The paper's multi-task Atari agent ("IMPALA, deep, multi-task", Table 4)
uses all 18 joystick actions on every game. Index i of the full set is ALE's
action i (``ale_py.Action`` order: NOOP, FIRE, UP, RIGHT, LEFT, DOWN, the four
diagonals, then FIRE with each of the 8 directions).

Per game, ALE exposes a *legal* action set, and both env paths index into
it (gymnasium's ALE env and the C++ vector env with full_action_space=True
use getLegalActionSet()). In ale-py 0.12.1 it holds all 18 actions for 56 of
the 57 games; Skiing declares every action with FIRE illegal and has 9 (NOOP
and the 8 directions). The agent needs the same 18 indices on every game, so
an action a game lacks is played as its nearest legal action, found by
taking components away in this order:

    1. the action itself;
    2. without FIRE (the only component ALE forbids today, and keeping the
       stick direction keeps the movement the agent asked for);
    3. without the vertical direction (with FIRE, then without it);
    4. without the horizontal direction (with FIRE, then without it);
    5. NOOP.

Vertical is dropped before horizontal because many Atari games move only
left and right (e.g. the minimal sets of Pong, Breakout and Skiing). For
Skiing this gives FIRE -> NOOP and <dir>FIRE -> <dir> (e.g. DOWNLEFTFIRE ->
DOWNLEFT); every other game maps each index to itself. Actions are plain
ints (``ale_py.Action.X.value``), so this module does not import ale-py.
"""

from typing import NamedTuple, Sequence, Tuple

import numpy as np


class Stick(NamedTuple):
  """Components of a joystick action.

  vertical: +1 up, -1 down, 0 neither; horizontal: +1 right, -1 left, 0
  neither; fire: whether the button is pressed.
  """
  vertical: int
  horizontal: int
  fire: bool


# ale_py.Action order; the value of each action is its index here.
FULL_ACTIONS: Tuple[str, ...] = (
    'NOOP', 'FIRE', 'UP', 'RIGHT', 'LEFT', 'DOWN', 'UPRIGHT', 'UPLEFT',
    'DOWNRIGHT', 'DOWNLEFT', 'UPFIRE', 'RIGHTFIRE', 'LEFTFIRE', 'DOWNFIRE',
    'UPRIGHTFIRE', 'UPLEFTFIRE', 'DOWNRIGHTFIRE', 'DOWNLEFTFIRE')


def stick_of(name: str) -> Stick:
  """Decomposes an action name, e.g. 'DOWNLEFTFIRE' -> Stick(-1, -1, True)."""
  vertical = 1 if 'UP' in name else -1 if 'DOWN' in name else 0
  horizontal = 1 if 'RIGHT' in name else -1 if 'LEFT' in name else 0
  return Stick(vertical, horizontal, 'FIRE' in name)


_ACTION_OF_STICK = {stick_of(name): i for i, name in enumerate(FULL_ACTIONS)}


def fallbacks(action: int) -> Tuple[int, ...]:
  """Full-set actions to try for ``action``, most faithful first (see top)."""
  v, h, fire = stick_of(FULL_ACTIONS[action])
  sticks = (Stick(v, h, fire), Stick(v, h, False),
            Stick(0, h, fire), Stick(0, h, False),
            Stick(v, 0, fire), Stick(v, 0, False),
            Stick(0, 0, False))
  ordered = []
  for stick in sticks:
    if _ACTION_OF_STICK[stick] not in ordered:
      ordered.append(_ACTION_OF_STICK[stick])
  return tuple(ordered)


def nearest_legal(action: int, legal: Sequence[int]) -> int:
  """The legal action played for full-set ``action`` (an int in [0, 18))."""
  legal_set = {int(a) for a in legal}
  for candidate in fallbacks(int(action)):
    if candidate in legal_set:
      return candidate
  raise ValueError(f'legal action set {sorted(legal_set)} has no NOOP (0), '
                   f'so action {FULL_ACTIONS[action]} has no fallback.')


def full_to_legal(legal: Sequence[int]) -> np.ndarray:
  """[18] int32: position in ``legal`` of the action played for each index.

  ``legal`` is the game's legal action set as ints (ALE's
  getLegalActionSet(), which is also the order of the C++ vector env's
  action indices with full_action_space=True).
  """
  position = {int(a): i for i, a in enumerate(legal)}
  return np.asarray([position[nearest_legal(a, legal)]
                     for a in range(len(FULL_ACTIONS))], np.int32)
