"""absl flags generated from the Config fields, so both stay in step.

  define_config_flags() -> None      (once per binary)
  config_from_flags(FLAGS) -> Config
  config_from_flagfile(path, **overrides) -> Config   (absl's own parsing)
"""

import dataclasses

from absl import flags

from impala_tf.config import Config

HELP = {
    'logdir': 'Run directory: checkpoints, TensorBoard events, metrics.csv. '
              'Running again with the same logdir resumes.',
    'seed': 'Base random seed.',
    'level_name': "Level, comma-separated levels, 'atari57' or 'dmlab30'.",
    'total_environment_frames': 'Frame budget (frames = agent steps x '
                                'action repeats); the learning rate reaches 0 '
                                'here.',
    'num_actors': 'Number of actors (environment copies), each with its own '
                  'unroll stream.',
    'actor_threads': 'Threads the actors are split over; inference is one '
                     'batched call per thread and step.',
    'num_action_repeats': 'Action repeat of the environment (4 for Atari '
                           'and DMLab).',
    'sticky_actions': 'Atari: repeat-action probability (Machado et al. use '
                      '0.25; the IMPALA paper used 0).',
    'full_action_space': 'Atari: all 18 actions instead of the minimal set.',
    'network': 'shallow or deep.',
    'core': "lstm, feedforward, or auto (feed-forward for Atari, LSTM "
            "otherwise).",
    'batch_size': 'Unrolls per learner batch.',
    'unroll_length': 'New steps per unroll (T).',
    'discounting': 'Discount gamma.',
    'entropy_cost': 'Entropy regularisation weight.',
    'baseline_cost': 'Baseline loss weight.',
    'reward_clipping': 'abs_one, soft_asymmetric or none.',
    'learning_rate': 'Initial RMSProp learning rate (annealed linearly to 0).',
    'decay': 'RMSProp decay.',
    'momentum': 'RMSProp momentum.',
    'epsilon': 'RMSProp epsilon (inside the square root, TF1 semantics).',
    'max_grad_norm': 'Global gradient-norm clip; 0 disables.',
    'correction': 'vtrace, 1-step-is, epsilon-correction or no-correction '
                  '(paper Table 2).',
    'clip_rho_threshold': 'V-trace rho-bar.',
    'clip_pg_rho_threshold': 'Rho-bar of the policy-gradient weight.',
    'vtrace_lambda': 'V-trace lambda (paper Remark 2).',
    'loss_reduction': 'sum (paper) or mean over time and batch.',
    'queue_capacity': 'Capacity of the actor->learner queue, in actor-thread '
                      'chunks of unrolls.',
    'xla': 'Compile the learner forward/backward pass with XLA.',
    'strategy': 'default (one device) or mirrored (several local devices).',
    'num_learner_devices': 'Devices for --strategy=mirrored.',
    'checkpoint_secs': 'Seconds between checkpoints.',
    'summary_secs': 'Seconds between TensorBoard/CSV summaries.',
    'progress_secs': 'Seconds between console progress lines.',
    'stall_timeout_secs': 'A wait longer than this is reported as a stall.',
    'max_env_restarts': 'Environment crashes tolerated per actor thread.',
}


def define_config_flags(flag_values=flags.FLAGS):
  for field in dataclasses.fields(Config):
    args = (field.name, field.default, HELP[field.name])
    if field.type in (bool, 'bool'):
      flags.DEFINE_bool(*args, flag_values=flag_values)
    elif field.type in (int, 'int'):
      flags.DEFINE_integer(*args, flag_values=flag_values)
    elif field.type in (float, 'float'):
      flags.DEFINE_float(*args, flag_values=flag_values)
    else:
      flags.DEFINE_string(*args, flag_values=flag_values)


def config_from_flags(flag_values) -> Config:
  return Config(**{f.name: flag_values[f.name].value
                   for f in dataclasses.fields(Config)})


def config_from_flagfile(path, **overrides) -> Config:
  """The Config a binary would build from ``--flagfile=path``."""
  flag_values = flags.FlagValues()
  define_config_flags(flag_values)
  flag_values(['config_from_flagfile', f'--flagfile={path}'])
  return config_from_flags(flag_values).replace(**overrides)
