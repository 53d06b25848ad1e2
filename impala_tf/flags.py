"""absl flags generated from the Config fields, so both stay in step.

  define_config_flags() -> None      (once per binary)
  config_from_flags(FLAGS) -> Config
  config_from_flagfile(path, **overrides) -> Config   (absl's own parsing)

Each flag's help text is the field's ``metadata['help']`` in impala_tf.config.
Like the config, this module does not import TensorFlow.
"""

import dataclasses

from absl import flags

from impala_tf.config import Config, help_text

_DEFINE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, str: flags.DEFINE_string}


def define_config_flags(flag_values=flags.FLAGS):
  for field in dataclasses.fields(Config):
    _DEFINE[field.type](field.name, field.default, help_text(field),
                  flag_values=flag_values)


def config_from_flags(flag_values) -> Config:
  return Config(**{f.name: flag_values[f.name].value
                   for f in dataclasses.fields(Config)})


def config_from_flagfile(path, **overrides) -> Config:
  """The Config a binary would build from ``--flagfile=path``."""
  flag_values = flags.FlagValues()
  define_config_flags(flag_values)
  flag_values(['config_from_flagfile', f'--flagfile={path}'])
  return config_from_flags(flag_values).replace(**overrides)
