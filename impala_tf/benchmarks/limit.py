"""What the parts measured alone say about the end-to-end rate.

  compute_limit(cpu_ms_per_step, cores) = cores / sum(cpu_ms_per_step)
  serial_composition(rates) = 1 / sum(1 / rate)
  end_to_end_limits(env, inference, learner, end_to_end, cores) -> dict

One agent step of the end-to-end runtime costs at least the CPU time of one
environment step, one inference step and one learner step (each measured
alone, in CPU milliseconds per agent step). With ``cores`` cores busy all the
time, no runtime can go faster than the compute limit. It is a limit only as
far as the parts cost the same CPU time inside the runtime as alone (batch
sizes, cache effects and thread hand-offs can move it a little either way).

The serial composition is the rate if the three parts ran one after another
at their standalone rates; it is not a bound when the parts overlap on
several cores, or when a part alone leaves cores idle.
"""

from typing import Optional, Sequence

from impala_tf.benchmarks.measure import Measurement


def compute_limit(cpu_ms_per_step: Sequence[float], cores: int) -> float:
  """Agent steps/s that ``cores`` cores can sustain at the given per-part CPU
  cost (milliseconds per agent step, one entry per part)."""
  total = sum(cpu_ms_per_step)
  if not total > 0:
    raise ValueError(f'total CPU ms per agent step must be > 0, got {total}')
  return cores * 1000.0 / total


def serial_composition(rates: Sequence[float]) -> float:
  """Agent steps/s of the parts run one after another (rates in steps/s)."""
  return 1.0 / sum(1.0 / rate for rate in rates)


def end_to_end_limits(env: Measurement, inference: Measurement,
                      learner: Measurement, end_to_end: Optional[Measurement],
                      cores: int) -> dict:
  """The compute limit and where the end-to-end rate stands against it.

  Args:
    env, inference, learner: Measurements of the parts alone, in the
      end-to-end configuration (its envs, inference batch, learner batch).
    end_to_end: the end-to-end Measurement, or None (then no percentages).
    cores: cores the process may use.

  Returns:
    dict with cores, cpu_ms_per_agent_step (per part and their sum),
    compute_limit, serial_composition, environment_alone (agent steps/s) and,
    with end_to_end: end_to_end (agent steps/s),
    end_to_end_cpu_ms_per_agent_step, end_to_end_cores_busy,
    percent_of_compute_limit,
    percent_of_environment_alone, percent_of_serial_composition.
  """
  parts = dict(env=env, inference=inference, learner=learner)
  cpu_ms = {name: m.cpu_ms_per_agent_step for name, m in parts.items()}
  limit = compute_limit(list(cpu_ms.values()), cores)
  serial = serial_composition(
      [m.agent_steps_per_second for m in parts.values()])
  result = dict(cores=cores,
                cpu_ms_per_agent_step=dict(cpu_ms, sum=sum(cpu_ms.values())),
                compute_limit=limit, serial_composition=serial,
                environment_alone=env.agent_steps_per_second)
  if end_to_end is not None:
    rate = end_to_end.agent_steps_per_second
    result.update(
        end_to_end=rate,
        end_to_end_cpu_ms_per_agent_step=end_to_end.cpu_ms_per_agent_step,
        end_to_end_cores_busy=end_to_end.cores_busy,
        percent_of_compute_limit=100.0 * rate / limit,
        percent_of_environment_alone=100.0 * rate /
        env.agent_steps_per_second,
        percent_of_serial_composition=100.0 * rate / serial)
  return result
