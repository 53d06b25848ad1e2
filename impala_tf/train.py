"""Training binary: python -m impala_tf.train --flagfile=paper_configs/atari_pong.cfg

Without --job_name: one-process IMPALA (impala_tf/training_loop), actors as
threads. With --job_name=learner|actor --task=i: one process of a distributed
run (impala_tf/distributed), the cluster given by TF_CONFIG or by
--learner_addresses and --num_actor_processes; impala_tf.launch starts a whole
cluster on this machine. Running a learner again with the same --logdir
resumes from the last checkpoint.

The first Ctrl-C (or SIGTERM) checkpoints and exits; it is handled from the
start of main, before TensorFlow loads. A second Ctrl-C exits at once without
a checkpoint. Flag errors are reported before TensorFlow loads.
"""

import sys

from absl import app
from absl import flags

from impala_tf import flags as flags_lib
from impala_tf import process_group
from impala_tf import stopping
from impala_tf.config import ConfigError
from impala_tf.distributed import exit_codes

flags_lib.define_config_flags()
flags.DEFINE_integer('max_updates', None,
                     'Stop after this many learner updates in this process '
                     '(for smoke tests); the frame budget still applies.')
flags.DEFINE_enum('job_name', '', ['', 'learner', 'actor'],
                  'Distributed runs: this process\'s job (default: the '
                  'one-process runtime; TF_CONFIG\'s task if it has one).')
flags.DEFINE_integer('task', None, 'Distributed runs: index within the job.')
flags.DEFINE_list('learner_addresses', None,
                  'Distributed runs without TF_CONFIG: host:port of every '
                  'learner (learner 0 is the chief).')
FLAGS = flags.FLAGS



def _fail(message):
  sys.exit(f'impala_tf.train: error: {message}')


def main(argv):
  stop = stopping.StopSignal(
      exit_code_on_second_interrupt=exit_codes.INTERRUPTED).install()
  # Started by a launcher, sweep or PBT: SIGTERM when it dies.
  process_group.die_with_parent('impala_tf.train')
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  config = flags_lib.config_from_flags(FLAGS)
  try:
    config.validate()
    from impala_tf import builder  # pylint: disable=g-import-not-at-top
    builder.make_task_set(config)
  except ConfigError as e:
    _fail(e)
  if FLAGS.max_updates is not None and FLAGS.max_updates < 1:
    _fail(f'--max_updates: must be >= 1, got {FLAGS.max_updates}.')
  cluster = _cluster()
  if cluster is not None:
    _run_job(config, cluster, stop)
    return
  handover = _experiment_binary(config)
  if handover is not None:
    _hand_over(config, handover)
  print(f'Training {config.level_name} ({config.network} network) for '
        f'{config.total_environment_frames:,} frames; logdir {config.logdir}',
        flush=True)
  # pylint: disable=g-import-not-at-top
  from impala_tf import checkpointing
  from impala_tf import training_loop
  from impala_tf.envs import EnvSetupError
  # pylint: enable=g-import-not-at-top
  try:
    result = training_loop.train(config, max_updates=FLAGS.max_updates,
                                 stop=stop)
    if result.stopped_because == training_loop.RESTART_REQUESTED:
      sys.exit(exit_codes.RESTART)
  except (ConfigError, EnvSetupError) as e:
    _fail(e)
  except checkpointing.CheckpointCorruptError as e:
    _fail(f'--logdir {config.logdir}: no intact checkpoint to resume from '
          f'(nothing was deleted). {e}')
  except checkpointing.CheckpointMismatchError as e:
    _fail(f'--logdir {config.logdir} holds a checkpoint of a different '
          f'model; use a new --logdir. ({e})')
  except training_loop.TrainingError as e:
    sys.exit(f'impala_tf.train: stopped: {e}')


_HANDOVER_FLAGS = ('max_updates', 'job_name', 'task', 'learner_addresses')


def _experiment_binary(config):
  """The binary that runs this config's experiment, or None (this one)."""
  if config.experiment == 'sweep':
    return 'impala_tf.sweep'
  if config.experiment == 'pbt':
    return 'impala_tf.pbt'
  if config.num_actor_processes > 0:
    return 'impala_tf.launch'
  return None


