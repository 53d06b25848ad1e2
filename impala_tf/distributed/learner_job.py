"""The learner job: python -m impala_tf.train --job_name=learner --task=i

  train_learner(config, cluster, signals) -> RunResult

The one-process training loop (impala_tf.training_loop) with RemoteActors as
its source of unrolls: the learner's RPC service (service.py) feeds the same
TrajectoryQueue and StagingArea, and serves the ParameterStore's snapshots.
With several learners the strategy is MultiWorkerMirroredStrategy over the
learners' collective addresses (port + 1): each learner assembles
batch_size / num_learners unrolls from its own actors, gradients are summed
over all of them, and learner 0 (the chief) alone writes checkpoints,
summaries and config.json. After the learner's budget is spent, its service
tells actors it has finished for a few seconds before the process exits (the
actors then exit); a learner stopped otherwise (a signal, a fault) leaves its
actors waiting for it to come back.
"""

import time

from impala_tf import training_loop
from impala_tf.distributed import handshake
from impala_tf.distributed.service import LearnerService
from impala_tf.learning.learner import instruction_width
from impala_tf import trajectory as trajectory_lib

_FINISHED_LINGER_SECS = 5.0


class RemoteActors:
  """The actor processes of one learner, seen through its service."""

  def __init__(self, service, name):
    self._service = service
    self._name = name

  def trackables(self):
    return {}  # Actor processes keep their own state.

  def start(self, queue, store, episodes, stop, generation):
    del stop, generation
    self._service.start(queue, store, episodes)
    print(f'[{self._name}] serving actors at {self._service.address}',
          flush=True)

  def join(self, timeout):
    del timeout
    return []  # Actor processes stop themselves.

  def env_restarts(self):
    return 0  # Counted by the actor processes themselves.

  def scalars(self):
    return {'actors/unrolls_received': self._service.unrolls_received,
            'actors/connected': len(self._service.actors_connected),
            'actors/pushes_refused_busy': self._service.pushes_refused_busy}


def make_strategy(cluster):
  """One learner: the default strategy; several: MultiWorkerMirrored."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if cluster.num_learners == 1:
    return tf.distribute.get_strategy()
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec({'worker': cluster.collective_addresses()}),
      task_type='worker', task_id=cluster.task, rpc_layer='grpc')
  return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def train_learner(config, cluster, signals, max_updates=None,
                  on_update=None):
  """Runs learner ``cluster.task`` until its budget, a stop or a fault."""
  from impala_tf import stopping  # pylint: disable=g-import-not-at-top
  name = f'learner {cluster.task}'
  services = []

  def make_actors(config, task_set, agent_factory, learner):
    del agent_factory
    spec = task_set.spec
    description = handshake.describe(
        config, spec, config.resolved_core(task_set.family),
        learner.variables)
    template = trajectory_lib.empty(spec, config.unroll_length, 1,
                                    instruction_width(spec),
                                    learner.agent.initial_state(1))
    service = LearnerService(cluster.learners[cluster.task], description,
                             template, config.unroll_length)
    services.append(service)
    return RemoteActors(service, name)

  # Stop requests (signals) are kept apart from the pipeline's own stop, so
  # that several learners can agree on the update after which they stop.
  pipeline = stopping.StopSignal() if cluster.num_learners > 1 else signals
  strategy = make_strategy(cluster)
  if signals.installed:
    signals.reclaim()  # The strategy's coordination service took SIGTERM.
  result = training_loop.train(
      config, max_updates=max_updates, strategy=strategy,
      on_update=on_update, stop=pipeline, make_actors=make_actors,
      chief=cluster.is_chief, signals=signals)
  if result.stopped_because == 'finished' and services:
    services[0].finished.set()
    time.sleep(_FINISHED_LINGER_SECS)  # Its actors learn that it is over.
  return result
