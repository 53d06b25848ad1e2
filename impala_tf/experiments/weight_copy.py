"""PBT's exploit step on disk: a member takes another member's network.

  copy_weights(config, donor_logdir, recipient_logdir) -> checkpoint path

The recipient's newest checkpoint is rewritten (same step, atomically) with
the donor's newest network and optimiser slots, and the recipient's own
frame and update counters, actors' sampling RNGs and episode statistics, so
its learning-rate schedule keeps annealing by its own frames (paper App. F).
The recipient must not be running (the controller holds it; see
impala_tf.run_directory). ``config`` is the recipient's Config; both members
train the same model.
"""

import os

from impala_tf import builder
from impala_tf import checkpoint_reader
from impala_tf import checkpointing
from impala_tf.acting.local_actors import LocalActors

COPIED = ('agent', 'optimizer')


def _checkpoints(logdir):
  return os.path.join(logdir, 'checkpoints')


def copy_weights(config, donor_logdir, recipient_logdir):
  """See module docstring. Returns the rewritten checkpoint's path.

  Raises:
    FileNotFoundError: the donor or the recipient has no checkpoint yet.
  """
  task_set = builder.make_task_set(config)
  agent_factory = builder.make_agent_factory(config, task_set)
  learner = builder.make_learner(config, task_set.spec, agent_factory)
  actors = LocalActors(config, task_set, agent_factory)
  trackables = dict(learner.trackables(), **actors.trackables())
  manager = checkpointing.CheckpointManager(_checkpoints(recipient_logdir))
  own = manager.restore_newest(trackables)
  if own is None:
    raise FileNotFoundError(f'{recipient_logdir} has no checkpoint yet.')
  donor = checkpoint_reader.CheckpointReader(_checkpoints(donor_logdir))
  donor_path = donor.latest()
  if donor_path is None:
    raise FileNotFoundError(f'{donor_logdir} has no checkpoint yet.')
  donor.restore(donor_path, {name: trackables[name] for name in COPIED})
  extra = dict(own.extra)
  extra['pbt_copied_from'] = os.path.relpath(donor_path, recipient_logdir)
  return manager.save(own.step, trackables, extra)
