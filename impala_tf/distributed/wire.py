"""What crosses the network, as TensorFlow-serialised strings.

  encode_unrolls(trajectory) -> [bytes]        pieces of at most MAX_BYTES
  decode_unrolls(piece, template) -> Trajectory (numpy)
  encode_parameters(tensors) -> [bytes]        chunks of one snapshot
  decode_parameters(chunks, dtypes) -> [numpy]
  encode_episodes(records) / decode_episodes(blob)

TensorFlow's RPC server refuses messages over 4 MB (gRPC's default, which it
does not let us raise), and it sends uint8 tensors as one varint per byte, so
every payload here is a string made by ``tf.io.serialize_tensor`` (raw bytes)
and unrolls and parameters are cut into pieces of at most MAX_BYTES. A piece
of unrolls is a whole number of unrolls (split along the batch axis); a
parameter snapshot is cut into byte chunks that are joined again before
decoding. No pickle: only TensorFlow's own TensorProto serialisation.
"""

import numpy as np
import tensorflow as tf

from impala_tf import trajectory as trajectory_lib

MAX_BYTES = 3 * 2**20  # Below gRPC's 4 MB, with room for the framing.


def _pack(arrays):
  """[array] -> one string: a serialised string tensor of serialised arrays."""
  parts = [tf.io.serialize_tensor(np.ascontiguousarray(a)) for a in arrays]
  return tf.io.serialize_tensor(tf.stack(parts)).numpy()


def _unpack(blob, dtypes):
  parts = tf.io.parse_tensor(blob, tf.string)
  if int(parts.shape[0]) != len(dtypes):
    raise ValueError(f'expected {len(dtypes)} arrays, got '
                     f'{int(parts.shape[0])}.')
  return [tf.io.parse_tensor(p, d).numpy() for p, d in zip(parts, dtypes)]


def _unroll_bytes(trajectory):
  size = trajectory_lib.batch_size_of(trajectory)
  total = sum(np.asarray(x).nbytes for x in tf.nest.flatten(trajectory))
  return max(1, total // max(size, 1))


def encode_unrolls(trajectory):
  """Pieces of at most MAX_BYTES, each a whole number of unrolls."""
  size = trajectory_lib.batch_size_of(trajectory)
  per_piece = max(1, MAX_BYTES // _unroll_bytes(trajectory))
  return [_pack(tf.nest.flatten(
      trajectory_lib.slice_batch(trajectory, start,
                                 min(start + per_piece, size))))
          for start in range(0, size, per_piece)]


def decode_unrolls(piece, template):
  """The Trajectory of a piece; ``template`` gives the structure and dtypes
  (e.g. trajectory.empty(...) of the learner's spec)."""
  leaves = tf.nest.flatten(template)
  arrays = _unpack(piece, [tf.as_dtype(np.asarray(x).dtype) for x in leaves])
  for array, leaf in zip(arrays, leaves):
    expected = np.asarray(leaf).shape
    if array.ndim != len(expected):
      raise ValueError(f'an unroll field has shape {array.shape}, the learner '
                       f'expects rank {len(expected)}.')
  return tf.nest.pack_sequence_as(template, arrays)


def encode_parameters(tensors):
  """One parameter snapshot as byte chunks of at most MAX_BYTES."""
  blob = _pack([np.asarray(t) for t in tensors])
  return [blob[i:i + MAX_BYTES] for i in range(0, len(blob), MAX_BYTES)] or [
      b'']


def decode_parameters(chunks, dtypes):
  return _unpack(b''.join(chunks), dtypes)


def encode_episodes(records):
  """[(task_id, return, length)] -> one string."""
  records = list(records)
  return _pack([np.asarray([r[0] for r in records], np.int32),
                np.asarray([r[1] for r in records], np.float32),
                np.asarray([r[2] for r in records], np.int32)])


def decode_episodes(blob):
  task_ids, returns, lengths = _unpack(blob, [tf.int32, tf.float32, tf.int32])
  return list(zip(task_ids.tolist(), returns.tolist(), lengths.tolist()))
