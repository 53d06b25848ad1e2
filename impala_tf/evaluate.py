"""Evaluation binary: python -m impala_tf.evaluate --logdir=logs/atari_pong

Loads the run's newest intact checkpoint (or --checkpoint), plays test
episodes (Atari: whole games with up to 30 no-op starts; DMLab-30: held-out
test levels), and writes <output_dir>/episodes.csv and
<output_dir>/summary.json with mean returns and human-normalised scores.
--export_saved_model=DIR also writes the policy as a SavedModel.

The run directory is only read: with --output_dir (and --export_saved_model)
elsewhere, a read-only run (an archived result, a shared disk) can be
evaluated. summary.json names the checkpoint relative to --logdir.

Episodes per level default to the paper's protocol for the level's family
(default_num_episodes); --num_episodes overrides it.
"""

import csv
import json
import os
import sys

from absl import app
from absl import flags

flags.DEFINE_string('logdir', None, 'Run directory of impala_tf.train.')
flags.DEFINE_string('checkpoint', None,
                    'A checkpoint directory (default: newest intact one in '
                    'logdir).')
flags.DEFINE_string('level_name', None,
                    'Levels to evaluate (default: the run\'s level_name).')
flags.DEFINE_integer('num_episodes', None,
                     'Episodes per level. Default: the paper\'s protocol, '
                     '200 per Atari game, 500 per DMLab level; 100 for '
                     'catch.')
flags.DEFINE_integer('num_envs', 8, 'Parallel environment copies.')
flags.DEFINE_integer('seed', 12345, 'Seed of environments and sampling.')
flags.DEFINE_string('output_dir', None, 'Default: <logdir>/eval.')
flags.DEFINE_string('export_saved_model', None,
                    'If set, export the policy as a SavedModel (a directory) '
                    'here.')
FLAGS = flags.FLAGS

# Test episodes per level by environment family.
_EPISODES_BY_FAMILY = {
    # Paper appendix G and Table 4: Atari scores average 200 test episodes,
    # each with up to 30 random no-op starts.
    'atari': 200,
    # Paper Table 3: DMLab-30 test scores use 500 episodes per level.
    'dmlab': 500,
    # Not in the paper (a toy level with returns of +-1): 100 episodes give
    # a standard error of at most 0.1.
    'catch': 100,
}
_OTHER_FAMILY_EPISODES = 100


def default_num_episodes(family):
  """Episodes per level when --num_episodes is not given."""
  return _EPISODES_BY_FAMILY.get(family, _OTHER_FAMILY_EPISODES)


def checkpoint_label(path, logdir):
  """How summary.json names checkpoint ``path``: relative to ``logdir`` when
  inside it (so the file stays true when the run directory moves), else
  absolute."""
  path = os.path.abspath(path)
  logdir = os.path.abspath(logdir)
  if os.path.commonpath([path, logdir]) == logdir:
    return os.path.relpath(path, logdir)
  return path


def _fail(message):
  sys.exit(f'impala_tf.evaluate: error: {message}')


def _check_flags(argv):
  """Flag problems found before anything is loaded; exits with one line."""
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  if not FLAGS.logdir:
    _fail('--logdir is required (the directory impala_tf.train wrote).')
  if not os.path.exists(os.path.join(FLAGS.logdir, 'config.json')):
    _fail(f'--logdir: no config.json in {FLAGS.logdir}; is it a training '
          'run directory?')
  if FLAGS.num_episodes is not None and FLAGS.num_episodes < 1:
    _fail(f'--num_episodes must be >= 1, got {FLAGS.num_episodes}.')
  if FLAGS.num_envs < 1:
    _fail(f'--num_envs must be >= 1, got {FLAGS.num_envs}.')
  if FLAGS.export_saved_model:
    from impala_tf import export  # pylint: disable=g-import-not-at-top
    problem = export.destination_problem(FLAGS.export_saved_model)
    if problem:
      _fail(f'--export_saved_model: {problem}; give a directory path.')


def _restore(agent):
  """Restores ``agent``; returns (checkpoint path, update step)."""
  from impala_tf import checkpointing  # pylint: disable=g-import-not-at-top
  reader = checkpointing.CheckpointReader(
      os.path.join(FLAGS.logdir, 'checkpoints'))
  trackables = {'agent': agent}
  try:
    if FLAGS.checkpoint:
      reader.restore(FLAGS.checkpoint, trackables)
      path = os.path.abspath(FLAGS.checkpoint)
      step = reader.read_meta(path).get('step')
    else:
      restored = reader.restore_newest(trackables)
      if restored is None:
        _fail(f'no checkpoint in {reader.directory}.')
      path, step = restored.path, restored.step
  except (checkpointing.CheckpointMismatchError,
          checkpointing.CheckpointCorruptError, OSError, ValueError) as e:
    _fail(str(e))  # Each names the checkpoint (or directory) and the cause.
  return path, step


def _write_episodes(path, per_level):
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['level', 'episode', 'return', 'length'])
    for level, episodes in per_level.items():
      for i, (episode_return, length) in enumerate(episodes):
        writer.writerow([level, i, episode_return, length])


def main(argv):
  _check_flags(argv)
  # pylint: disable=g-import-not-at-top
  from impala_tf import builder
  from impala_tf import evaluation
  from impala_tf import export
  from impala_tf.acting.policy import ActingPolicy
  from impala_tf.config import Config, ConfigError
  # pylint: enable=g-import-not-at-top
  with open(os.path.join(FLAGS.logdir, 'config.json')) as f:
    config = Config.from_dict(json.load(f), strict=False)
  if FLAGS.level_name:
    config = config.replace(level_name=FLAGS.level_name)
  try:
    task_set = builder.make_task_set(config)
  except ConfigError as e:
    _fail(str(e))
  num_episodes = (FLAGS.num_episodes if FLAGS.num_episodes is not None
                  else default_num_episodes(task_set.family))
  agent = builder.make_agent_factory(config, task_set)()
  policy = ActingPolicy(agent, task_set.spec, seed=FLAGS.seed)
  path, step = _restore(agent)
  print(f'Evaluating {path} (update {step}) on {len(task_set.levels)} '
        f'level(s), {num_episodes} episodes each.', flush=True)

  if FLAGS.export_saved_model:
    export.export_policy(agent, task_set.spec, FLAGS.export_saved_model)
    print(f'Exported the policy to {FLAGS.export_saved_model}', flush=True)

  output_dir = FLAGS.output_dir or os.path.join(FLAGS.logdir, 'eval')
  os.makedirs(output_dir, exist_ok=True)
  per_level = {}
  options = task_set.options
  for level in task_set.levels:
    def report(i, episode_return, length, level=level):
      print(f'  {level} episode {i}/{num_episodes}: return '
            f'{episode_return:g} ({length} steps)', flush=True)
    per_level[level] = evaluation.evaluate_level(
        policy, level, num_episodes, FLAGS.num_envs, FLAGS.seed,
        options, on_episode=report)
  summary = evaluation.summarize(per_level)
  summary.update(checkpoint=checkpoint_label(path, FLAGS.logdir), update=step,
                 num_frames=(step or 0) * config.frames_per_update)
  episodes_path = os.path.join(output_dir, 'episodes.csv')
  _write_episodes(episodes_path, per_level)
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
