"""The Table D.1 sweep: settings, plan, results, and the binary end to end.

The process tests start the real ``python -m impala_tf.sweep`` (through
tests.processes.Child: output read with deadlines), which starts real
``impala_tf.train`` members on Catch. Members are found by their command
line (``--logdir=<sweep logdir>/member_NN``): each test asserts that none
outlives the sweep and kills, on its way out, exactly those that did.
"""

import contextlib
import csv
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest
from absl import flags

from impala_tf import checkpoint_integrity
from impala_tf import checkpoint_reader
from impala_tf import flags as flags_lib
from impala_tf import run_directory
from impala_tf.experiments import member_process
from impala_tf.experiments import sweep as sweep_lib
from impala_tf.experiments import sweep_plan
from impala_tf.experiments import sweep_results
from impala_tf.experiments import sweep_settings
from impala_tf.metrics.progress import ProgressLine
from tests.processes import Child

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH_CFG = os.path.join(REPO, 'paper_configs', 'catch.cfg')
COMMITTED = os.path.join(REPO, sweep_settings.COMMITTED_PATH)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
TINY = ['--num_actors=4', '--batch_size=4', '--unroll_length=5',
        '--summary_secs=1', '--progress_secs=1']
STARTED = re.compile(r'^sweep: (member_\d+) started \(pid (\d+);', re.M)


# ----------------------------------------------------------------- settings


def test_sampler_draws_from_the_table_d1_distributions():
  settings = sweep_settings.sample_settings(4000, seed=7)
  low, high = sweep_settings.ENTROPY_COST_RANGE
  entropy = [s['entropy_cost'] for s in settings]
  assert all(low <= v < high for v in entropy)
  lr_low, lr_high = sweep_settings.LEARNING_RATE_RANGE
  rates = [s['learning_rate'] for s in settings]
  assert all(lr_low <= v < lr_high for v in rates)
  assert (low, high) == (5e-5, 1e-2) and (lr_low, lr_high) == (5e-6, 5e-3)
  # Log-uniform: the logarithm is uniform, so each decade-fraction is hit
  # about equally often (a uniform draw would put ~all mass near the top).
  for values, (a, b) in ((entropy, (low, high)), (rates, (lr_low, lr_high))):
    position = [(math.log(v) - math.log(a)) / (math.log(b) - math.log(a))
                for v in values]
    quarters = [sum(q / 4 <= p < (q + 1) / 4 for p in position)
                for q in range(4)]
    assert all(850 < n < 1150 for n in quarters), quarters
  epsilons = [s['epsilon'] for s in settings]
  assert set(epsilons) == {1e-1, 1e-3, 1e-5, 1e-7}
  assert all(850 < epsilons.count(e) < 1150 for e in set(epsilons))
  assert all(set(s) == {'entropy_cost', 'learning_rate', 'epsilon'}
             for s in settings)


def test_sampler_gives_the_same_24_settings_every_time():
  first = sweep_settings.sample_settings()
  assert len(first) == 24 == sweep_settings.COUNT
  assert sweep_settings.sample_settings() == first
  assert sweep_settings.sample_settings(24, sweep_settings.SEED) == first
  assert sweep_settings.sample_settings(5) == first[:5]
  assert sweep_settings.sample_settings(24, seed=1) != first
  with pytest.raises(ValueError, match='count'):
    sweep_settings.sample_settings(0)


def test_the_committed_settings_file_is_what_the_sampler_gives():
  with open(COMMITTED, encoding='utf-8') as f:
    document = json.load(f)
  assert document['seed'] == sweep_settings.SEED
  expected = sweep_settings.settings_document(
      sweep_settings.sample_settings(), sweep_settings.SEED)
  assert {k: v for k, v in document.items() if k != 'settings'} == {
      k: v for k, v in expected.items() if k != 'settings'}
  loaded = sweep_settings.load_settings(COMMITTED)
  assert len(loaded) == 24
  for got, want in zip(loaded, expected['settings']):
    assert got.keys() == want.keys()
    # Exact on this machine; the tolerance only allows another libm's last
    # bit in exp/log, far below any drift of the settings.
    assert all(math.isclose(got[k], want[k], rel_tol=1e-12) for k in got)
    assert got['epsilon'] == want['epsilon']


def test_write_regenerates_the_same_file(tmp_path):
  out = tmp_path / 'settings.json'
  assert sweep_settings.main(['--write', f'--out={out}']) == 0
  assert sweep_settings.load_settings(str(out)) == (
      sweep_settings.sample_settings())


