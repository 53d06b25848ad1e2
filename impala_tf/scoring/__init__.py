"""Human-normalised scoring for DMLab-30 and Atari-57.

    human_normalized_score(name, mean_return) -> float (percent)
    dmlab30_mean_capped_score({level: mean_return} for all 30) -> float
    atari57_median_score / atari57_mean_score({game: mean_return} for all 57)

Reference human/random scores ship as package data in ``data/`` (copied from
the project's shared reference folder); see ``references`` for their sources
and accepted name spellings, and ``paper_tables`` for the paper's own tables.
"""

from impala_tf.scoring.normalized import (atari57_mean_score,
                                          atari57_median_score,
                                          dmlab30_capped_scores,
                                          dmlab30_mean_capped_score,
                                          human_normalized_score,
                                          human_normalized_scores)
from impala_tf.scoring.references import (ATARI57, DMLAB30, Reference,
                                          canonical_atari_game,
                                          canonical_dmlab_level,
                                          canonical_name, reference_scores)

__all__ = ['ATARI57', 'DMLAB30', 'Reference', 'atari57_mean_score',
           'atari57_median_score', 'canonical_atari_game',
           'canonical_dmlab_level', 'canonical_name', 'dmlab30_capped_scores',
           'dmlab30_mean_capped_score', 'human_normalized_score',
           'human_normalized_scores', 'reference_scores']
