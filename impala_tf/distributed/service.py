"""The learner's RPC service: unrolls in, parameters out.

  LearnerService(address, description, template, ...).start(queue, store,
                                                            episodes)

Registered methods (TensorFlow RPC, every payload a serialised string; see
wire.py):

  handshake(description json) -> reply json: {"problems": [...],
      "incarnation": id, "version": v}; problems non-empty = refused
  push(piece) -> int64 [version, finished, accepted, incarnation]
      a piece of unrolls goes into the run's TrajectoryQueue; accepted is 0
      when the queue stayed full for ``put_timeout`` seconds (the actor
      retries: backpressure without long calls)
  parameters(version, chunk) -> (version, num_chunks, bytes)
      chunk of the snapshot for actors (version -1) or of a recent one
  episodes(blob) -> int64 count   finished episodes, recorded in the run's
      EpisodeStats (actors send them to the chief learner)

``incarnation`` is random per learner process: a learner restarted at the same
address answers with a new one, and its actors handshake again.

The version in every reply is the one actors act with, ``store.latest()``:
the newest, or newest - --actor_policy_lag (impala_tf.params), so an actor
fetches parameters only when that version changes.
"""

import json
import random
import socket
import threading

import numpy as np
import tensorflow as tf

from impala_tf.distributed import handshake
from impala_tf.distributed import wire
from impala_tf.trajectory_queue import QueueClosed

_KEPT_SNAPSHOTS = 3


class ListenError(OSError):
  """The service cannot listen at its address (one sentence)."""


def check_can_listen(address):
  """Raises ListenError unless ``address`` (host:port) is free to listen on.

  gRPC sets SO_REUSEPORT, so a second server on a busy port would silently
  share it (and split the actors); a plain socket finds out instead.
  """
  host, _, port = address.rpartition(':')
  try:
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host.strip('[]'), int(port), type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
      # Like any server: a port whose old connections linger (TIME_WAIT) is
      # free; one with a listener is not.
      probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      probe.bind(sockaddr)
  except OSError as e:
    raise ListenError(f'cannot listen on {address}: '
                      f'{e.strerror or e}.') from None


class LearnerService:
  """Serves one learner's actors over TensorFlow's gRPC RPC layer.

  Args:
    address: host:port to listen on (exactly that host).
    description: handshake.describe(...) of this learner.
    template: a Trajectory giving the unroll structure and dtypes.
    unroll_length: T; pieces must have T + 1 entries.
    put_timeout: seconds a push may wait for room in the queue.
  """

  def __init__(self, address, description, template, unroll_length,
               put_timeout=10.0):
    self.address = address
    self._description = description
    self._template = template
    self._steps = unroll_length + 1
    self._put_timeout = put_timeout
    self.incarnation = random.getrandbits(62)
    self.finished = threading.Event()
    self._lock = threading.Lock()
    self._snapshots = {}  # version -> chunks, the newest few.
    self._queue = self._store = self._episodes = None
    self.unrolls_received = 0
    self.pushes_refused_busy = 0
    self.actors_connected = set()
    check_can_listen(address)
    self._server = tf.distribute.experimental.rpc.Server.create(
        'grpc', address)
    self._register()

  def start(self, queue, store, episodes=None):
    """Starts serving; unrolls go to ``queue``, episodes to ``episodes``."""
    self._queue, self._store, self._episodes = queue, store, episodes
    self._server.start()

  def _register(self):
    string = tf.TensorSpec([], tf.string)
    int64 = tf.TensorSpec([], tf.int64)

    @tf.function(input_signature=[string])
    def handshake_fn(request):
      reply = tf.py_function(self._handshake, [request], tf.string)
      reply.set_shape([])
      return reply

    @tf.function(input_signature=[string])
    def push_fn(piece):
      reply = tf.py_function(self._push, [piece], tf.int64)
      reply.set_shape([4])
      return reply

    @tf.function(input_signature=[int64, int64])
    def parameters_fn(version, chunk):
      version, count, data = tf.py_function(
          self._parameters, [version, chunk], [tf.int64, tf.int64, tf.string])
      for tensor in (version, count, data):
        tensor.set_shape([])
      return version, count, data

    @tf.function(input_signature=[string])
    def episodes_fn(blob):
      count = tf.py_function(self._record_episodes, [blob], tf.int64)
      count.set_shape([])
      return count

    self._server.register('handshake', handshake_fn)
    self._server.register('push', push_fn)
    self._server.register('parameters', parameters_fn)
    self._server.register('episodes', episodes_fn)

  # Handlers (run in the server's threads, called through tf.py_function).

  def _handshake(self, request):
    actor = json.loads(request.numpy().decode('utf-8'))
    problems = handshake.differences(self._description,
                                     actor.get('description', {}))
    if not problems:
      with self._lock:
        self.actors_connected.add(actor.get('name', '?'))
    return json.dumps(dict(problems=problems, incarnation=self.incarnation,
                           version=self._store.acting_version))

  def _push(self, piece):
    unrolls = wire.decode_unrolls(piece.numpy(), self._template)
    if unrolls.frame.shape[0] != self._steps:
      raise ValueError(f'unrolls of {unrolls.frame.shape[0]} entries; this '
                       f'learner takes {self._steps}.')
    accepted = 0
    if not self.finished.is_set():
      try:
        accepted = int(self._queue.try_put(unrolls, self._put_timeout))
      except QueueClosed:
        accepted = 0
    with self._lock:
      if accepted:
        self.unrolls_received += unrolls.task_id.shape[0]
      else:
        self.pushes_refused_busy += 1
    return np.asarray([self._store.acting_version,
                       int(self.finished.is_set()),
                       accepted, self.incarnation], np.int64)

  def _parameters(self, version, chunk):
    version, chunk = int(version), int(chunk)
    with self._lock:
      newest, values = self._store.latest()
      if newest not in self._snapshots:
        self._snapshots[newest] = wire.encode_parameters(values)
        for old in sorted(self._snapshots)[:-_KEPT_SNAPSHOTS]:
          del self._snapshots[old]
      if version < 0 or version not in self._snapshots:
        version = newest
      chunks = self._snapshots[version]
    data = chunks[chunk] if 0 <= chunk < len(chunks) else b''
    return version, len(chunks), data

  def _record_episodes(self, blob):
    records = wire.decode_episodes(blob.numpy())
    if self._episodes is not None:
      for task_id, episode_return, length in records:
        self._episodes.record(task_id, episode_return, length)
    return len(records)
