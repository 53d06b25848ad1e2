"""Throughput benchmark: python -m impala_tf.benchmark

Measures, on this machine, the rows of the paper's Table 1 in agent steps/s
and frames/s (frames = agent steps x action repeats), each with its CPU time
per agent step and the cores it kept busy (CPU time / wall time, all threads
of the process). From the parts measured alone in the end-to-end
configuration it computes the compute limit, cores / (sum of CPU ms per agent
step of environment, inference and learner), and reports end-to-end as a
percentage of it and of the environment alone (impala_tf.benchmarks.limit).

The distributed rows (the paper's Table 1, distributed half) run the
end-to-end configuration as a cluster of processes on this machine: learner +
k actor processes (--actor_processes, default 1, 2 and 4) and 2 learners + 2
actor processes (--two_learners), the --num_actors environments split over
the actor processes (impala_tf.benchmarks.distributed). Their CPU time is
summed over every process of the row and split into learner and actor
processes; from that split a projection (impala_tf.benchmarks.projection)
says how many actor cores one learner core absorbs, beside the paper's 150 to
500 CPU rows. Every child process is stopped when its row ends, also on an
error, Ctrl-C or SIGTERM.

Every row measures until BOTH --seconds of wall time have passed AND its
minimum work is done (--min_env_steps, --min_inference_calls,
--min_learner_updates, --min_end_to_end_updates; the end-to-end warm-up is
--warmup_updates and --warmup_seconds; the distributed rows use the
end-to-end ones). --seconds=0 --warmup_seconds=0 makes every row a fixed
amount of work, whatever the machine's speed.

Writes a Markdown table (stdout and --output_md) and JSON (--output_json)
with the CPU model, core count and versions.
"""

import json
import os
import platform
import resource
import signal
import sys
import time

from absl import app
from absl import flags

# Neither imports TensorFlow, so flag errors come at once.
from impala_tf import benchmarks
from impala_tf.benchmarks import report

ROWS = ('env', 'inference', 'learner', 'end_to_end', 'distributed')

flags.DEFINE_list('rows', list(ROWS), f'Rows to measure, from {ROWS}.')
flags.DEFINE_float('seconds', 20.0,
                   'Minimum measured wall seconds per row (>= 0; 0 = the '
                   'minimum work alone decides).')
flags.DEFINE_integer('min_env_steps', 5000,
                     'Minimum agent steps of each environment row.')
flags.DEFINE_integer('min_inference_calls', 50,
                     'Minimum batched inference calls of each inference row.')
flags.DEFINE_integer('min_learner_updates', 5,
                     'Minimum updates of each learner row.')
flags.DEFINE_integer('min_end_to_end_updates', 20,
                     'Minimum measured updates of the end-to-end row.')
flags.DEFINE_integer('warmup_updates', 10,
                     'End-to-end updates before the window starts (>= 1).')
flags.DEFINE_float('warmup_seconds', 20.0,
                   'Minimum end-to-end warm-up seconds after the first update '
                   '(>= 0).')
flags.DEFINE_string('level_name', 'pong', 'Atari game of the Atari rows.')
flags.DEFINE_integer('num_actors', 32, 'End-to-end actors (env copies).')
flags.DEFINE_integer('actor_threads', 2, 'End-to-end actor threads.')
flags.DEFINE_integer('batch_size', 32, 'Learner batch (unrolls).')
flags.DEFINE_integer('unroll_length', 20, 'Atari unroll length.')
flags.DEFINE_integer('dmlab_unroll_length', 100,
                     'Unroll length of the DMLab-sized learner row.')
flags.DEFINE_string('network', 'shallow', 'Network of the end-to-end row.')
flags.DEFINE_bool('xla', False, 'XLA for the learner rows and end-to-end.')
flags.DEFINE_list('actor_processes', ['1', '2', '4'],
                  'Distributed rows "learner + k actor processes", one per k '
                  '(may be empty).')
