"""What impala_tf.launch decides before it starts anything.

  check(config, options) -> [learner address]    LaunchError in one sentence
  free_learner_addresses(count) -> ['127.0.0.1:p', ...]   p and p + 1 free
  wait_for_free_ports(addresses, timeout) -> [still busy host:port]
  config_flag_lines(config) -> ['--name=value', ...]     every Config field
  write_flagfile(config, path)
  child_command(flagfile, job, task) -> argv of one process of the cluster
  cluster_commands(learners, num_actor_processes, flagfile) -> [shell line]

Every process of a launched cluster reads the same flag file, which holds
every Config field, so they cannot disagree about the config. Like the
config, this module does not import TensorFlow.
"""

import dataclasses
import os
import random
import shlex
import socket
import sys
import time
from typing import Optional, Sequence

from impala_tf import builder
from impala_tf import run_directory
from impala_tf.config import Config, ConfigError
from impala_tf.distributed import cluster as cluster_lib

_POLL_SECS = 0.2


class LaunchError(ValueError):
  """A launch that cannot work; the message is one sentence."""


@dataclasses.dataclass(frozen=True)
class LaunchOptions:
  """The launcher's own flags (beside the Config)."""
  num_actor_processes: int = 2
  num_learners: Optional[int] = None  # None: 1, or len(learner_addresses).
  learner_addresses: Optional[Sequence[str]] = None
  max_actor_restarts: int = 20
  max_learner_restarts: int = 5
  print_cluster_commands: bool = False


def _check_config(config):
  try:
    config.validate()
    builder.make_task_set(config)
  except ConfigError as e:
    raise LaunchError(str(e)) from None


def _check_counts(options):
  for flag in ('num_actor_processes', 'num_learners'):
    value = getattr(options, flag)
    if value is not None and value < 1:
      raise LaunchError(f'--{flag}: must be >= 1, got {value}.')
  for flag in ('max_actor_restarts', 'max_learner_restarts'):
    value = getattr(options, flag)
    if value < 0:
      raise LaunchError(f'--{flag}: must be >= 0, got {value}.')


def _given_addresses(options):
  addresses = [a.strip() for a in options.learner_addresses or ()
               if a.strip()]
  if options.print_cluster_commands and not addresses:
    raise LaunchError('--print_cluster_commands needs --learner_addresses '
                      '(the host:port of every learner of the real cluster).')
  if addresses and options.num_learners not in (None, len(addresses)):
    raise LaunchError(f'--num_learners={options.num_learners} but '
                      f'--learner_addresses has {len(addresses)} addresses.')
  return addresses


def _check_cluster(config, addresses, num_learners, count):
  """The cluster's shape against the config (no ports needed yet)."""
  try:
    _cluster(addresses or [f'127.0.0.1:{i}' for i in range(num_learners)],
             count)
  except cluster_lib.ClusterError as e:
    flag = 'learner_addresses' if addresses else 'num_actor_processes'
    raise LaunchError(f'--{flag}: {e}') from None
  if config.num_actors < count:
    raise LaunchError(f'--num_actors: {config.num_actors} actors cannot be '
                      f'split over {count} actor processes '
                      '(--num_actor_processes).')
  replicas = num_learners * config.num_learner_devices
  if config.batch_size % replicas:
    raise LaunchError(f'--batch_size: {config.batch_size} does not split '
                      f'evenly over {replicas} learner replicas '
                      f'({num_learners} learners).')


def check(config: Config, options: LaunchOptions):
  """Validates everything before anything starts; returns the learner
  addresses (free ports on 127.0.0.1 unless given). Raises LaunchError."""
  _check_config(config)
  _check_counts(options)
  addresses = _given_addresses(options)
  num_learners = len(addresses) or options.num_learners or 1
  _check_cluster(config, addresses, num_learners, options.num_actor_processes)
  try:
    run_directory.prepare(config.logdir)
    if not options.print_cluster_commands:  # Free now, or say who holds it.
      run_directory.RunLock(config.logdir).acquire().release()
  except ConfigError as e:
    raise LaunchError(str(e)) from None
  return addresses or free_learner_addresses(num_learners)


