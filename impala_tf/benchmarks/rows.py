"""One function per benchmark row; each returns measured rates.

Every measurement discards a warm-up (tracing, XLA compilation, emulator
start) and then times a fixed wall-clock window.
"""

import tempfile
import time

import numpy as np
import tensorflow as tf

from impala_tf import networks
from impala_tf import training_loop
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import Config
from impala_tf.envs import make_env
from impala_tf.learning import Learner
from impala_tf.learning.learner import dummy_trajectory


def _timed_loop(step, seconds, warmup_calls=3):
  """Calls step() for ``seconds`` after warm-up; returns (calls, elapsed)."""
  for _ in range(warmup_calls):
    step()
  calls, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    step()
    calls += 1
  return calls, time.perf_counter() - start


def env_steps_per_second(level, num_envs, vectorized, seconds, seed=0):
  """Environment alone, uniformly random actions."""
  env = make_env(level, num_envs=num_envs, seed=seed,
                 options=dict(vectorized=vectorized)
                 if level != 'catch' else None)
  rng = np.random.default_rng(seed)
  actions = rng.integers(0, env.spec.num_actions, size=(4096, num_envs))
  counter = [0]

  def step():
    env.step(actions[counter[0] % len(actions)])
    counter[0] += 1

  try:
    env.reset()
    calls, elapsed = _timed_loop(step, seconds)
  finally:
    env.close()
  return calls * num_envs / elapsed


def inference_steps_per_second(network, spec, batch_size, seconds,
                               core='feedforward', seed=0):
  """Batched forward pass + sampling, as actors call it (one call a step)."""
  policy = ActingPolicy(networks.build_agent(network, spec, core=core), spec,
                        seed)
  rng = np.random.default_rng(seed)
  frame = rng.integers(0, 256, (batch_size,) + spec.observation_shape,
                       dtype=np.uint8)
  last_action = np.zeros(batch_size, np.int32)
  reward = np.zeros(batch_size, np.float32)
  done = np.zeros(batch_size, bool)
  instruction = (np.array(['pick the red balloon'] * batch_size)
                 if spec.has_instruction else None)
  state = [policy.initial_state(batch_size)]

  def step():
    action, _, _, state[0] = policy.step(last_action, reward, done, frame,
                                         instruction, state[0])
    action.numpy()

  calls, elapsed = _timed_loop(step, seconds)
  return calls * batch_size / elapsed


def learner_rates(network, spec, core, batch_size, unroll_length, seconds,
                  xla=False, seed=0):
  """Learner alone on random batches: (updates/s, agent steps consumed/s)."""
  config = Config(level_name=spec.name, batch_size=batch_size,
                  unroll_length=unroll_length, network=network, core=core,
                  xla=xla, num_action_repeats=spec.frames_per_step).validate()
  learner = Learner(config, spec,
                    lambda: networks.build_agent(network, spec, core=core))
  rng = np.random.default_rng(seed)
  batch = dummy_trajectory(spec, learner.agent, unroll_length, batch_size)
  batch = batch._replace(
      frame=rng.integers(0, 256, batch.frame.shape, dtype=np.uint8),
      action=rng.integers(0, spec.num_actions, batch.action.shape).astype(
          np.int32),
      reward=rng.normal(size=batch.reward.shape).astype(np.float32))
  placed = learner.place(batch)

  def step():
    learner.step(placed)

  calls, elapsed = _timed_loop(step, seconds, warmup_calls=2)
  updates = calls / elapsed
  return updates, updates * batch_size * unroll_length


def end_to_end_steps_per_second(config, seconds, warmup_seconds=15.0):
  """The full one-machine runtime; agent steps consumed by the learner per s.

  Returns:
    (agent steps/s over the window after warm-up, peak RSS in MB of the
    process so far).
  """
  samples = []

  def on_update(frames, _):
    samples.append((time.perf_counter(), frames))

  with tempfile.TemporaryDirectory() as logdir:
    config = config.replace(logdir=logdir, checkpoint_secs=1e9,
                            progress_secs=1e9, summary_secs=1e9)
    training_loop.train(config, install_signal_handlers=False,
                        max_seconds=warmup_seconds + seconds,
                        on_update=on_update)
  if not samples:
    raise RuntimeError('end-to-end run made no update; raise --seconds.')
  start = samples[0][0] + warmup_seconds
  window = [(t, f) for t, f in samples if t >= start]
  if len(window) < 2:
    raise RuntimeError('too few updates after warm-up; raise --seconds.')
  (t0, f0), (t1, f1) = window[0], window[-1]
  return (f1 - f0) / config.num_action_repeats / (t1 - t0)


def pipeline_bound(env, inference, learner):
  """Steps/s if the three parts ran one after another at their own rates."""
  return 1.0 / (1.0 / env + 1.0 / inference + 1.0 / learner)
