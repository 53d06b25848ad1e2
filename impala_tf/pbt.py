r"""Population based training binary (paper Appendix F).

  python -m impala_tf.pbt --flagfile=paper_configs/catch.cfg \
      --logdir=logs/pbt_catch --population_size=4 \
      [--pbt_burn_in_frames=... --pbt_ready_episodes=...] [training flags]

Starts one ``impala_tf.train`` member per setting of --settings (Table D.1's
24 by default) in ``<logdir>/member_NN`` and evolves them as the paper's PBT
does: after --pbt_burn_in_frames, a member that has --pbt_ready_episodes new
episode returns is scored (--pbt_fitness: mean capped human-normalised score for
dmlab30, the median for atari57, the mean return otherwise), copies the
weights and hyperparameters of a random other member whose fitness is more
than --pbt_exploit_threshold higher, and perturbs its learning rate, entropy
cost and RMSProp epsilon (and, on Atari, its gradient-clipping threshold) by
x1.2 or x1/1.2 with probability 1/3 each. ``<logdir>/population.json`` holds
the population (hyperparameters, fitness, lineage); running the same command
again resumes it. Ctrl-C stops every member cleanly (a second one kills
them). With --members_elsewhere the controller starts no process: run each
member with ``python -m impala_tf.train --flagfile=<logdir>/member_NN/pbt.flags``
in a loop that starts it again while it exits with code 75 (see
impala_tf/experiments/pbt.py); only the file system is shared.
"""

import os
import sys

from absl import app
from absl import flags

from impala_tf import builder
from impala_tf import flags as flags_lib
from impala_tf.config import ConfigError
from impala_tf.experiments import pbt
from impala_tf.experiments import sweep
from impala_tf.experiments import sweep_settings

flags_lib.define_config_flags()
flags.DEFINE_integer('pbt_seed', 1, 'Seed of exploit and explore draws.')
flags.DEFINE_integer('max_member_restarts', 5,
                     'Restarts of crashed members (each).')
flags.DEFINE_bool('members_elsewhere', False,
                  'Start no member: they run elsewhere (shared file system).')
flags.DEFINE_float('stop_timeout_secs', 180.0,
                   'How long a member may take to checkpoint and exit.')
FLAGS = flags.FLAGS

_NAME = 'impala_tf.pbt'


def _fail(message):
  sys.exit(f'{_NAME}: error: {message}')


def main(argv):
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  config = flags_lib.config_from_flags(FLAGS)
  for name, low in (('max_member_restarts', 0),):
    if FLAGS[name].value < low:
      _fail(f'--{name}: must be >= {low}, got {FLAGS[name].value}.')
  if os.path.isdir(os.path.join(config.logdir, 'checkpoints')):
    _fail(f'--logdir: {config.logdir} is a training run; give the '
          'population a directory of its own.')
  try:
    config.validate()
    builder.make_task_set(config)
    settings = sweep_settings.load_settings(config.settings)
    options = pbt.PbtOptions(
        population_size=config.population_size,
        burn_in_frames=config.pbt_burn_in_frames,
        ready_episodes=config.pbt_ready_episodes,
        exploit_threshold=config.pbt_exploit_threshold,
        fitness=config.pbt_fitness,
        seed=FLAGS.pbt_seed, max_member_restarts=FLAGS.max_member_restarts,
        members_elsewhere=FLAGS.members_elsewhere,
        stop_timeout_secs=FLAGS.stop_timeout_secs,
        progress_secs=config.progress_secs)
    population = pbt.Population(config, options, config.logdir, settings)
  except (ConfigError, sweep_settings.SettingsError, pbt.PbtError) as e:
    _fail(e)
  interrupts = sweep.Interrupts(_NAME).install()
  print(f'[pbt] {options.population_size} members in {config.logdir}; '
        f'fitness {population.kind}; evolving '
        f'{", ".join(population.names)}', flush=True)
  try:
    code = population.run(interrupts)
  finally:
    interrupts.uninstall()
  sys.exit(code)


if __name__ == '__main__':
  try:
    app.run(main)
  except KeyboardInterrupt:
    sys.exit(130)
