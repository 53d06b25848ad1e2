"""Tests of the Atari family on real ALE games (impala_tf/envs/atari)."""

import csv
import pathlib
import re

import numpy as np
import pytest

from impala_tf import envs
from impala_tf.envs import atari
from impala_tf.envs.atari import config as config_lib
from impala_tf.envs.atari import games
from impala_tf.envs.atari import noop_sampler
from impala_tf.envs.spec import EnvOutput

ale_py = pytest.importorskip('ale_py')
gymnasium = pytest.importorskip('gymnasium')

BOTH_PATHS = pytest.mark.parametrize('vectorized', [True, False],
                                     ids=['native', 'python'])


def _run(env, actions):
  """Resets ``env`` and steps it with actions [T, B]; returns T + 1 outputs."""
  outputs = [env.reset()]
  for a in actions:
    outputs.append(env.step(a))
  return outputs


def _random_actions(num_actions, steps, num_envs, seed=0):
  return np.random.default_rng(seed).integers(0, num_actions,
                                              size=(steps, num_envs))


def _assert_same_outputs(xs, ys):
  for t, (x, y) in enumerate(zip(xs, ys)):
    for field in EnvOutput._fields:
      a, b = getattr(x, field), getattr(y, field)
      if a is None or b is None:
        assert a is None and b is None, (t, field)
      else:
        np.testing.assert_array_equal(a, b, err_msg=f'step {t} {field}')


def _stack(outputs, field):
  return np.stack([getattr(o, field) for o in outputs])


# ---------------------------------------------------------------- game names


def _reference_csv():
  for root in (pathlib.Path(__file__).resolve().parents[2] / 'shared',
               pathlib.Path('/work/shared')):
    path = root / 'reference' / 'atari57_scores.csv'
    if path.is_file():
      return path
  return None


def test_57_names_map_to_ale_roms_and_gym_ids():
  assert len(atari.LEVELS) == 57 == len(set(atari.LEVELS))
  for name in atari.LEVELS:
    assert re.fullmatch(r'[a-z]+(_[a-z]+)*', name), name
  for name in ('montezuma_revenge', 'up_n_down', 'private_eye',
               'kung_fu_master', 'name_this_game', 'yars_revenge'):
    assert name in atari.LEVELS
  reference = _reference_csv()
  if reference is not None:
    with open(reference) as f:
      assert tuple(row['game'] for row in csv.DictReader(f)) == atari.LEVELS
  gymnasium.register_envs(ale_py)
  rom_ids = set(ale_py.roms.get_all_rom_ids())
  for name, game in atari.GAMES.items():
    assert game.rom_id in rom_ids, name
    # ALE recognises the file (by checksum) as this game's ROM.
    assert ale_py.ALEInterface.isSupportedROM(atari.rom_path(name)) == (
        game.rom_id), name
    assert game.gym_id in gymnasium.envs.registry, name
    assert gymnasium.envs.registry[game.gym_id].kwargs['game'] == game.rom_id
  assert atari.GAMES['up_n_down'].gym_id == 'ALE/UpNDown-v5'
  assert atari.GAMES['montezuma_revenge'].rom_id == 'montezuma_revenge'


@pytest.mark.slow
def test_every_game_constructs_and_steps_with_its_action_count():
  # ~10-20 s on 2 cores (a ROM load is ~0.1 s), hence slow. The native path
  # checks spec.num_actions against ALE's action set itself.
  for name in atari.LEVELS:
    env = atari.make(name, num_envs=1, seed=0, vectorized=True)
    try:
      first = env.reset()
      out = env.step(np.array([env.spec.num_actions - 1]))
    finally:
      env.close()
    assert first.observation.shape == (1, 84, 84, 4), name
    assert out.observation.dtype == np.uint8, name


def test_unknown_name_goes_through_the_factory_with_suggestions():
  with pytest.raises(envs.UnknownLevelError, match='montezuma_revenge'):
    envs.make_env('montezumas_revenge')


# ------------------------------------------------------------- missing ROMs


def _one_sentence(message):
  return ('\n' not in message and message.endswith('.') and
          message.count('. ') == 0)


