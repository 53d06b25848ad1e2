"""The typed training configuration, validated before anything starts.

``Config`` is plain data (a frozen dataclass): the binaries build it from absl
flags (one flag per field, its help text in the field's metadata), paper
configs are flag files, and sweeps/PBT can build it from a dict.
``Config.validate()`` raises ConfigError naming the offending flag.
Field names follow the original scalable_agent flags where it had them.

This module imports neither TensorFlow nor NumPy, so that ``--help`` and
bad-flag errors come at once.
"""

import dataclasses
import math
from typing import Optional

NETWORKS = ('shallow', 'deep')
CORES = ('auto', 'lstm', 'feedforward')
STRATEGIES = ('default', 'mirrored')
# What `python -m impala_tf.train` runs for a config (paper_configs name it).
EXPERIMENTS = ('train', 'sweep', 'pbt')
PBT_FITNESS = ('auto', 'dmlab30', 'atari57', 'mean_return')
TABLE_D1_SETTINGS = 'paper_configs/sweeps/table_d1_24.json'
# Fields that choose and shape the experiment around training runs (read by
# impala_tf.sweep / impala_tf.pbt), not what one training run learns.
EXPERIMENT_FIELDS = ('experiment', 'settings', 'population_size',
                     'pbt_burn_in_frames', 'pbt_ready_episodes',
                     'pbt_exploit_threshold', 'pbt_fitness')
# Fields that may differ between runs of one sweep, and that a comparison of
# runs ignores: where a run writes and how often it prints, summarises or
# checkpoints, not what it learns.
UNCOMPARED_FIELDS = ('logdir', 'progress_secs', 'summary_secs',
                     'checkpoint_secs')
# The loss options (implemented in impala_tf.losses).
REWARD_CLIPPING = ('abs_one', 'soft_asymmetric', 'none')
REDUCTIONS = ('sum', 'mean')
# Paper Table 2 / section 5.2.2.
CORRECTIONS = ('vtrace', '1-step-is', 'epsilon-correction', 'no-correction')


class ConfigError(ValueError):
  """A bad flag value or combination; ``flag`` names the flag."""

  def __init__(self, flag, message):
    super().__init__(f'--{flag}: {message}')
    self.flag = flag


def _field(default, help_text):
  return dataclasses.field(default=default, metadata={'help': help_text})