flags.DEFINE_bool('two_learners', True,
                  'Distributed row "2 learners + 2 actor processes".')
flags.DEFINE_float('distributed_timeout_secs', 600.0,
                   'Hang guard of a distributed row: the longest wait for a '
                   'learner update (start-up included).')
flags.DEFINE_string('output_json', None, 'Write the results as JSON here.')
flags.DEFINE_string('output_md', None, 'Write the Markdown table here.')
FLAGS = flags.FLAGS

_WORK_FLAGS = ('min_env_steps', 'min_inference_calls', 'min_learner_updates',
               'min_end_to_end_updates', 'warmup_updates')
_RECORDED_FLAGS = ('rows', 'seconds', 'warmup_seconds') + _WORK_FLAGS + (
    'level_name', 'num_actors', 'actor_threads', 'batch_size',
    'unroll_length', 'dmlab_unroll_length', 'network', 'xla',
    'actor_processes', 'two_learners', 'distributed_timeout_secs')


def flag_errors(rows, seconds, warmup_seconds, work):
  """Messages for bad benchmark flags (empty when all are good).

  Args:
    rows: the --rows names.
    seconds, warmup_seconds: the two time flags.
    work: dict flag name -> value of the minimum-work flags.
  """
  errors = []
  unknown = sorted(set(rows) - set(ROWS))
  if unknown:
    errors.append(f'--rows: unknown {unknown}; choose from {list(ROWS)}.')
  for name, value in (('seconds', seconds), ('warmup_seconds',
                                             warmup_seconds)):
    if not value >= 0:  # Also catches NaN.
      errors.append(f'--{name} must be >= 0, got {value}.')
  for name, value in work.items():
    if value < 1:
      errors.append(f'--{name} must be >= 1, got {value}.')
  return errors


def distributed_flag_errors(actor_processes, two_learners, num_actors,
                            batch_size, timeout_secs):
  """Messages for bad flags of the distributed rows (empty when all good).

  Args:
    actor_processes: the --actor_processes strings.
    two_learners, num_actors, batch_size, timeout_secs: the flags'
      values (--two_learners, --num_actors, --batch_size,
      --distributed_timeout_secs).
  """
  errors = []
  for value in actor_processes:
    if not value.strip().isdigit() or not 1 <= int(value) <= num_actors:
      errors.append(f'--actor_processes: {value!r} is not a count of actor '
                    f'processes from 1 to --num_actors ({num_actors}).')
  if len(set(actor_processes)) != len(actor_processes):
    errors.append(f'--actor_processes repeats a count: {actor_processes}.')
  if two_learners and (num_actors < 2 or batch_size % 2):
    errors.append('--two_learners needs --num_actors >= 2 and an even '
                  f'--batch_size (half per learner), got {num_actors} and '
                  f'{batch_size}.')
  if not timeout_secs > 0:
    errors.append(f'--distributed_timeout_secs must be > 0, got '
                  f'{timeout_secs}.')
  return errors


def cluster_shapes(actor_processes, two_learners):
  """[(num_learners, num_actor_processes)] of the distributed rows."""
  shapes = [(1, int(k)) for k in actor_processes]
  return shapes + ([(2, 2)] if two_learners else [])


# What interrupted the benchmark -> its exit code (128 + signal number).
_INTERRUPT_EXIT_CODES = {'Ctrl-C': 128 + signal.SIGINT,
                         'SIGTERM': 128 + signal.SIGTERM,
                         'SIGHUP': 128 + signal.SIGHUP}


def _interrupt(signum, frame):
  """SIGTERM and SIGHUP end the benchmark like Ctrl-C: by an exception, so
  that every row stops its child processes on the way out."""
  del frame
  raise KeyboardInterrupt(signal.Signals(signum).name)


