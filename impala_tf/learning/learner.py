"""The IMPALA learner step under a tf.distribute strategy.

  Learner(spec, agent_factory, batch_size=, frames_per_update=, loss=,
          optimizer=, strategy=None, xla=False)
  learner.place(trajectory [T+1, B] numpy) -> tensors on the learner device(s)
  learner.step(placed) -> dict of scalar statistics

The learner takes its hyperparameters explicitly (LossSettings,
OptimizerSettings); ``impala_tf.builder.make_learner`` fills them from a
Config. One step re-runs the network over the T + 1 entries from the unrolls'
initial core states, computes V-trace targets and the losses
(impala_tf.losses), and applies RMSProp with the learning rate annealed
linearly over environment frames. With MirroredStrategy the batch is split
over the replicas along its batch axis; losses are sums, so the all-reduced
(summed) gradient equals the one-device gradient. ``xla=True`` compiles the
forward/backward pass with XLA.
"""

import contextlib
import dataclasses
from typing import Optional

import tensorflow as tf

from impala_tf import losses
from impala_tf import networks
from impala_tf import optimizer as optimizer_lib
from impala_tf import trajectory as trajectory_lib

_SUMMED = ('total', 'policy_gradient', 'baseline', 'entropy')


@dataclasses.dataclass(frozen=True)
class LossSettings:
  """The keyword arguments of losses.impala_loss."""
  discounting: float
  baseline_cost: float
  entropy_cost: float
  reward_clipping: str = 'abs_one'
  correction: str = 'vtrace'
  clip_rho_threshold: Optional[float] = 1.0
  clip_pg_rho_threshold: Optional[float] = 1.0
  lambda_: float = 1.0
  reduction: str = 'sum'


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
  """RMSProp (TF1 semantics), its schedule and gradient clipping.

  The learning rate falls linearly from ``learning_rate`` to 0 at
  ``total_environment_frames``; ``max_grad_norm`` None = no clipping.
  """
  learning_rate: float
  total_environment_frames: int
  decay: float = 0.99
  momentum: float = 0.0
  epsilon: float = 0.1
  max_grad_norm: Optional[float] = None


def _scale(gradient, factor):
  """gradient * factor for dense and sparse (IndexedSlices) gradients."""
  if isinstance(gradient, tf.IndexedSlices):
    return tf.IndexedSlices(gradient.values * factor, gradient.indices,
                            gradient.dense_shape)
  return gradient * factor


def instruction_width(spec):
  return networks.MAX_WORDS if spec.has_instruction else 0


def agent_input(batch, spec):
  """The network input of a Trajectory's T + 1 entries."""
  return networks.AgentInput(
      last_action=batch.last_action, reward=batch.reward, done=batch.done,
      frame=batch.frame,
      instruction=batch.instruction if spec.has_instruction else None)


