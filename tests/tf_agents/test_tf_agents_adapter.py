"""TFAgentsEnv over real tf_agents PyEnvironments (run by .ci/tf_agents.sh)."""

import functools
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tf_agents.environments import batched_py_environment
from tf_agents.environments import parallel_py_environment
from tf_agents.environments import py_environment
from tf_agents.environments import wrappers
from tf_agents.specs import array_spec
from tf_agents.system import system_multiprocessing
from tf_agents.trajectories import time_step as ts

from impala_tf.envs.spec import EnvOutput
from impala_tf.envs.tf_agents_adapter import TFAgentsEnv

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class PixelCatch(py_environment.PyEnvironment):
  """A ball falls one row per step onto a paddle on the bottom row.

  The ball starts in a random column at a random row in [min_start_row,
  max_start_row], so episode lengths differ. Actions are minimum + {0: left, 1: stay, 2: right}.
  The step that lands the ball is LAST with reward +1 (caught) or -1; other
  steps give a small reward so every step's reward is told apart. Like the
  TF-Agents tutorial environments, the step after LAST restarts the episode and
  ignores its action.
  """

  def __init__(self, seed=0, height=6, width=5, layout='hwc',
               action_minimum=-1, max_start_row=2, action_dtype=np.int32,
               min_start_row=0):
    super().__init__()
    self._rng = np.random.default_rng(seed)
    self._height, self._width = height, width
    self._layout = layout
    self._minimum = action_minimum
    self._start_rows = (min_start_row, max_start_row)
    self._action_dtype = action_dtype
    self._ended = True
    self.received_actions = []

  def observation_spec(self):
    h, w = self._height, self._width
    if self._layout == 'hwc':
      return array_spec.BoundedArraySpec((h, w, 1), np.uint8, 0, 255, 'frame')
    if self._layout == 'hw':
      return array_spec.ArraySpec((h, w), np.uint8, 'frame')
    if self._layout == 'dict':
      return {'pixels': array_spec.ArraySpec((h, w, 1), np.uint8)}
    raise ValueError(self._layout)

  def action_spec(self):
    return array_spec.BoundedArraySpec((), self._action_dtype,
                                       minimum=self._minimum,
                                       maximum=self._minimum + 2,
                                       name='action')

  def _observation(self):
    frame = np.zeros((self._height, self._width), np.uint8)
    frame[self._ball_row, self._ball_col] = 255
    frame[self._height - 1, self._paddle] = 128
    if self._layout == 'hw':
      return frame
    if self._layout == 'dict':
      return {'pixels': frame[..., None]}
    return frame[..., None]

  def _reset(self):
    self._ball_row = int(self._rng.integers(self._start_rows[0],
                                            self._start_rows[1] + 1))
    self._ball_col = int(self._rng.integers(0, self._width))
    self._paddle = self._width // 2
    self._ended = False
    return ts.restart(self._observation())

  def _step(self, action):
    if self._ended:
      return self.reset()
    action = np.asarray(action)
    assert action.shape == () and action.dtype == self._action_dtype, action
    self.received_actions.append(int(action))
    move = int(action) - self._minimum - 1
    self._paddle = int(np.clip(self._paddle + move, 0, self._width - 1))
    self._ball_row += 1
    if self._ball_row == self._height - 1:
      self._ended = True
      reward = 1.0 if self._paddle == self._ball_col else -1.0
      return ts.termination(self._observation(), reward)
    return ts.transition(self._observation(), reward=0.01 * self._ball_row)


class OpaqueBatch(py_environment.PyEnvironment):
  """A natively batched environment that does not expose its elements."""

  def __init__(self, seeds, **kwargs):
    super().__init__()
    self._inner = [PixelCatch(seed=s, **kwargs) for s in seeds]

  @property
  def batched(self):
    return True

  @property
  def batch_size(self):
    return len(self._inner)

  def observation_spec(self):
    return self._inner[0].observation_spec()

  def action_spec(self):
    return self._inner[0].action_spec()

  def _stack(self, steps):
    return ts.TimeStep(*[np.stack(x) for x in zip(*steps)])

  def _reset(self):
    return self._stack([e.reset() for e in self._inner])

  def _step(self, actions):
    return self._stack([e.step(a) for e, a in zip(self._inner, actions)])


