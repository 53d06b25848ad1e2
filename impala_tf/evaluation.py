"""Policy evaluation under the paper's protocol.

  evaluate_level(policy, level, num_episodes, num_envs, seed, options)
      -> list of (return, length)
  summarize(per_level_returns) -> dict with mean returns, human-normalised
      scores and, for complete suites, the paper's aggregates

Environments run in mode 'test': for Atari that is whole games (a lost life
does not end the episode) with up to 30 random no-op starts; for DMLab-30 it
is the held-out test level with the fixed mixer seed. Each of the num_envs
copies plays a fixed quota of episodes, so short episodes are not
over-represented (taking the first N finished episodes would be biased).
"""

import math
from typing import Dict, List, Sequence, Tuple

import numpy as np

from impala_tf import scoring
from impala_tf.envs import family_of, make_env


def evaluate_level(policy, level, num_episodes, num_envs=8, seed=0,
                   options=None, on_episode=None) -> List[Tuple[float, int]]:
  """Plays ``num_episodes`` test episodes of ``level`` with ``policy``.

  Args:
    policy: an ActingPolicy (its step samples actions, as in training).
    level: level name.
    num_episodes: total episodes over all copies.
    num_envs: parallel environment copies (capped at num_episodes).
    on_episode: optional callback(index, return, length) for progress.

  Returns:
    [(episode_return, episode_length_in_agent_steps)] in completion order.
  """
  num_envs = max(1, min(num_envs, num_episodes))
  quota = np.full(num_envs, num_episodes // num_envs)
  quota[:num_episodes % num_envs] += 1
  env = make_env(level, num_envs=num_envs, seed=seed, mode='test',
                 options=options)
  results = []
  try:
    env_output = env.reset()
    state = policy.initial_state(num_envs)
    last_action = np.zeros(num_envs, np.int32)
    finished = np.zeros(num_envs, np.int64)
    while np.any(finished < quota):
      action, _, _, state = policy.step(
          last_action, env_output.reward, env_output.done,
          env_output.observation, env_output.instruction, state)
      last_action = action.numpy()
      env_output = env.step(last_action)
      for b in np.flatnonzero(env_output.game_over):
        if finished[b] < quota[b]:
          finished[b] += 1
          results.append((float(env_output.episode_return[b]),
                          int(env_output.episode_step[b])))
          if on_episode is not None:
            on_episode(len(results), *results[-1])
  finally:
    env.close()
  return results


def _hns(level, mean_return):
  try:
    return scoring.human_normalized_score(level, mean_return)
  except ValueError:
    return None  # No human/random reference (e.g. catch).


def summarize(per_level: Dict[str, Sequence[Tuple[float, int]]]):
  """Per-level statistics and suite aggregates (paper Tables 3 and 4)."""
  levels = {}
  for level, episodes in per_level.items():
    returns = np.array([r for r, _ in episodes], np.float64)
    mean = float(returns.mean())
    levels[level] = dict(
        episodes=len(returns), mean_return=mean,
        std_return=float(returns.std()),
        stderr_return=float(returns.std() / math.sqrt(len(returns))),
        mean_length=float(np.mean([n for _, n in episodes])),
        human_normalized_score=_hns(level, mean))
  summary = dict(levels=levels)
  means = {level: s['mean_return'] for level, s in levels.items()}
  families = {family_of(level) for level in levels}
  try:
    if families == {'atari'} and len(levels) == 57:
      summary['atari57_median_hns'] = scoring.atari57_median_score(means)
      summary['atari57_mean_hns'] = scoring.atari57_mean_score(means)
    if families == {'dmlab'} and len(levels) == 30:
      summary['dmlab30_mean_capped_hns'] = scoring.dmlab30_mean_capped_score(
          means)
  except ValueError as e:
    summary['aggregate_error'] = str(e)
  return summary
