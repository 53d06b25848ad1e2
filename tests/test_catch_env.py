"""Tests of the Catch environment (impala_tf/envs/catch)."""

import numpy as np
import pytest

from impala_tf import envs
from impala_tf.envs import catch
from impala_tf.envs.spec import EnvOutput

STEPS_PER_EPISODE = catch.ROWS - 1  # 9.
CELL_H = catch.OBSERVATION_SHAPE[0] // catch.ROWS
CELL_W = catch.OBSERVATION_SHAPE[1] // catch.COLUMNS


def _board(observation):
  """[B, H, W, 1] image -> [B, ROWS, COLUMNS] bool grid of lit cells."""
  cells = observation[:, ::CELL_H, ::CELL_W, 0]
  return cells > 0


def _perfect_actions(observation):
  """Moves the paddle towards the ball's column, read from the pixels."""
  board = _board(observation)
  ball_col = board[:, :-1, :].any(axis=1).argmax(axis=1)
  paddle_col = board[:, -1, :].argmax(axis=1)
  return (np.sign(ball_col - paddle_col) + 1).astype(np.int32)


def _shallow_torso_output_size(size):
  conv1 = (size - 8) // 4 + 1
  return (conv1 - 4) // 2 + 1


def test_spec_and_factory():
  spec = envs.env_spec('catch')
  assert spec == catch.spec('catch')
  assert spec.observation_shape == (40, 40, 1)
  assert spec.num_actions == 3 and spec.frames_per_step == 1
  assert not spec.has_instruction
  # The shallow torso (8x8/4 then 4x4/2, VALID) still has a 3x3 output.
  assert _shallow_torso_output_size(40) == 3
  env = envs.make_env('catch', num_envs=4, seed=0)
  assert env.spec == spec and env.num_envs == 4
  with pytest.raises(TypeError):
    envs.make_env('catch', options={'rows': 5})


def test_output_contract_and_rendering():
  env = catch.make('catch', num_envs=5, seed=3)
  first = env.reset()
  assert isinstance(first, EnvOutput) and first.instruction is None
  assert first.observation.shape == (5, 40, 40, 1)
  assert first.observation.dtype == np.uint8
  assert set(np.unique(first.observation)) == {0, 255}
  assert not first.done.any() and not first.game_over.any()
  board = _board(first.observation)
  assert board[:, 0, :].sum(axis=1).tolist() == [1] * 5  # Ball on top row.
  assert board[:, -1, catch.COLUMNS // 2].all()  # Paddle in the middle.
  assert board.sum(axis=(1, 2)).tolist() == [2] * 5
  # Every lit cell is a full CELL_H x CELL_W block.
  up = first.observation.reshape(5, catch.ROWS, CELL_H, catch.COLUMNS, CELL_W)
  assert (up.min(axis=(2, 4)) == up.max(axis=(2, 4))).all()
  out = env.step(np.ones(5, np.int32))
  assert out.reward.dtype == np.float32 and out.done.dtype == bool
  assert out.episode_return.dtype == np.float32
  assert out.episode_step.dtype == np.int32
  assert _board(out.observation)[:, 1, :].sum(axis=1).tolist() == [1] * 5


def test_episode_end_convention():
  env = catch.make('catch', num_envs=3, seed=1)
  outputs = [env.reset()]
  actions = np.random.default_rng(0).integers(0, 3, size=(30, 3))
  for a in actions:
    outputs.append(env.step(a))
  done = np.stack([o.done for o in outputs])
  np.testing.assert_array_equal(done, np.stack([o.game_over for o in outputs]))
  ends = np.flatnonzero(done[:, 0])
  np.testing.assert_array_equal(ends, [9, 18, 27])
  assert done[ends].all()
  for t in range(1, len(outputs)):
    out = outputs[t]
    if out.done[0]:
      assert set(np.abs(out.reward)) == {1.0}
      np.testing.assert_array_equal(out.episode_return, out.reward)
      np.testing.assert_array_equal(out.episode_step, STEPS_PER_EPISODE)
      board = _board(out.observation)  # Already the next episode's start.
      assert board[:, 0, :].any(axis=1).all()
      assert board[:, -1, catch.COLUMNS // 2].all()
      np.testing.assert_array_equal(outputs[t + 1].episode_step, 1)
    else:
      np.testing.assert_array_equal(out.reward, 0)


def test_perfect_policy_catches_every_ball():
  env = catch.make('catch', num_envs=64, seed=2)
  out = env.reset()
  returns = []
  for _ in range(20 * STEPS_PER_EPISODE):
    out = env.step(_perfect_actions(out.observation))
    returns.extend(out.episode_return[out.game_over].tolist())
  assert len(returns) == 64 * 20
  assert returns == [1.0] * len(returns)


def test_random_policy_catches_one_ball_in_five():
  # Uniform ball column, independent paddle walk: P(catch) = 1/5, so the
  # expected return is 0.2 - 0.8 = -0.6 (std 0.8 per episode).
  env = catch.make('catch', num_envs=256, seed=3)
  env.reset()
  rng = np.random.default_rng(3)
  returns = []
  for _ in range(16 * STEPS_PER_EPISODE):
    out = env.step(rng.integers(0, 3, size=256))
    returns.extend(out.episode_return[out.game_over].tolist())
  assert len(returns) == 256 * 16
  assert abs(np.mean(returns) + 0.6) < 0.06  # ~5 standard errors.
  assert np.mean(returns) < 0.0  # And far from the perfect policy's +1.


def test_seeding():
  def ball_columns(seed, num_envs, episodes=6):
    env = catch.make('catch', num_envs=num_envs, seed=seed)
    out = env.reset()
    columns = [_board(out.observation)[:, 0, :].argmax(axis=1)]
    for _ in range(episodes * STEPS_PER_EPISODE):
      out = env.step(np.ones(num_envs, np.int32))
      if out.done[0]:
        columns.append(_board(out.observation)[:, 0, :].argmax(axis=1))
    return np.stack(columns)
  a = ball_columns(5, 4)
  np.testing.assert_array_equal(a, ball_columns(5, 4))
  np.testing.assert_array_equal(a[:, :2], ball_columns(5, 2))
  assert not np.array_equal(a, ball_columns(6, 4))
  assert len(np.unique(a)) == catch.COLUMNS  # All columns get used.


def test_bad_calls_raise():
  env = catch.make('catch', num_envs=2, seed=0)
  with pytest.raises(RuntimeError, match='reset'):
    env.step(np.ones(2, np.int32))
  env.reset()
  with pytest.raises(ValueError):
    env.step(np.array([0, 3]))
  with pytest.raises(ValueError):
    env.step(np.array([1]))
  with pytest.raises(ValueError):
    env.step(np.array([0.5, 1.0]))
  env.close()
  env.close()
