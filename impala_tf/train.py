"""Training binary: python -m impala_tf.train --flagfile=paper_configs/atari_pong.cfg

Runs one-machine IMPALA on a level or task set (see impala_tf/training_loop).
Running it again with the same --logdir resumes from the last checkpoint.
"""

import sys

from absl import app
from absl import flags

from impala_tf import flags as flags_lib

flags_lib.define_config_flags()
flags.DEFINE_integer('max_updates', None,
                     'Stop after this many learner updates in this process '
                     '(for smoke tests); the frame budget still applies.')
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    sys.exit(f'impala_tf.train: unexpected arguments {argv[1:]}')
  # Imported here so --help stays fast and flag errors come before TF starts.
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from impala_tf import training_loop  # pylint: disable=g-import-not-at-top
  config = flags_lib.config_from_flags(FLAGS)
  try:
    config.validate()
    from impala_tf import builder  # pylint: disable=g-import-not-at-top
    builder.make_task_set(config)
  except config_lib.ConfigError as e:
    sys.exit(f'impala_tf.train: error: {e}')
  print(f'Training {config.level_name} ({config.network} network) for '
        f'{config.total_environment_frames:,} frames; logdir {config.logdir}',
        flush=True)
  from impala_tf import checkpointing  # pylint: disable=g-import-not-at-top
  from impala_tf.envs import EnvSetupError  # pylint: disable=g-import-not-at-top
  try:
    training_loop.train(config, max_updates=FLAGS.max_updates)
  except (config_lib.ConfigError, EnvSetupError) as e:
    sys.exit(f'impala_tf.train: error: {e}')
  except checkpointing.CheckpointMismatchError as e:
    sys.exit(f'impala_tf.train: error: --logdir {config.logdir} holds a '
             f'checkpoint of a different model; use a new --logdir. ({e})')
  except training_loop.TrainingError as e:
    sys.exit(f'impala_tf.train: stopped: {e}')


if __name__ == '__main__':
  app.run(main)
