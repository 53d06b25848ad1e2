"""Atari options and constants shared by the two implementations.

    AtariConfig.from_options(mode, **options) -> AtariConfig (validated)
    copy_seeds(seed, num_envs) -> [num_envs] int64, one seed per copy

Protocol constants follow the paper's Table G.1: 84x84 greyscale frames, 4
frames stacked (newest last), action repeat 4 with a max over the last 2
frames, 108,000-frame episode cap, raw (unclipped) rewards.

Options (keyword arguments of ``make``/``spec``):
  full_action_space (bool, False): all 18 ALE actions instead of the game's
    minimal set, on every game (those a game lacks map to the nearest legal
    action, see ``actions.py``); the paper's multi-task agent (Table 4) uses
    the full set.
  sticky_actions (float, 0.0): ALE ``repeat_action_probability``; each
    emulator frame repeats the previous action with this probability
    (Machado et al. 2018 use 0.25; the paper uses 0).
  noop_max (int, 30): no-op starts. After every reset a number of NOOP
    frames drawn uniformly from {0, ..., noop_max - 1} is played (the
    convention of ale-py's native vector env, which has no way to draw from
    {1, ..., noop_max}; see ``noop_sampler``). 0 or 1 disables them.
  max_episode_frames (int, 108000): emulator frames (not counting no-ops)
    after which a game is truncated; 108,000 frames = 27,000 agent steps.
  vectorized (bool or None, None): True uses ale-py's C++ AtariVectorEnv
    (``vector.py``), False steps one gymnasium ALE env per copy in Python
    (``single.py``); both have the same semantics (tests compare them step by
    step). None picks the vector env when num_envs > 1 (on 2 cores, pong:
    ~4.6K agent steps/s for 8 copies vs ~3.3K for the Python loop) and the
    Python path for a single copy (equally fast, ~3.2-3.3K steps/s, and it
    starts no C++ worker thread).
  num_threads (int, 0): worker threads of the vector env; 0 = min(num_envs,
    number of CPUs).

Neither path presses FIRE at reset: the paper's protocol has no fire reset,
and ale-py's vector env (use_fire_reset=True by default) is told not to.
"""

import dataclasses
from typing import Optional

import numpy as np

FRAME_HEIGHT = 84
FRAME_WIDTH = 84
STACK = 4
FRAMESKIP = 4
OBSERVATION_SHAPE = (FRAME_HEIGHT, FRAME_WIDTH, STACK)
DEFAULT_MAX_EPISODE_FRAMES = 108_000
DEFAULT_NOOP_MAX = 30

_OPTION_NAMES = ('full_action_space', 'sticky_actions', 'noop_max',
                 'max_episode_frames', 'vectorized', 'num_threads')


@dataclasses.dataclass(frozen=True)
class AtariConfig:
  """Validated options; ``life_loss_ends_episode`` follows from the mode."""
  full_action_space: bool = False
  sticky_actions: float = 0.0
  noop_max: int = DEFAULT_NOOP_MAX
  max_episode_frames: int = DEFAULT_MAX_EPISODE_FRAMES
  vectorized: Optional[bool] = None
  num_threads: int = 0
  life_loss_ends_episode: bool = True

  @classmethod
  def from_options(cls, mode: str = 'train', **options) -> 'AtariConfig':
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:
      raise TypeError(f'Unknown Atari option(s) {unknown}; valid options are '
                      f'{list(_OPTION_NAMES)}.')
    if mode not in ('train', 'test'):
      raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    config = cls(life_loss_ends_episode=(mode == 'train'), **options)
    if not 0.0 <= float(config.sticky_actions) <= 1.0:
      raise ValueError('sticky_actions is a probability in [0, 1], got '
                       f'{config.sticky_actions!r}')
    if int(config.noop_max) < 0:
      raise ValueError(f'noop_max must be >= 0, got {config.noop_max!r}')
    if int(config.max_episode_frames) < 1:
      raise ValueError('max_episode_frames must be >= 1, got '
                       f'{config.max_episode_frames!r}')
    if int(config.num_threads) < 0:
      raise ValueError(f'num_threads must be >= 0, got {config.num_threads!r}')
    return config


def copy_seeds(seed: int, num_envs: int) -> np.ndarray:
  """Per-copy seeds: copy i gets a seed hashed from (seed, i), in [0, 2**31).

  The range fits the C++ ``int`` seed of ale-py's vector env and ALE's
  ``random_seed`` setting; both implementations use these same numbers.
  """
  seeds = [np.random.SeedSequence([int(seed) % (1 << 64), i]).generate_state(
      1, dtype=np.uint32)[0] & 0x7FFFFFFF for i in range(num_envs)]
  return np.asarray(seeds, dtype=np.int64)


def check_actions(actions, num_envs: int, num_actions: int) -> np.ndarray:
  """Validates a [num_envs] batch of action indices; returns it as int32."""
  array = np.asarray(actions)
  if array.shape != (num_envs,) or not (
      np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
    raise ValueError(f'actions must be {num_envs} integers, got shape '
                     f'{array.shape} dtype {array.dtype}')
  if array.size and (array.min() < 0 or array.max() >= num_actions):
    raise ValueError(f'actions must be in [0, {num_actions}), got '
                     f'{array.tolist()}')
  return array.astype(np.int32)
