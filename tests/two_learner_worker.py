"""One of two learner processes under MultiWorkerMirroredStrategy (test helper).

  python -m tests.two_learner_worker TASK ADDRESS0,ADDRESS1 OUTDIR

Both processes build the real Learner (builder.make_learner) with the
distributed runtime's strategy (learner_job.make_strategy), take the chief's
variables (sync_from_chief) and train NUM_UPDATES updates, learner i on its
half of each global batch from ``global_batch``. The chief writes the
initial parameters; each writes its final parameters, so test_distributed
can compare both with each other and with one process trained on the whole
batches.
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from impala_tf import builder  # pylint: disable=g-import-not-at-top
from impala_tf import networks  # pylint: disable=g-import-not-at-top
from impala_tf import trajectory as trajectory_lib  # pylint: disable=g-import-not-at-top
from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
from impala_tf.envs.spec import EnvSpec  # pylint: disable=g-import-not-at-top

SPEC = EnvSpec('catch', (40, 40, 1), 3, frames_per_step=1)
CONFIG = Config(level_name='catch', num_action_repeats=1, batch_size=4,
                unroll_length=5, total_environment_frames=10_000,
                learning_rate=0.01, epsilon=0.01, entropy_cost=0.01,
                network='shallow', core='lstm')
NUM_UPDATES = 4


def agent_factory():
  return networks.build_agent('shallow', SPEC, core='lstm')


def global_batch(update, agent):
  """The update-th global batch (CONFIG.batch_size unrolls), fixed by seed."""
  rng = np.random.default_rng(1000 + update)
  size, steps = CONFIG.batch_size, CONFIG.unroll_length + 1
  batch = trajectory_lib.empty(SPEC, CONFIG.unroll_length, size, 0,
                               agent.initial_state(size))
  return batch._replace(
      frame=rng.integers(0, 256, batch.frame.shape, dtype=np.uint8),
      reward=rng.normal(size=(steps, size)).astype(np.float32),
      done=rng.uniform(size=(steps, size)) < 0.2,
      last_action=rng.integers(0, 3, (steps, size)).astype(np.int32),
      action=rng.integers(0, 3, (steps, size)).astype(np.int32),
      behaviour_logits=rng.normal(size=(steps, size, 3)).astype(np.float32),
      core_state=tf.nest.map_structure(
          lambda s: rng.normal(size=s.shape).astype(np.float32) * 0.1,
          batch.core_state))


def values(learner):
  return {f'{i}': np.asarray(v.read_value()) for i, v in
          enumerate(learner.variables)}


def main(task, addresses, outdir):
  from impala_tf.distributed import cluster as cluster_lib  # pylint: disable=g-import-not-at-top
  from impala_tf.distributed import learner_job  # pylint: disable=g-import-not-at-top
  cluster = cluster_lib.Cluster(tuple(addresses), 2, 'learner', task)
  config = CONFIG.replace(strategy='default')
  learner = builder.make_learner(config, SPEC, agent_factory,
                                 learner_job.make_strategy(cluster))
  learner.sync_from_chief(task == 0)
  if task == 0:
    np.savez(os.path.join(outdir, 'initial.npz'), **values(learner))
  half = CONFIG.batch_size // 2
  for update in range(NUM_UPDATES):
    batch = global_batch(update, learner.agent)
    mine = trajectory_lib.slice_batch(batch, task * half, (task + 1) * half)
    learner.step(learner.place(mine))
  np.savez(os.path.join(outdir, f'final_{task}.npz'), updates=learner.updates,
           frames=learner.frames, **values(learner))


if __name__ == '__main__':
  main(int(sys.argv[1]), sys.argv[2].split(','), sys.argv[3])
