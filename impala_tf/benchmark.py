"""Throughput benchmark: python -m impala_tf.benchmark

Measures, on this machine, the rows of the paper's Table 1 in agent steps/s
and frames/s (frames = 4 x agent steps), plus the pipeline bound of the
end-to-end configuration and end-to-end as a percentage of it. Writes a
Markdown table (stdout and --output_md) and JSON (--output_json) with the CPU
model, core count and versions.
"""

import json
import os
import platform
import resource
import sys
import time

from absl import app
from absl import flags

ROWS = ('env', 'inference', 'learner', 'end_to_end')

flags.DEFINE_list('rows', list(ROWS), f'Rows to measure, from {ROWS}.')
flags.DEFINE_float('seconds', 20.0, 'Measured seconds per row.')
flags.DEFINE_float('warmup_seconds', 20.0,
                   'Warm-up of the end-to-end row before measuring.')
flags.DEFINE_string('level_name', 'pong', 'Atari game of the Atari rows.')
flags.DEFINE_integer('num_actors', 32, 'End-to-end actors (env copies).')
flags.DEFINE_integer('actor_threads', 2, 'End-to-end actor threads.')
flags.DEFINE_integer('batch_size', 32, 'Learner batch (unrolls).')
flags.DEFINE_integer('unroll_length', 20, 'Atari unroll length.')
flags.DEFINE_integer('dmlab_unroll_length', 100,
                     'Unroll length of the DMLab-sized learner row.')
flags.DEFINE_string('network', 'shallow', 'Network of the end-to-end row.')
flags.DEFINE_bool('xla', False, 'XLA for the learner rows and end-to-end.')
flags.DEFINE_string('output_json', None, 'Write the results as JSON here.')
flags.DEFINE_string('output_md', None, 'Write the Markdown table here.')
FLAGS = flags.FLAGS


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
  return dict(cpu_model=model, cores=os.cpu_count(),
              python=platform.python_version(), tensorflow=tf.__version__,
              numpy=np.__version__, ale_py=ale_py.__version__,
              gpus=len(tf.config.list_physical_devices('GPU')),
              date=time.strftime('%Y-%m-%d %H:%M:%S %Z'))


def _row(results, name, steps_per_second, note=''):
  results.append(dict(row=name, agent_steps_per_second=steps_per_second,
                      frames_per_second=steps_per_second * 4, note=note))
  print(f'  {name}: {steps_per_second:,.0f} agent steps/s '
        f'({steps_per_second * 4:,.0f} frames/s) {note}', flush=True)


def markdown(info, results, bound):
  lines = [
      f'Machine: {info["cpu_model"]}, {info["cores"]} cores, '
      f'{info["gpus"]} GPUs; TF {info["tensorflow"]}, Python '
      f'{info["python"]}; {info["date"]}.', '',
      '| row | agent steps/s | frames/s | note |', '|---|---:|---:|---|']
  for r in results:
    steps = r['agent_steps_per_second']
    cells = ('n/a', 'n/a') if steps is None else (f'{steps:,.0f}',
                                                  f'{steps * 4:,.0f}')
    lines.append(f'| {r["row"]} | {cells[0]} | {cells[1]} | {r["note"]} |')
  if bound:
    lines += ['', f'Pipeline bound (1 / (1/env + 1/inference + 1/learner)): '
              f'{bound["bound"]:,.0f} agent steps/s; end-to-end '
              f'{bound["end_to_end"]:,.0f} = {bound["percent"]:.0f}% of it.']
  return '\n'.join(lines)


def main(argv):
  if len(argv) > 1:
    sys.exit(f'impala_tf.benchmark: unexpected arguments {argv[1:]}')
  unknown = set(FLAGS.rows) - set(ROWS)
  if unknown:
    sys.exit(f'impala_tf.benchmark: error: --rows: unknown {sorted(unknown)};'
             f' choose from {list(ROWS)}.')
  if FLAGS.seconds <= 0:
    sys.exit('impala_tf.benchmark: error: --seconds must be > 0.')
  # pylint: disable=g-import-not-at-top
  from impala_tf import benchmarks
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
  results, parts = [], {}
  print(f'Benchmarking on {info["cpu_model"]} ({info["cores"]} cores), '
        f'{seconds:g} s per row.', flush=True)
  if 'env' in FLAGS.rows:
    _row(results, f'environment alone: {FLAGS.level_name}, 1 env (Python)',
         benchmarks.env_steps_per_second(FLAGS.level_name, 1, False, seconds))
    parts['env'] = benchmarks.env_steps_per_second(
        FLAGS.level_name, FLAGS.num_actors, True, seconds)
    _row(results, f'environment alone: {FLAGS.level_name}, '
         f'{FLAGS.num_actors} envs (ale-py vector env)', parts['env'])
  if 'inference' in FLAGS.rows:
    for network in ('shallow', 'deep'):
      rate = benchmarks.inference_steps_per_second(network, atari, per_thread,
                                                   seconds)
      if network == FLAGS.network:
        parts['inference'] = rate
      _row(results, f'inference alone: {network}, batch {per_thread}', rate)
  if 'learner' in FLAGS.rows:
    for network in ('shallow', 'deep'):
      for name, spec, core, unroll in (
          ('Atari', atari, 'feedforward', FLAGS.unroll_length),
          ('DMLab-sized', dmlab, 'lstm', FLAGS.dmlab_unroll_length)):
        updates, steps = benchmarks.learner_rates(
            network, spec, core, FLAGS.batch_size, unroll, seconds,
            xla=FLAGS.xla)
        if network == FLAGS.network and name == 'Atari':
          parts['learner'] = steps
        _row(results, f'learner alone: {network}, {name} '
             f'{FLAGS.batch_size}x{unroll}', steps,
             f'{updates:.2f} updates/s')
  bound = None
  if 'end_to_end' in FLAGS.rows:
    try:
      e2e = benchmarks.end_to_end_steps_per_second(
          config, seconds, FLAGS.warmup_seconds)
    except RuntimeError as e:
      sys.exit(f'impala_tf.benchmark: error: {e}')
    _row(results, f'end-to-end: {FLAGS.level_name}, {FLAGS.network}, '
         f'{FLAGS.num_actors} actors in {FLAGS.actor_threads} threads', e2e)
    if {'env', 'inference', 'learner'} <= set(parts):
      value = benchmarks.pipeline_bound(parts['env'], parts['inference'],
                                        parts['learner'])
      bound = dict(bound=value, end_to_end=e2e, percent=100 * e2e / value,
                   parts=parts)
  results.append(dict(row='multi-process: learner + k actor processes',
                      agent_steps_per_second=None, frames_per_second=None,
                      note='comes with the distributed runtime'))
  peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  table = markdown(info, results, bound)
  table += f'\n\nPeak RSS of the benchmark process: {peak_rss:,.0f} MB.'
  print('\n' + table)
  payload = dict(system=info, rows=results, pipeline_bound=bound,
                 peak_rss_megabytes=peak_rss,
                 flags={f: FLAGS[f].value for f in (
                     'rows', 'seconds', 'warmup_seconds', 'level_name',
                     'num_actors', 'actor_threads', 'batch_size',
                     'unroll_length', 'dmlab_unroll_length', 'network',
                     'xla')})
  if FLAGS.output_json:
    with open(FLAGS.output_json, 'w') as f:
      json.dump(payload, f, indent=2)
  if FLAGS.output_md:
    with open(FLAGS.output_md, 'w') as f:
      f.write(table + '\n')


if __name__ == '__main__':
  app.run(main)
