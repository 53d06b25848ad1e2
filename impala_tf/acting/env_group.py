"""Several BatchedEnvs (possibly of different levels) stepped as one batch.

An actor thread owns a block of actors; each actor has a fixed level
(round-robin over the task set). Actors of the same level share one
BatchedEnv; this class concatenates their outputs so that inference runs once
for the whole thread.

  EnvGroup(members [(task_id, BatchedEnv)], actor_ids=None)
  EnvGroup.reset() -> EnvOutput [G, ...]
  EnvGroup.step(actions [G]) -> EnvOutput [G, ...]
  EnvGroup.task_ids -> [G] int32
  EnvGroup.actor_order -> [G] positions sorted by actor index

Within the group, slots are ordered by level (one BatchedEnv per level).
``actor_order`` puts them back in actor order, where levels alternate, so a
slice of a thread's unrolls (a learner batch) mixes levels as the original's
queue of single-actor unrolls did.
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
  """Concatenation of BatchedEnvs, each tagged with its task id.

  Args:
    members: list of (task_id, BatchedEnv), in slot order.
    actor_ids: [G] actor index of each slot (default 0..G-1).
  """

  def __init__(self, members, actor_ids=None):
    self._envs = [env for _, env in members]
    self._sizes = [env.num_envs for env in self._envs]
    self._bounds = np.cumsum([0] + self._sizes)
    self.task_ids = np.concatenate(
        [np.full(env.num_envs, task_id, np.int32) for task_id, env in members])
    self.num_envs = int(self._bounds[-1])
    self.spec = self._envs[0].spec
    if actor_ids is None:
      actor_ids = np.arange(self.num_envs)
    actor_ids = np.asarray(actor_ids)
    if actor_ids.shape != (self.num_envs,):
      raise ValueError(f'{len(actor_ids)} actor ids for {self.num_envs} '
                       'environments.')
    self.actor_order = np.argsort(actor_ids, kind='stable')

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
