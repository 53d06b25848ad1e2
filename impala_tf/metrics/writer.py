"""Training summaries: TensorBoard event files plus a CSV mirror of scalars.

``MetricsWriter(logdir).scalars(step, {'loss/total': 1.2, ...})`` writes each
value as a TensorBoard scalar and appends one row per value to
``<logdir>/metrics.csv`` (long format ``step,wall_time,tag,value``), which
``impala_tf.plot`` and other tools read without TensorFlow. The CSV is opened
in append mode, so a resumed run continues the same file. A run that resumes
from a checkpoint first calls ``drop_rows_after(logdir, step)``, so rows
logged after that checkpoint (by a run that was killed) are not followed by a
second copy of the same frames. (TensorBoard does the same by itself: it
discards earlier events at steps it sees again.)

Non-finite values are written as they are (``nan``, ``inf``, ``-inf`` in the
CSV, which Python's ``float`` parses back).
"""

import csv
import numbers
import os
import threading
import time

import numpy as np
import tensorflow as tf

CSV_FILENAME = 'metrics.csv'
CSV_HEADER = ('step', 'wall_time', 'tag', 'value')


def _to_float(tag, value):
  """float(value) for Python/NumPy numbers and scalar arrays/tensors."""
  if isinstance(value, (bool, np.bool_)):
    return float(value)
  if isinstance(value, numbers.Real):
    return float(value)
  if hasattr(value, 'numpy'):  # Eager tensors, tf.Variable.
    value = value.numpy()
  array = np.asarray(value)
  if array.size != 1 or not (np.issubdtype(array.dtype, np.number) or
                             array.dtype == np.bool_):
    raise TypeError(f'Scalar summary {tag!r} needs a real number, got '
                    f'{value!r}.')
  return float(array.reshape(()))


def drop_rows_after(logdir, step):
  """Rewrites ``<logdir>/metrics.csv`` without the rows of steps > ``step``.

  The file is replaced atomically (temporary file, then rename); rows that
  do not parse are kept. Returns the number of rows dropped (0 if the file
  does not exist).
  """
  path = os.path.join(os.fspath(logdir), CSV_FILENAME)
  if not os.path.exists(path):
    return 0
  kept, dropped = [], 0
  with open(path, newline='', encoding='utf-8') as f:
    lines = f.read().splitlines(keepends=True)
  for i, line in enumerate(lines):
    try:
      row_step = int(line.split(',', 1)[0]) if i > 0 else None
    except ValueError:
      row_step = None
    if row_step is not None and row_step > step:
      dropped += 1
    else:
      kept.append(line if line.endswith('\n') else line + '\n')
  if dropped:
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='', encoding='utf-8') as f:
      f.writelines(kept)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  return dropped


class MetricsWriter:
  """Writes scalar summaries to TensorBoard and a CSV file, histograms to TB.

  Safe to call from several threads. Use as a context manager or call
  ``close()`` at the end.
  """

  def __init__(self, logdir, flush_seconds=10.0):
    """Opens (creating if needed) the event file and the CSV mirror.

    Args:
      logdir: directory for the event files and ``metrics.csv``.
      flush_seconds: the TensorBoard writer flushes at least this often (the
        CSV file is flushed after every ``scalars`` call).
    """
    self._logdir = os.fspath(logdir)
    os.makedirs(self._logdir, exist_ok=True)
    self._lock = threading.Lock()
    self._closed = False
    self._tb = tf.summary.create_file_writer(
        self._logdir, flush_millis=max(1, int(flush_seconds * 1000)))
    self._csv_path = os.path.join(self._logdir, CSV_FILENAME)
    self._csv_file = self._open_csv(self._csv_path)
    self._csv = csv.writer(self._csv_file, lineterminator='\n')

  @staticmethod
  def _open_csv(path):
    """Opens for appending; writes the header to a new or empty file."""
    # If a previous run died mid-line, start on a fresh line.
    needs_newline = False
    if os.path.exists(path) and os.path.getsize(path) > 0:
      with open(path, 'rb') as f:
        f.seek(-1, os.SEEK_END)
        needs_newline = f.read(1) != b'\n'
    f = open(path, 'a', newline='', encoding='utf-8')  # pylint: disable=consider-using-with
    if f.tell() == 0:
      f.write(','.join(CSV_HEADER) + '\n')
    elif needs_newline:
      f.write('\n')
    f.flush()
    return f

  @property
  def logdir(self):
    return self._logdir

  @property
  def csv_path(self):
    return self._csv_path

  def scalars(self, step, values):
    """Writes ``{tag: value}`` at ``step`` to TensorBoard and the CSV.

    Args:
      step: integer step (the training binary uses environment frames).
      values: mapping of tag to a real number (Python, NumPy or scalar
        tensor). NaN and infinities are written as they are.

    Raises:
      TypeError: a value is not a real scalar (nothing is written then).
      ValueError: the writer is closed.
    """
    step = int(step)
    items = [(str(tag), _to_float(tag, value)) for tag, value in values.items()]
    wall_time = time.time()
    with self._lock:
      self._check_open()
      with self._tb.as_default():
        for tag, value in items:
          tf.summary.scalar(tag, value, step=step)
      for tag, value in items:
        self._csv.writerow((step, f'{wall_time:.3f}', tag, repr(value)))
      self._csv_file.flush()

  def histogram(self, step, tag, values, buckets=None):
    """Writes a histogram of ``values`` to TensorBoard only.

    Non-finite entries are left out: TensorBoard would otherwise turn every
    bucket of the histogram into NaN. (Non-finite losses show in scalars.)
    """
    array = np.asarray(values.numpy() if hasattr(values, 'numpy') else values,
                       dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    with self._lock:
      self._check_open()
      with self._tb.as_default():
        tf.summary.histogram(str(tag), array, step=int(step), buckets=buckets)

  def flush(self):
    with self._lock:
      if not self._closed:
        self._tb.flush()
        self._csv_file.flush()

  def close(self):
    """Flushes and closes both files; further calls are no-ops."""
    with self._lock:
      if self._closed:
        return
      self._closed = True
      try:
        self._tb.flush()
        self._tb.close()
      finally:
        self._csv_file.close()

  def _check_open(self):
    if self._closed:
      raise ValueError('MetricsWriter is closed.')

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()

