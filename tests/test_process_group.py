"""A child started with process_group.child_env stops when its parent dies.

Real processes, no TensorFlow: a parent script starts a child that calls
die_with_parent and then waits; the test kills the parent with SIGKILL.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

from impala_tf import process_group

from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The child: reports how it ended in a file, since nobody reads its output.
CHILD = textwrap.dedent('''
    import signal, sys, time
    from impala_tf import process_group
    def on_term(signum, frame):
      open(sys.argv[1], 'w').write('SIGTERM')
      sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    process_group.die_with_parent('child')
    print('child ready', flush=True)
    time.sleep(600)
''')
# The parent: starts the child in a session of its own (as every process
# manager of impala_tf does), prints its pid, waits.
PARENT = textwrap.dedent('''
    import subprocess, sys, time
    from impala_tf import process_group
    env = process_group.child_env() if sys.argv[2] == 'watched' else None
    child = subprocess.Popen([sys.executable, '-c', sys.argv[3], sys.argv[1]],
                             env=env, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    assert child.stdout.readline() == 'child ready\\n'
    print(f'child {child.pid}', flush=True)
    time.sleep(600)
''')


def _alive(pid):
  try:
    with open(f'/proc/{pid}/stat') as f:
      stat = f.read()
  except OSError:
    return False
  return stat[stat.rindex(')') + 2] not in 'ZX'


def _start_family(tmp_path, mode):
  report = tmp_path / 'child_ended_by'
  parent = Child([sys.executable, '-c', PARENT, str(report), mode, CHILD],
                 cwd=REPO)
  parent.stdout.wait_for('child ', timeout=120)  # Hang guard.
  child_pid = int(parent.stdout.text().split('child ')[1].split()[0])
  return parent, child_pid, report


def test_a_watched_child_gets_sigterm_when_its_parent_is_killed(tmp_path):
  parent, child_pid, report = _start_family(tmp_path, 'watched')
  with parent:
    assert _alive(child_pid)
    parent.process.kill()  # SIGKILL: the parent can do nothing.
    parent.wait(timeout=60)
  deadline = time.monotonic() + 60  # Hang guard; it takes milliseconds.
  while _alive(child_pid) and time.monotonic() < deadline:
    time.sleep(0.05)
  alive = _alive(child_pid)
  if alive:
    os.kill(child_pid, signal.SIGKILL)
  assert not alive
  assert report.read_text() == 'SIGTERM'


def test_an_unwatched_child_outlives_its_parent(tmp_path):
  # The control: without child_env the same child keeps running.
  parent, child_pid, report = _start_family(tmp_path, 'unwatched')
  try:
    with parent:
      parent.process.kill()
      parent.wait(timeout=60)
    time.sleep(1.0)
    assert _alive(child_pid)
    assert not report.exists()
  finally:
    if _alive(child_pid):
      os.kill(child_pid, signal.SIGKILL)


def test_a_child_whose_parent_is_already_gone_stops_at_once():
  # The variable names a process that is not the child's parent (now): as if
  # the parent had died and the child had been given to another.
  named = os.getppid()
  env = dict(os.environ)
  env[process_group.PARENT_PID_ENV] = str(named)
  result = subprocess.run(
      [sys.executable, '-c', 'from impala_tf import process_group\n'
       "process_group.die_with_parent('prog')\nprint('went on')"],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
      check=False)
  assert result.returncode == 1
  assert result.stdout == ''
  assert result.stderr.strip() == (
      f'prog: the process that started this one (pid {named}) has exited; '
      'stopping.')


def test_without_the_variable_nothing_changes():
  env = {k: v for k, v in os.environ.items()
         if k != process_group.PARENT_PID_ENV}
  result = subprocess.run(
      [sys.executable, '-c', 'from impala_tf import process_group\n'
       "process_group.die_with_parent('prog')\nprint('went on')"],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
      check=False)
  assert (result.returncode, result.stdout) == (0, 'went on\n')


def test_child_env_names_this_process_and_is_a_copy():
  base = {'A': '1'}
  env = process_group.child_env(base)
  assert env == {'A': '1', process_group.PARENT_PID_ENV: str(os.getpid())}
  assert base == {'A': '1'}