def help_text(field: dataclasses.Field) -> str:
  return field.metadata['help']


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything a training run needs; defaults = paper Atari (Table G.1)."""
  # Experiment.
  experiment: str = _field(
      'train', 'train: one agent; sweep: one run per setting of --settings '
      '(impala_tf.sweep); pbt: a population (impala_tf.pbt).')
  settings: str = _field(
      TABLE_D1_SETTINGS, 'Sweeps and PBT: the settings file (paper Table '
      'D.1\'s 24 pre-sampled hyperparameters by default).')
  population_size: int = _field(24, 'PBT: members (paper: 24).')
  pbt_burn_in_frames: int = _field(
      20_000_000, 'PBT: frames a member trains before it may evolve (paper '
      'App. F: 20M).')
  pbt_ready_episodes: int = _field(
      5000, 'PBT: new episode returns that make a member ready (paper: '
      '5,000).')
  pbt_exploit_threshold: float = _field(
      5.0, 'PBT: copy a member only if its fitness is more than this higher '
      '(absolute points; paper: 5).')
  pbt_fitness: str = _field(
      'auto', 'PBT: auto (dmlab30 / atari57 by --level_name, else '
      'mean_return), dmlab30, atari57 or mean_return.')
  num_actor_processes: int = _field(
      0, '0: actors are threads of one process; > 0: a distributed run with '
      'this many actor processes (impala_tf.launch on this machine).')
  num_learners: int = _field(
      1, 'Distributed runs: learner processes (MultiWorkerMirroredStrategy); '
      'learner 0 is the chief.')
  # Run.
  logdir: str = _field(
      'logs/pong', 'Run directory: checkpoints, TensorBoard events, '
      'metrics.csv. Running again with the same logdir resumes.')
  seed: int = _field(1, 'Base random seed.')
  level_name: str = _field(
      'pong', "Level, comma-separated levels, 'atari57' or 'dmlab30'.")
  total_environment_frames: int = _field(
      200_000_000, 'Frame budget (frames = agent steps x action repeats); '
      'the learning rate reaches 0 here.')
  # Acting.
  num_actors: int = _field(
      32, 'Number of actors (environment copies), each with its own unroll '
      'stream.')
  actor_threads: int = _field(
      2, 'Threads the actors are split over; inference is one batched call '
      'per thread and step.')
  num_action_repeats: int = _field(
      4, 'Action repeat of the environment (4 for Atari and DMLab).')
  sticky_actions: float = _field(
      0.0, 'Atari: repeat-action probability (Machado et al. use 0.25; the '
      'IMPALA paper used 0).')
  full_action_space: bool = _field(
      False, 'Atari: all 18 actions instead of the minimal set (implied by '
      'atari57).')
  dataset_path: str = _field(
      '', 'DMLab: directory of the brady_konkle_oliva2008 images that the '
      'psychlab levels of DMLab-30 show.')
  # Agent.
  network: str = _field('shallow', 'shallow or deep.')
  core: str = _field(
      'auto', 'lstm, feedforward, or auto (feed-forward for Atari, LSTM '
      'otherwise).')
  # Learning (paper Table G.1 for Atari).
  batch_size: int = _field(32, 'Unrolls per learner batch.')
  unroll_length: int = _field(20, 'New steps per unroll (T).')
  discounting: float = _field(0.99, 'Discount gamma.')
  entropy_cost: float = _field(0.01, 'Entropy regularisation weight.')
  baseline_cost: float = _field(0.5, 'Baseline loss weight.')
  reward_clipping: str = _field('abs_one',
                                'abs_one, soft_asymmetric or none.')
  learning_rate: float = _field(
      0.0006, 'Initial RMSProp learning rate (annealed linearly to 0).')
  decay: float = _field(0.99, 'RMSProp decay.')
  momentum: float = _field(0.0, 'RMSProp momentum.')
  epsilon: float = _field(
      0.01, 'RMSProp epsilon (inside the square root, TF1 semantics).')
  max_grad_norm: float = _field(40.0, 'Global gradient-norm clip; 0 '
                                'disables.')
  correction: str = _field(
      'vtrace', 'vtrace, 1-step-is, epsilon-correction or no-correction '
      '(paper Table 2).')
  clip_rho_threshold: float = _field(1.0, 'V-trace rho-bar.')
  clip_pg_rho_threshold: float = _field(
      1.0, 'Rho-bar of the policy-gradient weight.')
  vtrace_lambda: float = _field(1.0, 'V-trace lambda (paper Remark 2).')
  loss_reduction: str = _field('sum',
                               'sum (paper) or mean over time and batch.')
  # Runtime.
  queue_capacity: int = _field(
      4, 'Capacity of the actor->learner queue, in actor-thread chunks of '
      'unrolls.')
  xla: bool = _field(False,
                     'Compile the learner forward/backward pass with XLA.')
  strategy: str = _field(
      'default', 'default (one device) or mirrored (several local devices).')
  num_learner_devices: int = _field(1, 'Devices for --strategy=mirrored.')
  checkpoint_secs: float = _field(600.0, 'Seconds between checkpoints.')
  summary_secs: float = _field(30.0,
                               'Seconds between TensorBoard/CSV summaries.')
  progress_secs: float = _field(5.0,
                                'Seconds between console progress lines.')
  stall_timeout_secs: float = _field(
      300.0, 'A wait longer than this is reported as a stall.')
  max_env_restarts: int = _field(
      100, 'Environment crashes tolerated per actor thread.')
  max_policy_lag: int = _field(
      0, 'Drop (and count) unrolls acted with parameters more than this many '
      'updates old; 0 keeps all.')
  actor_policy_lag: int = _field(
      0, 'Controlled policy lag (paper Fig. E.1): actors act with the '
      'parameters of version max(0, newest - this) instead of the newest; 0 '
      'is the usual IMPALA.')
  connect_timeout_secs: float = _field(
      600.0, 'Distributed runs: how long an actor keeps trying to reach its '
      'learner (with back-off) before it gives up.')
  # Experience replay (paper section 5.2.2, Table D.3).
  replay_capacity: int = _field(
      0, 'Unrolls held in the learner\'s replay buffer (FIFO; the paper used '
      '10000, about 6 GB for Atari); 0 disables replay.')
  replay_proportion: float = _field(
      0.5, 'With replay: share of each batch sampled uniformly from the '
      'buffer, in [0, 1) (paper: 0.5); the rest is fresh.')

  @property
  def frames_per_update(self):
    return self.batch_size * self.unroll_length * self.num_action_repeats

  def resolved_core(self, family):
    """'auto' = feed-forward for Atari (the paper's Atari nets), else LSTM."""
    if self.core != 'auto':
      return self.core
    return 'feedforward' if family == 'atari' else 'lstm'

  def replace(self, **changes):
    return dataclasses.replace(self, **changes)

  def validate(self):
    """Raises ConfigError for the first bad value; returns self."""

    def require(flag, ok, message):
      if not ok:
        raise ConfigError(flag, message)

    def choice(flag, choices):
      value = getattr(self, flag)
      require(flag, value in choices,
              f'must be one of {list(choices)}, got {value!r}.')

    def positive(flag):
      value = getattr(self, flag)
      require(flag, value > 0, f'must be > 0, got {value}.')

    def in_unit(flag, low_open=False):
      value = getattr(self, flag)
      ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
      require(flag, ok, f'must be in {"(0" if low_open else "[0"}, 1], got '
              f'{value}.')

    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if isinstance(value, float):
        require(field.name, math.isfinite(value),
                f'must be a finite number, got {value}.')
    choice('network', NETWORKS)
    choice('core', CORES)
    choice('reward_clipping', REWARD_CLIPPING)
    choice('correction', CORRECTIONS)
    choice('loss_reduction', REDUCTIONS)
    choice('strategy', STRATEGIES)
    choice('experiment', EXPERIMENTS)
    choice('pbt_fitness', PBT_FITNESS)
    require('pbt_ready_episodes', self.pbt_ready_episodes >= 1,
            f'must be >= 1, got {self.pbt_ready_episodes}.')
    require('pbt_burn_in_frames', self.pbt_burn_in_frames >= 0,
            f'must be >= 0, got {self.pbt_burn_in_frames}.')
    require('pbt_exploit_threshold', self.pbt_exploit_threshold >= 0,
            f'must be >= 0, got {self.pbt_exploit_threshold}.')
    require('population_size', self.population_size >= 2,
            f'must be >= 2, got {self.population_size}.')
    require('num_actor_processes', self.num_actor_processes >= 0,
            f'must be >= 0, got {self.num_actor_processes}.')
    require('num_learners', self.num_learners >= 1,
            f'must be >= 1, got {self.num_learners}.')
    for flag in ('total_environment_frames', 'num_actors', 'actor_threads',
                 'num_action_repeats', 'batch_size', 'unroll_length',
                 'learning_rate', 'epsilon', 'queue_capacity',
                 'num_learner_devices', 'checkpoint_secs', 'summary_secs',
                 'progress_secs', 'stall_timeout_secs',
                 'clip_rho_threshold', 'clip_pg_rho_threshold'):
      positive(flag)
    in_unit('discounting')
    in_unit('vtrace_lambda')
    for flag in ('sticky_actions', 'decay', 'momentum'):
      value = getattr(self, flag)
      require(flag, 0.0 <= value < 1.0, f'must be in [0, 1), got {value}.')
    for flag in ('entropy_cost', 'baseline_cost', 'max_grad_norm',
                 'max_env_restarts', 'max_policy_lag', 'connect_timeout_secs',
                 'actor_policy_lag', 'replay_capacity'):
      require(flag, getattr(self, flag) >= 0,
              f'must be >= 0, got {getattr(self, flag)}.')
    require('replay_proportion', 0.0 <= self.replay_proportion < 1.0,
            f'must be in [0, 1), got {self.replay_proportion}: each batch '
            'needs at least one fresh unroll.')
    replayed = math.floor(self.replay_proportion * self.batch_size + 0.5)
    require('replay_capacity',
            self.replay_capacity == 0 or self.replay_capacity >= replayed,
            f'{self.replay_capacity} unrolls cannot supply the {replayed} '
            'replayed unrolls of each batch (--replay_proportion x '
            '--batch_size); use 0 to disable replay.')
    require('max_policy_lag',
            self.max_policy_lag == 0 or
            self.max_policy_lag >= self.actor_policy_lag,
            f'{self.max_policy_lag} would drop every unroll: with '
            f'--actor_policy_lag={self.actor_policy_lag} unrolls are at least '
            'that many updates old.')
    require('actor_threads', self.actor_threads <= self.num_actors,
            f'{self.actor_threads} actor threads for {self.num_actors} '
            'actors: each thread needs at least one actor.')
    if self.strategy == 'default':
      require('num_learner_devices', self.num_learner_devices == 1,
              'more than one learner device needs --strategy=mirrored.')
    require('batch_size', self.batch_size % self.num_learner_devices == 0,
            f'{self.batch_size} does not split evenly over '
            f'{self.num_learner_devices} learner devices.')
    require('logdir', bool(self.logdir), 'must not be empty.')
    return self

  def to_dict(self):
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values, strict=True):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown and strict:
      raise ConfigError(sorted(unknown)[0], 'is not a configuration field.')
    return cls(**{k: v for k, v in values.items() if k in names})


def max_grad_norm_or_none(config: Config) -> Optional[float]:
  return config.max_grad_norm if config.max_grad_norm > 0 else None