@pytest.mark.parametrize('text,needle', [
    (None, 'no such file'),
    ('{"settings": [', 'not valid JSON'),
    ('{"members": []}', 'has no "settings" list'),
    ('[]', 'non-empty list'),
    ('[3]', 'setting 0 is not a JSON object'),
    ('[{"entropy_cost": 0.01, "learning_rate": 0.001}]', 'lacks epsilon'),
    ('[{"entropy_cost": 0.01, "learning_rate": 0.001, "epsilon": 0.1, '
     '"lr": 1}]', 'unknown key(s) lr'),
    ('[{"entropy_cost": 0.01, "learning_rate": -0.001, "epsilon": 0.1}]',
     'learning_rate -0.001; it must be a finite number > 0'),
    ('[{"entropy_cost": true, "learning_rate": 0.001, "epsilon": 0.1}]',
     'entropy_cost True'),
    ('[{"entropy_cost": 0.01, "learning_rate": 0.001, "epsilon": "0.1"}]',
     "epsilon '0.1'"),
])
def test_a_bad_settings_file_is_one_clear_sentence(tmp_path, text, needle):
  path = tmp_path / 'settings.json'
  if text is not None:
    path.write_text(text)
  with pytest.raises(sweep_settings.SettingsError) as raised:
    sweep_settings.load_settings(str(path))
  message = str(raised.value)
  assert needle in message
  assert message.startswith(f'--settings {path}')
  assert '\n' not in message


# --------------------------------------------------------------------- plan


@pytest.mark.parametrize('spec,expected', [
    ('', list(range(24))),
    ('0-23', list(range(24))),
    ('0,3,5', [0, 3, 5]),
    ('5,0-2, 2', [0, 1, 2, 5]),
    ('23', [23]),
])
def test_members_specs(spec, expected):
  assert sweep_plan.parse_members(spec, 24) == expected


@pytest.mark.parametrize('spec,needle', [
    ('24', '24 is out of range: the settings file has 24 settings (0-23)'),
    ('0-24', '24 is out of range'),
    ('a', "cannot read 'a'"),
    ('1,,2', "cannot read ''"),
    ('-1', "cannot read '-1'"),
    ('5-3', 'runs backwards'),
])
def test_a_bad_members_spec_is_one_sentence(spec, needle):
  with pytest.raises(sweep_plan.SweepError) as raised:
    sweep_plan.parse_members(spec, 24)
  assert str(raised.value).startswith('--members: ')
  assert needle in str(raised.value)


def test_flagfile_paths_of_a_command_line():
  assert sweep_plan.flagfile_paths(
      ['--flagfile=a.cfg', '--x=1', '-flagfile=b.cfg', '--flagfile', 'c.cfg',
       '--', '--flagfile=d.cfg']) == ['a.cfg', 'b.cfg', 'c.cfg']


def _plan(logdir, settings=None, members=None, flagfiles=(CATCH_CFG,),
          **extras):
  """A SweepPlan as the binary builds it for flagfile + ``extras``."""
  base = flags_lib.config_from_flagfile(flagfiles[0])
  config = base.replace(logdir=str(logdir), **extras)
  settings = settings or sweep_settings.sample_settings()
  return sweep_plan.SweepPlan(
      logdir=str(logdir), settings=tuple(settings),
      flagfiles=tuple(flagfiles),
      extra_flags=sweep_plan.extra_training_flags(config, base),
      config=config,
      members=tuple(range(len(settings)) if members is None else members))


def test_member_commands_give_back_the_member_config_exactly(tmp_path):
  plan = _plan(tmp_path / 'sweep', total_environment_frames=3000,
               num_actors=4, xla=True)
  assert plan.extra_flags == {'total_environment_frames': 3000,
                              'num_actors': 4, 'xla': True}
  assert plan.member_dir(3) == str(tmp_path / 'sweep' / 'member_03')
  args = plan.train_args(3)
  assert args[0] == f'--flagfile={CATCH_CFG}'
  assert args[-1] == f'--logdir={plan.member_dir(3)}'
  # absl parses the command back into exactly the member's config.
  values = flags.FlagValues()
  flags_lib.define_config_flags(values)
  values(['train'] + args)
  assert flags_lib.config_from_flags(values) == plan.member_config(3)
  assert plan.member_config(3).learning_rate == plan.settings[3][
      'learning_rate']
  assert plan.command(3, 'py')[:3] == ['py', '-m', 'impala_tf.train']


def test_a_hyperparameter_of_the_settings_cannot_be_given_to_the_sweep():
  base = flags_lib.config_from_flagfile(CATCH_CFG)
  with pytest.raises(sweep_plan.SweepError, match='--learning_rate: every '
                     'member takes it from --settings'):
    sweep_plan.extra_training_flags(base.replace(learning_rate=0.1), base)


