"""The pre-sampled hyperparameter settings of sweeps and PBT populations.

  sample_settings(count=24, seed=SEED) -> [{entropy_cost, learning_rate,
                                           epsilon}]
  settings_document(settings, seed) -> dict    what the committed file holds
  load_settings(path) -> [{...}]               validated; SettingsError
  python -m impala_tf.experiments.sweep_settings [--write] [--out PATH]

Paper Table D.1: every sweep and PBT population has 24 members, whose
entropy cost is log-uniform in [5e-5, 1e-2], learning rate log-uniform in
[5e-6, 5e-3] and RMSProp epsilon one of {1e-1, 1e-3, 1e-5, 1e-7}; section 5.2
reuses the same 24 pre-sampled settings across experiments (Table 2 reports
the mean final return of the 3 best of them). They are sampled once here
from a fixed seed and committed as ``paper_configs/sweeps/table_d1_24.json``;
a test checks that the file is what ``sample_settings`` gives.

The sampler draws only ``random.Random(seed).random()``, whose sequence
Python keeps stable across versions, so the same seed gives the same
settings on any machine. Draws go member by member (entropy cost, learning
rate, epsilon), so the first k of 24 settings are ``sample_settings(k)``.
No TensorFlow or NumPy here.
"""

import argparse
import json
import math
import os
import random
import sys

COUNT = 24
# The date of the IMPALA preprint (arXiv 1802.01561): an arbitrary fixed seed.
SEED = 20180205
ENTROPY_COST_RANGE = (5e-5, 1e-2)
LEARNING_RATE_RANGE = (5e-6, 5e-3)
EPSILONS = (1e-1, 1e-3, 1e-5, 1e-7)
HYPERPARAMETERS = ('entropy_cost', 'learning_rate', 'epsilon')

COMMITTED_PATH = os.path.join('paper_configs', 'sweeps', 'table_d1_24.json')


class SettingsError(ValueError):
  """A settings file that cannot be used; the message is one sentence."""


def log_uniform(u, low, high):
  """Maps u in [0, 1) to [low, high) with a uniform logarithm."""
  return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def categorical(u, choices):
  """Maps u in [0, 1) to one of ``choices``, each equally likely."""
  return choices[min(int(u * len(choices)), len(choices) - 1)]


def sample_settings(count=COUNT, seed=SEED):
  """``count`` settings drawn from the distributions of paper Table D.1.

  Pure: the same (count, seed) always gives the same list, and a smaller
  count gives a prefix of a larger one.

  Returns:
    [count] dicts {entropy_cost, learning_rate, epsilon} of floats.
  """
  if isinstance(count, bool) or not isinstance(count, int) or count < 1:
    raise ValueError(f'count must be a positive integer, got {count!r}.')
  rng = random.Random(seed)
  settings = []
  for _ in range(count):
    settings.append({
        'entropy_cost': log_uniform(rng.random(), *ENTROPY_COST_RANGE),
        'learning_rate': log_uniform(rng.random(), *LEARNING_RATE_RANGE),
        'epsilon': categorical(rng.random(), EPSILONS),
    })
  return settings


def settings_document(settings, seed):
  """The JSON document of a settings file (what ``--write`` saves)."""
  return {
      'description': (
          f'{len(settings)} hyperparameter settings for sweeps and PBT '
          'populations, sampled once from the distributions of paper Table '
          'D.1 (the same settings are reused across experiments, paper '
          'section 5.2). Regenerate with: python -m '
          'impala_tf.experiments.sweep_settings --write'),
      'seed': seed,
      'distributions': {
          'entropy_cost': f'log-uniform in [{ENTROPY_COST_RANGE[0]}, '
                          f'{ENTROPY_COST_RANGE[1]}]',
          'learning_rate': f'log-uniform in [{LEARNING_RATE_RANGE[0]}, '
                           f'{LEARNING_RATE_RANGE[1]}]',
          'epsilon': f'categorical in {list(EPSILONS)}',
      },
      'settings': settings,
  }


def render(document):
  """The text of a settings file: one setting per line, keys in order."""
  head = {k: v for k, v in document.items() if k != 'settings'}
  head_text = json.dumps(head, indent=2)
  head_text = head_text[:-len('\n}')]  # Reopen the object for "settings".
  rows = ',\n'.join('    ' + json.dumps(s) for s in document['settings'])
  return f'{head_text},\n  "settings": [\n{rows}\n  ]\n}}\n'