class SpecEnv(py_environment.PyEnvironment):
  """Never stepped: only carries the specs under test."""

  def __init__(self, observation_spec=None, action_spec=None, reward_spec=None):
    super().__init__()
    self._obs = observation_spec or array_spec.ArraySpec((4, 4, 3), np.uint8)
    self._act = action_spec or array_spec.BoundedArraySpec((), np.int64, 0, 3)
    self._rew = reward_spec

  def observation_spec(self):
    return self._obs

  def action_spec(self):
    return self._act

  def reward_spec(self):
    return self._rew if self._rew is not None else super().reward_spec()

  def _reset(self):
    raise NotImplementedError

  def _step(self, action):
    raise NotImplementedError


def _frame(observation):
  """A reference env's observation as [H, W, 1]."""
  if isinstance(observation, dict):
    observation = observation['pixels']
  observation = np.asarray(observation)
  return observation[..., None] if observation.ndim == 2 else observation


def _check_output_types(out, num_envs, shape):
  assert isinstance(out, EnvOutput)
  assert out.reward.shape == (num_envs,) and out.reward.dtype == np.float32
  assert out.done.shape == (num_envs,) and out.done.dtype == bool
  assert out.observation.shape == (num_envs,) + shape
  assert out.observation.dtype == np.uint8
  assert out.instruction is None
  assert out.episode_return.dtype == np.float32
  assert out.episode_step.dtype == np.int32
  assert out.game_over.dtype == bool
  np.testing.assert_array_equal(out.game_over, out.done)


class Reference:
  """Steps unbatched reference envs under TF-Agents' own protocol.

  Tracks what the adapter must report: when a reference env returns LAST, the
  expected output is that step's reward with done=True, and the observation of
  the FIRST time step that the reference env returns on the *next* call (its
  auto-reset, which ignores the action).
  """

  def __init__(self, envs, minimum):
    self.envs = envs
    self.minimum = minimum
    self.returns = np.zeros(len(envs))
    self.steps = np.zeros(len(envs), int)

  def reset(self):
    return np.stack([_frame(e.reset().observation) for e in self.envs])

  def step(self, actions):
    frames, rewards, dones, rets, lens = [], [], [], [], []
    for i, (env, action) in enumerate(zip(self.envs, actions)):
      time_step = env.step(np.int32(action + self.minimum))
      assert time_step.step_type != ts.StepType.FIRST
      self.returns[i] += time_step.reward
      self.steps[i] += 1
      rewards.append(float(time_step.reward))
      rets.append(self.returns[i])
      lens.append(self.steps[i])
      if time_step.is_last():
        dones.append(True)
        restart = env.step(np.int32(self.minimum))  # Action is ignored.
        assert restart.step_type == ts.StepType.FIRST
        frames.append(_frame(restart.observation))
        self.returns[i] = 0
        self.steps[i] = 0
      else:
        dones.append(False)
        frames.append(_frame(time_step.observation))
    return (np.stack(frames), np.array(rewards, np.float32), np.array(dones),
            np.array(rets, np.float32), np.array(lens))


def _run_against_reference(env, reference, num_steps, seed=123):
  """Drives both with the same random actions; returns the done history."""
  rng = np.random.default_rng(seed)
  out = env.reset()
  _check_output_types(out, env.num_envs, env.spec.observation_shape)
  np.testing.assert_array_equal(out.observation, reference.reset())
  assert not out.done.any() and not out.game_over.any()
  np.testing.assert_array_equal(out.reward, 0)
  np.testing.assert_array_equal(out.episode_step, 0)
  dones = []
  for _ in range(num_steps):
    actions = rng.integers(0, env.spec.num_actions, size=env.num_envs)
    out = env.step(actions)
    frames, rewards, done, rets, lens = reference.step(actions)
    _check_output_types(out, env.num_envs, env.spec.observation_shape)
    np.testing.assert_array_equal(out.done, done)
    np.testing.assert_array_equal(out.reward, rewards)
    np.testing.assert_array_equal(out.observation, frames)
    np.testing.assert_allclose(out.episode_return, rets, rtol=1e-5)
    np.testing.assert_array_equal(out.episode_step, lens)
    dones.append(done)
  return np.array(dones)


# -- spec translation -------------------------------------------------------