def _hand_over(config, module):
  """Runs ``module`` with this command line instead of this process (its
  members are started with --experiment=train). Checks first, in one
  sentence, that the environment can be made here."""
  for name in _HANDOVER_FLAGS:
    if FLAGS[name].present:
      _fail(f'--{name} is a flag of a single training process; a '
            f'--experiment={config.experiment} run takes the training flags '
            'only.')
  # pylint: disable=g-import-not-at-top
  import os
  from impala_tf import builder
  from impala_tf.envs import EnvSetupError
  # pylint: enable=g-import-not-at-top
  try:
    builder.preflight(config, builder.make_task_set(config))
  except EnvSetupError as e:
    _fail(e)
  what = (f'--experiment={config.experiment}' if config.experiment != 'train'
          else f'--num_actor_processes={config.num_actor_processes}')
  print(f'impala_tf.train: {what}: handing over to python -m {module}',
        flush=True)
  os.execv(sys.executable, [sys.executable, '-m', module] + sys.argv[1:])


def _cluster():
  """The Cluster of this process, or None for the one-process runtime."""
  import json  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  from impala_tf.distributed import cluster as cluster_lib  # pylint: disable=g-import-not-at-top
  tf_config = os.environ.get('TF_CONFIG', '')
  task_of_tf_config = {}
  if tf_config:
    try:
      task_of_tf_config = json.loads(tf_config).get('task') or {}
    except (ValueError, AttributeError):
      _fail('TF_CONFIG is not valid JSON.')
  job_name = FLAGS.job_name or task_of_tf_config.get('type', '')
  if not job_name:
    return None
  task = FLAGS.task if FLAGS.task is not None else task_of_tf_config.get(
      'index', 0)
  try:
    if FLAGS.learner_addresses:
      return cluster_lib.Cluster.from_flags(
          FLAGS.learner_addresses,
          FLAGS.num_actor_processes or len(FLAGS.learner_addresses),
          job_name, task)
    if not tf_config:
      _fail(f'--job_name={job_name} needs the cluster: TF_CONFIG, or '
            '--learner_addresses and --num_actor_processes.')
    cluster = cluster_lib.Cluster.from_tf_config(tf_config)
    if (cluster.job_name, cluster.task) != (job_name, task):
      cluster = cluster_lib.Cluster(cluster.learners,
                                    cluster.num_actor_processes, job_name,
                                    task)
    return cluster
  except cluster_lib.ClusterError as e:
    _fail(f'cluster: {e}')


def _run_job(config, cluster, stop):
  """One process of a distributed run; exits with the job's code."""
  # pylint: disable=g-import-not-at-top
  from impala_tf import checkpointing
  from impala_tf.distributed import service
  from impala_tf import training_loop
  from impala_tf.envs import EnvSetupError
  # pylint: enable=g-import-not-at-top
  where = f'{cluster.job_name} {cluster.task}'
  try:
    if cluster.job_name == 'actor':
      from impala_tf.distributed import actor_job  # pylint: disable=g-import-not-at-top
      sys.exit(actor_job.run_actor(config, cluster, stop))
    from impala_tf.distributed import learner_job  # pylint: disable=g-import-not-at-top
    print(f'[{where}] training {config.level_name} ({config.network} '
          f'network) for {config.total_environment_frames:,} frames with '
          f'{cluster.num_learners} learner(s) and '
          f'{cluster.num_actor_processes} actor process(es); logdir '
          f'{config.logdir}', flush=True)
    learner_job.train_learner(config, cluster, stop,
                              max_updates=FLAGS.max_updates)
  except (ConfigError, EnvSetupError) as e:
    _fail(e)
  except checkpointing.CheckpointCorruptError as e:
    _fail(f'--logdir {config.logdir}: no intact checkpoint to resume from '
          f'(nothing was deleted). {e}')
  except checkpointing.CheckpointMismatchError as e:
    _fail(f'--logdir {config.logdir} holds a checkpoint of a different '
          f'model; use a new --logdir. ({e})')
  except training_loop.TrainingError as e:
    sys.exit(f'impala_tf.train: [{where}] stopped: {e}')
  except service.ListenError as e:
    _fail(f'[{where}] {e}')


def run():
  try:
    app.run(main)
  except KeyboardInterrupt:
    # Ctrl-C before main installed its handler: nothing was started.
    print('impala_tf.train: interrupted before training started.',
          file=sys.stderr)
    sys.exit(exit_codes.INTERRUPTED)


if __name__ == '__main__':
  run()
