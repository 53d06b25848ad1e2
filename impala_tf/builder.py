"""The one place a Config is turned into the run's parts.

  make_task_set(config, env_factory=None) -> TaskSet (or CustomTask)
  make_strategy(config) -> tf.distribute.Strategy
  make_agent_factory(config, task_set) -> () -> ImpalaAgent
  make_learner(config, spec, agent_factory, strategy=None) -> Learner
  make_env_group_factory(config, task_set, thread, generation)
      -> (restart_count) -> EnvGroup
  preflight(config, task_set)   one environment made and closed
  actors_of_thread(config, thread) -> actor indices of one actor thread

Kept apart from the loop so that other drivers (evaluation, benchmarks, the
distributed runtime) build the same parts the same way. TensorFlow is
imported only by the factories that need it, so the binaries can check a
config (flags, level names) before TensorFlow loads.
"""

from impala_tf.acting.env_group import EnvGroup
from impala_tf.config import Config, ConfigError, max_grad_norm_or_none
from impala_tf.envs import family_of, make_env
from impala_tf.envs.tasks import TaskSet

# pylint: disable=g-import-not-at-top


def env_options(config: Config, family: str):
  if family == 'atari':
    return dict(sticky_actions=config.sticky_actions,
                full_action_space=config.full_action_space)
  if family == 'dmlab' and config.dataset_path:
    return dict(dataset_path=config.dataset_path)
  return {}


class CustomTask:
  """A one-level task set around a user-supplied environment factory.

  ``env_factory(num_envs, seed) -> BatchedEnv`` lets any environment that
  implements impala_tf.envs.spec (e.g. a tf_agents PyEnvironment through
  impala_tf.envs.tf_agents_adapter) be trained; ``--level_name`` is then only
  a label.
  """

  family = 'custom'

  def __init__(self, env_factory):
    probe = env_factory(1, 0)
    try:
      self.spec = probe.spec
    finally:
      probe.close()
    self.levels = (self.spec.name,)
    self.env_factory = env_factory

  def level_for_actor(self, actor_index):
    del actor_index
    return self.spec.name

  def task_id(self, level):
    del level
    return 0


def make_task_set(config: Config, env_factory=None):
  """The task set of --level_name, checked against the other flags."""
  if env_factory is not None:
    task_set = CustomTask(env_factory)
    _check_action_repeats(config, task_set)
    return task_set
  try:
    words = [w.strip() for w in config.level_name.split(',')]
    family = ('atari' if 'atari57' in words else 'dmlab' if 'dmlab30' in words
              else family_of(words[0]))
    task_set = TaskSet.from_spec(config.level_name,
                                 env_options(config, family))
  except ValueError as e:
    raise ConfigError('level_name', str(e)) from None
  _check_action_repeats(config, task_set)
  return task_set


def _check_action_repeats(config, task_set):
  repeats = task_set.spec.frames_per_step
  if config.num_action_repeats != repeats:
    raise ConfigError(
        'num_action_repeats',
        f'{task_set.family} levels use a fixed action repeat of {repeats}, '
        f'got {config.num_action_repeats}.')


def make_strategy(config: Config):
  """Default strategy, or MirroredStrategy over GPUs (else logical CPUs)."""
  import tensorflow as tf
  if config.strategy == 'default':
    return tf.distribute.get_strategy()
  gpus = tf.config.list_logical_devices('GPU')
  devices = gpus or tf.config.list_logical_devices('CPU')
  if len(devices) < config.num_learner_devices:
    raise ConfigError(
        'num_learner_devices',
        f'asked for {config.num_learner_devices} devices, found '
        f'{len(devices)} ({", ".join(d.name for d in devices)}).')
  names = [d.name for d in devices[:config.num_learner_devices]]
  return tf.distribute.MirroredStrategy(names)


def make_agent_factory(config: Config, task_set):
  from impala_tf import networks
  core = config.resolved_core(task_set.family)
  return lambda: networks.build_agent(config.network, task_set.spec, core=core)


def make_learner(config: Config, spec, agent_factory, strategy=None):
  """The Learner with the config's loss and optimiser hyperparameters."""
  from impala_tf import learning
  loss = learning.LossSettings(
      discounting=config.discounting, baseline_cost=config.baseline_cost,
      entropy_cost=config.entropy_cost,
      reward_clipping=config.reward_clipping, correction=config.correction,
      clip_rho_threshold=config.clip_rho_threshold,
      clip_pg_rho_threshold=config.clip_pg_rho_threshold,
      lambda_=config.vtrace_lambda, reduction=config.loss_reduction)
  optimizer = learning.OptimizerSettings(
      learning_rate=config.learning_rate,
      total_environment_frames=config.total_environment_frames,
      decay=config.decay, momentum=config.momentum, epsilon=config.epsilon,
      max_grad_norm=max_grad_norm_or_none(config))
  return learning.Learner(
      spec, agent_factory, batch_size=config.batch_size,
      frames_per_update=config.frames_per_update, loss=loss,
      optimizer=optimizer, strategy=strategy, xla=config.xla)


def preflight(config: Config, task_set):
  """Makes one environment of the first level and closes it, so that a
  missing emulator, ROM or data set is reported (EnvSetupError, one
  sentence) before anything starts."""
  make_env_group_factory(config.replace(num_actors=1, actor_threads=1),
                         task_set, 0)(0).close()


def actors_of_thread(config: Config, thread: int):
  """A contiguous block of actor indices, so that with levels assigned
  round-robin every thread plays as many different levels as it can."""
  lo = thread * config.num_actors // config.actor_threads
  hi = (thread + 1) * config.num_actors // config.actor_threads
  return list(range(lo, hi))


def make_env_group_factory(config: Config, task_set, thread: int,
                           generation: int = 0, mode: str = 'train'):
  """Environments of one actor thread: its actors grouped by level.

  Seeds differ per thread, per environment restart and per run generation
  (each resume is a new generation), so no two env instances replay.
  """
  by_level = {}
  for actor in actors_of_thread(config, thread):
    by_level.setdefault(task_set.level_for_actor(actor), []).append(actor)
  options = getattr(task_set, 'options', {})  # As the task set resolved them.
  levels = sorted(by_level)
  actor_ids = [actor for level in levels for actor in by_level[level]]

  def make(restart_count):
    members = []
    for i, level in enumerate(levels):
      count = len(by_level[level])
      seed = hash((config.seed, thread, i, restart_count, generation)) % (2**31)
      if isinstance(task_set, CustomTask):
        env = task_set.env_factory(count, seed)
      else:
        env = make_env(level, num_envs=count, seed=seed, mode=mode,
                       options=options)
      members.append((task_set.task_id(level), env))
    return EnvGroup(members, actor_ids)

  return make
