"""Actor threads: unroll layout, recurrent-state bookkeeping, env restarts."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import networks
from impala_tf.acting.actor import ActorThread
from impala_tf.acting.env_group import EnvGroup
from impala_tf.acting.policy import ActingPolicy
from impala_tf.envs import make_env
from impala_tf.metrics import EpisodeStats
from impala_tf.params import ParameterStore
from impala_tf.stopping import StopSignal
from impala_tf.trajectory_queue import TrajectoryQueue

T = 12
NUM_ENVS = 3


def _start_actor(make_envs, core='lstm', max_env_restarts=5):
  spec = make_env('catch').spec
  policy = ActingPolicy(networks.build_agent('shallow', spec, core=core), spec,
                        seed=3)
  store = ParameterStore(policy.variables)  # Never published: fixed params.
  stop = StopSignal()
  queue = TrajectoryQueue(8, stop, stall_timeout=60)
  stats = EpisodeStats(['catch'])
  actor = ActorThread(0, make_envs, policy, store, queue, stats, T, stop,
                      max_env_restarts=max_env_restarts)
  actor.start()
  return actor, policy, queue, stats, stop


def _catch_group(restarts):
  return EnvGroup([(0, make_env('catch', num_envs=NUM_ENVS, seed=restarts))])


def _take(queue, count):
  return [queue.get() for _ in range(count)]


def test_unrolls_overlap_by_one_entry_and_states_chain():
  actor, policy, queue, stats, stop = _start_actor(_catch_group)
  try:
    unrolls = _take(queue, 3)
  finally:
    stop.request('test over')
    actor.join(10)
  assert stop.failure is None
  first = unrolls[0]
  assert first.frame.shape == (T + 1, NUM_ENVS, 40, 40, 1)
  assert first.frame.dtype == np.uint8
  assert first.behaviour_logits.shape == (T + 1, NUM_ENVS, 3)
  for prev, nxt in zip(unrolls, unrolls[1:]):
    for field in ('frame', 'reward', 'done', 'last_action', 'action',
                  'behaviour_logits'):
      np.testing.assert_array_equal(getattr(nxt, field)[0],
                                    getattr(prev, field)[-1], err_msg=field)
  for unroll in unrolls:
    np.testing.assert_array_equal(unroll.action[:-1], unroll.last_action[1:])

  # Re-running the network from each unroll's core_state reproduces the
  # actor's behaviour logits, and the state before entry T is the next
  # unroll's core_state.
  for prev, nxt in zip(unrolls, unrolls[1:]):
    inputs = networks.AgentInput(prev.last_action, prev.reward, prev.done,
                                 prev.frame, None)
    out, _ = policy.agent.unroll(inputs, prev.core_state)
    np.testing.assert_allclose(out.policy_logits, prev.behaviour_logits,
                               rtol=1e-4, atol=1e-5)
    head = inputs._replace(**{k: v[:-1] for k, v in inputs._asdict().items()
                              if v is not None})
    _, state = policy.agent.unroll(head, prev.core_state)
    np.testing.assert_allclose(state.hidden, nxt.core_state.hidden,
                               rtol=1e-4, atol=1e-5)


def test_episode_statistics_are_recorded():
  actor, _, queue, stats, stop = _start_actor(_catch_group)
  try:
    _take(queue, 3)  # 36 steps x 3 envs: at least 9 finished catch games.
  finally:
    stop.request('test over')
    actor.join(10)
  assert stop.failure is None
  episodes = stats.drain_new()
  assert len(episodes) >= 9
  for name, episode_return, length in episodes:
    assert name == 'catch'
    assert episode_return in (-1.0, 1.0)
    assert length == 9


class _FlakyEnv:
  """Wraps a BatchedEnv and raises on one chosen step (a crashing emulator)."""

  def __init__(self, env, fail_at):
    self._env, self._fail_at, self._steps = env, fail_at, 0
    self.spec, self.num_envs = env.spec, env.num_envs

  def reset(self):
    return self._env.reset()

  def step(self, actions):
    self._steps += 1
    if self._steps == self._fail_at:
      raise RuntimeError('emulator crashed (injected by the test)')
    return self._env.step(actions)

  def close(self):
    self._env.close()


def test_a_crashing_environment_is_restarted_and_counted():
  made = []

  def make_envs(restarts):
    made.append(restarts)
    fail_at = 5 if restarts < 2 else None
    return EnvGroup([(0, _FlakyEnv(make_env('catch', num_envs=2,
                                            seed=restarts), fail_at))])

  actor, _, queue, _, stop = _start_actor(make_envs)
  try:
    unrolls = _take(queue, 2)
  finally:
    stop.request('test over')
    actor.join(10)
  assert stop.failure is None
  assert actor.env_restarts == 2
  assert made == [0, 1, 2]
  assert unrolls[0].frame.shape[1] == 2


def test_too_many_restarts_is_reported():
  def make_envs(restarts):
    return EnvGroup([(0, _FlakyEnv(make_env('catch', num_envs=1,
                                            seed=restarts), 1))])

  actor, _, _, _, stop = _start_actor(make_envs, max_env_restarts=2)
  actor.join(30)
  assert not actor.is_alive()
  assert 'more than 2 environment restarts' in stop.failure
  assert stop.requested  # A fault stops the whole run.


def test_actor_pulls_new_parameters_once_per_unroll():
  spec = make_env('catch').spec
  learner_agent = networks.build_agent('shallow', spec, core='feedforward')
  learner_policy = ActingPolicy(learner_agent, spec, seed=0)
  store = ParameterStore(learner_policy.variables)
  policy = ActingPolicy(networks.build_agent('shallow', spec,
                                             core='feedforward'), spec, seed=1)
  assert policy.refresh(store) == 0
  np.testing.assert_array_equal(policy.variables[0],
                                learner_policy.variables[0])
  learner_policy.variables[0].assign_add(tf.ones_like(
      learner_policy.variables[0]))
  assert policy.refresh(store) == 0  # Not published yet: no copy.
  assert np.any(policy.variables[0].numpy() !=
                learner_policy.variables[0].numpy())
  store.publish(1)
  assert policy.refresh(store) == 1
  np.testing.assert_array_equal(policy.variables[0],
                                learner_policy.variables[0])


def test_sampling_is_reproducible_from_the_seed():
  spec = make_env('catch').spec
  agent = networks.build_agent('shallow', spec, core='feedforward')
  frame = np.zeros((4,) + spec.observation_shape, np.uint8)
  args = (np.zeros(4, np.int32), np.zeros(4, np.float32), np.zeros(4, bool),
          frame, None, ())
  runs = []
  for _ in range(2):
    policy = ActingPolicy(agent, spec, seed=11)
    runs.append([policy.step(*args)[0].numpy() for _ in range(20)])
  np.testing.assert_array_equal(runs[0], runs[1])
  assert len({tuple(a) for a in runs[0]}) > 1  # It does sample.


def test_a_stalled_learner_is_reported_not_taken_for_an_env_crash():
  spec = make_env('catch').spec
  policy = ActingPolicy(networks.build_agent('shallow', spec), spec, seed=3)
  stop = StopSignal()
  queue = TrajectoryQueue(1, stop, stall_timeout=0.5)  # Nobody consumes.
  actor = ActorThread(0, _catch_group, policy, ParameterStore(
      policy.variables), queue, EpisodeStats(['catch']), T, stop)
  actor.start()
  actor.join(60)
  assert not actor.is_alive()
  assert actor.env_restarts == 0
  assert 'learner is not consuming' in stop.failure


def test_a_multi_task_batch_mixes_levels(fake_lab, tmp_path):
  """DMLab-30 with the released learner's 150 actors over 2 threads: every
  learner batch of 32 cut from a thread's unrolls spans many levels (the
  original's learner dequeued single-actor unrolls, which mix levels).
  DMLab is the named fake of tests/fakes (it cannot be installed here)."""
  del fake_lab
  from impala_tf import builder  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
  from impala_tf.staging import StagingArea  # pylint: disable=g-import-not-at-top
  config = Config(level_name='dmlab30', num_actors=150, actor_threads=2,
                  batch_size=32, unroll_length=2, dataset_path=str(tmp_path))
  task_set = builder.make_task_set(config)
  assert len(task_set.levels) == 30
  policy = ActingPolicy(networks.build_agent('shallow', task_set.spec),
                        task_set.spec, seed=0)
  stop = StopSignal()
  queue = TrajectoryQueue(4, stop, stall_timeout=120)
  actor = ActorThread(0, builder.make_env_group_factory(config, task_set, 0),
                      policy, ParameterStore(policy.variables), queue,
                      EpisodeStats(list(task_set.levels)), 2, stop)
  staging = StagingArea(queue, 32, lambda batch: None, stop, 120)
  actor.start()
  staging.start()
  try:
    batches = [staging.get()[0] for _ in range(4)]
  finally:
    stop.request('test over')
    actor.join(30)
  assert stop.failure is None
  for batch in batches:
    assert len(set(batch.task_id.tolist())) >= 20, sorted(batch.task_id)
  # The thread's first 32 actors, in actor order, play all 30 levels.
  assert len(set(batches[0].task_id.tolist())) == 30