def test_spec_of_unbatched_env():
  env = TFAgentsEnv(PixelCatch())
  assert env.num_envs == 1
  assert env.spec.observation_shape == (6, 5, 1)
  assert env.spec.num_actions == 3
  assert env.spec.has_instruction is False
  assert env.spec.frames_per_step == 1
  assert env.spec.name == 'pixel_catch'
  assert env.action_minimum == -1


def test_name_and_frames_per_step_are_recorded():
  env = TFAgentsEnv(PixelCatch(), frames_per_step=4, name='catch_tfa')
  assert env.spec.name == 'catch_tfa'
  assert env.spec.frames_per_step == 4


def test_spec_of_batched_env():
  batch = batched_py_environment.BatchedPyEnvironment(
      [PixelCatch(seed=i) for i in range(3)], multithreading=False)
  env = TFAgentsEnv(batch)
  assert env.num_envs == 3
  assert env.spec.observation_shape == (6, 5, 1)
  assert env.spec.num_actions == 3
  assert env.spec.name == 'pixel_catch'  # From the first element.


def test_hw_observation_gets_a_channel_axis():
  env = TFAgentsEnv(PixelCatch(layout='hw'))
  assert env.spec.observation_shape == (6, 5, 1)
  out = env.reset()
  assert out.observation.shape == (1, 6, 5, 1)


def test_dict_observation_with_one_entry():
  env = TFAgentsEnv(PixelCatch(layout='dict'))
  assert env.spec.observation_shape == (6, 5, 1)
  reference = Reference([PixelCatch(layout='dict')], minimum=-1)
  _run_against_reference(env, reference, num_steps=12)


def test_dict_observation_with_several_entries_needs_a_key():
  spec = {'rgb': array_spec.ArraySpec((8, 9, 3), np.uint8),
          'pos': array_spec.ArraySpec((2,), np.float32)}
  with pytest.raises(ValueError, match=r"observation_key=\.\.\..*\['rgb', "
                                       r"'pos'\]"):
    TFAgentsEnv(SpecEnv(observation_spec=spec))
  env = TFAgentsEnv(SpecEnv(observation_spec=spec), observation_key='rgb')
  assert env.spec.observation_shape == (8, 9, 3)
  with pytest.raises(ValueError, match=r"entry 'pos'.*float32.*uint8"):
    TFAgentsEnv(SpecEnv(observation_spec=spec), observation_key='pos')
  with pytest.raises(ValueError, match=r"'depth' is not in the observation"):
    TFAgentsEnv(SpecEnv(observation_spec=spec), observation_key='depth')


def test_observation_key_on_a_plain_spec_is_an_error():
  with pytest.raises(ValueError, match='not a dict'):
    TFAgentsEnv(SpecEnv(), observation_key='rgb')


# -- episode-end convention -------------------------------------------------


def test_episode_end_convention_unbatched():
  env = TFAgentsEnv(PixelCatch(seed=7))
  reference = Reference([PixelCatch(seed=7)], minimum=-1)
  dones = _run_against_reference(env, reference, num_steps=60)
  assert dones.sum() >= 10  # Many episodes ended and were checked.


def test_episode_end_step_by_step():
  """One episode spelled out: the LAST reward and the FIRST observation."""
  raw = PixelCatch(seed=3, max_start_row=0)  # Episodes of exactly 5 steps.
  env = TFAgentsEnv(PixelCatch(seed=3, max_start_row=0))
  first = raw.reset()
  out = env.reset()
  np.testing.assert_array_equal(out.observation[0], first.observation)
  for t in range(1, 5):
    raw_step = raw.step(np.int32(0))  # Stay.
    out = env.step(np.array([1]))
    if t < 5 - 1:
      assert raw_step.step_type == ts.StepType.MID
      assert not out.done[0]
      np.testing.assert_array_equal(out.observation[0], raw_step.observation)
  last = raw.step(np.int32(0))
  out = env.step(np.array([1]))
  assert last.step_type == ts.StepType.LAST
  assert out.done[0] and out.game_over[0]
  assert out.reward[0] == last.reward  # The ending step's reward...
  assert out.episode_step[0] == 5
  np.testing.assert_allclose(out.episode_return[0],
                             0.01 * (1 + 2 + 3 + 4) + last.reward, rtol=1e-6)
  restart = raw.step(np.int32(0))  # TF-Agents resets one call later.
  assert restart.step_type == ts.StepType.FIRST
  # ...and already the next episode's first observation, not the LAST one.
  np.testing.assert_array_equal(out.observation[0], restart.observation)
  assert not np.array_equal(out.observation[0], last.observation)
  # The next step is the new episode's first transition.
  out = env.step(np.array([1]))
  raw_step = raw.step(np.int32(0))
  assert raw_step.step_type == ts.StepType.MID and not out.done[0]
  assert out.episode_step[0] == 1
  np.testing.assert_array_equal(out.observation[0], raw_step.observation)


