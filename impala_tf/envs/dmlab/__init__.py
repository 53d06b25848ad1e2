"""DeepMind Lab family: the 30 DMLab-30 levels with the paper's settings.

    LEVELS                      -> the 30 training-level names
    spec(level, **options)      -> EnvSpec((72, 96, 3), 9 actions, instruction)
    make(level, num_envs, seed, mode, **options) -> DmLabEnv (a BatchedEnv)

Options: ``dataset_path`` (directory of the brady_konkle_oliva2008 images,
required by psychlab_arbitrary_visuomotor_mapping and
psychlab_continuous_recognition), ``renderer`` ('software' by default, or
'hardware'), ``level_cache`` (a DMLab level cache object) and ``extra_config``
(extra DMLab config entries).

Importing this package or calling ``spec`` does not import ``deepmind_lab``;
``make`` does, and raises ``DeepMindLabNotInstalledError`` when it is missing.
"""

from impala_tf.envs.dmlab.actions import ACTION_NAMES, ACTION_SET, NUM_ACTIONS
from impala_tf.envs.dmlab.env import (DatasetPathRequiredError,
                                      DeepMindLabNotInstalledError, DmLabEnv,
                                      make, spec)
from impala_tf.envs.dmlab.levels import (ACCEPTED_LEVELS, HELD_OUT_LEVELS,
                                         LEVEL_MAPPING, LEVELS, TEST_LEVELS)

__all__ = ['ACCEPTED_LEVELS', 'ACTION_NAMES', 'ACTION_SET',
           'DatasetPathRequiredError', 'DeepMindLabNotInstalledError',
           'DmLabEnv', 'HELD_OUT_LEVELS', 'LEVEL_MAPPING', 'LEVELS',
           'NUM_ACTIONS', 'TEST_LEVELS', 'make', 'spec']