def _other_fields():
  """Training flags a setting may set besides the three (not logdir)."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from impala_tf.config import Config  # pylint: disable=g-import-not-at-top
  return {f.name: f.type for f in dataclasses.fields(Config)
          if f.name != 'logdir' and f.name not in HYPERPARAMETERS}


def _check_other(index, key, value, kind, where):
  if kind is bool:
    ok = isinstance(value, bool)
  elif kind is float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
  elif kind is int:
    ok = isinstance(value, int) and not isinstance(value, bool)
  else:
    ok = isinstance(value, str)
  if not ok:
    raise SettingsError(f'{where}: setting {index} has {key} {value!r}; it '
                        f'must be a {kind.__name__}.')


def _check_setting(index, setting, where):
  """Raises SettingsError unless ``setting`` is a valid setting dict.

  A setting has the three hyperparameters of Table D.1 and may set other
  training flags as well (e.g. --correction and --replay_capacity for the
  arms of Table 2, or --seed).
  """
  if not isinstance(setting, dict):
    raise SettingsError(f'{where}: setting {index} is not a JSON object '
                        f'but {setting!r}.')
  others = _other_fields()
  missing = [k for k in HYPERPARAMETERS if k not in setting]
  unknown = sorted(set(setting) - set(HYPERPARAMETERS) - set(others))
  if missing or unknown:
    problems = []
    if missing:
      problems.append(f'lacks {", ".join(missing)}')
    if unknown:
      problems.append(f'has unknown key(s) {", ".join(unknown)}')
    raise SettingsError(
        f'{where}: setting {index} {" and ".join(problems)} (each setting '
        f'has {", ".join(HYPERPARAMETERS)}, and may set other training '
        'flags).')
  for key in sorted(set(setting) & set(others)):
    _check_other(index, key, setting[key], others[key], where)
  for key in HYPERPARAMETERS:
    value = setting[key]
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or
        not math.isfinite(value) or value <= 0):
      raise SettingsError(f'{where}: setting {index} has {key} {value!r}; it '
                          'must be a finite number > 0.')


def check_settings(settings, where='settings'):
  """The settings as a list of float dicts, or SettingsError."""
  if not isinstance(settings, list) or not settings:
    raise SettingsError(f'{where}: "settings" must be a non-empty list of '
                        'objects.')
  for index, setting in enumerate(settings):
    _check_setting(index, setting, where)
  return [dict({k: float(s[k]) for k in HYPERPARAMETERS},
               **{k: v for k, v in s.items() if k not in HYPERPARAMETERS})
          for s in settings]


def load_settings(path):
  """The settings of a file: an object with a "settings" list (as written
  by ``--write``) or a bare list, of {entropy_cost, learning_rate, epsilon}.

  Raises:
    SettingsError: unreadable, not JSON, or a malformed setting (named).
  """
  where = f'--settings {path}'
  try:
    with open(path, encoding='utf-8') as f:
      document = json.load(f)
  except FileNotFoundError:
    raise SettingsError(f'{where}: no such file.') from None
  except (OSError, UnicodeDecodeError) as e:
    raise SettingsError(f'{where}: cannot be read ({e}).') from None
  except ValueError as e:
    raise SettingsError(f'{where}: not valid JSON ({e}).') from None
  if isinstance(document, dict):
    if 'settings' not in document:
      raise SettingsError(f'{where}: the JSON object has no "settings" '
                          'list.')
    document = document['settings']
  return check_settings(document, where)


def write_settings(path, count=COUNT, seed=SEED):
  """Samples ``count`` settings and writes them to ``path``."""
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  text = render(settings_document(sample_settings(count, seed), seed))
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return path


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog='python -m impala_tf.experiments.sweep_settings',
      description='Print (or --write) the pre-sampled sweep settings of '
                  'paper Table D.1.')
  parser.add_argument('--write', action='store_true',
                      help=f'Write them to --out (default {COMMITTED_PATH}).')
  parser.add_argument('--out', default=COMMITTED_PATH)
  parser.add_argument('--count', type=int, default=COUNT)
  parser.add_argument('--seed', type=int, default=SEED)
  args = parser.parse_args(argv)
  if args.count < 1:
    parser.error(f'--count must be >= 1, got {args.count}.')
  if args.write:
    print(f'Wrote {write_settings(args.out, args.count, args.seed)}')
  else:
    sys.stdout.write(render(settings_document(
        sample_settings(args.count, args.seed), args.seed)))
  return 0


if __name__ == '__main__':
  sys.exit(main())