@BOTH_PATHS
def test_missing_rom_directory_is_one_clear_sentence(vectorized, monkeypatch,
                                                     tmp_path):
  monkeypatch.setenv('ALE_ROMS_DIR', str(tmp_path))  # Holds no pong.bin.
  with pytest.raises(atari.MissingRomError) as info:
    atari.make('pong', num_envs=2, seed=0, vectorized=vectorized)
  message = str(info.value)
  assert "'pong'" in message and 'ALE_ROMS_DIR' in message
  assert 'pip install' in message and _one_sentence(message), message


def test_rom_unknown_to_ale_is_one_clear_sentence(monkeypatch):
  fake = games.Game('no_such_rom', 'ALE/NoSuchRom-v5', 6)
  monkeypatch.setitem(games.GAMES, 'pong', fake)
  with pytest.raises(atari.MissingRomError) as info:
    envs.make_env('pong', num_envs=1)
  message = str(info.value)
  assert "'pong'" in message and 'no_such_rom' in message, message
  assert _one_sentence(message), message


# ------------------------------------------------------ shapes and contract


@BOTH_PATHS
@pytest.mark.parametrize('name', ['pong', 'breakout', 'space_invaders',
                                  'ms_pacman', 'seaquest'])
def test_shapes_dtypes_and_spec(name, vectorized):
  spec = envs.env_spec(name)
  assert spec.observation_shape == (84, 84, 4)
  assert spec.frames_per_step == 4 and not spec.has_instruction
  env = envs.make_env(name, num_envs=2, seed=1,
                      options={'vectorized': vectorized})
  try:
    assert env.spec == spec and env.num_envs == 2
    outputs = _run(env, _random_actions(spec.num_actions, 30, 2))
  finally:
    env.close()
    env.close()  # Safe twice.
  first = outputs[0]
  assert not first.done.any() and not first.game_over.any()
  np.testing.assert_array_equal(first.reward, 0)
  # Reset stack: three black frames, then the first frame.
  assert (first.observation[..., :3] == 0).all()
  assert first.observation[..., 3].max() > 0
  for out in outputs:
    assert out.instruction is None
    assert out.observation.shape == (2, 84, 84, 4)
    assert out.observation.dtype == np.uint8
    assert out.reward.shape == (2,) and out.reward.dtype == np.float32
    assert out.done.dtype == bool and out.game_over.dtype == bool
    assert out.episode_return.dtype == np.float32
    assert out.episode_step.dtype == np.int32
  # Frames move through the stack: the newest becomes the next-to-newest.
  np.testing.assert_array_equal(outputs[5].observation[..., 3],
                                outputs[6].observation[..., 2])
  np.testing.assert_array_equal(outputs[-1].episode_step, 30)


@BOTH_PATHS
def test_bad_calls_raise(vectorized):
  env = atari.make('pong', num_envs=2, seed=0, vectorized=vectorized)
  try:
    with pytest.raises(RuntimeError, match='reset'):
      env.step(np.zeros(2, np.int32))
    env.reset()
    with pytest.raises(ValueError, match='actions'):
      env.step(np.array([0, 6]))  # Pong has 6 minimal actions.
    with pytest.raises(ValueError, match='actions'):
      env.step(np.array([0]))
    env.step(np.array([5, 0]))  # Still usable.
  finally:
    env.close()
  with pytest.raises(TypeError, match='sticky_action'):
    atari.make('pong', sticky_action=0.25)
  with pytest.raises(ValueError):
    atari.make('pong', sticky_actions=1.5)


def test_full_and_minimal_action_sets():
  assert atari.spec('pong').num_actions == 6
  assert atari.spec('breakout').num_actions == 4
  assert atari.spec('ms_pacman').num_actions == 9
  assert atari.spec('pong', full_action_space=True).num_actions == 18
  for vectorized in (True, False):
    env = atari.make('breakout', num_envs=2, seed=0, vectorized=vectorized,
                     full_action_space=True)
    try:
      assert env.spec.num_actions == 18
      env.reset()
      env.step(np.array([17, 3]))
    finally:
      env.close()


# ------------------------------------------------ the two paths are the same


