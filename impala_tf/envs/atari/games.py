"""The 57 Atari games: snake_case name -> ALE ROM id, gymnasium id, action count.

    GAMES[name]          -> Game(rom_id, gym_id, num_minimal_actions)
    LEVELS               -> the 57 names, in the order of atari57_scores.csv
    rom_path(name)       -> pathlib.Path of the game's ROM, or MissingRomError

Only ``rom_path`` touches ale-py (lazily), so that listing the levels or
building an EnvSpec never imports an emulator. ``num_minimal_actions`` is the
size of ALE's minimal action set for the game (read once from ale-py 0.12.1;
tests/test_atari_env.py re-checks it against the installed ALE).
"""

import pathlib
import warnings
from typing import NamedTuple

from impala_tf.envs.spec import EnvSetupError

FULL_ACTION_SET_SIZE = 18


class MissingRomError(EnvSetupError, RuntimeError):
  """The ROM of an Atari game cannot be found (or fails ale-py's checksum)."""


class Game(NamedTuple):
  rom_id: str         # ale_py.roms id, also the C++ vector env's `game`.
  gym_id: str         # gymnasium id registered by gymnasium.register_envs(ale_py).
  num_minimal_actions: int


_Game = Game

GAMES = {
    'alien': _Game('alien', 'ALE/Alien-v5', 18),
    'amidar': _Game('amidar', 'ALE/Amidar-v5', 10),
    'assault': _Game('assault', 'ALE/Assault-v5', 7),
    'asterix': _Game('asterix', 'ALE/Asterix-v5', 9),
    'asteroids': _Game('asteroids', 'ALE/Asteroids-v5', 14),
    'atlantis': _Game('atlantis', 'ALE/Atlantis-v5', 4),
    'bank_heist': _Game('bank_heist', 'ALE/BankHeist-v5', 18),
    'battle_zone': _Game('battle_zone', 'ALE/BattleZone-v5', 18),
    'beam_rider': _Game('beam_rider', 'ALE/BeamRider-v5', 9),
    'berzerk': _Game('berzerk', 'ALE/Berzerk-v5', 18),
    'bowling': _Game('bowling', 'ALE/Bowling-v5', 6),
    'boxing': _Game('boxing', 'ALE/Boxing-v5', 18),
    'breakout': _Game('breakout', 'ALE/Breakout-v5', 4),
    'centipede': _Game('centipede', 'ALE/Centipede-v5', 18),
    'chopper_command': _Game('chopper_command', 'ALE/ChopperCommand-v5', 18),
    'crazy_climber': _Game('crazy_climber', 'ALE/CrazyClimber-v5', 9),
    'defender': _Game('defender', 'ALE/Defender-v5', 18),
    'demon_attack': _Game('demon_attack', 'ALE/DemonAttack-v5', 6),
    'double_dunk': _Game('double_dunk', 'ALE/DoubleDunk-v5', 18),
    'enduro': _Game('enduro', 'ALE/Enduro-v5', 9),
    'fishing_derby': _Game('fishing_derby', 'ALE/FishingDerby-v5', 18),
    'freeway': _Game('freeway', 'ALE/Freeway-v5', 3),
    'frostbite': _Game('frostbite', 'ALE/Frostbite-v5', 18),
    'gopher': _Game('gopher', 'ALE/Gopher-v5', 8),
    'gravitar': _Game('gravitar', 'ALE/Gravitar-v5', 18),
    'hero': _Game('hero', 'ALE/Hero-v5', 18),
    'ice_hockey': _Game('ice_hockey', 'ALE/IceHockey-v5', 18),
    'jamesbond': _Game('jamesbond', 'ALE/Jamesbond-v5', 18),
    'kangaroo': _Game('kangaroo', 'ALE/Kangaroo-v5', 18),
    'krull': _Game('krull', 'ALE/Krull-v5', 18),
    'kung_fu_master': _Game('kung_fu_master', 'ALE/KungFuMaster-v5', 14),
    'montezuma_revenge': _Game('montezuma_revenge', 'ALE/MontezumaRevenge-v5', 18),
    'ms_pacman': _Game('ms_pacman', 'ALE/MsPacman-v5', 9),
    'name_this_game': _Game('name_this_game', 'ALE/NameThisGame-v5', 6),
    'phoenix': _Game('phoenix', 'ALE/Phoenix-v5', 8),
    'pitfall': _Game('pitfall', 'ALE/Pitfall-v5', 18),
    'pong': _Game('pong', 'ALE/Pong-v5', 6),
    'private_eye': _Game('private_eye', 'ALE/PrivateEye-v5', 18),
    'qbert': _Game('qbert', 'ALE/Qbert-v5', 6),
    'riverraid': _Game('riverraid', 'ALE/Riverraid-v5', 18),
    'road_runner': _Game('road_runner', 'ALE/RoadRunner-v5', 18),
    'robotank': _Game('robotank', 'ALE/Robotank-v5', 18),
    'seaquest': _Game('seaquest', 'ALE/Seaquest-v5', 18),
    'skiing': _Game('skiing', 'ALE/Skiing-v5', 3),
    'solaris': _Game('solaris', 'ALE/Solaris-v5', 18),
    'space_invaders': _Game('space_invaders', 'ALE/SpaceInvaders-v5', 6),
    'star_gunner': _Game('star_gunner', 'ALE/StarGunner-v5', 18),
    'surround': _Game('surround', 'ALE/Surround-v5', 5),
    'tennis': _Game('tennis', 'ALE/Tennis-v5', 18),
    'time_pilot': _Game('time_pilot', 'ALE/TimePilot-v5', 10),
    'tutankham': _Game('tutankham', 'ALE/Tutankham-v5', 8),
    'up_n_down': _Game('up_n_down', 'ALE/UpNDown-v5', 6),
    'venture': _Game('venture', 'ALE/Venture-v5', 18),
    'video_pinball': _Game('video_pinball', 'ALE/VideoPinball-v5', 9),
    'wizard_of_wor': _Game('wizard_of_wor', 'ALE/WizardOfWor-v5', 10),
    'yars_revenge': _Game('yars_revenge', 'ALE/YarsRevenge-v5', 18),
    'zaxxon': _Game('zaxxon', 'ALE/Zaxxon-v5', 18),
}

LEVELS = tuple(GAMES)


def rom_path(name: str) -> pathlib.Path:
  """Path of the ROM of game ``name``; MissingRomError when it is unavailable."""
  rom_id = GAMES[name].rom_id
  hint = ('ale-py >= 0.9 ships every ROM inside its wheel, so reinstall it '
          '(pip install --force-reinstall ale-py) or point the ALE_ROMS_DIR '
          f'environment variable at a folder holding {rom_id}.bin')
  try:
    from ale_py import roms  # pylint: disable=g-import-not-at-top
    with warnings.catch_warnings():
      warnings.simplefilter('ignore')
      path = roms.get_rom_path(rom_id)
  except (OSError, ImportError) as e:  # NotADirectoryError, FileNotFoundError,
    # checksum mismatch (OSError) or no ale-py at all.
    raise MissingRomError(
        f'The ROM for Atari game {name!r} could not be loaded '
        f'({type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}); '
        f'{hint}.') from None
  if path is None or not pathlib.Path(path).is_file():
    raise MissingRomError(
        f'No ROM named {rom_id!r} for Atari game {name!r} is known to the '
        f'installed ale-py; {hint}.')
  return pathlib.Path(path)
