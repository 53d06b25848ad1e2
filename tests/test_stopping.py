"""Tests for impala_tf.stopping: real signals sent to this process and to a
small child process."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from impala_tf.stopping import StopSignal

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _deliver(signum):
  """Sends a signal to this process and lets the main thread handle it."""
  os.kill(os.getpid(), signum)
  # Python runs handlers between bytecodes of the main thread; give it a few.
  for _ in range(100):
    time.sleep(0.001)


@pytest.fixture
def clean_handlers():
  before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
  yield before
  for signum, handler in before.items():
    signal.signal(signum, handler)


def test_sigterm_sets_flag_and_uninstall_restores_handlers(clean_handlers,
                                                           capsys):
  stop = StopSignal()
  assert not stop.requested and stop.reason is None
  stop.install()
  assert signal.getsignal(signal.SIGTERM) == stop._handle
  assert signal.getsignal(signal.SIGINT) == stop._handle
  _deliver(signal.SIGTERM)
  assert stop.wait(timeout=2.0)
  assert stop.requested and stop.is_set()
  assert stop.reason == 'received SIGTERM'
  err = capsys.readouterr().err
  assert err.count('\n') == 1
  assert 'SIGTERM' in err and 'checkpoint and exit' in err
  # A repeated SIGTERM is harmless.
  _deliver(signal.SIGTERM)
  assert stop.reason == 'received SIGTERM'
  stop.uninstall()
  for signum, handler in clean_handlers.items():
    assert signal.getsignal(signum) == handler
  assert not stop.installed
  stop.uninstall()  # Idempotent.


def test_first_sigint_is_graceful(clean_handlers):
  with StopSignal() as stop:
    _deliver(signal.SIGINT)  # Must not raise KeyboardInterrupt.
    assert stop.wait(2.0)
    assert stop.reason == 'received SIGINT'
  assert signal.getsignal(signal.SIGINT) == clean_handlers[signal.SIGINT]


def test_second_sigint_raises_keyboard_interrupt(clean_handlers):
  stop = StopSignal().install()
  try:
    _deliver(signal.SIGINT)
    assert stop.requested
    with pytest.raises(KeyboardInterrupt):
      _deliver(signal.SIGINT)
    # Ctrl-C has its previous meaning back, even before uninstall().
    assert signal.getsignal(signal.SIGINT) == clean_handlers[signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) == stop._handle
  finally:
    stop.uninstall()
  assert signal.getsignal(signal.SIGTERM) == clean_handlers[signal.SIGTERM]


def test_sigint_after_sigterm_escalates(clean_handlers):
  with StopSignal() as stop:
    _deliver(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
      _deliver(signal.SIGINT)
  assert stop.reason == 'received SIGTERM'


def test_programmatic_request_from_a_thread():
  stop = StopSignal()  # No handlers needed for programmatic stops.
  assert not stop.wait(timeout=0.01)
  results = []
  thread = threading.Thread(
      target=lambda: results.append(stop.request('NaN loss at step 7')))
  thread.start()
  assert stop.wait(timeout=2.0)
  thread.join()
  assert results == [True]
  assert not stop.request('later reason')
  assert stop.reason == 'NaN loss at step 7'


def test_wait_wakes_up_when_signal_arrives(clean_handlers):
  with StopSignal() as stop:
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    start = time.monotonic()
    assert stop.wait(timeout=5.0)
    assert time.monotonic() - start < 2.0
    timer.join()


def test_install_outside_main_thread_fails_clearly():
  stop = StopSignal()
  errors = []

  def target():
    try:
      stop.install()
    except RuntimeError as e:
      errors.append(str(e))

  thread = threading.Thread(target=target, name='worker')
  thread.start()
  thread.join()
  assert len(errors) == 1
  assert 'main thread' in errors[0] and "'worker'" in errors[0]
  assert not stop.installed


def test_install_is_idempotent(clean_handlers):
  stop = StopSignal()
  stop.install()
  stop.install()  # Must not record its own handler as the previous one.
  stop.uninstall()
  assert signal.getsignal(signal.SIGTERM) == clean_handlers[signal.SIGTERM]


_CHILD = textwrap.dedent("""
    import sys, time
    from impala_tf.stopping import StopSignal
    exit_code = int(sys.argv[2]) if len(sys.argv) > 2 else None
    with StopSignal(exit_code_on_second_interrupt=exit_code) as stop:
      print('ready', flush=True)
      while not stop.wait(0.05):
        pass
      print('checkpointing because', stop.reason, flush=True)
      if len(sys.argv) > 1:  # Simulate a long checkpoint while stopping.
        time.sleep(30)
      print('checkpoint written', flush=True)
    print('exited cleanly', flush=True)
""")


@pytest.fixture
def start_child():
  procs = []

  def start(*args):
    proc = subprocess.Popen(
        [sys.executable, '-c', _CHILD, *args], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout.readline().strip() == 'ready'
    return proc

  yield start
  for proc in procs:  # Never leave a child behind, even on failure.
    if proc.poll() is None:
      proc.kill()
    proc.communicate()


def test_child_process_stops_cleanly_on_sigterm(start_child):
  proc = start_child()
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=10)
  assert proc.returncode == 0, err
  assert 'checkpointing because received SIGTERM' in out
  assert 'exited cleanly' in out
  assert 'will checkpoint and exit' in err


def test_stuck_child_can_be_interrupted_with_second_ctrl_c(start_child):
  proc = start_child('stuck')
  proc.send_signal(signal.SIGINT)
  assert 'checkpointing because received SIGINT' in proc.stdout.readline()
  proc.send_signal(signal.SIGINT)
  out, err = proc.communicate(timeout=10)
  assert proc.returncode != 0
  assert 'KeyboardInterrupt' in err
  assert 'exited cleanly' not in out


def test_second_ctrl_c_can_exit_at_once_and_quietly(start_child):
  """The binaries' mode: no checkpoint, no traceback, exit code 130."""
  proc = start_child('stuck', '130')
  proc.send_signal(signal.SIGINT)
  assert 'checkpointing because received SIGINT' in proc.stdout.readline()
  proc.send_signal(signal.SIGINT)
  out, err = proc.communicate(timeout=10)
  assert proc.returncode == 130
  assert 'second Ctrl-C: exiting now, without a checkpoint' in err
  assert 'Traceback' not in err and 'KeyboardInterrupt' not in err
  assert 'checkpoint written' not in out and 'exited cleanly' not in out


def test_fail_records_the_first_fault_and_requests_a_stop():
  stop = StopSignal()
  assert stop.failure is None
  stop.fail('actor thread 3 failed: boom')
  stop.fail('a later fault')
  assert stop.requested and stop.is_set()
  assert stop.failure == 'actor thread 3 failed: boom'
  assert 'actor thread 3 failed' in stop.reason
