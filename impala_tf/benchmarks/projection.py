"""How many actor processes one learner absorbs: a projection from CPU costs.

  pooled_cpu_ms(cpu_seconds, agent_steps) = 1000 sum(cpu) / sum(steps)
  costs_of_rows(rows) -> (learner_ms, actor_ms) pooled over JSON rows
  project(learner_ms, actor_ms, frames_per_step) -> dict
  project_rows(rows, frames_per_step) -> project() of the benchmark's rows

From the learner + k actor process rows the benchmark knows what one agent
step costs in CPU time in the learner process (``learner_ms``: receiving the
unrolls, batching, the update, serving parameters) and in the actor processes
(``actor_ms``: environment, inference, sending). With each process on a
dedicated core of this machine:

  one learner core consumes   1000 / learner_ms agent steps/s
  one actor core produces     1000 / actor_ms   agent steps/s
  one learner core absorbs    actor_ms / learner_ms actor cores before it
                              saturates (the actors then wait on it)

The paper's distributed rows of Table 1 (DMLab seekavoid_arena_01, shallow
network, one NVIDIA P100 GPU learner; frames = 4 x agent steps) fed that one
learner from 150 CPUs (80K frames/s), 375 CPUs (200K, optimised) and 500 CPUs
(250K, optimised, batch 128). ``project`` sets these beside the numbers
above: what those CPUs would produce running this machine's actor processes,
and how many CPU learner cores of this machine would be needed to absorb
them. It is a projection from CPU costs on this machine, not a measurement:
it assumes costs per step stay the same at scale (no network, no contention,
synchronous learners scaling linearly), and this level (Atari by default)
costs less to step than DMLab, whose rendering dominated the paper's actors.
"""

from typing import NamedTuple, Sequence


class PaperRow(NamedTuple):
  name: str
  cpus: int
  frames_per_second: float


# Paper Table 1, distributed half: IMPALA with 1 learner (P100 GPU).
PAPER_DISTRIBUTED_ROWS = (
    PaperRow('IMPALA', 150, 80_000.0),
    PaperRow('IMPALA (optimised)', 375, 200_000.0),
    PaperRow('IMPALA (optimised), batch 128', 500, 250_000.0),
)


def pooled_cpu_ms(cpu_seconds: Sequence[float],
                  agent_steps: Sequence[float]) -> float:
  """CPU ms per agent step over several windows together (each window
  weighs by its agent steps)."""
  steps = sum(agent_steps)
  if not steps > 0:
    raise ValueError(f'agent_steps must add up to > 0, got {steps}')
  return 1000.0 * sum(cpu_seconds) / steps


def project(learner_ms: float, actor_ms: float, frames_per_step: int,
            paper_rows: Sequence[PaperRow] = PAPER_DISTRIBUTED_ROWS) -> dict:
  """The projection (see module docstring).

  Args:
    learner_ms: learner-process CPU ms per agent step (> 0).
    actor_ms: actor-processes CPU ms per agent step (> 0).
    frames_per_step: frames per agent step here (action repeats).
    paper_rows: the rows to compare with.

  Returns:
    dict with learner_cpu_ms_per_agent_step, actor_cpu_ms_per_agent_step,
    frames_per_step, learner_core_agent_steps_per_second,
    actor_core_agent_steps_per_second, learner_core_frames_per_second,
    actor_core_frames_per_second, actor_cores_absorbed_per_learner_core and
    paper_rows: [{name, cpus, paper_frames_per_second,
    paper_frames_per_second_per_cpu, actor_frames_per_second (those CPUs
    running the actor processes measured here), learner_cores_needed,
    learner_core_percent_of_paper (one learner core here, in percent of the
    paper row's frames/s)}].
  """
  for name, value in (('learner_ms', learner_ms), ('actor_ms', actor_ms)):
    if not value > 0:
      raise ValueError(f'{name} must be > 0, got {value}')
  learner_rate = 1000.0 / learner_ms
  actor_rate = 1000.0 / actor_ms
  absorbed = actor_ms / learner_ms
  rows = []
  for row in paper_rows:
    rows.append(dict(
        name=row.name, cpus=row.cpus,
        paper_frames_per_second=row.frames_per_second,
        paper_frames_per_second_per_cpu=row.frames_per_second / row.cpus,
        actor_frames_per_second=row.cpus * actor_rate * frames_per_step,
        learner_cores_needed=row.cpus / absorbed,
        learner_core_percent_of_paper=(
            100.0 * learner_rate * frames_per_step / row.frames_per_second)))
  return dict(learner_cpu_ms_per_agent_step=learner_ms,
              actor_cpu_ms_per_agent_step=actor_ms,
              frames_per_step=frames_per_step,
              learner_core_agent_steps_per_second=learner_rate,
              actor_core_agent_steps_per_second=actor_rate,
              learner_core_frames_per_second=learner_rate * frames_per_step,
              actor_core_frames_per_second=actor_rate * frames_per_step,
              actor_cores_absorbed_per_learner_core=absorbed,
              paper_rows=rows)


def costs_of_rows(rows) -> tuple:
  """(learner_ms, actor_ms) pooled over distributed JSON rows (each with
  agent_steps, learner_cpu_seconds and actor_cpu_seconds)."""
  steps = [row['agent_steps'] for row in rows]
  return (pooled_cpu_ms([row['learner_cpu_seconds'] for row in rows], steps),
          pooled_cpu_ms([row['actor_cpu_seconds'] for row in rows], steps))


def project_rows(rows, frames_per_step):
  """The projection from the benchmark's JSON rows: pools the learner + k
  actor process rows (num_learners == 1), adds "source" (which k). None
  without such rows; {"unavailable": why} when a pooled cost is 0 (windows
  too short for the CPU clock's 10 ms ticks)."""
  single = [row for row in rows if row.get('num_learners') == 1]
  if not single:
    return None
  learner_ms, actor_ms = costs_of_rows(single)
  if not (learner_ms > 0 and actor_ms > 0):
    return dict(unavailable=(
        f'the learner + k rows measured {learner_ms:.3f} learner and '
        f'{actor_ms:.3f} actor CPU ms per agent step: their windows were too '
        'short for the CPU clock (10 ms ticks); measure more work '
        '(--min_end_to_end_updates, --seconds)'))
  counts = ', '.join(str(row['num_actor_processes']) for row in single)
  result = project(learner_ms, actor_ms, frames_per_step)
  result['source'] = f'k = {counts}, pooled by agent steps'
  return result
