"""Throughput of the two Atari paths: agent steps per second, random actions.

    python -m impala_tf.envs.atari.speed [--game pong] [--seconds 10]
        [--configs python:1,native:1,native:8,native:16]

Prints one line per configuration: path, num_envs, agent steps/s (summed over
the batch) and frames/s (= 4 x steps/s). Actions are drawn before timing
starts; the timed loop only steps the environment (mode 'train', defaults).
"""

import sys
import time
from typing import List, NoReturn, Sequence, Tuple

from absl import app
from absl import flags
import numpy as np

from impala_tf.envs import atari

PATHS = ('python', 'native')

flags.DEFINE_string('game', 'pong', 'Atari game (snake_case, e.g. pong).')
flags.DEFINE_float('seconds', 10.0, 'Measured wall seconds per configuration.')
flags.DEFINE_list('configs', ['python:1', 'native:1', 'native:8', 'native:16'],
                  'Comma list of path:num_envs, path in {python, native}.')
FLAGS = flags.FLAGS


def parse_configs(items: Sequence[str]) -> List[Tuple[str, int]]:
  """['native:8', ...] -> [('native', 8), ...]; ValueError naming the item."""
  if not items:
    raise ValueError('give at least one path:num_envs, e.g. native:8')
  configs = []
  for item in items:
    path, sep, count = item.strip().partition(':')
    if not sep or path not in PATHS:
      raise ValueError(f'{item!r} is not path:num_envs with path python or '
                       'native (e.g. native:8)')
    try:
      num_envs = int(count)
    except ValueError:
      num_envs = 0
    if num_envs < 1:
      raise ValueError(f'{item!r}: num_envs must be an integer >= 1')
    configs.append((path, num_envs))
  return configs


def measure(game: str, vectorized: bool, num_envs: int, seconds: float,
            seed: int = 0) -> float:
  """Agent steps per second of ``num_envs`` copies over about ``seconds``."""
  env = atari.make(game, num_envs=num_envs, seed=seed, mode='train',
                   vectorized=vectorized)
  try:
    actions = np.random.default_rng(seed).integers(
        0, env.spec.num_actions, size=(4096, num_envs))
    env.reset()
    for i in range(20):  # Warm-up.
      env.step(actions[i])
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
      for i in range(50):
        env.step(actions[(steps + i) % len(actions)])
      steps += 50
    elapsed = time.perf_counter() - start
  finally:
    env.close()
  return steps * num_envs / elapsed


def _fail(message: str) -> NoReturn:
  sys.exit(f'impala_tf.envs.atari.speed: error: {message}')


def main(argv) -> None:
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}')
  try:
    configs = parse_configs(FLAGS.configs)
  except ValueError as e:
    _fail(f'--configs: {e}.')
  if FLAGS.game not in atari.GAMES:
    _fail(f'--game: {FLAGS.game!r} is not one of the 57 Atari games '
          '(snake_case names such as pong, ms_pacman).')
  print(f'game={FLAGS.game} seconds={FLAGS.seconds} (agent steps/s summed '
        'over the batch; 1 agent step = 4 frames)')
  for path, num_envs in configs:
    rate = measure(FLAGS.game, path == 'native', num_envs, FLAGS.seconds)
    print(f'{path:>6} num_envs={num_envs:3d}  {rate:8.0f} steps/s  '
          f'{4 * rate:8.0f} frames/s', flush=True)


if __name__ == '__main__':
  app.run(main)
