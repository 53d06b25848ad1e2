"""The typed training configuration, validated before anything starts.

``Config`` is plain data (a frozen dataclass): the binaries build it from absl
flags, paper configs are flag files, and later sweeps/PBT can build it from a
dict. ``Config.validate()`` raises ConfigError naming the offending flag.
Field names follow the original scalable_agent flags where it had them.
"""

import dataclasses
from typing import Optional

from impala_tf import losses

NETWORKS = ('shallow', 'deep')
CORES = ('auto', 'lstm', 'feedforward')
STRATEGIES = ('default', 'mirrored')


class ConfigError(ValueError):
  """A bad flag value or combination; ``flag`` names the flag."""

  def __init__(self, flag, message):
    super().__init__(f'--{flag}: {message}')
    self.flag = flag


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything a training run needs; defaults = paper Atari (Table G.1)."""
  # Run.
  logdir: str = 'logs/pong'
  seed: int = 1
  level_name: str = 'pong'
  total_environment_frames: int = 200_000_000
  # Acting.
  num_actors: int = 32
  actor_threads: int = 2
  num_action_repeats: int = 4
  sticky_actions: float = 0.0
  full_action_space: bool = False
  # Agent.
  network: str = 'shallow'
  core: str = 'auto'
  # Learning (paper Table G.1 for Atari).
  batch_size: int = 32
  unroll_length: int = 20
  discounting: float = 0.99
  entropy_cost: float = 0.01
  baseline_cost: float = 0.5
  reward_clipping: str = 'abs_one'
  learning_rate: float = 0.0006
  decay: float = 0.99
  momentum: float = 0.0
  epsilon: float = 0.01
  max_grad_norm: float = 40.0  # 0 = no clipping.
  correction: str = 'vtrace'
  clip_rho_threshold: float = 1.0
  clip_pg_rho_threshold: float = 1.0
  vtrace_lambda: float = 1.0
  loss_reduction: str = 'sum'
  # Runtime.
  queue_capacity: int = 4  # In actor-thread chunks of unrolls.
  xla: bool = False
  strategy: str = 'default'
  num_learner_devices: int = 1
  checkpoint_secs: float = 600.0
  summary_secs: float = 30.0
  progress_secs: float = 5.0
  stall_timeout_secs: float = 300.0
  max_env_restarts: int = 100

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

    choice('network', NETWORKS)
    choice('core', CORES)
    choice('reward_clipping', losses.REWARD_CLIPPING)
    choice('correction', losses.CORRECTIONS)
    choice('loss_reduction', losses.REDUCTIONS)
    choice('strategy', STRATEGIES)
    for flag in ('total_environment_frames', 'num_actors', 'actor_threads',
                 'num_action_repeats', 'batch_size', 'unroll_length',
                 'learning_rate', 'epsilon', 'queue_capacity',
                 'num_learner_devices', 'checkpoint_secs', 'summary_secs',
                 'progress_secs', 'stall_timeout_secs'):
      positive(flag)
    in_unit('discounting')
    in_unit('vtrace_lambda')
    require('sticky_actions', 0.0 <= self.sticky_actions < 1.0,
            f'must be in [0, 1), got {self.sticky_actions}.')
    require('decay', 0.0 <= self.decay < 1.0,
            f'must be in [0, 1), got {self.decay}.')
    require('momentum', 0.0 <= self.momentum < 1.0,
            f'must be in [0, 1), got {self.momentum}.')
    for flag in ('entropy_cost', 'baseline_cost', 'max_grad_norm',
                 'max_env_restarts'):
      require(flag, getattr(self, flag) >= 0,
              f'must be >= 0, got {getattr(self, flag)}.')
    for flag in ('clip_rho_threshold', 'clip_pg_rho_threshold'):
      positive(flag)
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
