"""Several BatchedEnvs (possibly of different levels) stepped as one batch.

An actor thread owns the actors i with i % threads == thread; each actor has
a fixed level (round-robin over the task set). Actors of the same level share
one BatchedEnv; this class concatenates their outputs so that inference runs
once for the whole thread.

  EnvGroup.reset() -> EnvOutput [G, ...]
  EnvGroup.step(actions [G]) -> EnvOutput [G, ...]
  EnvGroup.task_ids -> [G] int32
"""

import numpy as np

from impala_tf.envs.spec import EnvOutput


def _concat(outputs):
  if len(outputs) == 1:
    return outputs[0]
  fields = {}
  for name in EnvOutput._fields:
    parts = [getattr(o, name) for o in outputs]
    fields[name] = None if parts[0] is None else np.concatenate(parts)
  return EnvOutput(**fields)


class EnvGroup:
  """Concatenation of BatchedEnvs, each tagged with its task id."""

  def __init__(self, members):
    """members: list of (task_id, BatchedEnv)."""
    self._envs = [env for _, env in members]
    self._sizes = [env.num_envs for env in self._envs]
    self._bounds = np.cumsum([0] + self._sizes)
    self.task_ids = np.concatenate(
        [np.full(env.num_envs, task_id, np.int32) for task_id, env in members])
    self.num_envs = int(self._bounds[-1])
    self.spec = self._envs[0].spec

  def reset(self):
    return _concat([env.reset() for env in self._envs])

  def step(self, actions):
    return _concat([
        env.step(actions[lo:hi])
        for env, lo, hi in zip(self._envs, self._bounds[:-1], self._bounds[1:])
    ])

  def close(self):
    for env in self._envs:
      env.close()
