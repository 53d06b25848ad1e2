"""One function per benchmark row; each returns a Measurement.

Every row first runs an unmeasured warm-up (tracing, emulator start), then
measures until BOTH a minimum wall time has passed AND a minimum amount of
work is done, so that ``min_seconds=0`` measures a fixed amount of work
however fast or slow the machine is. Wall and CPU time are read at the two
ends of the window (impala_tf.benchmarks.measure).
"""

import tempfile

import numpy as np

from impala_tf import builder
from impala_tf import networks
from impala_tf import trajectory as trajectory_lib
from impala_tf import training_loop
from impala_tf.acting.policy import ActingPolicy
from impala_tf.benchmarks.measure import Measurement, read_clock, repeat
from impala_tf.benchmarks.window import UpdateWindow
from impala_tf.config import Config
from impala_tf.envs import make_env


def measure_env(level, num_envs, vectorized, min_seconds, min_steps, seed=0):
  """Environment alone, uniformly random actions.

  Args:
    level: level name.
    num_envs: copies stepped together (one call = num_envs agent steps).
    vectorized: ale-py's C++ vector env (True) or the Python path (False).
    min_seconds: minimum wall time of the window.
    min_steps: minimum agent steps of the window (>= 1).
  """
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
    calls, start, end = repeat(step, min_seconds, -(-min_steps // num_envs),
                               warmup_calls=3)
  finally:
    env.close()
  return Measurement.between(start, end, calls * num_envs,
                             env.spec.frames_per_step)


def measure_inference(network, spec, batch_size, min_seconds, min_calls,
                      core='feedforward', seed=0):
  """Batched forward pass + sampling as actors call it (one call = one agent
  step of ``batch_size`` environments), on random [B, H, W, C] frames."""
  policy = ActingPolicy(networks.build_agent(network, spec, core=core), spec,
                        seed)
  rng = np.random.default_rng(seed)
  frame = rng.integers(0, 256, (batch_size,) + tuple(spec.observation_shape),
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

  calls, start, end = repeat(step, min_seconds, min_calls, warmup_calls=3)
  return Measurement.between(start, end, calls * batch_size,
                             spec.frames_per_step)


def random_batch(spec, agent, batch_size, unroll_length, seed=0):
  """A Trajectory of [T+1, B] random frames, actions and rewards."""
  width = networks.MAX_WORDS if spec.has_instruction else 0
  batch = trajectory_lib.empty(spec, unroll_length, batch_size, width,
                               agent.initial_state(batch_size))
  rng = np.random.default_rng(seed)
  return batch._replace(
      frame=rng.integers(0, 256, batch.frame.shape, dtype=np.uint8),
      action=rng.integers(0, spec.num_actions, batch.action.shape).astype(
          np.int32),
      reward=rng.normal(size=batch.reward.shape).astype(np.float32))


def measure_learner(network, spec, core, batch_size, unroll_length,
                    min_seconds, min_updates, xla=False, seed=0):
  """Learner alone on one random batch placed once; agent steps consumed =
  updates x batch_size x unroll_length. The note gives updates/s."""
  config = Config(level_name=spec.name, batch_size=batch_size,
                  unroll_length=unroll_length, network=network, core=core,
                  xla=xla, num_action_repeats=spec.frames_per_step).validate()
  learner = builder.make_learner(
      config, spec, lambda: networks.build_agent(network, spec, core=core))
  placed = learner.place(random_batch(spec, learner.agent, batch_size,
                                      unroll_length, seed))

  def step():
    learner.step(placed)

  calls, start, end = repeat(step, min_seconds, min_updates, warmup_calls=2)
  return Measurement.between(
      start, end, calls * batch_size * unroll_length, spec.frames_per_step,
      notes=f'{calls / (end.wall - start.wall):.2f} updates/s')


class _WindowComplete(Exception):
  """Raised from the update callback to end the run once measured."""


def measure_end_to_end(config, min_seconds, min_updates, warmup_seconds,
                       warmup_updates):
  """The full one-machine runtime (training_loop.train) on ``config``.

  Work = agent steps consumed by the learner. The run is stopped as soon as
  the window is complete: by train's own ``max_updates`` when the window is
  fixed work only (both times 0), otherwise by the update callback raising,
  which train lets through after stopping its threads.

  Raises:
    RuntimeError: the run ended before the window was complete.
  """
  window = UpdateWindow(warmup_updates, warmup_seconds, min_updates,
                        min_seconds)
  fixed_work = min_seconds == 0 and warmup_seconds == 0

  def on_update(frames, _):
    if window.add(read_clock(), frames) and not fixed_work:
      raise _WindowComplete()

  with tempfile.TemporaryDirectory() as logdir:
    config = config.replace(logdir=logdir, checkpoint_secs=1e9,
                            progress_secs=1e9, summary_secs=1e9)
    try:
      training_loop.train(
          config, install_signal_handlers=False,
          max_updates=warmup_updates + min_updates if fixed_work else None,
          on_update=on_update)
    except _WindowComplete:
      pass
  if window.end is None:
    raise RuntimeError(
        f'the end-to-end run stopped after {window.updates} updates, before '
        'its measuring window was complete.')
  return window.measurement(config.num_action_repeats)