def system_info():
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import ale_py  # pylint: disable=g-import-not-at-top
  model = platform.processor() or 'unknown'
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          model = line.split(':', 1)[1].strip()
          break
  except OSError:
    pass
  cores, source = benchmarks.usable_cores()
  return dict(cpu_model=model, cores=cores, cores_source=source,
              cpu_count=os.cpu_count(), python=platform.python_version(),
              tensorflow=tf.__version__, numpy=np.__version__,
              ale_py=ale_py.__version__,
              gpus=len(tf.config.list_physical_devices('GPU')),
              date=time.strftime('%Y-%m-%d %H:%M:%S %Z'))


def work_line():
  return (f'Each row measured at least {FLAGS.seconds:g} s and at least '
          f'{FLAGS.min_env_steps:,} env steps / {FLAGS.min_inference_calls:,} '
          f'inference calls / {FLAGS.min_learner_updates:,} learner updates / '
          f'{FLAGS.min_end_to_end_updates:,} end-to-end (and distributed) '
          'updates after a '
          f'warm-up of at least {FLAGS.warmup_updates:,} updates and '
          f'{FLAGS.warmup_seconds:g} s.')


class _Table:
  """Collects rows, printing each as it is measured."""

  def __init__(self):
    self.rows = []

  def add(self, name, measurement, note='', extra=None):
    row = report.row_dict(name, measurement, note, extra)
    self.rows.append(row)
    if measurement is not None:
      print(f'  {name}: {measurement.agent_steps_per_second:,.0f} agent '
            f'steps/s, {measurement.cpu_ms_per_agent_step:.3f} CPU ms / agent '
            f'step, {measurement.cores_busy:.2f} cores busy '
            f'{measurement.notes}', flush=True)


def main(argv):
  if len(argv) > 1:
    sys.exit(f'impala_tf.benchmark: error: unexpected arguments {argv[1:]}')
  for signum in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, _interrupt)
  try:
    _benchmark()
  except KeyboardInterrupt as e:
    what = e.args[0] if e.args else 'Ctrl-C'
    print(f'impala_tf.benchmark: interrupted ({what}); the rows\' child '
          'processes were stopped.', file=sys.stderr, flush=True)
    sys.exit(_INTERRUPT_EXIT_CODES.get(what, 1))