def test_sweep_state_differences(tmp_path):
  plan = _plan(tmp_path)
  state = json.loads(json.dumps(plan.state()))  # As read back from disk.
  assert sweep_plan.state_difference(state, plan.state()) is None
  # Only how often members print/save may change.
  assert sweep_plan.state_difference(
      state, _plan(tmp_path, progress_secs=60.0).state()) is None
  changed = _plan(tmp_path, num_actors=3).state()
  assert sweep_plan.state_difference(state, changed) == (
      'training flags (--num_actors: 16 recorded, 3 now)')
  other = [dict(s) for s in plan.settings]
  other[3]['epsilon'] = 0.5
  assert sweep_plan.state_difference(
      state, _plan(tmp_path, settings=other).state()).startswith(
          'settings (setting 3: epsilon ')
  assert 'settings (24 recorded, 5 in --settings)' == (
      sweep_plan.state_difference(
          state, _plan(tmp_path, settings=other[:5]).state()))
  # A field added to Config later compares with its default.
  del state['training_config']['replay_capacity']
  assert sweep_plan.state_difference(state, plan.state()) is None


def test_a_rerun_with_other_settings_or_flags_is_refused(tmp_path):
  logdir = tmp_path / 'sweep'
  sweep_plan.check_state(_plan(logdir), record=True)
  assert (logdir / 'sweep.json').is_file()
  sweep_plan.check_state(_plan(logdir), record=True)  # The same: fine.
  with pytest.raises(sweep_plan.SweepError) as raised:
    sweep_plan.check_state(_plan(logdir, batch_size=8), record=True)
  assert str(raised.value) == (
      f'--logdir {logdir} holds a sweep with different training flags '
      '(--batch_size: 16 recorded, 8 now); use another --logdir, or the '
      'flags it was started with.')
  # The binary says it in one sentence, before starting anything.
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.sweep', f'--flagfile={CATCH_CFG}',
       f'--settings={_short_settings(tmp_path)}', f'--logdir={logdir}',
       '--members=0,1'],
      cwd=REPO, capture_output=True, text=True, timeout=60, env=ENV)
  assert result.returncode == 1
  assert result.stderr.strip().startswith(
      f'impala_tf.sweep: error: --logdir {logdir} holds a sweep with '
      'different settings (24 recorded, 2 in --settings)')
  assert 'Traceback' not in result.stderr
  assert not (logdir / 'member_00').exists()


def _short_settings(tmp_path):
  path = tmp_path / 'two.json'
  path.write_text(json.dumps(sweep_settings.sample_settings(2)))
  return path


def test_the_sweep_directory_cannot_be_a_training_run(tmp_path):
  (tmp_path / 'config.json').write_text('{}')
  with pytest.raises(sweep_plan.SweepError, match='is the directory of a '
                     'training run'):
    sweep_plan.check_state(_plan(tmp_path), record=True)


@pytest.mark.parametrize('args,needle', [
    (['--members=0-24'], '--members: 24 is out of range'),
    (['--members=x'], "--members: cannot read 'x'"),
    (['--learning_rate=0.1'], '--learning_rate: every member takes it'),
    (['--settings=/nonexistent.json'], '--settings /nonexistent.json: no '
     'such file'),
    (['--level_name=catchh'], "--level_name: Unknown level 'catchh'"),
    (['--max_parallel=0'], '--max_parallel: must be >= 1'),
])
def test_bad_sweep_flags_are_one_sentence(tmp_path, args, needle):
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.sweep', f'--flagfile={CATCH_CFG}',
       f'--logdir={tmp_path / "sweep"}', *args],
      cwd=REPO, capture_output=True, text=True, timeout=60, env=ENV)
  assert result.returncode == 1
  assert result.stderr.startswith('impala_tf.sweep: error: ')
  assert needle in result.stderr
  assert result.stderr.count('\n') == 1, result.stderr
  assert not (tmp_path / 'sweep').exists()


def test_the_flag_file_logdir_is_not_taken_for_the_sweep(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.sweep', f'--flagfile={CATCH_CFG}'],
      cwd=tmp_path, capture_output=True, text=True, timeout=60, env=ENV)
  assert result.returncode == 1
  assert ('--logdir: give the sweep a directory of its own' in
          result.stderr)
  assert not (tmp_path / 'logs').exists()


