"""python -m impala_tf.launch: a whole cluster on 127.0.0.1 from one command.

The process tests start the real launcher (through tests.processes.Child:
output read with deadlines), which starts real learner and actor processes
of impala_tf.train on Catch. The launcher's children are found by their
command line (every one reads ``<logdir>/launch/config.flags``): each test
asserts that none outlives the launcher and kills, on its way out, exactly
those that did.
"""

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

import pytest

from impala_tf import flags as flags_lib
from impala_tf.config import Config
from impala_tf.distributed import cluster as cluster_lib
from impala_tf.distributed import launch_plan
from impala_tf.distributed import launcher as launcher_lib
from impala_tf.distributed import merged_output
from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH_CFG = os.path.join(REPO, 'paper_configs/catch.cfg')
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
LAUNCH = [sys.executable, '-m', 'impala_tf.launch', f'--flagfile={CATCH_CFG}',
          '--progress_secs=1']
STARTED = re.compile(r'^\[launcher\] started (\w+ \d+) \(pid (\d+)\)$', re.M)


def _children_of(logdir):
  """Pids of the running processes that read this run's config flag file."""
  needle = f'--flagfile={os.path.join(logdir, "launch", "config.flags")}'
  pids = []
  for entry in os.listdir('/proc'):
    if not entry.isdigit():
      continue
    try:
      with open(f'/proc/{entry}/cmdline', 'rb') as f:
        arguments = f.read().decode('utf-8', 'replace').split('\0')
    except OSError:
      continue  # Gone meanwhile.
    if needle in arguments:
      pids.append(int(entry))
  return pids


@contextlib.contextmanager
def _launch(logdir, *flags):
  """The launcher as a Child; its surviving children are killed at the end
  (there should be none: the tests assert that)."""
  try:
    with Child(LAUNCH + [f'--logdir={logdir}', *flags], cwd=REPO,
               env=ENV) as launcher:
      yield launcher
  finally:
    for pid in _children_of(str(logdir)):
      os.kill(pid, signal.SIGKILL)


def _started(text):
  """{'actor 1': [pid, ...]} from the launcher's 'started' lines."""
  pids = {}
  for name, pid in STARTED.findall(text):
    pids.setdefault(name, []).append(int(pid))
  return pids


def _merged_progress_lines(text):
  return [line for line in text.splitlines()
          if ' fps ' in line and ' | actors ' in line]


# ---------------------------------------------------------------- no processes


def test_the_flag_file_gives_back_exactly_the_config(tmp_path):
  config = Config(logdir=str(tmp_path / 'a run'), level_name='catch',
                  num_action_repeats=1, learning_rate=0.1 + 0.2, xla=True,
                  dataset_path='', sticky_actions=1e-7)
  path = str(tmp_path / 'config.flags')
  launch_plan.write_flagfile(config, path)
  assert flags_lib.config_from_flagfile(path) == config


def test_merged_output_drops_noise_and_merges_the_chief_progress():
  lines = []
  output = merged_output.MergedOutput(2, print_fn=lines.append)
  output.relay('learner 0', 'I0000 00:00:1796072894.974938   20067 '
               'port.cc:153] oneDNN custom operations are on.')
  output.relay('actor 1', 'WARNING: All log messages before '
               'absl::InitializeLog() is called are written to STDERR')
  output.relay('actor 1', '[actor 1] connected to learner 0 at '
               '127.0.0.1:1; 8 environments')
  output.relay('actor 0', 'Traceback (most recent call last):')
  output.relay('learner 0', '[ 1.00K / 2.00K  50.0%]  10 fps  ETA 1m40s  '
               'return(100) 0.50  loss 1.5')
  assert lines == ['[actor 1] connected to learner 0 at 127.0.0.1:1; 8 '
                   'environments',
                   '[actor 0] Traceback (most recent call last):']
  assert output.progress_line(actor_restarts=1) == (
      '[ 1.00K / 2.00K  50.0%]  10 fps  ETA 1m40s  return(100) 0.50  loss '
      '1.5 | actors 1/2 up, 1 restart')
  output.actor_down(1)
  assert output.progress_line(3, 1).endswith(
      '| actors 0/2 up, 3 restarts, 1 learner restart')


def test_free_learner_addresses_leave_each_port_and_the_next_free():
  addresses = launch_plan.free_learner_addresses(3)
  ports = [cluster_lib.split_address(a)[1] for a in addresses]
  used = {p + i for p in ports for i in (0, 1)}
  assert len(used) == 6  # Pairs do not overlap.
  for port in used:
    with socket.socket() as probe:
      probe.bind(('127.0.0.1', port))


# ------------------------------------- supervision, with fake children

