"""The cluster description: TF_CONFIG, flags, and what cannot work."""

import json
import re
import os
import sys

import pytest

from impala_tf.distributed.cluster import Cluster, ClusterError
from tests.processes import Child, free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tf_config(learners, actors, job, task):
  return json.dumps({'cluster': {'learner': learners,
                                 'actor': ['localhost:0'] * actors},
                     'task': {'type': job, 'index': task}})


def test_tf_config_is_read_through_tensorflow():
  cluster = Cluster.from_tf_config(
      _tf_config(['10.0.0.1:8000', '10.0.0.2:8000'], 4, 'actor', 3))
  assert cluster.learners == ('10.0.0.1:8000', '10.0.0.2:8000')
  assert (cluster.num_actor_processes, cluster.job_name, cluster.task) == (
      4, 'actor', 3)
  assert cluster.learner_of_actor(3) == 1
  assert cluster.actor_tasks_of_learner(0) == [0, 2]
  assert cluster.collective_addresses() == ['10.0.0.1:8001', '10.0.0.2:8001']
  assert not cluster.is_chief
  again = Cluster.from_tf_config(cluster.tf_config('learner', 0))
  assert again.learners == cluster.learners and again.is_chief


@pytest.mark.parametrize('make,needle', [
    (lambda: Cluster.from_tf_config('{not json'), 'not valid JSON'),
    (lambda: Cluster.from_tf_config(json.dumps({'cluster': {
        'worker': ['a:1']}, 'task': {'type': 'worker', 'index': 0}})),
     "jobs ['worker']"),
    (lambda: Cluster.from_flags(['nohost'], 1, 'learner', 0),
     'not a host:port'),
    (lambda: Cluster.from_flags(['127.0.0.1:1'], 2, 'actor', 2),
     'actor task 2 does not exist'),
    (lambda: Cluster.from_flags(['127.0.0.1:1', '127.0.0.1:3'], 1,
                                'learner', 0), 'every learner needs'),
    (lambda: Cluster.from_flags(['127.0.0.1:1', '127.0.0.1:1'], 2,
                                'learner', 0), 'repeat'),
])
def test_bad_clusters_say_why(make, needle):
  with pytest.raises(ClusterError, match=re.escape(needle)):
    make()


def test_an_actor_takes_its_task_and_cluster_from_tf_config(tmp_path):
  port = free_port()  # No learner there: the actor says whom it waits for.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
             TF_CONFIG=_tf_config([f'127.0.0.1:{port}'], 2, 'actor', 1))
  command = [sys.executable, '-m', 'impala_tf.train',
             '--flagfile=' + os.path.join(REPO, 'paper_configs/catch.cfg'),
             f'--logdir={tmp_path}', '--connect_timeout_secs=1']
  with Child(command, cwd=REPO, env=env) as actor:
    assert actor.wait(timeout=300) == 4
    out, err = actor.output()
  assert f'[actor 1] cannot reach the learner at 127.0.0.1:{port}' in out
  assert 'Traceback' not in err


def test_a_bad_tf_config_is_one_sentence(tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  env = dict(os.environ, TF_CONFIG=_tf_config(['nohost'], 1, 'actor', 0))
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.train', f'--logdir={tmp_path}'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert "impala_tf.train: error: cluster: 'nohost' is not a host:port" in (
      result.stderr)
  assert 'Traceback' not in result.stderr
