"""Per-game running totals that turn raw step results into an EnvOutput.

    tracker = GameTotals(num_envs)
    tracker.reset_output(observation)                       -> EnvOutput
    tracker.step_output(reward, done, game_over, observation) -> EnvOutput

Shapes (B = num_envs): reward [B] float, done/game_over [B] bool,
observation [B, 84, 84, 4] uint8. Totals span a whole game (all lives); on a
``game_over`` step the output holds the finished game's totals and the
tracker restarts from zero (spec.py's convention).
"""

import numpy as np

from impala_tf.envs.spec import EnvOutput


class GameTotals:
  """Running return and agent-step count of the current game of each copy."""

  def __init__(self, num_envs: int):
    self._return = np.zeros(num_envs, np.float32)
    self._steps = np.zeros(num_envs, np.int32)

  def reset_output(self, observation: np.ndarray) -> EnvOutput:
    self._return[:] = 0
    self._steps[:] = 0
    b = len(self._return)
    return EnvOutput(reward=np.zeros(b, np.float32), done=np.zeros(b, bool),
                     observation=observation, instruction=None,
                     episode_return=self._return.copy(),
                     episode_step=self._steps.copy(),
                     game_over=np.zeros(b, bool))

  def step_output(self, reward: np.ndarray, done: np.ndarray,
                  game_over: np.ndarray, observation: np.ndarray) -> EnvOutput:
    reward = np.asarray(reward, np.float32)
    self._return += reward
    self._steps += 1
    out = EnvOutput(reward=reward, done=np.asarray(done, bool),
                    observation=observation, instruction=None,
                    episode_return=self._return.copy(),
                    episode_step=self._steps.copy(),
                    game_over=np.asarray(game_over, bool))
    self._return[out.game_over] = 0
    self._steps[out.game_over] = 0
    return out
