"""Human and random reference scores, and canonical level/game names.

Reads the package-data CSVs in ``impala_tf/scoring/data/``:
  * ``dmlab30_scores.csv`` (level, human, random): the 30 DMLab-30 evaluation
    levels, exact values of the original scalable_agent ``dmlab30.py``.
  * ``atari57_scores.csv`` (game, human, random): the 57 Atari games in
    snake_case, DQN-Zoo values (no-op starts).

``canonical_dmlab_level`` and ``canonical_atari_game`` turn the many spellings
in use (paper labels, ``_train`` names, DMLab paths, ALE/gym ids, CamelCase)
into the key of these tables, or raise ValueError.
"""

import csv
import difflib
import functools
import importlib.resources
import re
from typing import Dict, NamedTuple, Optional, Tuple

DMLAB30 = 'dmlab30'
ATARI57 = 'atari57'
FAMILIES = (DMLAB30, ATARI57)

_FILES = {DMLAB30: ('dmlab30_scores.csv', 'level'),
          ATARI57: ('atari57_scores.csv', 'game')}


class Reference(NamedTuple):
  """Reference returns of one level: a human tester and a uniform-random agent."""
  human: float
  random: float


def read_data_csv(filename: str):
  """Rows (list of dicts) of a CSV shipped in impala_tf/scoring/data/."""
  resource = importlib.resources.files('impala_tf.scoring') / 'data' / filename
  with resource.open('r', newline='') as f:
    return list(csv.DictReader(f))


@functools.lru_cache(maxsize=None)
def _table(family: str) -> Tuple[Tuple[str, Reference], ...]:
  filename, key = _FILES[family]
  return tuple((row[key], Reference(float(row['human']), float(row['random'])))
               for row in read_data_csv(filename))


def reference_scores(family: str) -> Dict[str, Reference]:
  """{canonical name: Reference} for 'dmlab30' (30) or 'atari57' (57)."""
  if family not in FAMILIES:
    raise ValueError(f'family must be one of {FAMILIES}, got {family!r}')
  return dict(_table(family))


def names(family: str) -> Tuple[str, ...]:
  """Canonical names of a family, in file order."""
  return tuple(reference_scores(family))


# Spellings seen in the IMPALA paper (Table B.1) -> canonical DMLab names.
DMLAB_SPELLING_FIXES = {
    'pyschlab_arbitrary_visuomotor_mapping':
        'psychlab_arbitrary_visuomotor_mapping',
    'pyschlab_continuous_recognition': 'psychlab_continuous_recognition',
    'pyschlab_sequential_comparison': 'psychlab_sequential_comparison',
    'pyschlab_visual_search': 'psychlab_visual_search',
    'lasertag_three_oponents_large': 'lasertag_three_opponents_large',
    'lasertag_three_oponents_small': 'lasertag_three_opponents_small',
}

# Training levels are scored against the references of their test level.
DMLAB_TRAIN_TO_TEST = {
    'rooms_collect_good_objects_train': 'rooms_collect_good_objects_test',
    'rooms_exploit_deferred_effects_train':
        'rooms_exploit_deferred_effects_test',
}

# Other spellings of Atari games (after lower-casing and CamelCase splitting).
ATARI_ALIASES = {
    'montezumas_revenge': 'montezuma_revenge',
    'montezuma_s_revenge': 'montezuma_revenge',
    'james_bond': 'jamesbond',
    'james_bond_007': 'jamesbond',
    'up_and_down': 'up_n_down',
    'upn_down': 'up_n_down',
    'up_ndown': 'up_n_down',
    'ms_pac_man': 'ms_pacman',
    'river_raid': 'riverraid',
    'yar_s_revenge': 'yars_revenge',
}


def _basic_normalise(name: str) -> str:
  text = str(name).strip()
  text = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', text)  # CamelCase -> Camel_Case
  text = text.lower()
  text = re.sub(r"['.]", '', text)
  text = re.sub(r'[\s\-]+', '_', text)
  return text.strip('_')


def _unknown(name: str, family: str) -> ValueError:
  valid = names(family)
  close = difflib.get_close_matches(_basic_normalise(name), valid, n=3,
                                    cutoff=0.6)
  hint = (' Did you mean: ' + ', '.join(close) + '?') if close else ''
  label = 'DMLab-30 level' if family == DMLAB30 else 'Atari-57 game'
  return ValueError(f'Unknown {label} {name!r}.{hint}')


def canonical_dmlab_level(name: str) -> str:
  """The dmlab30_scores.csv key for a DMLab-30 level name.

  Accepts training names (``*_train`` -> ``*_test``), the paper's misspellings
  (``pyschlab_*``, ``*_oponents_*``), and DMLab paths such as
  ``contributed/dmlab30/rooms_watermaze``.
  """
  text = str(name).strip()
  if '/' in text:
    text = text.rsplit('/', 1)[1]
  text = _basic_normalise(text)
  text = DMLAB_SPELLING_FIXES.get(text, text)
  text = DMLAB_TRAIN_TO_TEST.get(text, text)
  if text not in reference_scores(DMLAB30):
    raise _unknown(name, DMLAB30)
  return text


def canonical_atari_game(name: str) -> str:
  """The atari57_scores.csv key for an Atari game.

  Accepts snake_case names, CamelCase, ALE/gym ids ('ALE/Pong-v5',
  'MontezumaRevengeNoFrameskip-v4') and common spellings
  ("Montezuma's Revenge", 'James Bond', "Up'n Down").
  """
  text = str(name).strip()
  if text.startswith('ALE/'):
    text = text[len('ALE/'):]
  text = re.sub(r'-v\d+$', '', text)
  text = re.sub(r'(NoFrameskip|Deterministic)$', '', text)
  text = _basic_normalise(text)
  text = ATARI_ALIASES.get(text, text)
  if text not in reference_scores(ATARI57):
    raise _unknown(name, ATARI57)
  return text


_CANONICALISERS = {DMLAB30: canonical_dmlab_level,
                   ATARI57: canonical_atari_game}


def canonical_name(name: str, family: Optional[str] = None) -> Tuple[str, str]:
  """(family, canonical name) of a level/game; family is inferred if None."""
  if family is not None:
    if family not in FAMILIES:
      raise ValueError(f'family must be one of {FAMILIES}, got {family!r}')
    return family, _CANONICALISERS[family](name)
  found = []
  for fam in FAMILIES:
    try:
      found.append((fam, _CANONICALISERS[fam](name)))
    except ValueError:
      pass
  if len(found) == 1:
    return found[0]
  if found:
    raise ValueError(f'{name!r} is ambiguous ({found}); pass family=.')
  hints = [str(_unknown(name, fam)) for fam in FAMILIES]
  raise ValueError(f'Unknown level or game {name!r}: neither a DMLab-30 level '
                   f'nor an Atari-57 game. ({" ".join(hints)})')
