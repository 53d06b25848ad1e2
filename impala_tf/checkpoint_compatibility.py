"""Checks that objects fit a checkpoint before restoring into them.

  check_compatible(path, prefix, trackables) -> None or CheckpointMismatchError

The live objects are written to an in-memory scratch checkpoint and compared
with the saved one variable by variable (names, shapes, dtypes), so a failed
restore never leaves a model half overwritten.
"""

import uuid

import tensorflow as tf

_TF_PREFIX = 'variables'
_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'


class CheckpointMismatchError(ValueError):
  """A checkpoint does not fit the objects it is restored into."""


def _variable_specs(prefix):
  """{checkpoint key: (shape tuple, dtype)} of the variables in a checkpoint."""
  reader = tf.compat.v1.train.NewCheckpointReader(prefix)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  return {key: (tuple(shape), dtypes[key]) for key, shape in shapes.items()
          if key != _GRAPH_KEY}


def _pretty_key(key):
  return key.replace('/.ATTRIBUTES/VARIABLE_VALUE', '')


def _describe(spec):
  shape, dtype = spec
  return f'{dtype.name}{list(shape)}'


def check_compatible(path, prefix, trackables):
  """Raises CheckpointMismatchError unless ``trackables`` fit the checkpoint.

  Compares variable keys, shapes and dtypes before anything is overwritten.

  Args:
    path: checkpoint directory (for the message).
    prefix: the TF checkpoint prefix inside it.
    trackables: {name: trackable} to be restored.
  """
  scratch = f'ram://impala_tf_restore_check/{uuid.uuid4().hex}'
  try:
    current_prefix = tf.train.Checkpoint(**trackables).write(
        scratch + '/' + _TF_PREFIX)
    current = _variable_specs(current_prefix)
  finally:
    try:
      tf.io.gfile.rmtree(scratch)
    except tf.errors.OpError:
      pass
  saved = {key: spec for key, spec in _variable_specs(prefix).items()
           if key.split('/', 1)[0] in trackables}
  problems = []
  for key in sorted(set(saved) & set(current)):
    if saved[key] != current[key]:
      problems.append(f'{_pretty_key(key)} is {_describe(saved[key])} in '
                      f'the checkpoint but {_describe(current[key])} here')
  missing = sorted(set(current) - set(saved))
  if missing:
    problems.append('not in the checkpoint: ' +
                    ', '.join(_pretty_key(k) for k in missing))
  unbuilt = sorted(set(saved) - set(current))
  if unbuilt:
    problems.append('no variable to restore into (different architecture, '
                    'or model/optimiser slots not built yet): ' +
                    ', '.join(_pretty_key(k) for k in unbuilt))
  if problems:
    shown = problems[:8]
    if len(problems) > len(shown):
      shown.append(f'... and {len(problems) - len(shown)} more')
    raise CheckpointMismatchError(
        f'Checkpoint {path} does not match the objects to restore: ' +
        '; '.join(shown) + '.')
