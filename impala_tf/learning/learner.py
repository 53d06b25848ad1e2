"""The IMPALA learner step under a tf.distribute strategy.

  learner.place(trajectory [T+1, B] numpy) -> tensors on the learner device(s)
  learner.step(placed) -> dict of scalar statistics

One step re-runs the network over the T + 1 entries from the unrolls' initial
core states, computes V-trace targets and the losses (impala_tf.losses), and
applies RMSProp with the learning rate annealed linearly over environment
frames. With MirroredStrategy the batch is split over the replicas along its
batch axis; losses are sums, so the all-reduced (summed) gradient equals the
one-device gradient. ``xla=True`` compiles the forward/backward pass with XLA.
"""

import numpy as np
import tensorflow as tf

from impala_tf import config as config_lib
from impala_tf import losses
from impala_tf import networks
from impala_tf import optimizer as optimizer_lib
from impala_tf import trajectory as trajectory_lib

_SUMMED = ('total', 'policy_gradient', 'baseline', 'entropy')


def dummy_trajectory(spec, agent, unroll_length, batch_size):
  """A zero batch of the right structure (used to build variables)."""
  steps = unroll_length + 1
  width = networks.MAX_WORDS if spec.has_instruction else 0
  return trajectory_lib.Trajectory(
      frame=np.zeros((steps, batch_size) + spec.observation_shape, np.uint8),
      reward=np.zeros((steps, batch_size), np.float32),
      done=np.zeros((steps, batch_size), bool),
      last_action=np.zeros((steps, batch_size), np.int32),
      instruction=np.full((steps, batch_size, width), -1, np.int32),
      action=np.zeros((steps, batch_size), np.int32),
      behaviour_logits=np.zeros((steps, batch_size, spec.num_actions),
                                np.float32),
      core_state=tf.nest.map_structure(lambda s: s.numpy(),
                                       agent.initial_state(batch_size)),
      task_id=np.zeros((batch_size,), np.int32),
      policy_version=np.zeros((batch_size,), np.int64))


class Learner:
  """Owns the learner's network, optimiser and counters."""

  def __init__(self, config: config_lib.Config, spec, agent_factory,
               strategy=None):
    self.config = config
    self.spec = spec
    self.strategy = strategy or tf.distribute.get_strategy()
    self.num_replicas = self.strategy.num_replicas_in_sync
    if config.batch_size % self.num_replicas:
      raise ValueError(f'batch_size {config.batch_size} does not split over '
                       f'{self.num_replicas} replicas.')
    self._max_grad_norm = config_lib.max_grad_norm_or_none(config)
    with self.strategy.scope():
      self.agent = agent_factory()
      build = dummy_trajectory(spec, self.agent, 0, 1)
      self.agent.unroll(self._agent_input(build), build.core_state)
      self.optimizer = optimizer_lib.RMSProp(
          decay=config.decay, momentum=config.momentum,
          epsilon=config.epsilon)
      self.optimizer.create_slots(self.agent.trainable_variables)
      self.num_frames = tf.Variable(0, dtype=tf.int64, trainable=False,
                                    name='num_environment_frames')
      self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name='num_updates')
    self._loss_and_grads = tf.function(self._loss_and_grads_fn,
                                       jit_compile=config.xla)
    self._step = tf.function(self._step_fn)

  @property
  def variables(self):
    return self.agent.trainable_variables

  def trackables(self):
    """What a checkpoint must hold to resume the learner exactly."""
    return dict(agent=self.agent, optimizer=self.optimizer,
                num_frames=self.num_frames, num_updates=self.num_updates)

  def _agent_input(self, batch):
    return networks.AgentInput(
        last_action=batch.last_action, reward=batch.reward, done=batch.done,
        frame=batch.frame,
        instruction=batch.instruction if self.spec.has_instruction else None)

  def place(self, batch):
    """Converts a numpy Trajectory into (distributed) learner tensors."""
    if self.num_replicas == 1:
      return tf.nest.map_structure(tf.convert_to_tensor, batch)
    per_replica = self.config.batch_size // self.num_replicas

    def replica_value(ctx):
      start = ctx.replica_id_in_sync_group * per_replica
      part = trajectory_lib.slice_batch(batch, start, start + per_replica)
      return tf.nest.map_structure(tf.convert_to_tensor, part)

    return self.strategy.experimental_distribute_values_from_function(
        replica_value)

  def _loss_and_grads_fn(self, batch):
    c = self.config
    with tf.GradientTape() as tape:
      output, _ = self.agent.unroll(self._agent_input(batch), batch.core_state)
      loss = losses.impala_loss(
          learner_logits=output.policy_logits[:-1],
          learner_values=output.baseline[:-1],
          bootstrap_value=output.baseline[-1],
          behaviour_logits=batch.behaviour_logits[:-1],
          actions=batch.action[:-1],
          rewards=batch.reward[1:],
          dones=batch.done[1:],
          discounting=c.discounting,
          baseline_cost=c.baseline_cost,
          entropy_cost=c.entropy_cost,
          reward_clipping=c.reward_clipping,
          correction=c.correction,
          clip_rho_threshold=c.clip_rho_threshold,
          clip_pg_rho_threshold=c.clip_pg_rho_threshold,
          lambda_=c.vtrace_lambda,
          reduction=c.loss_reduction)
    grads = tape.gradient(loss.total, self.variables)
    stats = dict(loss._asdict())
    stats['policy_entropy'] = -losses.entropy_loss(
        output.policy_logits[:-1], reduction='mean')
    return stats, grads

  def _replica_step(self, batch):
    stats, grads = self._loss_and_grads(batch)
    context = tf.distribute.get_replica_context()
    if self.num_replicas > 1:
      grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
      if self.config.loss_reduction == 'mean':  # Mean of per-replica means.
        grads = [g / self.num_replicas for g in grads]
    grads, grad_norm = optimizer_lib.clip_by_global_norm(grads,
                                                         self._max_grad_norm)
    learning_rate = optimizer_lib.linear_learning_rate(
        self.config.learning_rate, self.num_frames,
        self.config.total_environment_frames)
    self.optimizer.apply(grads, self.variables, learning_rate)
    stats['grad_norm'] = grad_norm
    stats['learning_rate'] = learning_rate
    return stats

  def _step_fn(self, batch):
    per_replica = self.strategy.run(self._replica_step, args=(batch,))
    stats = {}
    for name, value in per_replica.items():
      summed = name in _SUMMED and self.config.loss_reduction == 'sum'
      op = tf.distribute.ReduceOp.SUM if summed else tf.distribute.ReduceOp.MEAN
      stats[name] = self.strategy.reduce(op, value, axis=None)
    self.num_frames.assign_add(self.config.frames_per_update)
    self.num_updates.assign_add(1)
    return stats

  def step(self, placed_batch):
    """One update. Returns {name: float} statistics."""
    stats = self._step(placed_batch)
    return {k: float(v) for k, v in stats.items()}
