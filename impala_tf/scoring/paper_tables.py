"""The IMPALA paper's per-level result tables, keyed by canonical names.

Used to check the scoring code against the paper's own aggregates.
  * ``dmlab30_table_b1()``: Table B.1 (DMLab-30 test scores; human/random as
    printed, IMPALA deep experts, IMPALA deep PBT multi-task).
  * ``atari57_table_c1()``: Table C.1 (Atari-57 IMPALA scores after 200M
    frames per game: deep multi-task, shallow experts, deep experts).
Each returns {column: {canonical name: value}}.
  * ``table2()``: Table 2 (section 5.2.2: the off-policy corrections without
    and with replay on 5 DMLab tasks, shallow network, mean final return of
    the 3 best of 24 settings), as {(replay, correction): {task: value}}.

Table B.1 row labels. The CSV keeps the paper's labels. Two kinds of mapping
are needed to reach the names of ``dmlab30_scores.csv``:
  1. spelling: ``pyschlab_*`` -> ``psychlab_*`` and
     ``lasertag_three_oponents_large`` -> ``lasertag_three_opponents_large``;
  2. the four lasertag rows. The paper prints them as one_large, three_large,
     one_small, three_small with human scores 12.7, 18.6, 18.6, 31.5, while
     scalable_agent (whose exact references we use) has one_small 12.65,
     three_small 18.55, one_large 18.6, three_large 31.5, with the random scores
     permuted the same way. The values are one list under two label orders.
     ``lasertag_labels='sa'`` (default) attaches each lasertag row to the
     scalable_agent level whose references match the row's printed human and
     random scores; ``'printed'`` keeps the paper's labels. Only 'sa' gives
     49.4 for IMPALA (paper Table 3); 'printed' gives 50.1.
"""

from typing import Dict, Tuple

from impala_tf.scoring import references

# Paper row label -> canonical level, lasertag rows in scalable_agent order.
TABLE_B1_ROW_TO_LEVEL: Dict[str, str] = {
    'rooms_collect_good_objects_test': 'rooms_collect_good_objects_test',
    'rooms_exploit_deferred_effects_test':
        'rooms_exploit_deferred_effects_test',
    'rooms_select_nonmatching_object': 'rooms_select_nonmatching_object',
    'rooms_watermaze': 'rooms_watermaze',
    'rooms_keys_doors_puzzle': 'rooms_keys_doors_puzzle',
    'language_select_described_object': 'language_select_described_object',
    'language_select_located_object': 'language_select_located_object',
    'language_execute_random_task': 'language_execute_random_task',
    'language_answer_quantitative_question':
        'language_answer_quantitative_question',
    # Lasertag: printed label -> level with the matching references.
    'lasertag_one_opponent_large': 'lasertag_one_opponent_small',
    'lasertag_three_oponents_large': 'lasertag_three_opponents_small',
    'lasertag_one_opponent_small': 'lasertag_one_opponent_large',
    'lasertag_three_opponents_small': 'lasertag_three_opponents_large',
    'natlab_fixed_large_map': 'natlab_fixed_large_map',
    'natlab_varying_map_regrowth': 'natlab_varying_map_regrowth',
    'natlab_varying_map_randomized': 'natlab_varying_map_randomized',
    'skymaze_irreversible_path_hard': 'skymaze_irreversible_path_hard',
    'skymaze_irreversible_path_varied': 'skymaze_irreversible_path_varied',
    'pyschlab_arbitrary_visuomotor_mapping':
        'psychlab_arbitrary_visuomotor_mapping',
    'pyschlab_continuous_recognition': 'psychlab_continuous_recognition',
    'pyschlab_sequential_comparison': 'psychlab_sequential_comparison',
    'pyschlab_visual_search': 'psychlab_visual_search',
    'explore_object_locations_small': 'explore_object_locations_small',
    'explore_object_locations_large': 'explore_object_locations_large',
    'explore_obstructed_goals_small': 'explore_obstructed_goals_small',
    'explore_obstructed_goals_large': 'explore_obstructed_goals_large',
    'explore_goal_locations_small': 'explore_goal_locations_small',
    'explore_goal_locations_large': 'explore_goal_locations_large',
    'explore_object_rewards_few': 'explore_object_rewards_few',
    'explore_object_rewards_many': 'explore_object_rewards_many',
}

TABLE_B1_FILE = 'dmlab30_impala_paper_tableB1.csv'
TABLE_C1_FILE = 'atari57_impala_paper_tableC1.csv'
TABLE2_FILE = 'impala_paper_table2.csv'
LASERTAG_LABEL_ORDERS = ('sa', 'printed')


def _b1_level(label: str, lasertag_labels: str) -> str:
  if lasertag_labels == 'sa':
    return TABLE_B1_ROW_TO_LEVEL[label]
  return references.canonical_dmlab_level(label)  # Spelling fixes only.


def dmlab30_table_b1(lasertag_labels: str = 'sa'
                    ) -> Dict[str, Dict[str, float]]:
  """Table B.1 as {column: {canonical level: value}}; see module docstring."""
  if lasertag_labels not in LASERTAG_LABEL_ORDERS:
    raise ValueError(f'lasertag_labels must be one of {LASERTAG_LABEL_ORDERS},'
                     f' got {lasertag_labels!r}')
  rows = references.read_data_csv(TABLE_B1_FILE)
  labels = [row['paper_row_label'] for row in rows]
  if sorted(labels) != sorted(TABLE_B1_ROW_TO_LEVEL):
    raise ValueError(f'{TABLE_B1_FILE} rows do not match the known labels.')
  columns = [c for c in rows[0] if c != 'paper_row_label']
  table: Dict[str, Dict[str, float]] = {c: {} for c in columns}
  for row in rows:
    level = _b1_level(row['paper_row_label'], lasertag_labels)
    for column in columns:
      table[column][level] = float(row[column])
  return table


def atari57_table_c1() -> Dict[str, Dict[str, float]]:
  """Table C.1 IMPALA columns as {column: {canonical game: score}}."""
  rows = references.read_data_csv(TABLE_C1_FILE)
  columns = [c for c in rows[0] if c != 'game']
  table: Dict[str, Dict[str, float]] = {c: {} for c in columns}
  for row in rows:
    game = references.canonical_atari_game(row['game'])
    for column in columns:
      table[column][game] = float(row[column])
  return table


def table2() -> Dict[Tuple[bool, str], Dict[str, float]]:
  """Table 2 as {(replay, correction): {task: final return}}, rows in the
  paper's order; corrections named as ``--correction`` names them, tasks as
  the paper labels them."""
  rows = references.read_data_csv(TABLE2_FILE)
  tasks = [c for c in rows[0] if c not in ('replay', 'correction')]
  return {(row['replay'] == 'yes', row['correction']):
          {task: float(row[task]) for task in tasks} for row in rows}
