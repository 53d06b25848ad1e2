"""Networks: shapes, parameter counts against the paper, state resets."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import networks
from impala_tf.envs.spec import EnvSpec

DMLAB = EnvSpec('rooms_watermaze', (72, 96, 3), 9, has_instruction=True)
ATARI = EnvSpec('pong', (84, 84, 4), 6)


def _inputs(spec, seq_len, batch, rng, done=None):
  frame = rng.integers(0, 256, size=(seq_len, batch) + spec.observation_shape,
                       dtype=np.uint8)
  instruction = None
  if spec.has_instruction:
    words = ['pick the red balloon', '', 'go to the far goal now please']
    strings = np.array([[words[(t + b) % 3] for b in range(batch)]
                        for t in range(seq_len)])
    instruction = tf.reshape(
        networks.tokenize_instructions(strings.reshape(-1)),
        [seq_len, batch, networks.MAX_WORDS])
  if done is None:
    done = np.zeros((seq_len, batch), bool)
  return networks.AgentInput(
      last_action=rng.integers(0, spec.num_actions, (seq_len, batch)).astype(
          np.int32),
      reward=rng.normal(size=(seq_len, batch)).astype(np.float32),
      done=done, frame=frame, instruction=instruction)


def _num_params(module):
  return sum(int(np.prod(v.shape)) for v in module.trainable_variables)


@pytest.mark.parametrize('network,paper_count', [('shallow', 1.2e6),
                                                 ('deep', 1.6e6)])
def test_dmlab_parameter_counts_match_the_paper(network, paper_count):
  agent = networks.build_agent(network, DMLAB, core='lstm')
  agent.unroll(_inputs(DMLAB, 1, 2, np.random.default_rng(0)),
               agent.initial_state(2))
  count = _num_params(agent)
  assert abs(count - paper_count) / paper_count < 0.03, count


@pytest.mark.parametrize('network', ['shallow', 'deep'])
@pytest.mark.parametrize('core', ['lstm', 'feedforward'])
@pytest.mark.parametrize('spec', [ATARI, DMLAB], ids=['atari', 'dmlab'])
def test_unroll_shapes(network, core, spec):
  agent = networks.build_agent(network, spec, core=core)
  seq_len, batch = 3, 2
  out, state = agent.unroll(
      _inputs(spec, seq_len, batch, np.random.default_rng(1)),
      agent.initial_state(batch))
  assert out.policy_logits.shape == (seq_len, batch, spec.num_actions)
  assert out.baseline.shape == (seq_len, batch)
  if core == 'lstm':
    assert state.hidden.shape == (batch, 256)
  else:
    assert state == ()


def test_deep_torso_has_15_conv_layers_and_the_right_feature_map():
  torso = networks.DeepTorso()
  out = torso(tf.zeros((1, 72, 96, 3), tf.uint8))
  assert out.shape == (1, 256)
  convs = [v for v in torso.trainable_variables
           if v.name.endswith('w:0') and len(v.shape) == 4]
  assert len(convs) == 15
  linear_w = [v for v in torso.trainable_variables
              if 'linear' in v.name and v.name.endswith('w:0')][0]
  assert linear_w.shape == (9 * 12 * 32, 256)


def test_lstm_state_is_reset_where_an_episode_starts():
  agent = networks.build_agent('shallow', ATARI, core='lstm')
  rng = np.random.default_rng(2)
  seq_len, batch = 4, 2
  done = np.zeros((seq_len, batch), bool)
  done[2, 0] = True
  inputs = _inputs(ATARI, seq_len, batch, rng, done=done)
  state = agent.initial_state(batch)
  state = tf.nest.map_structure(lambda s: s + 0.5, state)  # non-zero start
  out, _ = agent.unroll(inputs, state)
  # Entry 0 restarted at t=2: from there it equals a fresh unroll of t>=2.
  tail = tf.nest.map_structure(lambda x: x[2:] if x is not None else None,
                               inputs)
  fresh, _ = agent.unroll(tail, agent.initial_state(batch))
  np.testing.assert_allclose(out.policy_logits[2:, 0],
                             fresh.policy_logits[:, 0], rtol=1e-5, atol=1e-6)
  # Entry 1 did not restart: it differs from a fresh start.
  assert np.max(np.abs(out.policy_logits[2:, 1] -
                       fresh.policy_logits[:, 1])) > 1e-4


def test_unroll_is_consistent_with_stepwise_calls():
  agent = networks.build_agent('shallow', DMLAB, core='lstm')
  rng = np.random.default_rng(3)
  done = np.zeros((5, 3), bool)
  done[3, 1] = True
  inputs = _inputs(DMLAB, 5, 3, rng, done=done)
  whole, whole_state = agent.unroll(inputs, agent.initial_state(3))
  state = agent.initial_state(3)
  logits = []
  for t in range(5):
    step = tf.nest.map_structure(lambda x: x[t:t + 1], inputs)  # pylint: disable=cell-var-from-loop
    out, state = agent.unroll(step, state)
    logits.append(out.policy_logits[0])
  np.testing.assert_allclose(np.stack(logits), whole.policy_logits,
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state.hidden, whole_state.hidden, rtol=1e-5,
                             atol=1e-5)


def test_instruction_encoder_reads_the_last_word():
  encoder = networks.instruction.InstructionEncoder()
  ids = networks.tokenize_instructions(['a b c', 'a b c d', 'a b', ''])
  assert ids.shape == (4, networks.MAX_WORDS)
  np.testing.assert_array_equal((ids.numpy() >= 0).sum(1), [3, 4, 2, 0])
  out = encoder(ids).numpy()
  # 'a b' is a prefix of 'a b c': the LSTM output after 'a b' differs from
  # the output after 'a b c'; padding must not change a result.
  longer = networks.tokenize_instructions(['a b c'], max_words=3)
  np.testing.assert_allclose(
      networks.instruction.InstructionEncoder.__call__(encoder, tf.pad(
          longer, [[0, 0], [0, networks.MAX_WORDS - 3]],
          constant_values=-1)), out[:1], rtol=1e-6)
  assert np.max(np.abs(out[0] - out[2])) > 1e-6
  # Hashing is deterministic: the same words give the same ids.
  np.testing.assert_array_equal(ids[0, :3], ids[1, :3])


def test_observations_must_be_uint8():
  with pytest.raises(TypeError, match='frames must be uint8'):
    networks.ShallowTorso()(tf.zeros((1, 84, 84, 4), tf.float32))


def test_unknown_network_lists_the_choices():
  with pytest.raises(ValueError, match=r"Unknown network 'resnet'.*"
                     r"\['deep', 'shallow'\]"):
    networks.build_agent('resnet', ATARI)
  with pytest.raises(ValueError, match='Unknown core'):
    networks.build_agent('deep', ATARI, core='gru')


@pytest.mark.parametrize('jit', [False, True])
def test_unroll_inside_tf_function(jit):
  agent = networks.build_agent('deep', ATARI, core='lstm')
  inputs = _inputs(ATARI, 3, 2, np.random.default_rng(4))
  eager, _ = agent.unroll(inputs, agent.initial_state(2))
  fn = tf.function(agent.unroll, jit_compile=jit)
  graph, _ = fn(inputs, agent.initial_state(2))
  np.testing.assert_allclose(graph.policy_logits, eager.policy_logits,
                             rtol=1e-4, atol=1e-5)
