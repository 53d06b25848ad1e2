"""Signal handlers that only record, for the processes that manage children.

A process that starts and watches child processes (the launcher, the sweep
and PBT controllers, the benchmark's distributed rows) must not be
interrupted at an arbitrary point: a KeyboardInterrupt that lands inside
``subprocess.Popen.poll()`` between its taking and releasing its internal lock
leaves the lock held, and every later ``wait()`` on that child hangs. Their
handlers therefore record the signal (``on_signal``, which a subclass
defines: set a flag, say one line) and their loop acts on it.

  class Interrupts(SignalFlags):
    def on_signal(self, signum, name): self.stop_requested = True

  with Interrupts() as interrupts:      # or .install() / .uninstall()
    while not interrupts.stop_requested: ...
"""

import os
import signal
import threading


def announce(message):
  """One line to stderr, safe inside a signal handler."""
  try:
    os.write(2, (message + '\n').encode('utf-8', 'replace'))
  except OSError:
    pass


class SignalFlags:
  """Installs ``on_signal`` for ``SIGNALS`` (main thread only; elsewhere,
  where Python delivers no signal, install does nothing)."""

  SIGNALS = (signal.SIGINT, signal.SIGTERM)

  def __init__(self):
    self._previous = {}

  def on_signal(self, signum, name):
    raise NotImplementedError

  def install(self):
    """Installs the handlers; returns self."""
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def uninstall(self):
    """Restores the handlers that were there before ``install``."""
    for signum, handler in self._previous.items():
      signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    self._previous = {}

  def __enter__(self):
    return self.install()

  def __exit__(self, *exc_info):
    self.uninstall()
    return False

  def _handle(self, signum, frame):
    del frame
    self.on_signal(signum, signal.Signals(signum).name)


class RaiseLater(SignalFlags):
  """While installed (a ``with`` block), SIGINT, SIGTERM and SIGHUP are
  recorded and ``raise_if_received()`` raises KeyboardInterrupt at a safe
  point of the caller's loop (the benchmark's distributed rows), as the
  benchmark's own handlers would have: no argument for Ctrl-C, the signal's
  name for the others. A signal received during the block and not raised
  yet is raised on leaving it.
  """

  SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

  def __init__(self):
    super().__init__()
    self.received = None  # The first signal number, once one came.

  def on_signal(self, signum, name):
    if self.received is None:
      self.received = signum

  def raise_if_received(self):
    if self.received == signal.SIGINT:
      raise KeyboardInterrupt
    if self.received is not None:
      raise KeyboardInterrupt(signal.Signals(self.received).name)

  def __exit__(self, exc_type, *unused):
    self.uninstall()
    if exc_type is None:
      self.raise_if_received()
    return False