class Learner:
  """Owns the learner's network, optimiser and counters.

  Args:
    spec: the EnvSpec of the task set.
    agent_factory: () -> ImpalaAgent, called inside the strategy's scope.
    batch_size: unrolls per update (split over the replicas).
    frames_per_update: environment frames one update consumes (batch size x
      unroll length x action repeats), for the counter and the schedule.
    loss: LossSettings.
    optimizer: OptimizerSettings.
    strategy: a tf.distribute strategy (default: the default strategy).
    xla: compile the forward/backward pass with XLA.
  """

  def __init__(self, spec, agent_factory, *, batch_size, frames_per_update,
               loss: LossSettings, optimizer: OptimizerSettings,
               strategy=None, xla=False):
    self.spec = spec
    self.batch_size = batch_size
    self.frames_per_update = frames_per_update
    self.loss_settings = loss
    self.optimizer_settings = optimizer
    self.strategy = strategy or tf.distribute.get_strategy()
    self.num_replicas = self.strategy.num_replicas_in_sync
    try:
      self._local_devices = tuple(self.strategy.extended.worker_devices)
    except RuntimeError:  # The default strategy: this process, one device.
      self._local_devices = (None,)
    # Several learner processes (MultiWorkerMirroredStrategy): each one
    # places its own share of the batch, from its own actors.
    self.num_workers = self.num_replicas // len(self._local_devices)
    if batch_size % self.num_replicas:
      raise ValueError(f'batch_size {batch_size} does not split over '
                       f'{self.num_replicas} replicas.')
    self.local_batch_size = batch_size // self.num_workers
    with self.strategy.scope():
      self.agent = agent_factory()
      build = trajectory_lib.empty(spec, 0, 1, instruction_width(spec),
                                   self.agent.initial_state(1))
      self.agent.unroll(agent_input(build, spec), build.core_state)
      self.optimizer = optimizer_lib.RMSProp(
          decay=optimizer.decay, momentum=optimizer.momentum,
          epsilon=optimizer.epsilon)
      self.optimizer.create_slots(self.agent.trainable_variables)
      self.num_frames = tf.Variable(0, dtype=tf.int64, trainable=False,
                                    name='num_environment_frames')
      self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name='num_updates')
    self._loss_and_grads = tf.function(self._loss_and_grads_fn,
                                       jit_compile=xla)
    self._step = tf.function(self._step_fn)

  @property
  def variables(self):
    return self.agent.trainable_variables

  @property
  def frames(self):
    """Environment frames consumed so far (an int)."""
    return int(self.num_frames.read_value())

  @property
  def updates(self):
    """Updates applied so far (an int): the parameters' version."""
    return int(self.num_updates.read_value())

  def trackables(self):
    """What a checkpoint must hold to resume the learner exactly."""
    return dict(agent=self.agent, optimizer=self.optimizer,
                num_frames=self.num_frames, num_updates=self.num_updates)

  def place(self, batch):
    """Converts this learner's numpy Trajectory (local_batch_size unrolls)
    into (distributed) learner tensors."""
    if self.num_replicas == 1:
      return tf.nest.map_structure(tf.convert_to_tensor, batch)
    per_replica = self.local_batch_size // len(self._local_devices)

    def replica_value(ctx):
      local = ctx.replica_id_in_sync_group % len(self._local_devices)
      start = local * per_replica
      part = trajectory_lib.slice_batch(batch, start, start + per_replica)
      return tf.nest.map_structure(tf.convert_to_tensor, part)

    return self.strategy.experimental_distribute_values_from_function(
        replica_value)

  def _loss_and_grads_fn(self, batch):
    with tf.GradientTape() as tape:
      output, _ = self.agent.unroll(agent_input(batch, self.spec),
                                    batch.core_state)
      # Alignment (scalable_agent experiment.py): the learner's outputs at
      # x_0..x_{T-1}, bootstrap V(x_T); the action chosen at x_t and its
      # behaviour logits; the reward and done of arriving at x_{t+1}.
      loss = losses.impala_loss(
          learner_logits=output.policy_logits[:-1],
          learner_values=output.baseline[:-1],
          bootstrap_value=output.baseline[-1],
          behaviour_logits=batch.behaviour_logits[:-1],
          actions=batch.action[:-1],
          rewards=batch.reward[1:],
          dones=batch.done[1:],
          **dataclasses.asdict(self.loss_settings))
    grads = tape.gradient(loss.total, self.variables)
    stats = dict(loss._asdict())
    stats['policy_entropy'] = -losses.entropy_loss(
        output.policy_logits[:-1], reduction='mean')
    return stats, grads

  def _on_local_device(self):
    """Several workers: ops in the replica function need an explicit device
    (MultiWorkerMirroredStrategy's all-reduce takes its destination from the
    tensors' device)."""
    if self.num_workers == 1:
      return contextlib.nullcontext()
    return tf.device(self._local_devices[0])

  def _replica_step(self, batch):
    with self._on_local_device():
      return self._replica_step_on_device(batch)

  def _replica_step_on_device(self, batch):
    settings = self.optimizer_settings
    stats, grads = self._loss_and_grads(batch)
    context = tf.distribute.get_replica_context()
    if self.num_replicas > 1:
      grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
      if self.loss_settings.reduction == 'mean':  # Mean of per-replica means.
        grads = [_scale(g, 1.0 / self.num_replicas) for g in grads]
    grads, grad_norm = optimizer_lib.clip_by_global_norm(
        grads, settings.max_grad_norm)
    learning_rate = optimizer_lib.linear_learning_rate(
        settings.learning_rate, self.num_frames,
        settings.total_environment_frames)
    self.optimizer.apply(grads, self.variables, learning_rate)
    stats['grad_norm'] = grad_norm
    stats['learning_rate'] = learning_rate
    return stats

  def _step_fn(self, batch):
    per_replica = self.strategy.run(self._replica_step, args=(batch,))
    stats = {}
    for name, value in per_replica.items():
      summed = name in _SUMMED and self.loss_settings.reduction == 'sum'
      op = tf.distribute.ReduceOp.SUM if summed else tf.distribute.ReduceOp.MEAN
      stats[name] = self.strategy.reduce(op, value, axis=None)
    self.num_frames.assign_add(self.frames_per_update)
    self.num_updates.assign_add(1)
    return stats

  def step(self, placed_batch):
    """One update. Returns {name: float} statistics."""
    stats = self._step(placed_batch)
    return {k: float(v) for k, v in stats.items()}

  # Several learner processes.

  def _all_variables(self):
    return (list(self.agent.variables) + list(self.optimizer.variables) +
            [self.num_frames, self.num_updates])

  def _all_reduce_sum(self, values):
    """Sums [tensor] over every replica; the local result."""

    def replica_fn(values):
      with self._on_local_device():
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM,
                                  [tf.identity(v) for v in values])

    reduced = self.strategy.run(replica_fn, args=(values,))
    return [self.strategy.experimental_local_results(r)[0] for r in reduced]

  def sync_from_chief(self, is_chief):
    """Every learner takes the chief's variables (after the chief restored a
    checkpoint): an all-reduce of the chief's values and zeros elsewhere."""
    if self.num_workers == 1:
      return
    variables = self._all_variables()

    @tf.function
    def sync():
      scale = 1.0 if is_chief else 0.0
      values = [tf.cast(v.read_value(), tf.float64) * scale
                for v in variables]
      for v, total in zip(variables, self._all_reduce_sum(values)):
        v.assign(tf.cast(total, v.dtype))

    sync()

  def agree_to_stop(self, wants_to_stop):
    """True on every learner if any learner wants to stop."""
    if self.num_workers == 1:
      return bool(wants_to_stop)
    if not hasattr(self, '_agree'):
      self._agree = tf.function(
          lambda flag: self._all_reduce_sum([flag])[0])
    return float(self._agree(tf.constant(float(wants_to_stop)))) > 0