def test_print_commands_gives_one_runnable_command_per_member(tmp_path):
  logdir = tmp_path / 'sweep'
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.sweep', f'--flagfile={CATCH_CFG}',
       f'--settings={COMMITTED}', f'--logdir={logdir}', '--members=0,3,5',
       '--total_environment_frames=3000', '--print_commands'],
      cwd=REPO, capture_output=True, text=True, timeout=60, env=ENV)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert len(lines) == 3
  settings = sweep_settings.load_settings(COMMITTED)
  for line, index in zip(lines, (0, 3, 5)):
    argv = shlex.split(line)
    assert argv[:3] == ['python', '-m', 'impala_tf.train']
    values = flags.FlagValues()
    flags_lib.define_config_flags(values)
    values(['train'] + argv[3:])
    config = flags_lib.config_from_flags(values)
    assert config.logdir == str(logdir / f'member_{index:02d}')
    assert config.total_environment_frames == 3000
    assert {k: getattr(config, k) for k in settings[index]} == (
        settings[index])
  assert not logdir.exists()  # Printing runs and records nothing.


# ------------------------------------------------------------------ members


@pytest.mark.parametrize('code,tail,restart,needle', [
    (1, 'impala_tf.train: error: --batch_size: must be > 0, got 0.', False,
     '--batch_size: must be > 0'),
    (1, 'FATAL Flags parsing error: Unknown command line flag', False,
     'Unknown command line flag'),
    (1, 'Resumed from x\nimpala_tf.train: stopped: Non-finite loss at update '
     '7 ({...}); stopping.', False, 'Non-finite loss'),
    (1, 'impala_tf.train: stopped: a stall: no unroll for 300s', True,
     'crashed (exit code 1): impala_tf.train: stopped: a stall'),
    (1, 'Traceback (most recent call last):\nRuntimeError: boom\n'
     'I0000 00:00:17.8 123 port.cc:153] noise', True,
     'crashed (exit code 1): RuntimeError: boom'),
    (-9, 'anything', True, 'crashed (signal 9 (SIGKILL))'),
    (0, 'Stopped: stop requested (received SIGTERM)', True,
     'before reaching its frame budget'),
    (130, '', True, 'crashed (exit code 130)'),
    (1, 'impala_tf.train: error: --logdir: d is in use by another trainer '
     '(pid 5); stop it first, or use another --logdir.', True,
     'in use by another trainer'),
])
def test_which_member_exits_are_restarted(code, tail, restart, needle):
  verdict = member_process.judge_exit(code, tail)
  assert verdict.restart == restart
  assert needle in verdict.reason


def test_the_log_tail_is_the_newest_start_only(tmp_path):
  log = tmp_path / 'out.log'
  log.write_text(f'{member_process.START_MARK} m start 1 ===\n'
                 'impala_tf.train: error: --x: old refusal\n'
                 f'{member_process.START_MARK} m start 2 ===\n'
                 '[0.50K / 3.00K  16.7%]  1 fps\n'
                 '[1.20K / 3.00K  40.0%]  1 fps\n')
  tail = member_process.read_log_tail(str(log))
  assert 'old refusal' not in tail
  assert member_process.judge_exit(-9, tail).restart
  assert member_process.progress_text(tail) == '1.20K/3.00K'
  assert member_process.read_log_tail(str(tmp_path / 'none')) == ''


def test_progress_text_reads_the_learner_progress_line():
  line = ProgressLine(200_000_000).format_line(1_234_567, 6412.0, -20.3,
                                               {'loss': 1.5})
  assert member_process.progress_text(f'noise\n{line}\n') == '1.23M/200.00M'
  line = ProgressLine(3000).format_line(860, None, None)
  assert member_process.progress_text(line) == '0.86K/3.00K'
  assert member_process.progress_text('no progress yet') is None


def test_restart_delays_grow_and_are_bounded():
  assert [sweep_lib.restart_delay(5.0, n) for n in (1, 2, 3, 6, 9)] == [
      5.0, 10.0, 20.0, 80.0, 80.0]


# ------------------------------------------------------------------ results


def test_checkpoint_layout_matches_impala_tf_checkpointing():
  assert sweep_results.LATEST_FILE == checkpoint_reader.LATEST_FILE
  assert sweep_results.CKPT_RE.pattern == checkpoint_reader.CKPT_RE.pattern
  assert sweep_results.CHECKPOINT_FILES == (
      checkpoint_integrity.TF_PREFIX + '.index',
      checkpoint_integrity.EXTRA_FILE, checkpoint_integrity.META_FILE)


def _write_checkpoint(member_dir, step, config, latest=True):
  path = member_dir / 'checkpoints' / f'ckpt-{step:012d}'
  path.mkdir(parents=True)
  (path / 'variables.index').write_bytes(b'')
  (path / 'meta.json').write_text(json.dumps({'step': step}))
  (path / 'extra.json').write_text(json.dumps({'config': config.to_dict()}))
  if latest:
    (member_dir / 'checkpoints' / 'LATEST').write_text(path.name)


