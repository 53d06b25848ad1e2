"""The cluster of a distributed run: learners, actor processes, this task.

  Cluster.from_tf_config(os.environ['TF_CONFIG'])
  Cluster.from_flags(learner_addresses, num_actor_processes, job_name, task)
  cluster.tf_config(job_name, task) -> the TF_CONFIG JSON of one process

TF_CONFIG is TensorFlow's cluster description (read here with
TFConfigClusterResolver), e.g. for 2 learners and 4 actor processes:

  {"cluster": {"learner": ["10.0.0.1:8000", "10.0.0.2:8000"],
               "actor": ["10.0.0.3:0", "10.0.0.3:0", "10.0.0.4:0",
                         "10.0.0.4:0"]},
   "task": {"type": "actor", "index": 2}}

Learner i serves actors at its address; with several learners it also uses
the next port (port + 1) for the all-reduce between learners
(MultiWorkerMirroredStrategy). Actors only connect out, so their entries only
count them (the port is not used). Actor process k serves learner
k % num_learners and learner 0 is the chief (checkpoints, summaries).

Addresses are host:port; a learner listens on exactly the host it is given
(127.0.0.1 keeps it on this machine). TensorFlow's gRPC servers have no
authentication: put a cluster on a private network only.
"""

import dataclasses
import json
from typing import Tuple

JOBS = ('learner', 'actor')


class ClusterError(ValueError):
  """A cluster description that cannot work; the message says why."""


def split_address(address):
  """'host:port' -> (host, port); ClusterError if it is not that."""
  host, sep, port = str(address).rpartition(':')
  if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
    raise ClusterError(f'{address!r} is not a host:port address.')
  return host, int(port)


@dataclasses.dataclass(frozen=True)
class Cluster:
  """Learner addresses, the number of actor processes, and this task."""
  learners: Tuple[str, ...]
  num_actor_processes: int
  job_name: str
  task: int

  def __post_init__(self):
    if not self.learners:
      raise ClusterError('the cluster has no learner.')
    for address in self.learners:
      split_address(address)
    if len(set(self.learners)) != len(self.learners):
      raise ClusterError(f'learner addresses repeat: {list(self.learners)}.')
    if self.job_name not in JOBS:
      raise ClusterError(f'job must be one of {list(JOBS)}, got '
                         f'{self.job_name!r}.')
    count = len(self.learners) if self.job_name == 'learner' else (
        self.num_actor_processes)
    if not 0 <= self.task < count:
      raise ClusterError(f'{self.job_name} task {self.task} does not exist: '
                         f'the cluster has {count} {self.job_name} task(s).')
    if self.num_actor_processes < len(self.learners):
      raise ClusterError(
          f'{self.num_actor_processes} actor process(es) for '
          f'{len(self.learners)} learners: every learner needs at least one.')

  @classmethod
  def from_flags(cls, learner_addresses, num_actor_processes, job_name, task):
    learners = tuple(a.strip() for a in learner_addresses if a.strip())
    return cls(learners, int(num_actor_processes), job_name, int(task))

  @classmethod
  def from_tf_config(cls, text):
    """The cluster of a TF_CONFIG JSON string (TensorFlow's format)."""
    try:
      json.loads(text)
    except ValueError as e:
      raise ClusterError(f'TF_CONFIG is not valid JSON: {e}') from None
    import os  # pylint: disable=g-import-not-at-top
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    previous = os.environ.get('TF_CONFIG')
    os.environ['TF_CONFIG'] = text
    try:
      resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
      jobs = resolver.cluster_spec().as_dict()
      job_name, task = resolver.task_type, resolver.task_id
    finally:
      if previous is None:
        del os.environ['TF_CONFIG']
      else:
        os.environ['TF_CONFIG'] = previous
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
      raise ClusterError(f'TF_CONFIG has jobs {unknown}; impala_tf knows '
                         f'{list(JOBS)}.')
    if job_name is None or task is None:
      raise ClusterError('TF_CONFIG has no "task" (type and index).')
    return cls(tuple(jobs.get('learner', ())), len(jobs.get('actor', ())),
               job_name, int(task))

  @property
  def num_learners(self):
    return len(self.learners)

  @property
  def is_chief(self):
    return self.job_name == 'learner' and self.task == 0

  def learner_of_actor(self, actor_task):
    return actor_task % self.num_learners

  def actor_tasks_of_learner(self, learner_task):
    return [k for k in range(self.num_actor_processes)
            if self.learner_of_actor(k) == learner_task]

  def collective_addresses(self):
    """Where the learners all-reduce: each learner's port + 1."""
    result = []
    for address in self.learners:
      host, port = split_address(address)
      result.append(f'{host}:{port + 1}')
    return result

  def tf_config(self, job_name, task):
    """TF_CONFIG JSON for one task of this cluster."""
    return json.dumps({
        'cluster': {'learner': list(self.learners),
                    'actor': ['localhost:0'] * self.num_actor_processes},
        'task': {'type': job_name, 'index': int(task)}})
