"""Learner step: one device vs MirroredStrategy, counters, XLA, alignment."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import builder
from impala_tf import networks
from impala_tf import trajectory as trajectory_lib
from impala_tf.config import Config
from impala_tf.envs.spec import EnvSpec

SPEC = EnvSpec('catch', (40, 40, 1), 3, frames_per_step=1)


def _config(**kwargs):
  base = dict(level_name='catch', num_action_repeats=1, batch_size=4,
              unroll_length=5, total_environment_frames=10_000,
              learning_rate=0.01, epsilon=0.01, entropy_cost=0.01)
  base.update(kwargs)
  return Config(**base).validate()


def _agent_factory(core='lstm'):
  return lambda: networks.build_agent('shallow', SPEC, core=core)


def Learner(config, spec, agent_factory, strategy=None):  # pylint: disable=invalid-name
  learner = builder.make_learner(config, spec, agent_factory, strategy)
  learner.config = config  # For _random_batch.
  return learner


def _random_batch(learner, seed=0):
  rng = np.random.default_rng(seed)
  c = learner.config
  batch = trajectory_lib.empty(SPEC, c.unroll_length, c.batch_size, 0,
                               learner.agent.initial_state(c.batch_size))
  steps, size = c.unroll_length + 1, c.batch_size
  return batch._replace(
      frame=rng.integers(0, 256, batch.frame.shape, dtype=np.uint8),
      reward=rng.normal(size=(steps, size)).astype(np.float32),
      done=rng.uniform(size=(steps, size)) < 0.2,
      last_action=rng.integers(0, 3, (steps, size)).astype(np.int32),
      action=rng.integers(0, 3, (steps, size)).astype(np.int32),
      behaviour_logits=rng.normal(size=(steps, size, 3)).astype(np.float32),
      core_state=tf.nest.map_structure(
          lambda s: rng.normal(size=s.shape).astype(np.float32) * 0.1,
          batch.core_state))


def _copy_weights(source, target):
  for s, t in zip(source.agent.trainable_variables,
                  target.agent.trainable_variables):
    t.assign(s.numpy() if not hasattr(s, 'values') else s.values[0].numpy())


def test_step_updates_parameters_and_counters():
  learner = Learner(_config(), SPEC, _agent_factory())
  before = [v.numpy().copy() for v in learner.variables]
  stats = learner.step(learner.place(_random_batch(learner)))
  assert all(np.isfinite(v) for v in stats.values())
  assert int(learner.num_updates) == 1
  assert int(learner.num_frames) == 4 * 5 * 1
  changed = [np.any(b != v.numpy()) for b, v in zip(before, learner.variables)]
  assert all(changed)
  assert stats['learning_rate'] == pytest.approx(0.01)
  learner.step(learner.place(_random_batch(learner, 1)))
  # Second update uses lr after 20 of 10,000 frames.
  assert int(learner.num_frames) == 40


@pytest.mark.parametrize('core', ['lstm', 'feedforward'])
def test_mirrored_strategy_equals_one_device(core, mirrored_strategy):
  strategy = mirrored_strategy
  single = Learner(_config(), SPEC, _agent_factory(core))
  mirrored = Learner(_config(strategy='mirrored', num_learner_devices=2),
                     SPEC, _agent_factory(core), strategy)
  assert mirrored.num_replicas == 2
  _copy_weights(single, mirrored)
  for seed in range(3):
    batch = _random_batch(single, seed)
    stats_single = single.step(single.place(batch))
    stats_mirrored = mirrored.step(mirrored.place(batch))
    for key in ('total', 'policy_gradient', 'baseline', 'entropy'):
      np.testing.assert_allclose(stats_mirrored[key], stats_single[key],
                                 rtol=1e-4, atol=1e-4, err_msg=key)
  for a, b in zip(single.variables, mirrored.variables):
    for component in strategy.experimental_local_results(b):
      np.testing.assert_allclose(component.numpy(), a.numpy(), rtol=1e-4,
                                 atol=1e-5)


def test_xla_step_matches_plain_step():
  plain = Learner(_config(), SPEC, _agent_factory())
  xla = Learner(_config(xla=True), SPEC, _agent_factory())
  _copy_weights(plain, xla)
  batch = _random_batch(plain, 5)
  a = plain.step(plain.place(batch))
  b = xla.step(xla.place(batch))
  np.testing.assert_allclose(b['total'], a['total'], rtol=1e-4, atol=1e-4)
  for u, v in zip(plain.variables, xla.variables):
    np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-4, atol=1e-5)


def test_learner_uses_the_documented_alignment():
  """done of entry 0 must not enter the loss; done of entry T must.

  (With a feed-forward core, done is not a network input, so any change in
  the loss comes from the V-trace alignment alone.)"""
  learner = Learner(_config(), SPEC, _agent_factory('feedforward'))
  batch = _random_batch(learner, 7)._replace(
      done=np.zeros((6, 4), bool))
  snapshot = [v.numpy().copy() for v in learner.variables]

  def loss_of(b):
    for v, s in zip(learner.variables, snapshot):
      v.assign(s)
    learner.optimizer.create_slots(learner.variables)
    stats = learner._loss_and_grads(learner.place(b))[0]  # pylint: disable=protected-access
    return float(stats['total'])

  base = loss_of(batch)
  changed_first = batch._replace(done=batch.done.copy())
  changed_first.done[0] = True
  assert loss_of(changed_first) == pytest.approx(base, rel=1e-6)
  changed_last = batch._replace(done=batch.done.copy())
  changed_last.done[-1] = True
  assert loss_of(changed_last) != pytest.approx(base, rel=1e-6)


def _loss_inputs(learner, batch, monkeypatch):
  """The arguments the learner hands to losses.impala_loss for ``batch``."""
  from impala_tf.learning import learner as learner_module  # pylint: disable=g-import-not-at-top
  seen = {}
  real = learner_module.losses.impala_loss

  def spy(**kwargs):
    seen.update(kwargs)
    return real(**kwargs)

  monkeypatch.setattr(learner_module.losses, 'impala_loss', spy)
  learner._loss_and_grads_fn(  # pylint: disable=protected-access
      tf.nest.map_structure(tf.convert_to_tensor, batch))
  return {k: np.asarray(v) for k, v in seen.items()
          if isinstance(v, tf.Tensor)}


def _distinct_batch(learner):
  """A batch whose every entry differs from its neighbours in time."""
  batch = _random_batch(learner, 11)
  steps, size = batch.reward.shape
  t = np.arange(steps)[:, None] * 10 + np.arange(size)[None, :]
  return batch._replace(
      reward=t.astype(np.float32) / 100.0,
      action=(t % 3).astype(np.int32),
      behaviour_logits=(t[..., None] + np.arange(3)).astype(np.float32),
      done=np.zeros((steps, size), bool))


@pytest.mark.parametrize('field,expected', [
    ('rewards', lambda b: b.reward[1:]),
    ('actions', lambda b: b.action[:-1]),
    ('behaviour_logits', lambda b: b.behaviour_logits[:-1]),
    ('dones', lambda b: b.done[1:]),
])
def test_loss_inputs_are_aligned_as_documented(field, expected, monkeypatch):
  """reward of arriving at x_{t+1}; the action chosen at x_t and its
  behaviour logits (scalable_agent experiment.py)."""
  learner = Learner(_config(), SPEC, _agent_factory())
  batch = _distinct_batch(learner)
  batch.done[2, 1] = True  # So that a shifted done would show.
  seen = _loss_inputs(learner, batch, monkeypatch)
  np.testing.assert_array_equal(seen[field], expected(batch))


def test_learner_outputs_and_bootstrap_are_aligned(monkeypatch):
  learner = Learner(_config(), SPEC, _agent_factory())
  batch = _distinct_batch(learner)
  seen = _loss_inputs(learner, batch, monkeypatch)
  from impala_tf.learning.learner import agent_input  # pylint: disable=g-import-not-at-top
  output, _ = learner.agent.unroll(agent_input(batch, SPEC), batch.core_state)
  np.testing.assert_allclose(seen['learner_logits'],
                             output.policy_logits[:-1], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(seen['learner_values'], output.baseline[:-1],
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(seen['bootstrap_value'], output.baseline[-1],
                             rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('reduction', ['sum', 'mean'])
def test_mirrored_learner_with_instructions_equals_one_device(
    reduction, mirrored_strategy):
  """The instruction embedding's gradient is sparse (IndexedSlices); both
  loss reductions must all-reduce, scale and apply it like one device."""
  spec = EnvSpec('language', (40, 40, 3), 3, has_instruction=True,
                 frames_per_step=1)
  factory = lambda: networks.build_agent('shallow', spec, core='lstm')
  config = _config(loss_reduction=reduction)
  single = Learner(config, spec, factory)
  mirrored = Learner(config.replace(strategy='mirrored',
                                    num_learner_devices=2),
                     spec, factory, mirrored_strategy)
  _copy_weights(single, mirrored)
  rng = np.random.default_rng(3)
  batch = trajectory_lib.empty(spec, 5, 4, networks.MAX_WORDS,
                               single.agent.initial_state(4))
  words = np.array([['pick up the red balloon'], ['go'], ['']] * 2).ravel()
  ids = networks.tokenize_instructions(words[:4]).numpy()
  batch = batch._replace(
      frame=rng.integers(0, 256, batch.frame.shape, dtype=np.uint8),
      reward=rng.normal(size=batch.reward.shape).astype(np.float32),
      action=rng.integers(0, 3, batch.action.shape).astype(np.int32),
      instruction=np.broadcast_to(ids, batch.instruction.shape).copy())
  a = single.step(single.place(batch))
  b = mirrored.step(mirrored.place(batch))
  np.testing.assert_allclose(b['total'], a['total'], rtol=1e-4, atol=1e-4)
  for u, v in zip(single.variables, mirrored.variables):
    for component in mirrored_strategy.experimental_local_results(v):
      np.testing.assert_allclose(component.numpy(), u.numpy(), rtol=1e-4,
                                 atol=1e-5)
