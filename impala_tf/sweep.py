r"""Hyperparameter sweep binary (paper Table D.1): one command, 24 runs.

  python -m impala_tf.sweep --flagfile=paper_configs/atari_pong.cfg \
      --settings=paper_configs/sweeps/table_d1_24.json \
      --logdir=logs/sweep_pong --max_parallel=2 \
      [--members=0-23 | 0,3,5] [--total_environment_frames=...] \
      [any other training flag]

Member i trains with ``python -m impala_tf.train``, the flag file(s), the
training flags given here, setting i's entropy cost, learning rate and
RMSProp epsilon, and ``--logdir=<logdir>/member_NN`` (output in
``member_NN/out.log``). Crashed members are restarted from their last
checkpoint (--max_member_restarts); members refused by impala_tf.train or
stopped on a non-finite loss are marked failed and the sweep goes on.
``<logdir>/results.csv`` lists every setting with its frames, status and
final return (mean of its last --final_episodes training episodes).

One progress line every --progress_secs (the training flag, which the
members get too): members finished / failed / running / waiting, and the
frames of each running member.

Running the same command again resumes the unfinished members and skips the
finished ones; ``<logdir>/sweep.json`` records the settings and training
flags, and a rerun with different ones is refused. Ctrl-C (or SIGTERM) stops
the members cleanly (they checkpoint); a second Ctrl-C kills them at once.
--print_commands prints one shell command per member instead (for a
cluster); --results_only rewrites results.csv from what is on disk (also
while another sweep process runs) and exits. See impala_tf/experiments.
"""

import sys

from absl import app
from absl import flags

from impala_tf import builder
from impala_tf import flags as flags_lib
from impala_tf import run_directory
from impala_tf.config import ConfigError
from impala_tf.experiments import sweep
from impala_tf.experiments import sweep_plan
from impala_tf.experiments import sweep_results
from impala_tf.experiments import sweep_settings

flags_lib.define_config_flags()
flags.DEFINE_string('members', '',
                    'Settings to run, as indices and ranges, e.g. 0-23 or '
                    '0,3,5 (default: all).')
flags.DEFINE_integer('max_parallel', 1, 'Members training at the same time.')
flags.DEFINE_integer('max_member_restarts', 3,
                     'Restarts of each crashed member (per sweep run).')
flags.DEFINE_integer('final_episodes', 100,
                     'A member\'s final return is the mean return of its '
                     'last this many training episodes.')
flags.DEFINE_float('stop_timeout_secs', 180.0,
                   'On Ctrl-C/SIGTERM, how long members may take to '
                   'checkpoint and exit before they are killed.')
flags.DEFINE_bool('print_commands', False,
                  'Print one shell command per selected member instead of '
                  'running them.')
flags.DEFINE_bool('results_only', False,
                  'Only rewrite <logdir>/results.csv from the member '
                  'directories as they are now, and exit.')
FLAGS = flags.FLAGS

_NAME = 'impala_tf.sweep'


def _fail(message):
  sys.exit(f'{_NAME}: error: {message}')


def _flagfile_config(paths):
  """The training Config of the flag file(s) alone."""
  values = flags.FlagValues()
  flags_lib.define_config_flags(values)
  try:
    values([_NAME] + [f'--flagfile={path}' for path in paths])
  except flags.Error as e:
    raise sweep_plan.SweepError(
        f'--flagfile: {e} (a sweep\'s flag file holds training flags '
        'only).') from None
  return flags_lib.config_from_flags(values)


def _plan():
  """The SweepPlan of the command line (SweepError, SettingsError or
  ConfigError if it cannot run)."""
  config = flags_lib.config_from_flags(FLAGS)
  flagfiles = sweep_plan.flagfile_paths(sys.argv[1:])
  base = _flagfile_config(flagfiles)
  if config.logdir == base.logdir and base.experiment != 'sweep':
    raise sweep_plan.SweepError(
        f'--logdir: give the sweep a directory of its own, e.g. '
        f'--logdir=logs/sweep_pong ({base.logdir} is the '
        f'{"flag file" if flagfiles else "default"} logdir of a single '
        'run).')
  extras = sweep_plan.extra_training_flags(config, base)
  settings = sweep_settings.load_settings(config.settings)
  members = sweep_plan.parse_members(FLAGS.members, len(settings))
  plan = sweep_plan.SweepPlan(
      logdir=config.logdir, settings=tuple(settings),
      flagfiles=tuple(flagfiles), extra_flags=extras, config=config,
      members=tuple(members))
  for index in members:
    plan.member_config(index).validate()
  builder.make_task_set(plan.member_config(members[0]))  # Level names.
  return plan


def _options():
  for name, low in (('max_parallel', 1), ('max_member_restarts', 0),
                    ('final_episodes', 1)):
    if FLAGS[name].value < low:
      raise sweep_plan.SweepError(
          f'--{name}: must be >= {low}, got {FLAGS[name].value}.')
  if not FLAGS.stop_timeout_secs > 0:
    raise sweep_plan.SweepError(
        f'--stop_timeout_secs: must be > 0, got {FLAGS.stop_timeout_secs}.')
  return sweep.SweepOptions(
      max_parallel=FLAGS.max_parallel,
      max_member_restarts=FLAGS.max_member_restarts,
      progress_secs=FLAGS.progress_secs,
      stop_timeout_secs=FLAGS.stop_timeout_secs,
      final_episodes=FLAGS.final_episodes)


def _results_only(plan, final_episodes):
  path, rows = sweep_results.write_sweep_results(plan, final_episodes)
  counts = {}
  for row in rows:
    counts[row.status] = counts.get(row.status, 0) + 1
  summary = ', '.join(f'{n} {status}' for status, n in sorted(counts.items()))
  print(f'sweep: {len(rows)} settings ({summary}); results in {path}')
  best = sweep_results.best_line(plan, rows)
  if best:
    print(f'sweep: {best}')


def main(argv):
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  try:
    plan = _plan()
    options = _options()
    if FLAGS.print_commands:
      for index in plan.members:
        print(plan.shell_command(index))
      return
    if FLAGS.results_only:  # Reads only: no lock, nothing recorded.
      sweep_plan.check_state(plan, record=False)
      _results_only(plan, options.final_episodes)
      return
    sweep_plan.check_state(plan, record=False)  # Before creating anything.
    run_directory.prepare(plan.logdir)
    lock = run_directory.RunLock(plan.logdir).acquire()
    sweep_plan.check_state(plan, record=True)
  except (sweep_plan.SweepError, sweep_settings.SettingsError,
          ConfigError) as e:
    _fail(e)
  # From here on Ctrl-C and SIGTERM stop the members cleanly.
  interrupts = sweep.Interrupts().install()
  try:
    code = sweep.SweepRunner(plan, options, interrupts).run()
  finally:
    lock.release()
  sys.exit(code)


def run():
  try:
    app.run(main)
  except KeyboardInterrupt:
    # Ctrl-C before main installed its handlers: nothing was started.
    print(f'{_NAME}: interrupted before the sweep started.', file=sys.stderr)
    sys.exit(sweep.INTERRUPTED)


if __name__ == '__main__':
  run()
