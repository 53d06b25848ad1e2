"""The IMPALA agent: torso + [last reward, last action, instruction] -> core
-> policy and baseline heads, unrolled over time.

  agent.initial_state(batch_size) -> core state (LSTMState or ())
  agent.unroll(inputs: AgentInput [T, B, ...], state) -> (AgentOutput [T, B, ...], state)

AgentInput fields (T time steps, B batch):
  last_action [T, B] int32: action taken before this observation.
  reward [T, B] float32: reward received with this observation (raw; the
    network sees clip(r, -1, 1)).
  done [T, B] bool: this observation starts a new episode; the core state is
    reset to zeros *before* it is processed.
  frame [T, B, H, W, C] uint8.
  instruction [T, B, MAX_WORDS] int32 ids (see instruction.py), or None.

AgentOutput: policy_logits [T, B, NUM_ACTIONS], baseline [T, B].

The time axis must be static (it is: 1 for actors, unroll_length + 1 for the
learner), so the recurrent loop is unrolled in Python and compiles under XLA.
"""

import collections

import sonnet as snt
import tensorflow as tf

from impala_tf.networks import instruction as instruction_lib

AgentInput = collections.namedtuple(
    'AgentInput', 'last_action reward done frame instruction')
AgentOutput = collections.namedtuple('AgentOutput', 'policy_logits baseline')

CORES = ('lstm', 'feedforward')
CORE_SIZE = 256


class ImpalaAgent(snt.Module):
  """Actor-critic network of the paper (Figure 3)."""

  def __init__(self, num_actions, torso, core='lstm', use_instruction=False,
               name='impala_agent'):
    super().__init__(name=name)
    if core not in CORES:
      raise ValueError(f'core must be one of {CORES}, got {core!r}.')
    self.num_actions = num_actions
    self.core_type = core
    self.use_instruction = use_instruction
    self._torso = torso
    self._instruction = (instruction_lib.InstructionEncoder()
                         if use_instruction else None)
    self._core = snt.LSTM(CORE_SIZE, name='core_lstm') if core == 'lstm' else (
        None)
    self._policy = snt.Linear(num_actions, name='policy_logits')
    self._baseline = snt.Linear(1, name='baseline')

  def initial_state(self, batch_size):
    if self._core is None:
      return ()
    return self._core.initial_state(batch_size)

  def _core_inputs(self, inputs):
    """Everything before the core, batched over T * B. Returns [T, B, D]."""
    frame = tf.convert_to_tensor(inputs.frame)
    seq_len, batch = frame.shape[0], tf.shape(frame)[1]
    if seq_len is None:
      raise ValueError('AgentInput.frame needs a static time axis, got '
                       f'{frame.shape.as_list()}.')

    def flat(x):  # [T, B, ...] -> [T * B, ...], keeping the static dims.
      x = tf.convert_to_tensor(x)
      return tf.reshape(x, [-1] + x.shape[2:].as_list())

    features = [self._torso(flat(frame))]
    reward = tf.clip_by_value(tf.cast(flat(inputs.reward), tf.float32), -1, 1)
    features.append(reward[:, None])
    features.append(tf.one_hot(flat(inputs.last_action), self.num_actions))
    if self._instruction is not None:
      if inputs.instruction is None:
        raise ValueError('this agent was built for instructions but '
                         'AgentInput.instruction is None.')
      features.append(self._instruction(flat(inputs.instruction)))
    merged = tf.concat(features, axis=1)
    return tf.reshape(merged, [seq_len, batch, merged.shape[-1]])

  def unroll(self, inputs, state):
    """Runs the agent over [T, B] inputs from core ``state``.

    Returns:
      (AgentOutput [T, B, ...], core state after the last step).
    """
    core_inputs = self._core_inputs(inputs)
    if self._core is None:
      core_outputs = core_inputs
    else:
      done = tf.convert_to_tensor(inputs.done)
      outputs = []
      for t in range(core_inputs.shape[0]):
        keep = tf.cast(tf.logical_not(done[t]), tf.float32)[:, None]
        state = tf.nest.map_structure(lambda s: s * keep, state)
        output, state = self._core(core_inputs[t], state)
        outputs.append(output)
      core_outputs = tf.stack(outputs)
    policy_logits = self._policy(core_outputs)
    baseline = tf.squeeze(self._baseline(core_outputs), axis=-1)
    return AgentOutput(policy_logits, baseline), state
