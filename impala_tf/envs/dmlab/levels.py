"""DMLab-30 level names, the train->test mapping and DMLab level paths
(plus seekavoid_arena_01, a DeepMind Lab level the paper also uses).

Pure data and name checks; nothing here imports DeepMind Lab.

Twenty-eight DMLab-30 levels are used for both training and evaluation. The
other two come as a pair: agents train on ``rooms_collect_good_objects_train``
and ``rooms_exploit_deferred_effects_train`` and are evaluated on the held-out
``..._test`` variants (scalable_agent dmlab30.py, LEVEL_MAPPING). ``LEVELS`` lists the 30 training names;
the two ``_test`` names are accepted as well (``ACCEPTED_LEVELS``).
"""

import difflib
from typing import Dict, Tuple

# Training level -> evaluation level, in the DMLab-30 README order.
LEVEL_MAPPING: Dict[str, str] = {
    'rooms_collect_good_objects_train': 'rooms_collect_good_objects_test',
    'rooms_exploit_deferred_effects_train':
        'rooms_exploit_deferred_effects_test',
    'rooms_select_nonmatching_object': 'rooms_select_nonmatching_object',
    'rooms_watermaze': 'rooms_watermaze',
    'rooms_keys_doors_puzzle': 'rooms_keys_doors_puzzle',
    'language_select_described_object': 'language_select_described_object',
    'language_select_located_object': 'language_select_located_object',
    'language_execute_random_task': 'language_execute_random_task',
    'language_answer_quantitative_question':
        'language_answer_quantitative_question',
    'lasertag_one_opponent_small': 'lasertag_one_opponent_small',
    'lasertag_three_opponents_small': 'lasertag_three_opponents_small',
    'lasertag_one_opponent_large': 'lasertag_one_opponent_large',
    'lasertag_three_opponents_large': 'lasertag_three_opponents_large',
    'natlab_fixed_large_map': 'natlab_fixed_large_map',
    'natlab_varying_map_regrowth': 'natlab_varying_map_regrowth',
    'natlab_varying_map_randomized': 'natlab_varying_map_randomized',
    'skymaze_irreversible_path_hard': 'skymaze_irreversible_path_hard',
    'skymaze_irreversible_path_varied': 'skymaze_irreversible_path_varied',
    'psychlab_arbitrary_visuomotor_mapping':
        'psychlab_arbitrary_visuomotor_mapping',
    'psychlab_continuous_recognition': 'psychlab_continuous_recognition',
    'psychlab_sequential_comparison': 'psychlab_sequential_comparison',
    'psychlab_visual_search': 'psychlab_visual_search',
    'explore_object_locations_small': 'explore_object_locations_small',
    'explore_object_locations_large': 'explore_object_locations_large',
    'explore_obstructed_goals_small': 'explore_obstructed_goals_small',
    'explore_obstructed_goals_large': 'explore_obstructed_goals_large',
    'explore_goal_locations_small': 'explore_goal_locations_small',
    'explore_goal_locations_large': 'explore_goal_locations_large',
    'explore_object_rewards_few': 'explore_object_rewards_few',
    'explore_object_rewards_many': 'explore_object_rewards_many',
}

# The 30 training-level names (what multi-task training runs on).
LEVELS: Tuple[str, ...] = tuple(LEVEL_MAPPING)
# The 30 evaluation-level names (what test mode runs on).
TEST_LEVELS: Tuple[str, ...] = tuple(LEVEL_MAPPING.values())
# Held-out evaluation levels; DMLab only loads them with allowHoldOutLevels.
HELD_OUT_LEVELS: Tuple[str, ...] = tuple(
    test for train, test in LEVEL_MAPPING.items() if train != test)
# DeepMind Lab's own levels (not DMLab-30) that the paper uses: Table 1's
# Task 1 and Table 2's Task 5. Name -> level script path.
OTHER_LEVELS: Dict[str, str] = {'seekavoid_arena_01': 'seekavoid_arena_01'}
# Every name this family accepts.
ACCEPTED_LEVELS: Tuple[str, ...] = (LEVELS + HELD_OUT_LEVELS +
                                    tuple(OTHER_LEVELS))

_TEST_TO_TRAIN = {test: train for train, test in LEVEL_MAPPING.items()}

# Psychlab levels whose Lua scripts load images from the Brady, Konkle, Alvarez
# & Oliva (2008) object-stimuli dataset and fail without it. The other two
# psychlab levels draw procedural stimuli.
DATASET_LEVELS: Tuple[str, ...] = (
    'psychlab_arbitrary_visuomotor_mapping',
    'psychlab_continuous_recognition',
)
DATASET_NAME = 'brady_konkle_oliva2008'

LEVEL_PATH_PREFIX = 'contributed/dmlab30/'


def check_level(name: str) -> str:
  """Returns ``name`` if it is a DMLab-30 level name, else raises ValueError."""
  if name in ACCEPTED_LEVELS:
    return name
  close = difflib.get_close_matches(str(name), ACCEPTED_LEVELS, n=3,
                                    cutoff=0.6)
  hint = (' Did you mean: ' + ', '.join(close) + '?') if close else ''
  raise ValueError(f'{name!r} is not a DMLab-30 level.{hint} '
                   f'Valid names: {", ".join(LEVELS)} (and '
                   f'{", ".join(HELD_OUT_LEVELS)} for evaluation; also '
                   f'{", ".join(OTHER_LEVELS)}).')


def evaluation_level(name: str) -> str:
  """The evaluation level for ``name`` (a training or a test name)."""
  name = check_level(name)
  return LEVEL_MAPPING.get(name, name)


def training_level(name: str) -> str:
  """The training level for ``name`` (a training or a test name)."""
  name = check_level(name)
  return _TEST_TO_TRAIN.get(name, name)


def level_path(name: str) -> str:
  """DMLab script path of a level, e.g. 'contributed/dmlab30/rooms_watermaze'."""
  name = check_level(name)
  if name in OTHER_LEVELS:
    return OTHER_LEVELS[name]
  return LEVEL_PATH_PREFIX + name


def needs_dataset(name: str) -> bool:
  """True for levels that need the brady_konkle_oliva2008 dataset."""
  return training_level(name) in DATASET_LEVELS