def _ephemeral_ports():
  """The kernel's range for outgoing connections (avoided for servers)."""
  try:
    with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
      low, high = (int(x) for x in f.read().split())
    return range(low, high + 1)
  except (OSError, ValueError):
    return range(32768, 61000)


def _can_listen(host, port, reuse_address=False):
  """Whether a server could listen on host:port now; ``reuse_address`` as
  gRPC does (connections of a dead server in TIME_WAIT do not count)."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    if reuse_address:
      s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
      s.bind((host, port))
      return True
    except OSError:
      return False


def free_learner_addresses(count, host='127.0.0.1', rng=random):
  """``count`` addresses host:p whose p and p + 1 are both free now (outside
  the ephemeral range, so no outgoing connection takes them meanwhile)."""
  ephemeral, taken, result = _ephemeral_ports(), set(), []
  for _ in range(1000):
    if len(result) == count:
      return result
    port = rng.randrange(10000, 65000)
    pair = {port, port + 1}
    if (pair & taken or any(p in ephemeral for p in pair) or
        not all(_can_listen(host, p) for p in pair)):
      continue
    taken |= pair
    result.append(f'{host}:{port}')
  raise LaunchError(f'found no free port pairs on {host}; give '
                    '--learner_addresses.')


def _busy_ports(addresses):
  """host:port (and port + 1) of this machine that cannot be listened on."""
  busy = []
  for address in addresses:
    host, port = cluster_lib.split_address(address)
    if not _can_listen(host, 0):
      continue  # Another host's address: not ours to check.
    busy += [f'{host}:{p}' for p in (port, port + 1)
             if not _can_listen(host, p, reuse_address=True)]
  return busy


def wait_for_free_ports(addresses, timeout):
  """Waits (bounded) until the learners' ports (and port + 1) can be
  listened on again, e.g. after their processes were killed; returns the
  ones still busy."""
  deadline = time.monotonic() + timeout
  busy = _busy_ports(addresses)
  while busy and time.monotonic() < deadline:
    time.sleep(_POLL_SECS)
    busy = _busy_ports(addresses)
  return busy


def _flag_value(name, value):
  if isinstance(value, bool):
    return 'true' if value else 'false'
  if isinstance(value, float):
    return repr(value)
  text = str(value)
  if '\n' in text or '\r' in text:
    raise LaunchError(f'--{name}: a line break cannot go into a flag file.')
  return text


def config_flag_lines(config: Config):
  """['--logdir=...', ...]: every Config field, read back exactly by absl."""
  return [f'--{f.name}={_flag_value(f.name, getattr(config, f.name))}'
          for f in dataclasses.fields(config)]


def write_flagfile(config, path):
  """Writes the flag file every process of the run reads (atomically)."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  text = '\n'.join(
      ['# The config of every process of this run (impala_tf.launch).'] +
      config_flag_lines(config)) + '\n'
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def child_command(flagfile, job, task, python=sys.executable):
  return [python, '-m', 'impala_tf.train', f'--flagfile={flagfile}',
          f'--job_name={job}', f'--task={task}']


def _cluster(learners, num_actor_processes):
  return cluster_lib.Cluster(tuple(learners), num_actor_processes, 'learner',
                             0)


def tf_config(learners, num_actor_processes, job, task):
  """The TF_CONFIG JSON of one process of the cluster."""
  return _cluster(learners, num_actor_processes).tf_config(job, task)


def cluster_commands(learners, num_actor_processes, flagfile):
  """Shell lines: two comments, then one command per process."""
  lines = [
      f'# impala_tf cluster: {len(learners)} learner(s), '
      f'{num_actor_processes} actor process(es). Every host needs the flag '
      f'file {flagfile} (copy it there).',
      '# TensorFlow\'s gRPC servers have no authentication: run this cluster '
      'on a private network only.']
  for job, count in (('learner', len(learners)),
                     ('actor', num_actor_processes)):
    for task in range(count):
      command = ' '.join(shlex.quote(a) for a in child_command(
          flagfile, job, task, python='python'))
      config = tf_config(learners, num_actor_processes, job, task)
      lines.append(f'TF_CONFIG={shlex.quote(config)} {command}')
  return lines