@pytest.mark.parametrize('multithreading', [False, True])
def test_episode_end_convention_batched(multithreading):
  seeds = [11, 12, 13, 14]
  batch = batched_py_environment.BatchedPyEnvironment(
      [PixelCatch(seed=s) for s in seeds], multithreading=multithreading)
  with TFAgentsEnv(batch) as env:
    reference = Reference([PixelCatch(seed=s) for s in seeds], minimum=-1)
    dones = _run_against_reference(env, reference, num_steps=60)
  per_step = dones.sum(axis=1)
  assert dones.sum() >= 20
  # Some steps ended episodes in only part of the batch: the others went on.
  assert np.any((per_step > 0) & (per_step < len(seeds)))


def test_episode_end_convention_parallel():
  """ParallelPyEnvironment: elements live in processes, reset one by one."""
  system_multiprocessing.enable_interactive_mode()
  seeds = [21, 22, 23]
  parallel = parallel_py_environment.ParallelPyEnvironment(
      [functools.partial(PixelCatch, seed=s) for s in seeds])
  with TFAgentsEnv(parallel) as env:
    assert env.num_envs == 3
    assert env.spec.name == 'parallel_py_environment'
    assert env.spec.observation_shape == (6, 5, 1)
    reference = Reference([PixelCatch(seed=s) for s in seeds], minimum=-1)
    dones = _run_against_reference(env, reference, num_steps=40)
  per_step = dones.sum(axis=1)
  assert np.any((per_step > 0) & (per_step < len(seeds)))


def test_batched_env_whose_elements_all_end_together():
  seeds = [31, 32, 33]  # max_start_row=0: every episode lasts 5 steps.
  batch = batched_py_environment.BatchedPyEnvironment(
      [PixelCatch(seed=s, max_start_row=0) for s in seeds],
      multithreading=False)
  env = TFAgentsEnv(batch)
  reference = Reference([PixelCatch(seed=s, max_start_row=0) for s in seeds],
                        minimum=-1)
  dones = _run_against_reference(env, reference, num_steps=16)
  np.testing.assert_array_equal(dones.all(axis=1), dones.any(axis=1))
  assert dones.all(axis=1).sum() == 3


def test_batched_env_of_one():
  batch = batched_py_environment.BatchedPyEnvironment([PixelCatch(seed=5)],
                                                      multithreading=False)
  env = TFAgentsEnv(batch)
  assert env.num_envs == 1
  _run_against_reference(env, Reference([PixelCatch(seed=5)], minimum=-1),
                         num_steps=30)


def test_time_limit_truncation_is_an_episode_end():
  env = TFAgentsEnv(wrappers.TimeLimit(
      PixelCatch(seed=1, height=12, max_start_row=0), duration=3))
  reference = Reference([wrappers.TimeLimit(
      PixelCatch(seed=1, height=12, max_start_row=0), duration=3)], minimum=-1)
  dones = _run_against_reference(env, reference, num_steps=9)
  np.testing.assert_array_equal(dones[:, 0], [False, False, True] * 3)


def test_opaque_batched_env_resets_as_a_whole_when_all_end_together():
  seeds = [1, 2, 3]
  opaque = OpaqueBatch(seeds, max_start_row=0)  # Equal episode lengths.
  env = TFAgentsEnv(opaque)
  reference = Reference([PixelCatch(seed=s, max_start_row=0) for s in seeds],
                        minimum=-1)
  dones = _run_against_reference(env, reference, num_steps=15)
  assert dones.all(axis=1).sum() == 3 and dones.sum() == 9


