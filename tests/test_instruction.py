"""The language-instruction encoder and its tokeniser (networks/instruction.py).

References are built here independently of the encoder's padding: the same
LSTM cell stepped over exactly the real words of one instruction.
"""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import optimizer as optimizer_lib
from impala_tf.networks import instruction

SENTENCES = ['pick the red balloon', 'go', 'find the key in the blue room',
             'open door']


def _built_encoder(seed=0):
  tf.random.set_seed(seed)
  encoder = instruction.InstructionEncoder()
  encoder(instruction.tokenize_instructions(['build']))
  return encoder


def _parts(encoder):
  """(embedding table [NUM_BUCKETS, EMBEDDING_SIZE], the snt.LSTM)."""
  # pylint: disable=protected-access
  return encoder._embed.embeddings, encoder._lstm


def _hash(word):
  """The bucket of one word: FarmHash Fingerprint64 modulo NUM_BUCKETS."""
  fingerprint = bytes(tf.fingerprint(tf.constant([word])).numpy()[0])
  return int.from_bytes(fingerprint, 'little') % instruction.NUM_BUCKETS


def _outputs_over_words(encoder, sentence):
  """[len, LSTM_SIZE]: the LSTM's output after each real word, one by one."""
  table, lstm = _parts(encoder)
  state = lstm.initial_state(1)
  outputs = []
  for word in sentence.split():
    output, state = lstm(tf.gather(table, [_hash(word)]), state)
    outputs.append(output[0].numpy())
  return np.stack(outputs)


# Tokenising.


def test_tokenize_splits_on_whitespace_and_hashes_each_word():
  ids = instruction.tokenize_instructions(
      ['  pick the\tred\n balloon  ', b'go', ''], max_words=6).numpy()
  assert ids.dtype == np.int32 and ids.shape == (3, 6)
  words = ['pick', 'the', 'red', 'balloon']
  np.testing.assert_array_equal(ids[0], [_hash(w) for w in words] + [-1, -1])
  np.testing.assert_array_equal(ids[1], [_hash('go')] + [-1] * 5)
  np.testing.assert_array_equal(ids[2], [-1] * 6)
  assert len({_hash(w) for w in words}) == 4  # Distinct words, distinct ids.
  assert instruction.NUM_BUCKETS == 1000


def test_tokenize_hashes_into_the_buckets():
  words = [f'word{i}' for i in range(300)]
  ids = instruction.tokenize_instructions([' '.join(words)],
                                          max_words=300).numpy()[0]
  np.testing.assert_array_equal(ids, [_hash(w) for w in words])
  assert ids.min() >= 0 and ids.max() < instruction.NUM_BUCKETS
  assert len(set(ids.tolist())) > 200  # Spread over many buckets.


def test_tokenize_truncates_to_max_words():
  words = [f'w{i}' for i in range(20)]
  ids = instruction.tokenize_instructions([' '.join(words)]).numpy()
  assert ids.shape == (1, instruction.MAX_WORDS)
  np.testing.assert_array_equal(
      ids[0], [_hash(w) for w in words[:instruction.MAX_WORDS]])
  short = instruction.tokenize_instructions(['a b c'], max_words=2).numpy()
  np.testing.assert_array_equal(short[0], [_hash('a'), _hash('b')])


# Encoding.


def test_empty_instruction_gives_exact_zeros():
  encoder = _built_encoder()
  mixed = encoder(instruction.tokenize_instructions(['', SENTENCES[0], '']))
  assert mixed.shape == (3, instruction.LSTM_SIZE)
  np.testing.assert_array_equal(mixed[0], np.zeros(instruction.LSTM_SIZE))
  np.testing.assert_array_equal(mixed[2], np.zeros(instruction.LSTM_SIZE))
  assert np.abs(mixed[1]).max() > 1e-3
  only_empty = encoder(instruction.tokenize_instructions(['', '']))
  np.testing.assert_array_equal(only_empty, np.zeros((2, 64)))
  no_width = encoder(tf.zeros([2, 0], tf.int32))
  np.testing.assert_array_equal(no_width, np.zeros((2, 64)))