def _write_metrics(member_dir, rows, torn_tail=False):
  member_dir.mkdir(parents=True, exist_ok=True)
  lines = ['step,wall_time,tag,value']
  lines += [f'{step},0.0,{tag},{value}' for step, tag, value in rows]
  text = '\n'.join(lines) + '\n'
  if torn_tail:
    text += '99999,0.0,episode_return/catch,'  # Cut short by a crash.
  (member_dir / 'metrics.csv').write_text(text)


def test_results_from_hand_made_member_logs(tmp_path):
  settings = sweep_settings.sample_settings(4)
  plan = _plan(tmp_path, settings=settings, total_environment_frames=1000)
  config = plan.config  # Catch: 16 x 10 x 1 = 160 frames per update.
  assert config.frames_per_update == 160
  # member_00: finished; 150 episodes on two levels, interleaved by frames,
  # with loss rows in between; only the last 100 episodes (by frames)
  # count. Returns are a shuffle of 0..149, so the last 100 are not the
  # best 100.
  returns = [float((37 * i) % 150) for i in range(150)]
  rows = []
  for i in range(150):
    level = 'catch' if i % 2 else 'other'
    rows.append((10 * i, f'episode_return/{level}', returns[i]))
    rows.append((10 * i, 'loss/total', 1e6))
  member_00 = tmp_path / 'member_00'
  _write_metrics(member_00, rows, torn_tail=True)
  _write_checkpoint(member_00, 3, config, latest=False)
  _write_checkpoint(member_00, 7, config)  # 7 x 160 = 1120 >= 1000.
  # member_01: 3 episodes; its newest checkpoint is incomplete (a crash
  # while saving) and LATEST names one that is gone, so the newest
  # complete one counts.
  member_01 = tmp_path / 'member_01'
  _write_metrics(member_01, [(5, 'episode_return/catch', 1.0),
                             (6, 'episode_return/catch', 0.0),
                             (7, 'episode_return/catch', -0.5)])
  _write_checkpoint(member_01, 2, config.replace(batch_size=8))
  (member_01 / 'checkpoints' / 'ckpt-000000000005').mkdir()
  (member_01 / 'checkpoints' / 'LATEST').write_text('ckpt-000000000009')
  # member_02: nothing yet; member_03: a config.json but no episode.
  member_03 = tmp_path / 'member_03'
  member_03.mkdir()
  (member_03 / 'config.json').write_text(json.dumps(config.to_dict()))

  path, results = sweep_results.write_sweep_results(plan, last_n=100)
  assert path == str(tmp_path / 'results.csv')
  by_member = {r.member: r for r in results}
  assert by_member[0].frames == 7 * 160
  assert by_member[0].status == sweep_results.FINISHED
  assert by_member[0].episodes == 100
  last_100 = sum(returns[50:]) / 100
  assert last_100 != pytest.approx(sum(range(50, 150)) / 100)
  assert by_member[0].final_return == pytest.approx(last_100)
  assert by_member[1].frames == 2 * 8 * 10  # Its own saved batch size.
  assert by_member[1].status == sweep_results.UNFINISHED
  assert (by_member[1].final_return, by_member[1].episodes) == (
      pytest.approx(0.5 / 3), 3)
  assert by_member[2].status == sweep_results.NOT_STARTED
  assert (by_member[2].final_return, by_member[2].episodes) == (None, 0)
  assert by_member[3].status == sweep_results.UNFINISHED
  assert by_member[3].final_return is None
  # A member whose directory a trainer holds is running (a sweep started
  # elsewhere, read with --results_only).
  with run_directory.RunLock(str(member_03)):
    _, running = sweep_results.write_sweep_results(plan, last_n=100)
  assert running[3].status == sweep_results.RUNNING
  assert sweep_results.write_sweep_results(plan, last_n=100)[1][3].status == (
      sweep_results.UNFINISHED)

  with open(path, newline='', encoding='utf-8') as f:
    table = list(csv.DictReader(f))
  assert tuple(table[0]) == sweep_results.RESULT_COLUMNS
  assert [row['member'] for row in table] == ['0', '1', '2', '3']
  assert float(table[0]['learning_rate']) == settings[0]['learning_rate']
  assert float(table[0]['final_return']) == pytest.approx(last_100)
  assert table[2]['final_return'] == '' and table[2]['episodes'] == '0'
  assert sweep_results.best_mean(results, k=2) == (
      pytest.approx((last_100 + 0.5 / 3) / 2), [0, 1])
  assert sweep_results.best_mean(results, k=3) is None

  # The same from the command line, on the sweep as it is on disk.
  os.remove(path)
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.sweep', f'--flagfile={CATCH_CFG}',
       f'--settings={_four_settings(tmp_path, settings)}',
       f'--logdir={tmp_path}', '--total_environment_frames=1000',
       '--results_only', '--final_episodes=10'],
      cwd=REPO, capture_output=True, text=True, timeout=60, env=ENV)
  assert result.returncode == 0, result.stderr
  assert 'sweep: 4 settings (1 finished, 1 not_started, 2 unfinished)' in (
      result.stdout)
  with open(path, newline='', encoding='utf-8') as f:
    table = list(csv.DictReader(f))
  assert float(table[0]['final_return']) == pytest.approx(
      sum(returns[-10:]) / 10)
  assert table[0]['episodes'] == '10'
  assert not (tmp_path / 'sweep.json').exists()  # Reading records nothing.


