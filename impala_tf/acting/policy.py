"""Batched inference for a group of actors: one tf.function call per step.

  ActingPolicy.step(last_action [G], reward [G], done [G], frame [G, H, W, C],
                    instruction [G] str or None, state)
      -> (action [G] int32, logits [G, A], instruction_ids [G, W] int32, state)

This plays the role of the original's dynamic batching (without a custom op):
all actors of a thread are one batch. The policy owns its copy of the network
and refreshes it from the ParameterStore at most once per unroll, so every
step of an unroll uses one parameter version. Actions are sampled with a
seeded tf.random.Generator (checkpointable, so resume is exact).
"""

import numpy as np
import tensorflow as tf

from impala_tf import networks


class ActingPolicy:
  """The actor-side network copy and its sampling step."""

  def __init__(self, agent, spec, seed):
    self.agent = agent
    self.spec = spec
    self.generator = tf.random.Generator.from_seed(seed)
    # Build the variables with a one-entry batch.
    state = agent.initial_state(1)
    self._step(np.zeros([1], np.int32), np.zeros([1], np.float32),
               np.zeros([1], bool),
               np.zeros((1,) + spec.observation_shape, np.uint8),
               np.array(['']) if spec.has_instruction else None, state)
    self.version = -1

  @property
  def variables(self):
    return self.agent.trainable_variables

  def initial_state(self, batch_size):
    return self.agent.initial_state(batch_size)

  def refresh(self, store):
    """Pulls newer parameters from ``store``; returns the version held."""
    self.version = store.pull_into(self.variables, self.version)
    return self.version

  def step(self, last_action, reward, done, frame, instruction, state):
    return self._step(last_action, reward, done, frame, instruction, state)

  @tf.function
  def _step(self, last_action, reward, done, frame, instruction, state):
    batch = tf.shape(last_action)[0]
    if instruction is not None:
      ids = networks.tokenize_instructions(instruction)
    else:
      ids = tf.zeros([batch, 0], tf.int32)
    inputs = networks.AgentInput(
        last_action=last_action[None], reward=reward[None], done=done[None],
        frame=frame[None],
        instruction=ids[None] if instruction is not None else None)
    output, state = self.agent.unroll(inputs, state)
    logits = output.policy_logits[0]
    seeds = self.generator.make_seeds(1)[:, 0]
    action = tf.random.stateless_categorical(logits, 1, seeds,
                                             dtype=tf.int32)[:, 0]
    return action, logits, ids, state
