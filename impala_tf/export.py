"""SavedModel export of a trained policy, usable without impala_tf.

  destination_problem(path) -> str | None   why ``path`` cannot take one
  export_policy(agent, spec, path)

The SavedModel has two functions:
  initial_state(batch_size: int32 scalar) -> dict of core-state tensors
  step(last_action [B] int32, reward [B] float32, done [B] bool,
       frame [B, H, W, C] uint8, instruction [B] string (DMLab only),
       state_0, state_1, ... (the flattened core state; none for a
       feed-forward core)) -> dict(policy_logits [B, A], baseline [B],
       greedy_action [B], state_0, state_1, ...)
Sampling is left to the caller (e.g. tf.random.categorical on the logits).
"""

import os

import tensorflow as tf

from impala_tf import networks


def _state_dict(state):
  flat = tf.nest.flatten(state)
  return {f'state_{i}': s for i, s in enumerate(flat)}


class PolicyModule(tf.Module):
  """Wraps an ImpalaAgent with fixed signatures for tf.saved_model.save."""

  def __init__(self, agent, spec):
    super().__init__(name='impala_policy')
    self.agent = agent
    self._spec = spec
    example = agent.initial_state(1)
    self._state_structure = example
    state_specs = {name: tf.TensorSpec([None] + list(s.shape[1:]), s.dtype)
                   for name, s in _state_dict(example).items()}
    frame_spec = tf.TensorSpec([None, *spec.observation_shape], tf.uint8)
    base = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.bool), frame_spec]
    if spec.has_instruction:
      base.append(tf.TensorSpec([None], tf.string))

    names = [f'state_{i}' for i in range(len(state_specs))]

    def positional(*args):
      n = len(base)
      instruction = args[n - 1] if spec.has_instruction else None
      core_state = tf.nest.pack_sequence_as(self._state_structure,
                                            list(args[n:]))
      return self._step(args[0], args[1], args[2], args[3], instruction,
                        core_state)

    self.step = tf.function(
        positional, input_signature=base + [state_specs[k] for k in names])
    self.initial_state = tf.function(
        lambda batch_size: _state_dict(agent.initial_state(batch_size)),
        input_signature=[tf.TensorSpec([], tf.int32)])
    self.state_names = names

  def _step(self, last_action, reward, done, frame, instruction, core_state):
    ids = (networks.tokenize_instructions(instruction)[None]
           if instruction is not None else None)
    inputs = networks.AgentInput(last_action[None], reward[None], done[None],
                                 frame[None], ids)
    output, new_state = self.agent.unroll(inputs, core_state)
    result = dict(policy_logits=output.policy_logits[0],
                  baseline=output.baseline[0],
                  greedy_action=tf.argmax(output.policy_logits[0], -1,
                                          output_type=tf.int32))
    result.update(_state_dict(new_state))
    return result


def destination_problem(path):
  """Why a SavedModel cannot be written to directory ``path``, or None.

  A SavedModel is a directory: ``path`` must not be an existing file, and
  its nearest existing ancestor must be a directory. Checks nothing else
  (permissions show only when writing).
  """
  path = os.path.abspath(os.fspath(path))
  if os.path.lexists(path) and not os.path.isdir(path):
    return f'{path} is an existing file; a SavedModel is a directory'
  parent = os.path.dirname(path)
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    return f'{parent} is a file, so no directory can be made under it'
  return None


def export_policy(agent, spec, path):
  """Writes the SavedModel to directory ``path``; returns the module.

  Raises:
    ValueError: ``path`` cannot be a directory (see destination_problem).
  """
  problem = destination_problem(path)
  if problem:
    raise ValueError(f'Cannot export the policy to {path}: {problem}.')
  module = PolicyModule(agent, spec)
  tf.saved_model.save(module, path)
  return module
