"""The actor job: python -m impala_tf.train --job_name=actor --task=k

  run_actor(config, cluster, stop) -> exit code

Actor process k of K owns the k-th block of the run's --num_actors
environments (levels round-robin over the whole run, as in the one-process
runtime) as one batched group with local inference: the same ActorThread as
the one-process runtime, with remote counterparts of its queue, parameter
store and episode statistics:

  RemoteUnrolls.put(trajectory)       -> client.push (pieces under 4 MB)
  RemoteParameters.pull_into(vars, v) -> client.parameters, only when the
                                         learner reported another version
  RemoteEpisodes.record(...)          -> sent to the chief learner

It serves learner k % num_learners and stops when that learner says its
budget is spent (exit 0), on SIGTERM/SIGINT (exit 0), when refused at the
handshake (exit_codes.REFUSED: restarting cannot help) or when the learner
stays unreachable for --connect_timeout_secs (exit_codes.UNREACHABLE).
"""

import os

import tensorflow as tf

from impala_tf import builder
from impala_tf.acting.actor import ActorThread
from impala_tf.acting.policy import ActingPolicy
from impala_tf.config import ConfigError
from impala_tf.distributed import exit_codes
from impala_tf.distributed import handshake
from impala_tf.distributed.client import (ActorRefused, LearnerClient,
                                          LearnerFinished, LearnerUnreachable)



class RemoteEpisodes:
  """EpisodeStats.record for an actor process: buffered, sent with each
  unroll to the chief learner (which writes the summaries)."""

  def __init__(self, client):
    self._client = client
    self._pending = []

  def record(self, task_id, episode_return, length):
    self._pending.append((task_id, episode_return, length))

  def flush(self):
    if self._pending:
      self._client.report_episodes(self._pending)
      self._pending = []


class RemoteUnrolls:
  """TrajectoryQueue.put for an actor process."""

  def __init__(self, client, episodes):
    self._client = client
    self._episodes = episodes
    self.unrolls_sent = 0

  def put(self, trajectory):
    self._client.push(trajectory)
    if not self.unrolls_sent:
      self._client.say('first unrolls accepted by the learner')
    self.unrolls_sent += trajectory.task_id.shape[0]
    self._episodes.flush()


class RemoteParameters:
  """ParameterStore.pull_into for an actor process."""

  def __init__(self, client, variables):
    self._client = client
    self._dtypes = [v.dtype for v in variables]

  def pull_into(self, variables, have_version):
    if self._client.learner_version == have_version:
      return have_version
    version, values = self._client.parameters(self._dtypes)
    if len(values) != len(variables):
      raise ValueError(f'the learner sent {len(values)} parameters for '
                       f'{len(variables)} actor variables.')
    _assign(variables, [tf.constant(v) for v in values])
    return version


@tf.function
def _assign(variables, values):
  for variable, value in zip(variables, values):
    variable.assign(value)


def run_actor(config, cluster, stop, log=print):
  """Acts for learner task k % L until it finishes; returns the exit code."""
  task, count = cluster.task, cluster.num_actor_processes
  name = f'actor {task}'
  if config.num_actors < count:
    raise ConfigError('num_actors', f'{config.num_actors} actors cannot '
                      f'be split over {count} actor processes.')
  task_set = builder.make_task_set(config)
  agent = builder.make_agent_factory(config, task_set)()
  seed = hash((config.seed, 'actor', task, os.getpid())) % 2**31
  policy = ActingPolicy(agent, task_set.spec, seed=seed)
  description = handshake.describe(
      config, task_set.spec, config.resolved_core(task_set.family),
      policy.variables)

  def client(learner_task):
    return LearnerClient(cluster.learners[learner_task], name, description,
                         stop, config.connect_timeout_secs, log=log)

  learner_task = cluster.learner_of_actor(task)
  learner = client(learner_task)
  chief = learner if learner_task == 0 else client(0)
  try:
    learner.connect()
    if chief is not learner:
      chief.connect()
  except ActorRefused as e:
    log(f'[{name}] {e}', flush=True)
    return exit_codes.REFUSED
  except LearnerUnreachable as e:
    log(f'[{name}] {e}', flush=True)
    return exit_codes.UNREACHABLE
  except LearnerFinished:
    return 0
  except Exception as e:  # pylint: disable=broad-except
    if stop.is_set():
      return 0
    raise e
  log(f'[{name}] connected to learner {learner_task} at '
      f'{cluster.learners[learner_task]}; {len(_block(config, count, task))} '
      'environments', flush=True)
  episodes = RemoteEpisodes(chief)
  unrolls = RemoteUnrolls(learner, episodes)
  make_envs = builder.make_env_group_factory(
      config.replace(actor_threads=count), task_set, task,
      generation=os.getpid())
  thread = ActorThread(task, make_envs, policy,
                       RemoteParameters(learner, policy.variables), unrolls,
                       episodes, config.unroll_length, stop,
                       max_env_restarts=config.max_env_restarts)
  thread.start()
  while thread.is_alive():
    thread.join(0.5)  # The main thread stays free for signal handlers.
  if isinstance(thread.error, ActorRefused):
    log(f'[{name}] {thread.error}', flush=True)
    return exit_codes.REFUSED
  if isinstance(thread.error, LearnerUnreachable):
    log(f'[{name}] {thread.error}', flush=True)
    return exit_codes.UNREACHABLE
  if stop.failure:
    log(f'[{name}] stopped: {stop.failure}', flush=True)
    return exit_codes.FAILED
  log(f'[{name}] done: sent {unrolls.unrolls_sent:,} unrolls, '
      f'{learner.reconnects} reconnects', flush=True)
  return 0


def _block(config, count, task):
  return builder.actors_of_thread(config.replace(actor_threads=count), task)
