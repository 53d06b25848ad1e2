"""Test-wide set-up: two logical CPU devices, so that multi-device code
(MirroredStrategy) is tested on this GPU-less machine. It must run before
TensorFlow initialises its devices, hence at import time of this conftest."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # pylint: disable=g-import-not-at-top

NUM_LOGICAL_CPUS = 2

_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * NUM_LOGICAL_CPUS)
