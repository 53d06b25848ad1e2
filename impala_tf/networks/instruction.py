"""The DMLab language-instruction encoder.

  tokenize_instructions(strings [N] tf.string) -> ids [N, MAX_WORDS] int32
  InstructionEncoder()(ids [N, MAX_WORDS] int32) -> [N, 64]

Tokenising (whitespace split, hash into 1000 buckets) is string work that XLA
cannot compile, so it is a separate function that actors run on observations
before they enter the trajectory queue; the learner only sees int32 ids. Ids
are padded with -1; instructions longer than MAX_WORDS words are truncated
(DMLab-30 instructions are a few words).

The encoder embeds each id (size 20), runs an LSTM with 64 units over the
words and returns its output at the last real word; an empty instruction (all
ids -1) gives zeros, as in scalable_agent experiment.py (``Agent._instruction``:
dynamic_rnn with sequence_length 0 outputs zeros). The width stays static, so
the encoder compiles with XLA: the LSTM runs over all MAX_WORDS positions and
the output is picked at the last real word.

Padding positions read the embedding row of a real word of the same batch
(their results are discarded, so their gradient rows are exactly zero). The
embedding's gradient, a tf.IndexedSlices, therefore names only rows of words
the batch contains, and RMSProp's sparse update (impala_tf.optimizer) leaves
every other row alone. Only a batch without any word names a row (0) that it
does not read, with a zero gradient.
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
  """Embedding (1000 x 20) -> LSTM 64 -> output at the last real word
  (zeros for an empty instruction)."""

  def __init__(self, name='instruction_encoder'):
    super().__init__(name=name)
    self._embed = snt.Embed(NUM_BUCKETS, EMBEDDING_SIZE, name='embed')
    self._lstm = snt.LSTM(LSTM_SIZE, name='lstm')

  def __call__(self, ids):
    """ids [N, W] int32 (W static, -1 = padding) -> [N, LSTM_SIZE] float32."""
    ids = tf.convert_to_tensor(ids, tf.int32)
    if ids.shape.rank != 2 or ids.shape[1] is None:
      raise ValueError('instruction ids need shape [N, W] with a static W, '
                       f'got {ids.shape.as_list()}.')
    if ids.shape[1] == 0:  # At least one position, as the released code.
      ids = tf.fill([tf.shape(ids)[0], 1], -1)
    lengths = count_words(ids)
    embedded = self._embed(lookup_ids(ids))  # [N, W, EMBEDDING_SIZE]
    state = self._lstm.initial_state(tf.shape(ids)[0])
    outputs = []
    for w in range(ids.shape[1]):
      output, state = self._lstm(embedded[:, w], state)
      outputs.append(output)
    return output_at_last_word(tf.stack(outputs, axis=1), lengths)


def count_words(ids):
  """ids [N, W] (real ids first, then -1) -> [N] int32 number of words."""
  return tf.reduce_sum(tf.cast(ids >= 0, tf.int32), axis=1)


def lookup_ids(ids):
  """ids [N, W] -> [N, W] valid rows: padding replaced by the batch's largest
  id, a row the batch reads anyway (row 0 if the batch has no word)."""
  filler = tf.maximum(tf.reduce_max(ids), 0)
  return tf.where(ids >= 0, ids, filler)


def output_at_last_word(outputs, lengths):
  """outputs [N, W, D], lengths [N] -> [N, D]: outputs[n, lengths[n] - 1],
  zeros where lengths[n] == 0."""
  last = tf.gather(outputs, tf.maximum(lengths - 1, 0), batch_dims=1)
  return tf.where((lengths > 0)[:, None], last, tf.zeros_like(last))
