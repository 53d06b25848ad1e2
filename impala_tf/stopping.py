"""One stop mechanism for a run: signals, faults and programmatic stops.

Every thread of a run gets the same ``StopSignal``. SIGTERM/SIGINT (once the
handlers are installed) and ``request(reason)`` ask for a clean stop: the
training loop sees ``requested``, checkpoints and exits. A worker thread that
hits a fault calls ``fail(message)``: the run stops the same way, but
``failure`` holds the message, so the loop reports an error and keeps the last
good checkpoint instead of saving. ``is_set``/``wait`` make it usable wherever
a ``threading.Event`` is expected (queue and staging waits).

A second Ctrl-C while stopping either exits at once with
``exit_code_on_second_interrupt`` (the binaries: no checkpoint, no traceback)
or, by default, restores the previous SIGINT handler and raises
KeyboardInterrupt::

  with StopSignal() as stop:
    while not stop.requested:
      train_step()
    manager.save(step, trackables, extra)
"""

import io
import os
import signal
import sys
import threading

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _announce(message):
  """Writes one line to stderr, safely from inside a signal handler."""
  line = message + '\n'
  try:
    os.write(sys.stderr.fileno(), line.encode('utf-8', 'replace'))
    return
  except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
    pass
  try:
    print(message, file=sys.stderr, flush=True)
  except (RuntimeError, OSError, ValueError, AttributeError):
    pass  # e.g. re-entrant write to a buffered stream: drop the message.


class StopSignal:
  """A thread-safe stop flag that SIGTERM and SIGINT can set.

  Works like a ``threading.Event`` (``is_set``/``wait``) but is set from
  signal handlers safely: it is built on a re-entrant lock, so a handler
  that runs while the main thread is inside ``wait`` cannot deadlock.

  Args:
    signals: the signals to handle (default SIGTERM and SIGINT).
    exit_code_on_second_interrupt: if set, a second SIGINT ends the process
      at once with this exit code (os._exit: no checkpoint, no traceback);
      if None it raises KeyboardInterrupt in the main thread.
  """

  def __init__(self, signals=_SIGNALS, exit_code_on_second_interrupt=None):
    self._signals = tuple(signals)
    self._exit_code = exit_code_on_second_interrupt
    self._cond = threading.Condition(threading.RLock())
    self._requested = False
    self._reason = None
    self._failure = None
    self._signals_received = 0
    self._previous = None  # {signum: handler} while installed.

  # ------------------------------------------------------------- the flag

  @property
  def requested(self):
    """True once a stop was requested (by a signal or ``request``)."""
    return self._requested

  def is_set(self):
    """Same as ``requested`` (``threading.Event`` compatible)."""
    return self._requested

  @property
  def reason(self):
    """Why the stop was first requested, or None."""
    return self._reason

  def request(self, reason):
    """Requests a stop; the first reason is kept. True on the first call."""
    with self._cond:
      first = not self._requested
      if first:
        self._reason = str(reason)
        self._requested = True
      self._cond.notify_all()
      return first

  @property
  def failure(self):
    """The first fault reported with ``fail``, or None."""
    return self._failure

  def fail(self, message):
    """Stops the run because of a fault (e.g. a worker thread crashed)."""
    with self._cond:
      if self._failure is None:
        self._failure = str(message)
    self.request(f'failure: {message}')

  def wait(self, timeout=None):
    """Blocks until a stop is requested or ``timeout`` seconds pass.

    Returns ``requested``.
    """
    with self._cond:
      return self._cond.wait_for(lambda: self._requested, timeout)

  # ------------------------------------------------------------- handlers

  @property
  def installed(self):
    return self._previous is not None

  def install(self):
    """Installs the handlers (main thread only). Idempotent; returns self."""
    self._require_main_thread('install')
    if self._previous is not None:
      return self
    previous = {}
    try:
      for signum in self._signals:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, self._handle)
    except BaseException:
      for signum, handler in previous.items():
        signal.signal(signum, _restorable(handler))
      raise
    self._previous = previous
    return self

  def reclaim(self):
    """Installs the handlers again if they are installed (main thread).

    For code that replaces them behind Python's back: TensorFlow's
    coordination service (started by MultiWorkerMirroredStrategy) installs
    its own C-level SIGTERM handler, which Python's signal.getsignal does
    not show.
    """
    self._require_main_thread('reclaim')
    if self._previous is not None:
      for signum in self._signals:
        signal.signal(signum, self._handle)
    return self

  def uninstall(self):
    """Restores the handlers that were in place before ``install``."""
    self._require_main_thread('uninstall')
    if self._previous is None:
      return
    previous, self._previous = self._previous, None
    for signum, handler in previous.items():
      signal.signal(signum, _restorable(handler))

  def __enter__(self):
    return self.install()

  def __exit__(self, *exc_info):
    self.uninstall()
    return False

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    self._signals_received += 1
    if self._signals_received > 1:
      if signum == signal.SIGINT and self._exit_code is not None:
        _announce('impala_tf: second Ctrl-C: exiting now, without a '
                  'checkpoint (the last one on disk is kept).')
        os._exit(self._exit_code)  # pylint: disable=protected-access
      if signum == signal.SIGINT:
        # Second interrupt: give Ctrl-C back its usual meaning and raise.
        previous = (self._previous or {}).get(signal.SIGINT)
        signal.signal(signal.SIGINT, _restorable(previous))
        _announce('impala_tf: second SIGINT, interrupting now.')
        raise KeyboardInterrupt
      return  # A repeated SIGTERM: the stop is already under way.
    self.request(f'received {name}')
    _announce(f'impala_tf: received {name}; the run will checkpoint and '
              f'exit (Ctrl-C again to exit at once, without a checkpoint).')

  @staticmethod
  def _require_main_thread(what):
    if threading.current_thread() is not threading.main_thread():
      raise RuntimeError(
          f'StopSignal.{what}() must be called from the main thread (Python '
          f'delivers signals only there), not from thread '
          f'{threading.current_thread().name!r}.')


def _restorable(handler):
  """signal.getsignal() gives None for handlers not set from Python."""
  return signal.SIG_DFL if handler is None else handler
