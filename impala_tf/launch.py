"""Runs a distributed IMPALA cluster on this machine with one command:

  python -m impala_tf.launch --flagfile=paper_configs/catch.cfg \\
      --num_learners=1 --num_actor_processes=4 --logdir=/tmp/catch

Takes every training flag of impala_tf.train plus the cluster's shape, starts
the learner(s) and actor processes on 127.0.0.1 (free ports, or
--learner_addresses), restarts the ones that die, prints one merged progress
line, and stops cleanly on Ctrl-C (the learners checkpoint; a second Ctrl-C
kills everything at once). --print_cluster_commands prints the command of
every process instead, for running the same cluster on real hosts. See
impala_tf/distributed/launcher.py.
"""

import sys

from absl import app
from absl import flags

from impala_tf import flags as flags_lib
from impala_tf.distributed import exit_codes
from impala_tf.distributed import launcher

flags_lib.define_config_flags()
flags.DEFINE_list('learner_addresses', None,
                  'host:port of every learner (its port + 1 must be free '
                  'too); default: free ports on 127.0.0.1.')
flags.DEFINE_integer('max_actor_restarts', 20,
                     'Restarts of dead actor processes allowed over the run.')
flags.DEFINE_integer('max_learner_restarts', 5,
                     'Restarts of learners killed by a signal allowed over '
                     'the run (they resume from the last checkpoint).')
flags.DEFINE_bool('print_cluster_commands', False,
                  'Print one shell command per process of the cluster given '
                  'by --learner_addresses instead of running it.')
FLAGS = flags.FLAGS



def main(argv):
  if len(argv) > 1:
    sys.exit(f'impala_tf.launch: error: unexpected arguments {argv[1:]}')
  config = flags_lib.config_from_flags(FLAGS)
  addresses = FLAGS.learner_addresses or []
  options = launcher.LaunchOptions(
      # The config's 0 (one process) means the launcher's default here.
      num_actor_processes=config.num_actor_processes or 2,
      num_learners=(None if addresses and config.num_learners == 1 else
                    config.num_learners),
      learner_addresses=FLAGS.learner_addresses,
      max_actor_restarts=FLAGS.max_actor_restarts,
      max_learner_restarts=FLAGS.max_learner_restarts,
      print_cluster_commands=FLAGS.print_cluster_commands)
  sys.exit(launcher.main(config, options))


def run():
  try:
    app.run(main)
  except KeyboardInterrupt:
    # Ctrl-C before the launcher installed its handlers: nothing started.
    print('impala_tf.launch: interrupted before anything started.',
          file=sys.stderr)
    sys.exit(exit_codes.INTERRUPTED)


if __name__ == '__main__':
  run()