# Stands in for `python -m impala_tf.train ...`: behaves as FAKE_<JOB> says.
_FAKE_CHILD = """
import os, signal, sys, time
job = [a for a in sys.argv if a.startswith('--job_name=')][0].split('=')[1]
behaviour = os.environ['FAKE_' + job.upper()]
print(f'[{job}] fake {behaviour}', flush=True)
if behaviour.startswith('exit:'):
  sys.exit(int(behaviour.split(':')[1]))
if behaviour == 'killed-once-then-finish':
  marker = os.environ['FAKE_MARKER']
  if not os.path.exists(marker):
    open(marker, 'w').close()
    os.kill(os.getpid(), signal.SIGKILL)
  time.sleep(0.5)
  sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
time.sleep(60)  # A hang guard: a fake learner then ends the run.
"""


def _run_fake_cluster(tmp_path, monkeypatch, learner, actor, **options):
  """Runs a Launcher over fake children; (exit code, message, lines)."""
  fake = tmp_path / 'fake_python'
  fake.write_text(f'#!{sys.executable}\n{_FAKE_CHILD}')
  fake.chmod(0o755)
  monkeypatch.setenv('FAKE_LEARNER', learner)
  monkeypatch.setenv('FAKE_ACTOR', actor)
  monkeypatch.setenv('FAKE_MARKER', str(tmp_path / 'marker'))
  os.makedirs(tmp_path / 'launch')
  lines = []
  launcher = launcher_lib.Launcher(
      launch_plan.free_learner_addresses(1), 2,
      str(tmp_path / 'launch' / 'config.flags'),
      launch_plan.LaunchOptions(**options), progress_secs=0.5,
      output=merged_output.MergedOutput(2, print_fn=lines.append),
      python=str(fake))
  code, message = launcher.run()
  assert not any(c.running() for c in launcher.learners + launcher.actors)
  return code, message, lines


def test_a_refused_actor_stops_the_run_without_restarts(tmp_path,
                                                        monkeypatch):
  code, message, lines = _run_fake_cluster(tmp_path, monkeypatch, 'serve',
                                           'exit:3')
  assert code == 1
  assert re.match(r'actor \d was refused by its learner \(restarting '
                  r'cannot help\); its last line: \[actor\] fake exit:3$',
                  message)
  assert not [line for line in lines if 'restarting it' in line]
  assert len(STARTED.findall('\n'.join(lines))) == 3  # Nothing restarted.


def test_actor_restarts_are_bounded_by_max_actor_restarts(tmp_path,
                                                          monkeypatch):
  code, message, lines = _run_fake_cluster(
      tmp_path, monkeypatch, 'serve', 'exit:1', max_actor_restarts=2)
  assert code == 1
  assert 'the actor restarts are spent (--max_actor_restarts=2)' in message
  restarts = [line for line in lines if '; restarting it (' in line]
  assert [line[-5:] for line in restarts] == ['(1/2)', '(2/2)'], lines


def test_a_failing_learner_stops_the_run_naming_it(tmp_path, monkeypatch):
  code, message, _ = _run_fake_cluster(tmp_path, monkeypatch, 'exit:1',
                                       'serve')
  assert code == 1
  assert message == ('learner 0 failed (exit code 1); its last line: '
                     '[learner] fake exit:1')


def test_a_learner_killed_by_a_signal_is_restarted(tmp_path, monkeypatch):
  code, message, lines = _run_fake_cluster(
      tmp_path, monkeypatch, 'killed-once-then-finish', 'serve')
  assert (code, message) == (0, None)
  assert '[launcher] learner 0 exited (signal 9 (SIGKILL)); restarting it (1/5)' in (
      lines)


# ------------------------------------------------- the binary, no children


