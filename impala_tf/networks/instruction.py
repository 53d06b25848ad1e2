"""The DMLab language-instruction encoder.

  tokenize_instructions(strings [N] tf.string) -> ids [N, MAX_WORDS] int32
  InstructionEncoder()(ids [N, MAX_WORDS] int32) -> [N, 64]

Tokenising (whitespace split, hash into 1000 buckets) is string work that XLA
cannot compile, so it is a separate function that actors run on observations
before they enter the trajectory queue; the learner only sees int32 ids. Ids
are padded with -1; instructions longer than MAX_WORDS words are truncated
(DMLab-30 instructions are a few words).

The encoder embeds each id (size 20), runs an LSTM with 64 units over the
words and returns its output at the last word (the released code's design). An
empty instruction is read as one token of id 0.
"""

import sonnet as snt
import tensorflow as tf

NUM_BUCKETS = 1000
MAX_WORDS = 16
EMBEDDING_SIZE = 20
LSTM_SIZE = 64


def tokenize_instructions(instructions, max_words=MAX_WORDS):
  """Whitespace words hashed into NUM_BUCKETS ids, padded with -1.

  Args:
    instructions: [N] tf.string (or anything convertible).
    max_words: output width; longer instructions are truncated.

  Returns:
    [N, max_words] int32.
  """
  instructions = tf.convert_to_tensor(instructions, tf.string)
  words = tf.strings.split(instructions)
  ids = tf.strings.to_hash_bucket_fast(words, NUM_BUCKETS)
  ids = ids[:, :max_words]
  dense = ids.to_tensor(default_value=-1,
                        shape=[None, max_words])
  return tf.cast(dense, tf.int32)


class InstructionEncoder(snt.Module):
  """Embedding (1000 x 20) -> LSTM 64 -> output at the last word."""

  def __init__(self, name='instruction_encoder'):
    super().__init__(name=name)
    self._embed = snt.Embed(NUM_BUCKETS, EMBEDDING_SIZE, name='embed')
    self._lstm = snt.LSTM(LSTM_SIZE, name='lstm')

  def __call__(self, ids):
    ids = tf.convert_to_tensor(ids, tf.int32)
    num_words = ids.shape[1]
    if num_words is None:
      raise ValueError('instruction ids need a static width, got '
                       f'{ids.shape.as_list()}.')
    lengths = tf.reduce_sum(tf.cast(ids >= 0, tf.int32), axis=1)
    embedded = self._embed(tf.maximum(ids, 0))  # [N, W, 20]
    state = self._lstm.initial_state(tf.shape(ids)[0])
    outputs = []
    for w in range(num_words):
      output, state = self._lstm(embedded[:, w], state)
      outputs.append(output)
    outputs = tf.stack(outputs, axis=1)  # [N, W, 64]
    last = tf.maximum(lengths - 1, 0)
    return tf.gather(outputs, last, batch_dims=1)