@pytest.mark.parametrize('name,mode,options,steps,expect_done', [
    ('breakout', 'train', {}, 500, True),  # Life losses and game overs.
    ('pong', 'test', {'sticky_actions': 0.25}, 300, False),
    ('space_invaders', 'train', {'full_action_space': True}, 200, None),
    ('seaquest', 'train', {'max_episode_frames': 103}, 80, True),  # Cap.
])
def test_native_and_python_paths_agree_step_by_step(name, mode, options,
                                                    steps, expect_done):
  # Exact, no-op starts included: the Python path replays the C++ env's
  # seeding, no-op draws and frame handling (see single.py).
  num_envs = 2
  actions = _random_actions(atari.spec(name, **options).num_actions, steps,
                            num_envs, seed=3)
  results = []
  for vectorized in (True, False):
    env = atari.make(name, num_envs=num_envs, seed=11, mode=mode,
                     vectorized=vectorized, **options)
    try:
      # A second reset() continues the seeded streams in both paths.
      results.append(_run(env, actions) + _run(env, actions[:20]))
    finally:
      env.close()
  _assert_same_outputs(*results)
  # The comparison saw rewards (and episode ends where they are expected).
  assert (_stack(results[0], 'reward') != 0).any() or name == 'seaquest'
  if expect_done is not None:
    assert _stack(results[0], 'done').any() == expect_done


def test_noop_sampler_matches_the_vector_envs_draws():
  from ale_py.vector_env import AtariVectorEnv  # pylint: disable=g-import-not-at-top
  seeds = config_lib.copy_seeds(5, 10)
  venv = AtariVectorEnv('pong', len(seeds), noop_max=30, use_fire_reset=False,
                        reward_clipping=False, autoreset_mode='SameStep')
  try:
    _, first = venv.reset(seed=seeds)
    _, second = venv.reset()  # Unseeded: the draws continue.
  finally:
    venv.close()
  expected_first, expected_second = [], []
  for seed in seeds:
    sampler = noop_sampler.NoopSampler(30)
    sampler.seed(int(seed))
    expected_first.append(sampler.sample())
    expected_second.append(sampler.sample())
  # ALE's episode frame counter after a reset = number of no-op frames.
  np.testing.assert_array_equal(first['episode_frame_number'], expected_first)
  np.testing.assert_array_equal(second['episode_frame_number'],
                                expected_second)
  assert 0 <= min(expected_first) and max(expected_first) <= 29
  assert len(set(expected_first)) > 3


# ------------------------------------------------------ seeds and no-op starts


@BOTH_PATHS
def test_noop_starts_vary_the_start_state(vectorized):
  # Asterix shows a different screen after each of its first 30 frames.
  def starts(noop_max, num_envs):
    env = atari.make('asterix', num_envs=num_envs, seed=0,
                     vectorized=vectorized, noop_max=noop_max)
    try:
      return env.reset().observation[..., 3]
    finally:
      env.close()
  varied = starts(30, 4)
  assert len({frame.tobytes() for frame in varied}) > 2
  fixed = starts(0, 2)
  assert len({frame.tobytes() for frame in fixed}) == 1


@BOTH_PATHS
def test_seeding_is_deterministic_and_per_copy(vectorized):
  actions = _random_actions(6, 60, 3, seed=1)

  def run(seed, num_envs):
    env = atari.make('pong', num_envs=num_envs, seed=seed,
                     vectorized=vectorized, sticky_actions=0.25)
    try:
      return _run(env, actions[:, :num_envs])
    finally:
      env.close()
  a, b = run(7, 3), run(7, 3)
  _assert_same_outputs(a, b)
  # Copy i depends on (seed, i) only, not on the batch size.
  np.testing.assert_array_equal(_stack(run(7, 1), 'observation')[:, 0],
                                _stack(a, 'observation')[:, 0])
  other = _stack(run(8, 1), 'observation')[:, 0]
  assert not np.array_equal(_stack(a, 'observation')[:, 0], other)


@BOTH_PATHS
def test_sticky_actions_change_behaviour(vectorized):
  actions = _random_actions(6, 150, 2, seed=2)

  def observations(sticky):
    env = atari.make('pong', num_envs=2, seed=3, vectorized=vectorized,
                     noop_max=0, sticky_actions=sticky)
    try:
      return _stack(_run(env, actions), 'observation')
    finally:
      env.close()
  plain = observations(0.0)
  sticky = observations(0.25)
  np.testing.assert_array_equal(plain[0], sticky[0])  # Same start.
  assert not np.array_equal(plain, sticky)
  np.testing.assert_array_equal(sticky, observations(0.25))