@pytest.mark.parametrize('flags,sentence', [
    (['--batch_size=0'], '--batch_size: must be > 0, got 0.'),
    (['--num_learners=3', '--num_actor_processes=2'],
     '--num_actor_processes: 2 actor process(es) for 3 learners: every '
     'learner needs at least one.'),
    (['--max_actor_restarts=-1'], '--max_actor_restarts: must be >= 0, got '
     '-1.'),
    (['--print_cluster_commands'], '--print_cluster_commands needs '
     '--learner_addresses'),
])
def test_a_bad_flag_is_one_sentence_before_any_child_starts(
    tmp_path, flags, sentence):
  logdir = tmp_path / 'run'
  result = subprocess.run(LAUNCH + [f'--logdir={logdir}', *flags], cwd=REPO,
                          env=ENV, capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 1
  assert result.stderr.startswith('impala_tf.launch: error: ' + sentence)
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert 'started' not in result.stdout
  assert not os.path.exists(logdir / 'launch')


def test_print_cluster_commands_gives_one_command_per_process(tmp_path):
  logdir = tmp_path / 'run'
  learners = ['10.0.0.1:8000', '10.0.0.2:8000']
  result = subprocess.run(
      LAUNCH + [f'--logdir={logdir}', '--num_actor_processes=3',
                f'--learner_addresses={",".join(learners)}',
                '--print_cluster_commands'],
      cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  assert 'no authentication' in result.stdout
  commands = [line for line in result.stdout.splitlines()
              if line and not line.startswith('#')]
  flagfile = str(logdir / 'launch' / 'config.flags')
  jobs = [('learner', 0), ('learner', 1), ('actor', 0), ('actor', 1),
          ('actor', 2)]
  assert len(commands) == len(jobs)
  for command, (job, task) in zip(commands, jobs):
    words = shlex.split(command)
    name, _, tf_config = words[0].partition('=')
    assert name == 'TF_CONFIG'
    assert json.loads(tf_config)['cluster']['learner'] == learners
    cluster = cluster_lib.Cluster.from_tf_config(tf_config)  # TF's parser.
    assert (cluster.job_name, cluster.task) == (job, task)
    assert cluster.learners == tuple(learners)
    assert cluster.num_actor_processes == 3
    assert words[1:] == ['python', '-m', 'impala_tf.train',
                         f'--flagfile={flagfile}', f'--job_name={job}',
                         f'--task={task}']
  expected = flags_lib.config_from_flagfile(CATCH_CFG, logdir=str(logdir),
                                            num_learners=2,
                                            num_actor_processes=3,
                                            progress_secs=1.0)
  assert flags_lib.config_from_flagfile(flagfile) == expected
  assert not os.path.exists(logdir / 'checkpoints')  # Nothing was run.


# ------------------------------------------------------ whole clusters


# Slow: test_experiments runs a launched cluster to the end by default.
@pytest.mark.slow
def test_one_learner_and_two_actor_processes_train_catch_to_the_end(tmp_path):
  logdir = tmp_path / 'run'
  with _launch(logdir, '--num_actor_processes=2',
               '--total_environment_frames=20000') as launcher:
    assert launcher.wait(timeout=600) == 0, launcher.output()
    out, err = launcher.output()
    assert not _children_of(str(logdir))
  assert '[learner 0] Stopped: finished at 20,' in out, out[-3000:]
  assert os.path.exists(logdir / 'checkpoints' / 'LATEST')
  merged = _merged_progress_lines(out)
  assert merged, out[-3000:]
  assert re.search(r'\| actors [0-2]/2 up, 0 restarts$', merged[-1])
  assert 'I0000' not in out and 'WARNING: All log messages' not in out
  for name in ('learner-0', 'actor-0', 'actor-1'):
    with open(logdir / 'launch' / f'{name}.log') as f:
      assert 'I0000' in f.read()  # The full output, noise included.
  assert set(_started(out)) == {'learner 0', 'actor 0', 'actor 1'}
  assert 'Traceback' not in out + err


def test_an_actor_killed_with_sigkill_is_restarted_and_the_run_finishes(
    tmp_path):
  logdir = tmp_path / 'run'
  with _launch(logdir, '--num_actor_processes=2', '--max_actor_restarts=1',
               '--total_environment_frames=30000') as launcher:
    launcher.stdout.wait_for(' fps ', timeout=300)  # Mid-run.
    os.kill(_started(launcher.stdout.text())['actor 1'][0], signal.SIGKILL)
    launcher.stdout.wait_for(
        '[launcher] actor 1 exited (signal 9 (SIGKILL)); restarting it (1/1)',
        timeout=120)
    assert launcher.wait(timeout=600) == 0, launcher.output()
    out, err = launcher.output()
    assert not _children_of(str(logdir))
  assert len(_started(out)['actor 1']) == 2
  assert '[learner 0] Stopped: finished at 30,' in out, out[-3000:]
  assert 'error' not in err


def test_a_launcher_killed_with_sigkill_leaves_no_child(tmp_path):
  # Its children get SIGTERM from the kernel when it dies (process_group.
  # die_with_parent) and stop as on SIGTERM: the learner checkpoints.
  logdir = tmp_path / 'run'
  with _launch(logdir, '--num_actor_processes=1',
               '--total_environment_frames=100000000') as launcher:
    launcher.stdout.wait_for(' fps ', timeout=300)  # Updates were made.
    assert len(_children_of(str(logdir))) == 2
    assert not (logdir / 'checkpoints' / 'LATEST').exists()
    launcher.process.kill()
    launcher.wait(timeout=60)
    deadline = time.monotonic() + 300  # Hang guard.
    while _children_of(str(logdir)) and time.monotonic() < deadline:
      time.sleep(0.2)
    assert not _children_of(str(logdir))
  assert (logdir / 'checkpoints' / 'LATEST').read_text().startswith('ckpt-')


def test_sigterm_to_the_launcher_checkpoints_and_leaves_no_child(tmp_path):
  logdir = tmp_path / 'run'
  with _launch(logdir, '--num_actor_processes=2',
               '--total_environment_frames=100000000') as launcher:
    launcher.stdout.wait_for(' fps ', timeout=300)  # Updates were made.
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=300) == 0, launcher.output()
    out, err = launcher.output()
    assert not _children_of(str(logdir))
  stopped = re.search(r'\[learner 0\] Stopped: stop requested \(received '
                      r'SIGTERM\) at [\d,]+ frames; checkpoint (\S+)', out)
  assert stopped, out[-3000:]
  assert os.path.isdir(stopped.group(1))
  assert set(_started(out)) == {'learner 0', 'actor 0', 'actor 1'}
  assert 'Traceback' not in err