def _four_settings(tmp_path, settings):
  path = tmp_path / 'four.json'
  path.write_text(json.dumps({'settings': settings}))
  return path


# ------------------------------------------------- runner, with fake members

_FAKE_TRAINER = r"""#!{python}
# Stands in for python -m impala_tf.train: behaves as BEHAVIOUR[member].
import json, os, sys, time
logdir = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--logdir=')][-1]
name = os.path.basename(logdir)
behaviour = json.load(open({behaviour!r}))[name]
with open({events!r}, 'a') as f:
  f.write('+\n')
time.sleep(0.4)
code = 0
if behaviour == 'finish':
  os.makedirs(logdir, exist_ok=True)
  with open(os.path.join(logdir, 'metrics.csv'), 'w') as f:
    f.write('step,wall_time,tag,value\n5,0,episode_return/catch,2.0\n'
            '9,0,episode_return/catch,4.0\n')
  ckpt = os.path.join(logdir, 'checkpoints', 'ckpt-000000001000')
  os.makedirs(ckpt)
  for file_name in ('variables.index', 'extra.json'):
    open(os.path.join(ckpt, file_name), 'w').write('{{}}')
  open(os.path.join(ckpt, 'meta.json'), 'w').write('{{"step": 1000}}')
  print('Stopped: finished')
elif behaviour == 'nonfinite':
  print('impala_tf.train: stopped: Non-finite loss at update 3 (...)')
  code = 1
elif behaviour == 'flag_error':
  print('impala_tf.train: error: --network: must be one of [...]')
  code = 1
else:
  print('RuntimeError: boom')
  code = 3
with open({events!r}, 'a') as f:
  f.write('-\n')
sys.exit(code)
"""


def test_the_runner_keeps_max_parallel_and_judges_each_exit(tmp_path):
  behaviour = {'member_00': 'finish', 'member_01': 'nonfinite',
               'member_02': 'crash', 'member_03': 'flag_error',
               'member_04': 'finish'}
  (tmp_path / 'behaviour.json').write_text(json.dumps(behaviour))
  events = tmp_path / 'events'
  fake = tmp_path / 'fake_python'
  fake.write_text(_FAKE_TRAINER.format(
      python=sys.executable, behaviour=str(tmp_path / 'behaviour.json'),
      events=str(events)))
  fake.chmod(0o755)
  plan = _plan(tmp_path / 'sweep', settings=sweep_settings.sample_settings(6),
               members=range(5), total_environment_frames=1000)
  lines = []
  options = sweep_lib.SweepOptions(max_parallel=2, max_member_restarts=2,
                                   progress_secs=0.5, restart_delay_secs=0.01)
  runner = sweep_lib.SweepRunner(plan, options, sweep_lib.Interrupts(),
                                 out=lines.append, python=str(fake))
  assert runner.run() == 1  # Some members failed.
  out = '\n'.join(lines)
  # At most 2 members at once, and 2 at once at some point.
  running, most = 0, 0
  for event in events.read_text().split():
    running += 1 if event == '+' else -1
    most = max(most, running)
  assert most == 2
  assert events.read_text().count('+') == 1 + 1 + 3 + 1 + 1
  assert 'member_00 finished (160,000 frames); final return 3 over 2' in out
  assert 'member_01 failed: impala_tf.train: stopped: Non-finite loss' in out
  assert 'member_03 failed: impala_tf.train: error: --network' in out
  assert 'member_02 crashed (exit code 3): RuntimeError: boom; restarting' in (
      out)
  assert ('member_02 failed: crashed (exit code 3): RuntimeError: boom '
          '(after 2 restarts)') in out
  assert 'failed: member_01' in lines[-1]
  results = _read_results(tmp_path / 'sweep')
  assert [results[i]['status'] for i in range(6)] == [
      'finished', 'failed', 'failed', 'failed', 'finished', 'not_started']
  assert results[2]['restarts'] == '2' and results[1]['restarts'] == '0'
  assert results[0]['final_return'] == '3.0'
  assert 'mean final return' not in out  # Only 2 settings have a return.


