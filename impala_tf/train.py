"""Training binary: python -m impala_tf.train --flagfile=paper_configs/atari_pong.cfg

Runs one-machine IMPALA on a level or task set (see impala_tf/training_loop).
Running it again with the same --logdir resumes from the last checkpoint.

The first Ctrl-C (or SIGTERM) checkpoints and exits; it is handled from the
start of main, before TensorFlow loads. A second Ctrl-C exits at once without
a checkpoint. Flag errors are reported before TensorFlow loads.
"""

import sys

from absl import app
from absl import flags

from impala_tf import flags as flags_lib
from impala_tf import stopping
from impala_tf.config import ConfigError

flags_lib.define_config_flags()
flags.DEFINE_integer('max_updates', None,
                     'Stop after this many learner updates in this process '
                     '(for smoke tests); the frame budget still applies.')
FLAGS = flags.FLAGS

INTERRUPTED_EXIT_CODE = 130


def _fail(message):
  sys.exit(f'impala_tf.train: error: {message}')


def main(argv):
  stop = stopping.StopSignal(
      exit_code_on_second_interrupt=INTERRUPTED_EXIT_CODE).install()
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
  print(f'Training {config.level_name} ({config.network} network) for '
        f'{config.total_environment_frames:,} frames; logdir {config.logdir}',
        flush=True)
  # pylint: disable=g-import-not-at-top
  from impala_tf import checkpointing
  from impala_tf import training_loop
  from impala_tf.envs import EnvSetupError
  # pylint: enable=g-import-not-at-top
  try:
    training_loop.train(config, max_updates=FLAGS.max_updates, stop=stop)
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


def run():
  try:
    app.run(main)
  except KeyboardInterrupt:
    # Ctrl-C before main installed its handler: nothing was started.
    print('impala_tf.train: interrupted before training started.',
          file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT_CODE)


if __name__ == '__main__':
  run()
