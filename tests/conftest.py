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


# pylint: disable=g-import-not-at-top,g-bad-import-order
import importlib.util
import pathlib
import sys

import pytest

_FAKE_LAB_PATH = pathlib.Path(__file__).parent / 'fakes' / 'fake_deepmind_lab.py'


@pytest.fixture
def fake_lab(monkeypatch):
  """A freshly loaded fake deepmind_lab module (tests/fakes, a stand-in:
  DeepMind Lab cannot be installed here) installed in sys.modules."""
  module_spec = importlib.util.spec_from_file_location('deepmind_lab',
                                                       _FAKE_LAB_PATH)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  monkeypatch.setitem(sys.modules, 'deepmind_lab', module)
  return module


@pytest.fixture(scope='session')
def mirrored_strategy():
  """One MirroredStrategy over the 2 logical CPUs for the whole session.

  Several MirroredStrategy objects over the same devices in one process can
  collide on collective-op keys, so tests share this one.
  """
  devices = [d.name for d in tf.config.list_logical_devices('CPU')]
  assert len(devices) >= 2, 'expected 2 logical CPU devices'
  return tf.distribute.MirroredStrategy(devices[:2])