# --------------------------------------------------------------- processes


def _members_of(logdir):
  """Pids of running training processes of this sweep's members."""
  prefix = f'--logdir={os.path.join(logdir, "member_")}'
  pids = []
  for entry in os.listdir('/proc'):
    if not entry.isdigit():
      continue
    try:
      with open(f'/proc/{entry}/cmdline', 'rb') as f:
        arguments = f.read().decode('utf-8', 'replace').split('\0')
      with open(f'/proc/{entry}/stat', 'rb') as f:
        state = f.read().rsplit(b')', 1)[1].split()[0]
    except (OSError, IndexError):
      continue  # Gone meanwhile.
    if state != b'Z' and any(a.startswith(prefix) for a in arguments):
      pids.append(int(entry))
  return pids


@contextlib.contextmanager
def _sweep(logdir, *args, budget=3000):
  """The sweep binary on Catch as a Child; members that outlive it are
  killed at the end (there should be none: the tests assert that)."""
  command = [sys.executable, '-m', 'impala_tf.sweep',
             f'--flagfile={CATCH_CFG}', f'--settings={COMMITTED}',
             f'--logdir={logdir}', f'--total_environment_frames={budget}',
             *TINY, *args]
  try:
    with Child(command, cwd=REPO, env=ENV) as child:
      yield child
  finally:
    for pid in _members_of(str(logdir)):
      try:
        os.kill(pid, signal.SIGKILL)
      except ProcessLookupError:
        pass


def _read_results(logdir):
  with open(os.path.join(logdir, 'results.csv'), newline='',
            encoding='utf-8') as f:
    return {int(row['member']): row for row in csv.DictReader(f)}


