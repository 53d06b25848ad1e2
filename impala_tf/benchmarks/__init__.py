"""Throughput measurements in the layout of the paper's Table 1.

Each row measures one part alone on this machine, in agent steps per second
(frames = agent steps x action repeats):

  env_steps_per_second(level, num_envs, vectorized, seconds)
  inference_steps_per_second(network, spec, batch_size, seconds, core)
  learner_rates(network, spec, core, batch_size, unroll_length, seconds, xla)
  end_to_end_steps_per_second(config, seconds, warmup_seconds)
  pipeline_bound(env, inference, learner) = 1 / (1/env + 1/inference + 1/learner)
"""

from impala_tf.benchmarks.rows import (end_to_end_steps_per_second,
                                       env_steps_per_second,
                                       inference_steps_per_second,
                                       learner_rates, pipeline_bound)

__all__ = ['end_to_end_steps_per_second', 'env_steps_per_second',
           'inference_steps_per_second', 'learner_rates', 'pipeline_bound']
