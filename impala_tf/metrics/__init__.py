"""Training metrics: episode statistics, TensorBoard/CSV summaries, progress.

  EpisodeStats   per-task returns/lengths from the actor threads (episodes.py)
  MetricsWriter  TensorBoard event files + ``<logdir>/metrics.csv`` (writer.py)
  drop_rows_after(logdir, step)  forget CSV rows past a restored checkpoint
  ProgressLine   rate-limited console progress line with fps/ETA (progress.py)
"""

from impala_tf.metrics.episodes import EpisodeStats
from impala_tf.metrics.progress import ProgressLine
from impala_tf.metrics.progress import format_duration
from impala_tf.metrics.writer import CSV_FILENAME
from impala_tf.metrics.writer import CSV_HEADER
from impala_tf.metrics.writer import MetricsWriter
from impala_tf.metrics.writer import drop_rows_after

__all__ = [
    'CSV_FILENAME',
    'CSV_HEADER',
    'EpisodeStats',
    'MetricsWriter',
    'ProgressLine',
    'drop_rows_after',
    'format_duration',
]