def _wait_for_file_text(path, needle, timeout, count=1):
  """Polls ``path`` until it holds ``needle`` ``count`` times (bounded)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    try:
      with open(path, encoding='utf-8', errors='replace') as f:
        if f.read().count(needle) >= count:
          return
    except OSError:
      pass
    time.sleep(0.2)
  raise AssertionError(f'{needle!r} not in {path} within {timeout:.0f}s')


def _started_pids(stdout_text):
  return {name: int(pid) for name, pid in STARTED.findall(stdout_text)}


def test_a_two_member_sweep_runs_to_the_end_and_a_rerun_skips_it(tmp_path):
  logdir = tmp_path / 'sweep'
  with _sweep(logdir, '--members=0,1', '--max_parallel=2') as child:
    assert child.wait(timeout=300) == 0, child.stderr.text()
    out, err = child.output()
  assert 'Traceback' not in err
  assert sorted(_started_pids(out)) == ['member_00', 'member_01']
  # Both ran at once: both started before the first one finished.
  assert out.index('member_01 started') < out.index('finished (3,000')
  assert not _members_of(str(logdir))
  results = _read_results(logdir)
  settings = sweep_settings.load_settings(COMMITTED)
  for index in (0, 1):
    row = results[index]
    assert (row['status'], row['frames']) == ('finished', '3000'), row
    assert int(row['episodes']) > 0 and row['final_return'] != ''
    assert float(row['learning_rate']) == settings[index]['learning_rate']
    member_dir = logdir / f'member_{index:02d}'
    with open(member_dir / 'config.json', encoding='utf-8') as f:
      saved = json.load(f)
    assert {k: saved[k] for k in settings[index]} == settings[index]
    assert saved['total_environment_frames'] == 3000
    assert saved['logdir'] == str(member_dir)
    assert 'Stopped: finished at 3,000 frames' in (
        member_dir / 'out.log').read_text()
  assert {results[i]['status'] for i in range(2, 24)} == {'not_started'}
  state = json.loads((logdir / 'sweep.json').read_text())
  assert len(state['settings']) == 24
  assert json.loads((logdir / 'member_01' / 'finished.json').read_text()) == {
      'frames': 3000}
  # A finished member's checkpoints may be deleted (to save disk or to
  # commit the logs): finished.json keeps it finished.
  shutil.rmtree(logdir / 'member_00' / 'checkpoints')

  with _sweep(logdir, '--members=0-1', '--max_parallel=2') as child:
    assert child.wait(timeout=120) == 0, child.stderr.text()
    out, _ = child.output()
  assert '2 finished already (skipped), 0 to run' in out
  assert 'started' not in out
  log = (logdir / 'member_00' / 'out.log').read_text()
  assert log.count(member_process.START_MARK) == 1
  row = _read_results(logdir)[0]
  assert (row['status'], row['frames']) == ('finished', '3000'), row


# Slow: Which exits are restarted is tested by default on a fake runner
# (test_the_runner_keeps_max_parallel_and_judges_each_exit).
@pytest.mark.slow
def test_a_member_killed_with_sigkill_is_restarted_and_finishes(tmp_path):
  logdir = tmp_path / 'sweep'
  member_dir = logdir / 'member_00'
  with _sweep(logdir, '--members=0', '--checkpoint_secs=1',
              budget=6000) as child:
    child.stdout.wait_for('member_00 started', timeout=120)
    pid = _started_pids(child.stdout.text())['member_00']
    # Kill it once it has a checkpoint to resume from.
    _wait_for_file_text(str(member_dir / 'checkpoints' / 'LATEST'), 'ckpt-',
                        timeout=180)
    os.kill(pid, signal.SIGKILL)
    child.stdout.wait_for('restarting it in', timeout=60)
    assert child.wait(timeout=300) == 0, child.stderr.text()
    out, _ = child.output()
  assert 'member_00 crashed (signal 9 (SIGKILL)); restarting it' in out
  assert 'restart 1 of 3' in out
  assert 'member_00 finished (6,000 frames)' in out
  assert not _members_of(str(logdir))
  log = (member_dir / 'out.log').read_text()
  second_start = log.split(member_process.START_MARK)[2]
  assert 'Resumed from' in second_start
  row = _read_results(logdir)[0]
  assert (row['status'], row['frames'], row['restarts']) == (
      'finished', '6000', '1')


def test_ctrl_c_stops_members_cleanly_and_a_rerun_resumes_them(tmp_path):
  logdir = tmp_path / 'sweep'
  logs = [str(logdir / f'member_{i:02d}' / 'out.log') for i in (0, 1)]
  budget = 10_000_000  # Never reached: the sweep is always interrupted.
  with _sweep(logdir, '--members=0,1', '--max_parallel=2',
              '--stop_timeout_secs=120', budget=budget) as child:
    for log in logs:  # Both are training.
      _wait_for_file_text(log, '/ 10.00M', timeout=180)
    pids = _started_pids(child.stdout.text())
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=240) == 0, child.stderr.text()
    out, err = child.output()
  assert 'Traceback' not in err
  assert 'SIGTERM sent to 2 running member(s)' in out
  assert not _members_of(str(logdir))
  assert all(not os.path.exists(f'/proc/{pid}') for pid in pids.values())
  results = _read_results(logdir)
  for index, log in enumerate(logs):
    assert 'Stopped: stop requested (received SIGTERM)' in open(log).read()
    assert results[index]['status'] == 'unfinished'
    assert int(results[index]['frames']) > 0  # It checkpointed.

  # The rerun resumes both from their checkpoints; a second Ctrl-C then
  # kills them at once.
  with _sweep(logdir, '--members=0,1', '--max_parallel=2',
              budget=budget) as child:
    for log in logs:
      _wait_for_file_text(log, 'Resumed from', timeout=180)
    child.send_signal(signal.SIGINT)
    child.stderr.wait_for('received SIGINT', timeout=30)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=60) == sweep_lib.INTERRUPTED
    out, err = child.output()
  assert 'Traceback' not in err
  assert 'second Ctrl-C: killing the running members now' in err
  assert not _members_of(str(logdir))
  assert {_read_results(logdir)[i]['note'] for i in (0, 1)} == {
      'killed by a second Ctrl-C'}


def test_settings_may_set_other_training_flags(tmp_path):
  """Table 2's arms differ in --correction and replay, not only in the three
  hyperparameters: a setting may set any training flag but --logdir."""
  base = dict(entropy_cost=0.01, learning_rate=0.0006, epsilon=0.01)
  path = tmp_path / 'arms.json'
  path.write_text(json.dumps([dict(base, correction='1-step-is'),
                              dict(base, replay_capacity=100, seed=3)]))
  settings = sweep_settings.load_settings(str(path))
  assert settings[0]['correction'] == '1-step-is'
  assert settings[1]['replay_capacity'] == 100 and settings[1]['seed'] == 3
  for bad, needle in ((dict(base, logdir='x'), 'unknown key(s) logdir'),
                      (dict(base, correction=3), 'must be a str'),
                      (dict(base, replay_capacity=1.5), 'must be a int'),
                      (dict(base, nonsense=1), 'unknown key(s) nonsense')):
    path.write_text(json.dumps([bad]))
    with pytest.raises(sweep_settings.SettingsError, match=re.escape(needle)):
      sweep_settings.load_settings(str(path))


def test_a_setting_with_other_flags_is_printed():
  assert sweep_lib.format_setting(dict(entropy_cost=0.01, correction='vtrace',
                                       replay_capacity=10)) == (
      'entropy_cost 0.01, correction vtrace, replay_capacity 10')