def test_opaque_batched_env_cannot_end_part_of_the_batch():
  env = TFAgentsEnv(OpaqueBatch([1, 2, 3, 4]))  # Episode lengths differ.
  env.reset()
  with pytest.raises(RuntimeError, match='BatchedPyEnvironment'):
    for _ in range(20):
      env.step(np.ones(4, np.int64))


# -- actions ------------------------------------------------------------------


@pytest.mark.parametrize('minimum,dtype', [(-1, np.int32), (0, np.int64),
                                           (7, np.int32), (3, np.uint8)])
def test_actions_are_offset_by_the_spec_minimum(minimum, dtype):
  raw = PixelCatch(action_minimum=minimum, action_dtype=dtype)
  env = TFAgentsEnv(raw)
  assert env.spec.num_actions == 3
  env.reset()
  sent = [0, 1, 2, 2, 0, 1, 1, 0]
  for action in sent:
    env.step(np.array([action]))
  # 8 actions over episodes of <= 5 steps: the one on the step after a LAST is
  # not lost, since the adapter resets at the LAST itself.
  assert raw.received_actions == [a + minimum for a in sent]


def test_batched_actions_are_offset_per_element():
  envs = [PixelCatch(seed=i, action_minimum=10) for i in range(3)]
  env = TFAgentsEnv(batched_py_environment.BatchedPyEnvironment(
      envs, multithreading=False))
  env.reset()
  env.step(np.array([0, 1, 2]))
  env.step(np.array([2, 0, 1]))
  assert [e.received_actions for e in envs] == [[10, 12], [11, 10], [12, 11]]


def test_bad_actions_are_rejected():
  env = TFAgentsEnv(PixelCatch())
  with pytest.raises(RuntimeError, match=r'reset\(\) before step'):
    env.step(np.array([0]))
  env.reset()
  with pytest.raises(ValueError, match=r'in \[0, 3\)'):
    env.step(np.array([3]))
  with pytest.raises(ValueError, match=r'in \[0, 3\)'):
    env.step(np.array([-1]))
  with pytest.raises(ValueError, match=r'shape \(1,\)'):
    env.step(np.array([0, 1]))
  with pytest.raises(ValueError, match='integers'):
    env.step(np.array([0.5]))


def test_close_is_idempotent_and_final():
  env = TFAgentsEnv(batched_py_environment.BatchedPyEnvironment(
      [PixelCatch(seed=i) for i in range(2)], multithreading=True))
  env.reset()
  env.close()
  env.close()
  with pytest.raises(RuntimeError, match='closed'):
    env.reset()


# -- unsupported specs ----------------------------------------------------------


@pytest.mark.parametrize('spec,found', [
    (array_spec.ArraySpec((), np.int32), r'ArraySpec\(shape=\(\), dtype=int32'),
    (array_spec.BoundedArraySpec((2,), np.int32, 0, 3),
     r'shape=\(2,\), dtype=int32'),
    (array_spec.BoundedArraySpec((1,), np.int32, 0, 3),
     r'shape=\(1,\), dtype=int32'),
    (array_spec.BoundedArraySpec((), np.float32, -1.0, 1.0),
     r'shape=\(\), dtype=float32'),
    ({'move': array_spec.BoundedArraySpec((), np.int32, 0, 3)},
     r"dict \{'move': BoundedArraySpec"),
])
def test_unsupported_action_specs(spec, found):
  with pytest.raises(ValueError) as error:
    TFAgentsEnv(SpecEnv(action_spec=spec))
  message = str(error.value)
  assert 'Unsupported action spec: found' in message
  assert 'BoundedArraySpec of shape () with an integer dtype' in message
  assert re.search(found, message), message


@pytest.mark.parametrize('spec,found', [
    (array_spec.ArraySpec((8, 8, 3), np.float32), r'dtype=float32'),
    (array_spec.ArraySpec((64,), np.uint8), r'shape=\(64,\), dtype=uint8'),
    (array_spec.ArraySpec((2, 8, 8, 3), np.uint8), r'shape=\(2, 8, 8, 3\)'),
    ((array_spec.ArraySpec((8, 8, 3), np.uint8),
      array_spec.ArraySpec((8, 8, 3), np.uint8)), r'tuple \(ArraySpec'),
])
def test_unsupported_observation_specs(spec, found):
  with pytest.raises(ValueError) as error:
    TFAgentsEnv(SpecEnv(observation_spec=spec))
  message = str(error.value)
  assert 'Unsupported observation spec' in message
  assert 'required: a uint8 ArraySpec of shape [H, W, C] or [H, W]' in message
  assert re.search(found, message), message


