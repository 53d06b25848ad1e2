"""Tests of the Atari family on real ALE games (impala_tf/envs/atari)."""

import csv
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from impala_tf import envs
from impala_tf.envs import atari
from impala_tf.envs.atari import actions as actions_lib
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


# ------------------------------------------- the full 18-action set mapping

SKIING_LEGAL = (0, 2, 3, 4, 5, 6, 7, 8, 9)  # NOOP and the 8 directions.


def test_full_action_names_follow_ale_order():
  assert actions_lib.FULL_ACTIONS == tuple(
      action.name for action in ale_py.Action)
  assert [action.value for action in ale_py.Action] == list(range(18))


def test_skiing_lacks_the_fire_actions():
  # ale-py 0.12.1: Skiing has 9 legal actions, the others all 18, so the
  # mapping is the identity for them (all 57 are checked in
  # test_atari57_multitask.py's slow test).
  ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
  lacking = {}
  for name in ('skiing', 'pong', 'breakout', 'montezuma_revenge'):
    ale = ale_py.ALEInterface()
    ale.loadROM(str(atari.rom_path(name)))
    legal = tuple(action.value for action in ale.getLegalActionSet())
    if legal != tuple(range(18)):
      lacking[name] = legal
  assert lacking == {'skiing': SKIING_LEGAL}


def test_nearest_legal_action_rule():
  names = actions_lib.FULL_ACTIONS
  np.testing.assert_array_equal(actions_lib.full_to_legal(range(18)),
                                range(18))
  # Skiing: FIRE -> NOOP, <direction>FIRE -> <direction>.
  skiing = actions_lib.full_to_legal(SKIING_LEGAL)
  played = [names[SKIING_LEGAL[i]] for i in skiing]
  assert played == ['NOOP', 'NOOP', 'UP', 'RIGHT', 'LEFT', 'DOWN', 'UPRIGHT',
                    'UPLEFT', 'DOWNRIGHT', 'DOWNLEFT', 'UP', 'RIGHT', 'LEFT',
                    'DOWN', 'UPRIGHT', 'UPLEFT', 'DOWNRIGHT', 'DOWNLEFT']
  # A made-up left/right game with FIRE: FIRE goes before the direction,
  # vertical before horizontal.
  legal = [names.index(n) for n in ('NOOP', 'FIRE', 'RIGHT', 'LEFT',
                                     'RIGHTFIRE')]
  nearest = {n: names[actions_lib.nearest_legal(i, legal)]
             for i, n in enumerate(names)}
  assert nearest['UPRIGHTFIRE'] == 'RIGHTFIRE'
  assert nearest['DOWNLEFTFIRE'] == 'LEFT'
  assert nearest['UPFIRE'] == 'FIRE'
  assert nearest['DOWN'] == 'NOOP' and nearest['UPLEFT'] == 'LEFT'
  assert nearest['RIGHTFIRE'] == 'RIGHTFIRE'
  with pytest.raises(ValueError, match='NOOP'):
    actions_lib.full_to_legal([1, 2])


@BOTH_PATHS
def test_skiing_takes_18_actions_and_plays_fire_as_its_direction(vectorized):
  actions = _random_actions(18, 120, 2, seed=7)
  assert set(actions.ravel()) == set(range(18))
  no_fire = actions.copy()
  no_fire[actions == 1] = 0             # FIRE -> NOOP
  no_fire[actions >= 10] -= 8           # UPFIRE (10) -> UP (2), ...

  def run(batch):
    env = atari.make('skiing', num_envs=2, seed=2, vectorized=vectorized,
                     full_action_space=True)
    try:
      assert env.spec.num_actions == 18
      return _run(env, batch)
    finally:
      env.close()
  with_fire = run(actions)
  _assert_same_outputs(with_fire, run(no_fire))
  assert not np.array_equal(_stack(with_fire, 'observation')[1],
                            _stack(with_fire, 'observation')[-1])


# ------------------------------------------------ the two paths are the same


@pytest.mark.parametrize('name,mode,options,steps,expect_done', [
    ('breakout', 'train', {}, 500, True),  # Life losses and game overs.
    ('pong', 'test', {'sticky_actions': 0.25}, 300, False),
    ('space_invaders', 'train', {'full_action_space': True}, 200, None),
    ('seaquest', 'train', {'max_episode_frames': 103}, 80, True),  # Cap.
    # 18 agent actions on a game with 9 legal ones (see actions.py).
    ('skiing', 'train', {'full_action_space': True}, 200, None),
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


# ------------------------------------------------------------ speed binary
# Run as subprocesses: the binary defines absl flags at import, which must
# not meet other binaries' flags in the test process.


def _speed(*args):
  return subprocess.run(
      [sys.executable, '-m', 'impala_tf.envs.atari.speed', *args],
      capture_output=True, text=True, timeout=300, check=False,
      cwd=pathlib.Path(__file__).resolve().parents[1])


@pytest.mark.parametrize('configs,words', [
    ('native', 'path:num_envs'),       # No num_envs.
    ('gpu:2', 'path:num_envs'),        # Unknown path.
    ('python:1,native:x', "'native:x': num_envs"),
    ('native:0', 'num_envs must be'),
])
def test_speed_rejects_bad_configs_in_one_line(configs, words):
  result = _speed(f'--configs={configs}', '--seconds=0.01')
  assert result.returncode == 1, result
  assert 'Traceback' not in result.stderr, result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith('impala_tf.envs.atari.speed: error: --configs: ')
  assert words in lines[0]
  assert result.stdout == ''  # Nothing was measured.


def test_speed_measures_each_config():
  result = _speed('--configs=python:1,native:2', '--seconds=0.05',
                  '--game=breakout')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  assert lines[0].startswith('game=breakout seconds=0.05')
  assert re.fullmatch(r'python num_envs=  1 +\d+ steps/s +\d+ frames/s',
                      lines[1]), lines
  assert re.fullmatch(r'native num_envs=  2 +\d+ steps/s +\d+ frames/s',
                      lines[2]), lines
