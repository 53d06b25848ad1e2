"""Throughput of the two Atari paths: agent steps per second, random actions.

    python -m impala_tf.envs.atari.speed [--game pong] [--seconds 10]
        [--configs python:1,native:1,native:8,native:16]

Prints one line per configuration: path, num_envs, agent steps/s (summed over
the batch) and frames/s (= 4 x steps/s). Actions are drawn before timing
starts; the timed loop only steps the environment (mode 'train', defaults).
"""

import argparse
import time

import numpy as np

from impala_tf.envs import atari


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


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--game', default='pong')
  parser.add_argument('--seconds', type=float, default=10.0)
  parser.add_argument('--configs', default='python:1,native:1,native:8,'
                      'native:16', help='comma list of path:num_envs')
  args = parser.parse_args(argv)
  print(f'game={args.game} seconds={args.seconds} (agent steps/s summed '
        'over the batch; 1 agent step = 4 frames)')
  for item in args.configs.split(','):
    path, num_envs = item.split(':')
    if path not in ('python', 'native'):
      raise SystemExit(f'unknown path {path!r} (python or native)')
    rate = measure(args.game, path == 'native', int(num_envs), args.seconds)
    print(f'{path:>6} num_envs={int(num_envs):3d}  {rate:8.0f} steps/s  '
          f'{4 * rate:8.0f} frames/s', flush=True)


if __name__ == '__main__':
  main()