# ------------------------------------------------------- episode boundaries


@BOTH_PATHS
def test_frame_cap_ends_the_game_with_same_step_reset(vectorized):
  # noop_max=0 makes every game start from the same state, so the observation
  # returned by the ending step must equal the very first observation.
  env = atari.make('pong', num_envs=2, seed=0, mode='test',
                   vectorized=vectorized, noop_max=0, max_episode_frames=100)
  try:
    outputs = _run(env, _random_actions(6, 60, 2))
  finally:
    env.close()
  done = _stack(outputs, 'done')
  game_over = _stack(outputs, 'game_over')
  ends = np.flatnonzero(done[:, 0])
  np.testing.assert_array_equal(ends, [25, 50])  # 100 frames = 25 steps.
  np.testing.assert_array_equal(done, game_over)
  for t in ends:
    np.testing.assert_array_equal(outputs[t].episode_step, 25)
    np.testing.assert_array_equal(outputs[t].observation,
                                  outputs[0].observation)
    np.testing.assert_array_equal(outputs[t + 1].episode_step, 1)


@BOTH_PATHS
def test_game_over_totals_and_raw_rewards(vectorized):
  # Breakout games of random play last ~200 agent steps (5 lives).
  env = atari.make('breakout', num_envs=2, seed=4, mode='test',
                   vectorized=vectorized)
  try:
    outputs = _run(env, _random_actions(4, 1500, 2, seed=4))
  finally:
    env.close()
  rewards = _stack(outputs, 'reward')
  game_over = _stack(outputs, 'game_over')
  np.testing.assert_array_equal(_stack(outputs, 'done'), game_over)  # Test.
  assert game_over[:, 0].sum() >= 2
  for b in range(2):
    start = 0
    for t in np.flatnonzero(game_over[:, b]):
      assert outputs[t].episode_return[b] == rewards[start + 1:t + 1, b].sum()
      assert outputs[t].episode_step[b] == t - start
      assert (outputs[t].observation[b, ..., :3] == 0).all()  # New game.
      start = t


@BOTH_PATHS
def test_rewards_are_not_clipped(vectorized):
  env = atari.make('ms_pacman', num_envs=2, seed=0, vectorized=vectorized)
  try:
    rewards = _stack(_run(env, _random_actions(9, 150, 2)), 'reward')
  finally:
    env.close()
  assert rewards.max() >= 10  # A pellet is worth 10 points.


@BOTH_PATHS
def test_life_loss_ends_episodes_in_train_mode_only(vectorized):
  actions = _random_actions(4, 400, 2, seed=5)
  runs = {}
  for mode in ('train', 'test'):
    env = atari.make('breakout', num_envs=2, seed=6, mode=mode,
                     vectorized=vectorized)
    try:
      runs[mode] = _run(env, actions)
    finally:
      env.close()
  train, test = runs['train'], runs['test']
  # A life loss does not reset the emulator: the games are frame-identical.
  for field in ('observation', 'reward', 'game_over', 'episode_return',
                'episode_step'):
    np.testing.assert_array_equal(_stack(train, field), _stack(test, field))
  train_done, over = _stack(train, 'done'), _stack(train, 'game_over')
  np.testing.assert_array_equal(_stack(test, 'done'), over)
  assert over[:, 0].any()
  # Breakout has 5 lives: 4 life-loss episode ends, then the game over.
  first_game_end = np.flatnonzero(over[:, 0])[0]
  assert train_done[:first_game_end + 1, 0].sum() == 5
  life_losses = train_done[:, 0] & ~over[:, 0]
  assert life_losses.any() and not (
      _stack(train, 'observation')[life_losses, 0, ..., :3] == 0).all()


@pytest.mark.slow
def test_default_cap_is_27000_agent_steps():
  # Standing still in Montezuma's Revenge never loses a life.
  env = atari.make('montezuma_revenge', num_envs=1, seed=0, vectorized=True)
  try:
    env.reset()
    noop = np.zeros(1, np.int32)
    for step in range(1, 27_001):
      out = env.step(noop)
      if out.done[0]:
        break
  finally:
    env.close()
  assert step == 27_000 and out.game_over[0] and out.episode_step[0] == 27_000
