"""Convolutional torsos: uint8 frames -> 256 features.

  ShallowTorso()(frames [N, H, W, C] uint8) -> [N, 256]
  DeepTorso()(frames [N, H, W, C] uint8) -> [N, 256]

Frames stay uint8 until here and are scaled to [0, 1] as the first op.

Shallow (paper: "2 conv layers, ~1.2M parameters" with the LSTM agent on
DMLab): Conv 16 8x8/4 -> ReLU -> Conv 32 4x4/2 -> ReLU -> Linear 256 -> ReLU,
VALID padding (the padding that gives the paper's parameter count; the
released code has no shallow torso, and SAME padding would give ~1.54M).

Deep (paper: 15 conv layers, ~1.6M parameters; the released code's torso):
three sections of (channels, residual blocks) = (16, 2), (32, 2), (32, 2);
each section is Conv 3x3/1 SAME -> MaxPool 3x3/2 SAME -> blocks of
[ReLU -> Conv 3x3 -> ReLU -> Conv 3x3] + skip; then ReLU -> Linear 256 -> ReLU.
"""

import sonnet as snt
import tensorflow as tf


def _to_float(frames):
  if frames.dtype != tf.uint8:
    raise TypeError(f'frames must be uint8 (kept compact until the torso), '
                    f'got {frames.dtype.name}.')
  return tf.cast(frames, tf.float32) / 255.0


class ShallowTorso(snt.Module):
  """Two conv layers and a 256-unit linear layer."""

  def __init__(self, name='shallow_torso'):
    super().__init__(name=name)
    self._conv1 = snt.Conv2D(16, 8, stride=4, padding='VALID', name='conv1')
    self._conv2 = snt.Conv2D(32, 4, stride=2, padding='VALID', name='conv2')
    self._linear = snt.Linear(256, name='linear')

  def __call__(self, frames):
    x = _to_float(frames)
    x = tf.nn.relu(self._conv1(x))
    x = tf.nn.relu(self._conv2(x))
    x = snt.Flatten()(x)
    return tf.nn.relu(self._linear(x))


class _ResidualBlock(snt.Module):

  def __init__(self, channels, name):
    super().__init__(name=name)
    self._conv_a = snt.Conv2D(channels, 3, padding='SAME', name='conv_a')
    self._conv_b = snt.Conv2D(channels, 3, padding='SAME', name='conv_b')

  def __call__(self, x):
    out = self._conv_a(tf.nn.relu(x))
    out = self._conv_b(tf.nn.relu(out))
    return x + out


class DeepTorso(snt.Module):
  """The 15-conv-layer residual torso."""

  SECTIONS = ((16, 2), (32, 2), (32, 2))

  def __init__(self, name='deep_torso'):
    super().__init__(name=name)
    self._sections = []
    for i, (channels, num_blocks) in enumerate(self.SECTIONS):
      conv = snt.Conv2D(channels, 3, padding='SAME', name=f'section{i}_conv')
      blocks = [_ResidualBlock(channels, name=f'section{i}_block{j}')
                for j in range(num_blocks)]
      self._sections.append((conv, blocks))
    self._linear = snt.Linear(256, name='linear')

  def __call__(self, frames):
    x = _to_float(frames)
    for conv, blocks in self._sections:
      x = conv(x)
      x = tf.nn.max_pool2d(x, ksize=3, strides=2, padding='SAME')
      for block in blocks:
        x = block(x)
    x = snt.Flatten()(tf.nn.relu(x))
    return tf.nn.relu(self._linear(x))
