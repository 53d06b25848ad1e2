"""No-op start counts drawn exactly as ale-py's C++ vector env draws them.

    sampler = NoopSampler(noop_max); sampler.seed(s); sampler.sample() -> int

ale-py 0.12's ``PreprocessedEnv`` keeps a ``std::mt19937`` seeded with the
copy's seed and, at every reset, plays
``std::uniform_int_distribution<int>(0, max(noop_max - 1, 0))(rng)`` NOOP
frames. To give the Python path the same start states we replay that:

* ``std::mt19937(s)`` is the reference MT19937 with ``init_genrand(s)``, the
  same initialisation numpy's legacy ``RandomState(s)`` uses, so numpy's
  ``MT19937`` bit generator loaded with that state yields the same 32-bit words.
* libstdc++ (GCC >= 11) maps a 32-bit word ``x`` to ``[0, n)`` with Lemire's
  multiply-shift: ``(x * n) >> 32``, rejecting ``x`` when the low 32 bits of
  the product fall below ``2**32 mod n`` (``-n mod n`` in unsigned maths).

tests/test_atari_env.py checks the counts against the vector env (its
``episode_frame_number`` after reset equals the number of no-op frames).
"""

import numpy as np

_MASK32 = 0xFFFFFFFF


class NoopSampler:
  """Draws no-op counts in {0, ..., max(noop_max - 1, 0)}."""

  def __init__(self, noop_max: int):
    self._range = max(int(noop_max), 1)  # Values in [0, range).
    self._threshold = (1 << 32) % self._range  # Unsigned 32-bit -n mod n.
    self._bits = None

  def seed(self, seed: int) -> None:
    legacy = np.random.RandomState(int(seed) & _MASK32)  # init_genrand(seed).
    self._bits = np.random.MT19937()
    self._bits.state = legacy.get_state(legacy=False)

  def sample(self) -> int:
    if self._bits is None:
      raise RuntimeError('NoopSampler.seed() must be called before sample().')
    product = int(self._bits.random_raw()) * self._range
    if (product & _MASK32) < self._range:
      while (product & _MASK32) < self._threshold:
        product = int(self._bits.random_raw()) * self._range
    return product >> 32
