"""Evaluation binary: python -m impala_tf.evaluate --logdir=logs/atari_pong

Loads the run's newest checkpoint (or --checkpoint), plays test episodes
(Atari: whole games with up to 30 no-op starts; DMLab-30: held-out test
levels), and writes <output_dir>/episodes.csv and <output_dir>/summary.json
with mean returns and human-normalised scores. The paper averaged 200 Atari
episodes and 500 per DMLab level; --num_episodes sets it.
--export_saved_model=DIR also writes the policy as a SavedModel.
"""

import csv
import json
import os
import sys

from absl import app
from absl import flags

flags.DEFINE_string('logdir', None, 'Run directory of impala_tf.train.')
flags.DEFINE_string('checkpoint', None,
                    'A checkpoint directory (default: newest in logdir).')
flags.DEFINE_string('level_name', None,
                    'Levels to evaluate (default: the run\'s level_name).')
flags.DEFINE_integer('num_episodes', 10, 'Episodes per level.')
flags.DEFINE_integer('num_envs', 8, 'Parallel environment copies.')
flags.DEFINE_integer('seed', 12345, 'Seed of environments and sampling.')
flags.DEFINE_string('output_dir', None, 'Default: <logdir>/eval.')
flags.DEFINE_string('export_saved_model', None,
                    'If set, export the policy as a SavedModel here.')
FLAGS = flags.FLAGS


def _fail(message):
  sys.exit(f'impala_tf.evaluate: error: {message}')


def main(argv):
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  if not FLAGS.logdir:
    _fail('--logdir is required (the directory impala_tf.train wrote).')
  config_path = os.path.join(FLAGS.logdir, 'config.json')
  if not os.path.exists(config_path):
    _fail(f'--logdir: no config.json in {FLAGS.logdir}; is it a training '
          'run directory?')
  if FLAGS.num_episodes < 1 or FLAGS.num_envs < 1:
    _fail('--num_episodes and --num_envs must be >= 1.')
  # pylint: disable=g-import-not-at-top
  from impala_tf import builder
  from impala_tf import checkpointing
  from impala_tf import evaluation
  from impala_tf import export
  from impala_tf.acting.policy import ActingPolicy
  from impala_tf.config import Config, ConfigError
  # pylint: enable=g-import-not-at-top
  with open(config_path) as f:
    config = Config.from_dict(json.load(f), strict=False)
  if FLAGS.level_name:
    config = config.replace(level_name=FLAGS.level_name)
  try:
    task_set = builder.make_task_set(config)
  except ConfigError as e:
    _fail(str(e))
  agent = builder.make_agent_factory(config, task_set)()
  policy = ActingPolicy(agent, task_set.spec, seed=FLAGS.seed)
  manager = checkpointing.CheckpointManager(
      os.path.join(FLAGS.logdir, 'checkpoints'))
  path = FLAGS.checkpoint or manager.latest()
  if path is None:
    _fail(f'no checkpoint in {FLAGS.logdir}/checkpoints.')
  try:
    manager.restore(path, {'agent': agent})
  except (checkpointing.CheckpointMismatchError, OSError, ValueError) as e:
    _fail(f'cannot restore {path}: {e}')
  step = checkpointing.CheckpointManager.read_meta(path).get('step')
  print(f'Evaluating {path} (update {step}) on {len(task_set.levels)} '
        f'level(s), {FLAGS.num_episodes} episodes each.', flush=True)

  if FLAGS.export_saved_model:
    export.export_policy(agent, task_set.spec, FLAGS.export_saved_model)
    print(f'Exported the policy to {FLAGS.export_saved_model}', flush=True)

  output_dir = FLAGS.output_dir or os.path.join(FLAGS.logdir, 'eval')
  os.makedirs(output_dir, exist_ok=True)
  per_level = {}
  options = builder.env_options(config, task_set.family)
  for level in task_set.levels:
    def report(i, episode_return, length, level=level):
      print(f'  {level} episode {i}/{FLAGS.num_episodes}: return '
            f'{episode_return:g} ({length} steps)', flush=True)
    per_level[level] = evaluation.evaluate_level(
        policy, level, FLAGS.num_episodes, FLAGS.num_envs, FLAGS.seed,
        options, on_episode=report)
  summary = evaluation.summarize(per_level)
  summary.update(checkpoint=path, update=step,
                 num_frames=(step or 0) * config.frames_per_update)
  episodes_path = os.path.join(output_dir, 'episodes.csv')
  with open(episodes_path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['level', 'episode', 'return', 'length'])
    for level, episodes in per_level.items():
      for i, (episode_return, length) in enumerate(episodes):
        writer.writerow([level, i, episode_return, length])
  summary_path = os.path.join(output_dir, 'summary.json')
  with open(summary_path, 'w') as f:
    json.dump(summary, f, indent=2, sort_keys=True)
  for level, stats in summary['levels'].items():
    hns = stats['human_normalized_score']
    print(f'{level}: mean return {stats["mean_return"]:.2f} '
          f'+- {stats["stderr_return"]:.2f} over {stats["episodes"]} episodes'
          + (f', human-normalised {hns:.1f}%' if hns is not None else ''))
  print(f'Wrote {episodes_path} and {summary_path}')


if __name__ == '__main__':
  app.run(main)
