"""Tells whether a checkpoint's own files are intact, before restoring it.

  read_intact(path) -> (meta dict, extra dict), or CheckpointCorruptError

"Intact" concerns the files alone, not the objects they are restored into
(that is checkpoint_compatibility): ``meta.json`` and ``extra.json`` parse as
JSON objects, TensorFlow opens ``variables.index``, and every tensor reads
back from the data file. TensorFlow stores a crc32c checksum per tensor and
verifies it on every read, so a flipped bit or a truncated file shows here.
"""

import json
import os

import tensorflow as tf

TF_PREFIX = 'variables'
EXTRA_FILE = 'extra.json'
META_FILE = 'meta.json'

# What TensorFlow's checkpoint reader raises on damaged files: OpError
# (checksum mismatch, bad sstable), IndexError (data file too short).
_READER_ERRORS = (tf.errors.OpError, IndexError, ValueError, OSError)


class CheckpointCorruptError(ValueError):
  """Checkpoint files are unreadable or damaged (not: a different model).

  Attributes:
    problems: [(checkpoint path, reason)] of every checkpoint concerned.
  """

  def __init__(self, message, problems):
    super().__init__(message)
    self.problems = list(problems)


def corrupt_error(path, reason):
  """The CheckpointCorruptError of one checkpoint."""
  return CheckpointCorruptError(
      f'Checkpoint {path} is unreadable or corrupt: {reason}.',
      [(path, reason)])


def one_line(error):
  """A short one-line description of an exception (TF messages are long)."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  text = lines[0] if lines else type(error).__name__
  if text.startswith('{{function_node'):  # TF op wrapper prefix.
    text = text.split('}}', 1)[-1].strip() or text
  return text[:300]


def read_json_object(path, name):
  """The dict in file ``name`` of checkpoint directory ``path``."""
  try:
    with open(os.path.join(path, name), encoding='utf-8') as f:
      value = json.load(f)
  except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError.
    raise corrupt_error(path, f'{name} is not valid JSON: {one_line(e)}') from e
  if not isinstance(value, dict):
    raise corrupt_error(path, f'{name} holds a {type(value).__name__}, not '
                        'a JSON object')
  return value


def meta_problem(meta):
  """Why a parsed meta.json cannot be the one save() wrote, or None."""
  step = meta.get('step')
  if step is not None and (not isinstance(step, int) or
                           isinstance(step, bool) or step < 0):
    return f'its step is {step!r}, not an integer >= 0'
  names = meta.get('trackables')
  if names is not None and not (
      isinstance(names, list) and all(isinstance(n, str) for n in names)):
    return f'its trackables are {names!r}, not a list of names'
  return None


def check_tensors(path):
  """Reads every tensor of the TF checkpoint in ``path`` once.

  Raises CheckpointCorruptError if the index cannot be opened or a tensor
  does not read back with its stored checksum.
  """
  try:
    reader = tf.train.load_checkpoint(os.path.join(path, TF_PREFIX))
    for key in sorted(reader.get_variable_to_shape_map()):
      reader.get_tensor(key)
  except _READER_ERRORS as e:
    raise corrupt_error(path, f'{TF_PREFIX}.* unreadable: {one_line(e)}') from e


def read_intact(path):
  """Checks all files of checkpoint directory ``path``.

  Returns:
    (meta, extra): the parsed meta.json and extra.json dicts.

  Raises:
    CheckpointCorruptError: naming ``path`` and the first problem found.
  """
  meta = read_json_object(path, META_FILE)
  problem = meta_problem(meta)
  if problem:
    raise corrupt_error(path, f'{META_FILE} is damaged: {problem}')
  extra = read_json_object(path, EXTRA_FILE)
  check_tensors(path)
  return meta, extra
