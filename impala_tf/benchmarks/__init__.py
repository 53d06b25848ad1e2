"""Throughput measurements in the layout of the paper's Table 1.

Each row measures one part on this machine and returns a Measurement (work
in agent steps, wall seconds, CPU seconds; frames = agent steps x action
repeats):

  measure_env(level, num_envs, vectorized, min_seconds, min_steps)
  measure_inference(network, spec, batch_size, min_seconds, min_calls, core)
  measure_learner(network, spec, core, batch_size, unroll_length,
                  min_seconds, min_updates, xla)
  measure_end_to_end(config, min_seconds, min_updates, warmup_seconds,
                     warmup_updates)

and, as a cluster of child processes (impala_tf.benchmarks.distributed,
which does not import TensorFlow itself):

  measure_distributed(config, num_learners, num_actor_processes, ...)

and what the parts alone say about the end-to-end rate:

  compute_limit(cpu_ms_per_step, cores) = cores / sum(CPU ms per agent step)
  serial_composition(rates) = 1 / sum(1 / rate)
  end_to_end_limits(env, inference, learner, end_to_end, cores) -> dict
  projection.project(learner_ms, actor_ms, frames_per_step) -> dict
      (how many actor cores one learner core absorbs)

The row functions import TensorFlow; import them from
impala_tf.benchmarks.rows. The rest is importable without it.
"""

from impala_tf.benchmarks.limit import (compute_limit, end_to_end_limits,
                                        serial_composition)
from impala_tf.benchmarks.measure import (ClockReading, Measurement,
                                          cpu_seconds, proc_cpu_seconds,
                                          read_clock, repeat, usable_cores)

__all__ = ['ClockReading', 'Measurement', 'compute_limit', 'cpu_seconds',
           'end_to_end_limits', 'proc_cpu_seconds', 'read_clock', 'repeat',
           'serial_composition', 'usable_cores']