def test_output_is_taken_at_the_last_real_word():
  encoder = _built_encoder(1)
  got = encoder(instruction.tokenize_instructions(SENTENCES)).numpy()
  for sentence, output in zip(SENTENCES, got):
    reference = _outputs_over_words(encoder, sentence)
    np.testing.assert_allclose(output, reference[-1], rtol=1e-5, atol=1e-6,
                               err_msg=sentence)
    # The comparison can tell positions apart: every earlier output differs.
    for earlier in reference[:-1]:
      assert np.abs(output - earlier).max() > 1e-4, sentence


def test_output_is_not_the_output_after_the_padding():
  encoder = _built_encoder(2)
  table, lstm = _parts(encoder)
  ids = instruction.tokenize_instructions(['open door']).numpy()[0]
  state = lstm.initial_state(1)
  for i in ids[:2]:
    output, state = lstm(tf.gather(table, [i]), state)
  # Running on over a padding position (whatever row it reads) moves the
  # LSTM on; the encoder must not return that.
  after_pad, _ = lstm(tf.gather(table, [ids[0]]), state)
  got = encoder(ids[None]).numpy()[0]
  np.testing.assert_allclose(got, output[0], rtol=1e-5, atol=1e-6)
  assert np.abs(got - after_pad[0].numpy()).max() > 1e-4


@pytest.mark.parametrize('width', [7, 8, 16, 40])
def test_padding_does_not_change_the_result(width):
  encoder = _built_encoder(3)
  sentence = SENTENCES[2]  # 7 words; width 7 has no padding at all.
  reference = _outputs_over_words(encoder, sentence)[-1]
  alone = encoder(instruction.tokenize_instructions([sentence], width))
  batch = encoder(instruction.tokenize_instructions(
      ['', 'go', sentence, 'open door'], width))
  np.testing.assert_allclose(alone[0], reference, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(batch[2], reference, rtol=1e-5, atol=1e-6)


def test_compiles_with_xla():
  encoder = _built_encoder(4)
  ids = instruction.tokenize_instructions(SENTENCES + [''])
  compiled = tf.function(encoder, jit_compile=True)(ids).numpy()
  np.testing.assert_allclose(compiled, encoder(ids), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(compiled[-1], np.zeros(64))


# The embedding's gradient and the optimiser's sparse update.


def _embedding_gradient(encoder, ids, jit_compile=False):
  table, _ = _parts(encoder)
  weights = tf.constant(np.random.default_rng(0).normal(
      size=(ids.shape[0], instruction.LSTM_SIZE)).astype(np.float32))

  def gradient(ids):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(encoder(ids) * weights)
    return tape.gradient(loss, table)

  return tf.function(gradient, jit_compile=jit_compile)(ids)


@pytest.mark.parametrize('jit_compile', [False, True])
def test_embedding_gradient_names_only_the_looked_up_rows(jit_compile):
  encoder = _built_encoder(5)
  texts = ['go', '', 'open door', 'go go']
  ids = instruction.tokenize_instructions(texts)
  words = {_hash(w) for t in texts for w in t.split()}
  assert 0 not in words  # So that row 0 (old padding row) would show.
  grad = _embedding_gradient(encoder, ids, jit_compile)
  assert isinstance(grad, tf.IndexedSlices)
  assert set(grad.indices.numpy().tolist()) == words
  dense = tf.convert_to_tensor(grad).numpy()
  assert np.all(np.abs(dense[sorted(words)]).sum(1) > 0)

  # RMSProp's sparse update leaves every other row as it was.
  table, _ = _parts(encoder)
  before = table.numpy()
  optimizer = optimizer_lib.RMSProp(epsilon=0.1)
  optimizer.create_slots([table])
  optimizer.apply([grad], [table], 0.01)
  others = np.setdiff1d(np.arange(instruction.NUM_BUCKETS), sorted(words))
  np.testing.assert_array_equal(table.numpy()[others], before[others])
  np.testing.assert_array_equal(optimizer.slots['rms'][0].numpy()[others], 1.0)
  assert np.all(table.numpy()[sorted(words)] != before[sorted(words)])


def test_embedding_gradient_of_empty_instructions_is_zero():
  encoder = _built_encoder(6)
  grad = _embedding_gradient(
      encoder, instruction.tokenize_instructions(['', '']))
  np.testing.assert_array_equal(tf.convert_to_tensor(grad), 0.0)