def test_unsupported_reward_spec():
  with pytest.raises(ValueError, match=r'reward spec: found ArraySpec\(shape='
                                       r'\(2,\).*shape \(\)'):
    TFAgentsEnv(SpecEnv(reward_spec=array_spec.ArraySpec((2,), np.float32)))


def test_not_a_py_environment():
  from tf_agents.environments import tf_py_environment  # pylint: disable=g-import-not-at-top
  with pytest.raises(TypeError, match='PyEnvironment'):
    TFAgentsEnv(object())
  with pytest.raises(TypeError, match=r'\.pyenv'):
    TFAgentsEnv(tf_py_environment.TFPyEnvironment(PixelCatch()))


def test_bad_frames_per_step():
  with pytest.raises(ValueError, match='frames_per_step'):
    TFAgentsEnv(PixelCatch(), frames_per_step=0)


# -- packaging ------------------------------------------------------------------


def test_impala_tf_does_not_import_tf_agents():
  """The adapter is opt-in and lazy: importing impala_tf never loads tf_agents."""
  code = ('import sys, impala_tf, impala_tf.envs\n'
          'assert "impala_tf.envs.tf_agents_adapter" not in sys.modules\n'
          'import impala_tf.envs.tf_agents_adapter\n'
          'loaded = sorted(m for m in sys.modules if m.startswith("tf_agents"))'
          '\n'
          'assert not loaded, loaded\n')
  subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO_ROOT)


# -- the network consumes the observations -------------------------------------


@pytest.mark.parametrize('network', ['shallow', 'deep'])
def test_observations_feed_the_impala_network(network):
  networks = pytest.importorskip('impala_tf.networks')
  # Frames big enough for the shallow torso's VALID convolutions; episodes of
  # 2 to 9 steps.
  batch = batched_py_environment.BatchedPyEnvironment(
      [PixelCatch(seed=i, height=40, width=32, layout='hw', min_start_row=30,
                  max_start_row=37) for i in range(2)],
      multithreading=False)
  env = TFAgentsEnv(batch)
  agent = networks.build_agent(network, env.spec, core='lstm')
  rng = np.random.default_rng(0)
  out = env.reset()
  state = agent.initial_state(env.num_envs)
  action = np.zeros(env.num_envs, np.int32)
  num_done = 0
  for _ in range(12):  # Crosses episode ends: done reaches the core too.
    inputs = networks.AgentInput(
        last_action=action[None], reward=out.reward[None], done=out.done[None],
        frame=out.observation[None], instruction=None)
    agent_out, state = agent.unroll(inputs, state)
    logits = np.asarray(agent_out.policy_logits)
    assert logits.shape == (1, env.num_envs, env.spec.num_actions)
    assert np.asarray(agent_out.baseline).shape == (1, env.num_envs)
    assert np.all(np.isfinite(logits))
    action = rng.integers(0, env.spec.num_actions, env.num_envs).astype(
        np.int32)
    out = env.step(action)
    num_done += out.done.sum()
  assert num_done >= 2


def test_impala_trains_a_tf_agents_environment(tmp_path):
  """The whole runtime (actors, queue, learner, checkpoint) on a tf_agents env."""
  from impala_tf import training_loop  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top

  def env_factory(num_envs, seed):
    envs = [PixelCatch(seed=seed + i, height=24, width=24)
            for i in range(num_envs)]
    return TFAgentsEnv(batched_py_environment.BatchedPyEnvironment(envs),
                       name='pixel_catch')

  config = Config(level_name='pixel_catch', num_action_repeats=1,
                  num_actors=2, actor_threads=1, batch_size=2,
                  unroll_length=5, logdir=str(tmp_path), progress_secs=100)
  result = training_loop.train(config, max_updates=3,
                               install_signal_handlers=False,
                               env_factory=env_factory)
  assert result.num_updates == 3
  assert result.num_frames == 3 * 2 * 5
  assert result.checkpoint and os.path.isdir(result.checkpoint)
