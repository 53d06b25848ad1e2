"""The interface every environment family implements.

An environment here is always *batched*: one object steps ``num_envs`` copies of
a level at once, because actors batch inference across environments. All
arrays are numpy and carry the batch dimension first.

Episode-end convention (the original's, scalable_agent environments.py): when an
episode ends at a step, that step's ``reward`` belongs to the ending episode,
``done`` is True, and ``observation`` is already the first observation of the
next episode (the environment resets itself in the same call).

``done`` is the boundary the *learner* sees (it includes life loss for Atari in
training mode). ``game_over`` marks the end of a real game and is what episode
statistics use; on a step where ``game_over[b]`` is True, ``episode_return[b]``
and ``episode_step[b]`` hold the finished game's totals (raw, unclipped reward;
agent steps), otherwise the running totals of the current game.
"""

import dataclasses
from typing import NamedTuple, Optional, Protocol, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class EnvSpec:
  """Static description of a level, enough to build a network for it.

  Attributes:
    name: canonical level name (e.g. 'pong', 'rooms_watermaze', 'catch').
    observation_shape: (H, W, C) of the uint8 frame.
    num_actions: size of the discrete action set.
    has_instruction: True when observations carry a text instruction (DMLab).
    frames_per_step: environment frames per agent step (action repeat); the
      paper counts frames, so frame budgets divide by this.
  """
  name: str
  observation_shape: Tuple[int, int, int]
  num_actions: int
  has_instruction: bool = False
  frames_per_step: int = 4


class EnvOutput(NamedTuple):
  """What a batched environment returns from ``reset`` and ``step``.

  Shapes (B = num_envs):
    reward: [B] float32, raw reward of the step (0 after reset).
    done: [B] bool, learner-visible episode boundary.
    observation: [B, H, W, C] uint8.
    instruction: [B] object array of str, or None when the level has none.
    episode_return: [B] float32, see module docstring.
    episode_step: [B] int32, agent steps, see module docstring.
    game_over: [B] bool, a real game ended at this step.
  """
  reward: np.ndarray
  done: np.ndarray
  observation: np.ndarray
  instruction: Optional[np.ndarray]
  episode_return: np.ndarray
  episode_step: np.ndarray
  game_over: np.ndarray


class BatchedEnv(Protocol):
  """Protocol implemented by every environment family."""

  spec: EnvSpec
  num_envs: int

  def reset(self) -> EnvOutput:
    """Resets every copy; reward 0, done False, game_over False."""

  def step(self, actions: np.ndarray) -> EnvOutput:
    """Steps every copy with ``actions`` ([B] int) and auto-resets ended ones."""

  def close(self) -> None:
    """Releases emulator threads/processes. Safe to call twice."""


class EnvSetupError(Exception):
  """An environment cannot be made on this machine (missing emulator, ROM or
  data set). Its message is one sentence for the user, not a stack trace."""
