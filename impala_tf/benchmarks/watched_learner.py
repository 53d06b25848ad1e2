"""A learner process that reports every update: the distributed rows' chief.

  python -m impala_tf.benchmarks.watched_learner '<job JSON>'

  job JSON = {"config": Config.to_dict(), "learners": ["host:port", ...],
              "num_actor_processes": K, "task": i}

Runs the learner job of impala_tf.train (learner_job.train_learner, the same
function as ``--job_name=learner``) and prints one line per update,

  impala_tf.benchmark update <updates> <frames>

flushed at once, so that the benchmark process can read every process's CPU
clock at that update (impala_tf.benchmarks.distributed). SIGTERM/SIGINT stop
it like the training binary. It runs in its own process because several
learners need TensorFlow's collective ops configured before TensorFlow
starts, which the benchmark process, having measured other rows, cannot do.
"""

import json
import sys

UPDATE_PREFIX = 'impala_tf.benchmark update'


def update_line(updates, frames):
  """The line printed after update number ``updates`` (1-based)."""
  return f'{UPDATE_PREFIX} {int(updates)} {int(frames)}'


def parse_update_line(line):
  """(updates, frames) of an update line, or None for any other line."""
  if not line.startswith(UPDATE_PREFIX + ' '):
    return None
  fields = line[len(UPDATE_PREFIX):].split()
  if len(fields) != 2 or not all(f.isdigit() for f in fields):
    return None
  return int(fields[0]), int(fields[1])


def job_json(config, learners, num_actor_processes, task=0):
  """The command-line argument for learner ``task`` of the cluster."""
  return json.dumps(dict(config=config.to_dict(), learners=list(learners),
                         num_actor_processes=int(num_actor_processes),
                         task=int(task)))


def main(argv):
  if len(argv) != 2:
    sys.exit('usage: python -m impala_tf.benchmarks.watched_learner '
             "'<job JSON>'")
  # pylint: disable=g-import-not-at-top
  from impala_tf import process_group
  from impala_tf import stopping
  signals = stopping.StopSignal().install()
  process_group.die_with_parent('impala_tf.benchmarks.watched_learner')
  from impala_tf.config import Config
  from impala_tf.distributed import learner_job
  from impala_tf.distributed.cluster import Cluster
  # pylint: enable=g-import-not-at-top
  job = json.loads(argv[1])
  config = Config.from_dict(job['config']).validate()
  cluster = Cluster(tuple(job['learners']), job['num_actor_processes'],
                    'learner', job['task'])
  updates = [0]

  def on_update(frames, _):
    updates[0] += 1
    print(update_line(updates[0], frames), flush=True)

  learner_job.train_learner(config, cluster, signals, on_update=on_update)


if __name__ == '__main__':
  main(sys.argv)
