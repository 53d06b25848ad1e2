"""The one-process runtime's actors: ActorThreads in the learner's process.

  actors = LocalActors(config, task_set, agent_factory)
  actors.trackables()   their sampling RNGs, checkpointed with the learner
  actors.start(queue, store, episodes, stop, generation)
  actors.join(timeout) -> names of threads still alive
  actors.env_restarts(), actors.scalars()

The distributed runtime has the same interface for actor processes
(impala_tf.distributed.learner_job.RemoteActors), so the training loop does
not care where unrolls come from.
"""

import time

from impala_tf import builder
from impala_tf.acting.actor import ActorThread
from impala_tf.acting.policy import ActingPolicy


class LocalActors:
  """config.actor_threads ActorThreads, each with its own ActingPolicy."""

  def __init__(self, config, task_set, agent_factory):
    self._config = config
    self._task_set = task_set
    self.policies = [
        ActingPolicy(agent_factory(), task_set.spec,
                     seed=config.seed * 7919 + thread)
        for thread in range(config.actor_threads)]
    self.threads = []

  def trackables(self):
    return {f'actor_rng_{i}': policy.generator
            for i, policy in enumerate(self.policies)}

  def start(self, queue, store, episodes, stop, generation):
    config = self._config
    self.threads = []
    for thread in range(config.actor_threads):
      make_envs = builder.make_env_group_factory(config, self._task_set,
                                                 thread, generation)
      self.threads.append(ActorThread(
          thread, make_envs, self.policies[thread], store, queue, episodes,
          config.unroll_length, stop,
          max_env_restarts=config.max_env_restarts))
    for thread in self.threads:
      thread.start()

  def join(self, timeout):
    deadline = time.monotonic() + timeout
    for thread in self.threads:
      thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in self.threads if t.is_alive()]

  def env_restarts(self):
    return sum(t.env_restarts for t in self.threads)

  def scalars(self):
    return {}