def _benchmark():
  """Measures the rows the flags ask for and writes the results."""
  errors = flag_errors(FLAGS.rows, FLAGS.seconds, FLAGS.warmup_seconds,
                       {name: FLAGS[name].value for name in _WORK_FLAGS})
  if 'distributed' in FLAGS.rows:
    errors += distributed_flag_errors(
        FLAGS.actor_processes, FLAGS.two_learners, FLAGS.num_actors,
        FLAGS.batch_size, FLAGS.distributed_timeout_secs)
  if errors:
    sys.exit('impala_tf.benchmark: error: ' + ' '.join(errors))
  # pylint: disable=g-import-not-at-top
  from impala_tf.benchmarks import distributed
  from impala_tf.benchmarks import projection
  from impala_tf.benchmarks import rows
  from impala_tf.config import Config, ConfigError
  from impala_tf.envs import env_spec
  from impala_tf.envs.spec import EnvSpec
  # pylint: enable=g-import-not-at-top
  config = Config(level_name=FLAGS.level_name, num_actors=FLAGS.num_actors,
                  actor_threads=FLAGS.actor_threads,
                  batch_size=FLAGS.batch_size,
                  unroll_length=FLAGS.unroll_length, network=FLAGS.network,
                  xla=FLAGS.xla)
  try:
    config.validate()
    atari = env_spec(FLAGS.level_name)
  except (ConfigError, ValueError) as e:
    sys.exit(f'impala_tf.benchmark: error: {e}')
  dmlab = EnvSpec('dmlab_sized', (72, 96, 3), 9, has_instruction=True)
  per_thread = -(-FLAGS.num_actors // FLAGS.actor_threads)
  info = system_info()
  seconds = FLAGS.seconds
  table, parts = _Table(), {}
  print(f'Benchmarking on {info["cpu_model"]} ({info["cores"]} usable '
        f'cores). {work_line()}', flush=True)
  if 'env' in FLAGS.rows:
    table.add(f'environment alone: {FLAGS.level_name}, 1 env (Python)',
              rows.measure_env(FLAGS.level_name, 1, False, seconds,
                               FLAGS.min_env_steps))
    parts['env'] = rows.measure_env(FLAGS.level_name, FLAGS.num_actors, True,
                                    seconds, FLAGS.min_env_steps)
    table.add(f'environment alone: {FLAGS.level_name}, {FLAGS.num_actors} '
              'envs (ale-py vector env)', parts['env'])
  if 'inference' in FLAGS.rows:
    for network in ('shallow', 'deep'):
      measured = rows.measure_inference(network, atari, per_thread, seconds,
                                        FLAGS.min_inference_calls)
      if network == FLAGS.network:
        parts['inference'] = measured
      table.add(f'inference alone: {network}, batch {per_thread}', measured)
  if 'learner' in FLAGS.rows:
    for network in ('shallow', 'deep'):
      for name, spec, core, unroll in (
          ('Atari', atari, 'feedforward', FLAGS.unroll_length),
          ('DMLab-sized', dmlab, 'lstm', FLAGS.dmlab_unroll_length)):
        measured = rows.measure_learner(
            network, spec, core, FLAGS.batch_size, unroll, seconds,
            FLAGS.min_learner_updates, xla=FLAGS.xla)
        if network == FLAGS.network and name == 'Atari':
          parts['learner'] = measured
        table.add(f'learner alone: {network}, {name} '
                  f'{FLAGS.batch_size}x{unroll}', measured)
  end_to_end = None
  if 'end_to_end' in FLAGS.rows:
    try:
      end_to_end = rows.measure_end_to_end(
          config, seconds, FLAGS.min_end_to_end_updates, FLAGS.warmup_seconds,
          FLAGS.warmup_updates)
    except RuntimeError as e:
      sys.exit(f'impala_tf.benchmark: error: {e}')
    table.add(f'end-to-end: {FLAGS.level_name}, {FLAGS.network}, '
              f'{FLAGS.num_actors} actors in {FLAGS.actor_threads} threads',
              end_to_end)
  if 'distributed' in FLAGS.rows:
    for learners, actors in cluster_shapes(FLAGS.actor_processes,
                                           FLAGS.two_learners):
      name = distributed.row_name(learners, actors)
      try:
        measured = distributed.measure_distributed(
            config, learners, actors, seconds, FLAGS.min_end_to_end_updates,
            FLAGS.warmup_seconds, FLAGS.warmup_updates,
            FLAGS.distributed_timeout_secs)
      except RuntimeError as e:
        sys.exit(f'impala_tf.benchmark: error: {e}')
      table.add(f'distributed: {name}, {FLAGS.level_name}, {FLAGS.network}, '
                f'{FLAGS.num_actors} actors', measured.measurement,
                extra=measured.details)
  projected = projection.project_rows(table.rows, config.num_action_repeats)
  limits = None
  if {'env', 'inference', 'learner'} <= set(parts):
    limits = benchmarks.end_to_end_limits(
        parts['env'], parts['inference'], parts['learner'], end_to_end,
        info['cores'])
  peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  text = report.markdown(info, table.rows, limits, work_line(), projected)
  text += f'\n\nPeak RSS of the benchmark process: {peak_rss:,.0f} MB.'
  print('\n' + text)
  payload = dict(system=info, rows=table.rows, limits=limits,
                 projection=projected,
                 peak_rss_megabytes=peak_rss,
                 flags={name: FLAGS[name].value for name in _RECORDED_FLAGS})
  if FLAGS.output_json:
    with open(FLAGS.output_json, 'w') as f:
      json.dump(payload, f, indent=2)
  if FLAGS.output_md:
    with open(FLAGS.output_md, 'w') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  app.run(main)
