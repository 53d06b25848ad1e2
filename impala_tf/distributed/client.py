"""An actor's connection to a learner's service, with back-off.

  client = LearnerClient(address, name, description, stop, connect_timeout)
  client.connect()                         handshake (refused -> ActorRefused)
  client.push(trajectory) -> None          all pieces accepted
  client.parameters(dtypes) -> (version, [numpy])
  client.report_episodes(records)
  client.learner_version                   newest version the learner reported

Every call retries: a learner that is not up yet, has died or is restarting
is reconnected to with exponential back-off (0.5 s doubling to 10 s), one
line per attempt, until ``connect_timeout`` seconds pass without success
(LearnerUnreachable) or the stop signal is set (QueueClosed). A learner
restarted at the same address answers with a new incarnation; the client
then handshakes again, so a changed learner config is noticed. A piece the
learner refuses because its queue is full is sent again.
"""

import json
import time

import tensorflow as tf

from impala_tf.distributed import wire
from impala_tf.trajectory_queue import QueueClosed, SourceUnavailable

# gRPC status codes that mean "the learner is not (or no longer) there".
# 9 (failed precondition) is what a learner process answers while it exits.
_CONNECTION_CODES = {
    1: 'cancelled', 4: 'deadline exceeded', 9: 'the learner is exiting',
    10: 'aborted', 14: 'unavailable'}
_CONNECT_TIMEOUT_MS = 5000
_REASONS = {'DeadlineExceededError': 'no answer within 5 s',
            'UnavailableError': 'unavailable'}
_CALL_TIMEOUT_MS = 120_000


class ActorRefused(SourceUnavailable):
  """The learner refused this actor (config or network differ)."""


class LearnerUnreachable(SourceUnavailable):
  """The learner could not be reached for longer than connect_timeout."""


class LearnerFinished(QueueClosed):
  """The learner finished its training budget: nothing more to do."""


class _RpcError(Exception):

  def __init__(self, code, message):
    super().__init__(message)
    self.code = code
    self.reason = _CONNECTION_CODES.get(code) or message.split('\n')[0][:200]

  @property
  def is_connection_error(self):
    return self.code in _CONNECTION_CODES


def _call(client, method, args, output_specs):
  result = client.call(method, args, output_specs=output_specs,
                       timeout_in_ms=_CALL_TIMEOUT_MS)
  if not bool(result.is_ok()):
    code, message = result.get_error()
    raise _RpcError(int(code), message.numpy().decode('utf-8', 'replace'))
  return result.get_value()


class LearnerClient:
  """See module docstring."""

  def __init__(self, address, name, description, stop, connect_timeout=600.0,
               log=print):
    self.address = address
    self.name = name
    self._description = description
    self._stop = stop
    self._connect_timeout = connect_timeout
    self._log = log
    self._client = None
    self.incarnation = None
    self.learner_version = -1
    self.reconnects = 0

  def say(self, message):
    self._log(f'[{self.name}] {message}', flush=True)

  def connect(self):
    """Handshakes with the learner, waiting for it as long as allowed."""
    delay, start = 0.5, time.monotonic()
    request = json.dumps(dict(name=self.name, description=self._description))
    while True:
      if self._stop.is_set():
        raise QueueClosed()
      try:
        client = tf.distribute.experimental.rpc.Client.create(
            'grpc', self.address, timeout_in_ms=_CONNECT_TIMEOUT_MS)
        reply = _call(client, 'handshake', [request],
                      tf.TensorSpec([], tf.string))
      except (tf.errors.OpError, _RpcError) as e:
        reason = getattr(e, 'reason', None) or _REASONS.get(
            type(e).__name__, type(e).__name__)
        waited = time.monotonic() - start
        if waited + delay > self._connect_timeout:
          raise LearnerUnreachable(
              f'cannot reach the learner at {self.address} ({reason}); gave '
              f'up after {waited:.0f}s.') from None
        self.say(f'cannot reach the learner at {self.address} ({reason}); '
                  f'retrying in {delay:.1f}s')
        self._stop.wait(delay)
        delay = min(2 * delay, 10.0)
        continue
      reply = json.loads(reply.numpy().decode('utf-8'))
      if reply['problems']:
        raise ActorRefused(
            f'the learner at {self.address} refused this actor: ' +
            '; '.join(reply['problems']) + '.')
      if self.incarnation is not None and (
          reply['incarnation'] != self.incarnation):
        self.say(f'connected to a restarted learner at {self.address} '
                  f'(version {reply["version"]})')
      self._client = client
      self.incarnation = reply['incarnation']
      self.learner_version = int(reply['version'])
      return

  def _rpc(self, method, args, output_specs):
    """One call, reconnecting (with back-off) as often as needed."""
    while True:
      if self._client is None:
        self.connect()
      try:
        return _call(self._client, method, args, output_specs)
      except _RpcError as e:
        if not e.is_connection_error:
          raise RuntimeError(f'the learner at {self.address} failed on '
                             f'{method}: {e}') from None
        self.say(f'lost the learner at {self.address} ({e.reason}); '
                  'reconnecting')
        self._client = None
        self.reconnects += 1

  def push(self, trajectory):
    """Sends unrolls; returns once every piece is in the learner's queue."""
    spec = tf.TensorSpec([4], tf.int64)
    for piece in wire.encode_unrolls(trajectory):
      while True:
        if self._stop.is_set():
          raise QueueClosed()
        version, finished, accepted, incarnation = (
            int(x) for x in self._rpc('push', [piece], spec).numpy())
        if incarnation != self.incarnation:  # Restarted: handshake again.
          self._client = None
          continue
        self.learner_version = version
        if finished:
          raise LearnerFinished()
        if accepted:
          break

  def parameters(self, dtypes):
    """(version, [numpy]) of the learner's newest snapshot."""
    specs = [tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64),
             tf.TensorSpec([], tf.string)]
    while True:
      version, count, data = self._rpc('parameters', [
          tf.constant(-1, tf.int64), tf.constant(0, tf.int64)], specs)
      version, chunks = int(version), [data.numpy()]
      for i in range(1, int(count)):
        got, _, data = self._rpc('parameters', [
            tf.constant(version, tf.int64), tf.constant(i, tf.int64)], specs)
        if int(got) != version:
          break  # That snapshot is gone; fetch the newest from the start.
        chunks.append(data.numpy())
      if len(chunks) == int(count):
        self.learner_version = version
        return version, wire.decode_parameters(chunks, dtypes)

  def report_episodes(self, records):
    if records:
      self._rpc('episodes', [wire.encode_episodes(records)],
                tf.TensorSpec([], tf.int64))
