"""The benchmark's Markdown table and JSON rows.

  row_dict(name, measurement or None, note='', extra=None) -> JSON row
  limit_lines(limits), projection_lines(projection) -> Markdown lines
  markdown(info, rows, limits, work_line, projection=None) -> the text

A row without a measurement (a placeholder) has None values and n/a cells.
"""

_VALUE_KEYS = ('agent_steps', 'wall_seconds', 'cpu_seconds',
               'agent_steps_per_second', 'frames_per_second',
               'cpu_ms_per_agent_step', 'cores_busy')


def row_dict(name, measurement, note='', extra=None):
  """One JSON row: the name plus the measurement's values and notes, or, for
  a placeholder (measurement None), None values and ``note``; plus the keys
  of ``extra`` (e.g. a distributed row's per-process CPU)."""
  if measurement is None:
    row = dict(row=name, **{k: None for k in _VALUE_KEYS}, note=note)
  else:
    row = dict(row=name, **measurement.to_dict())
  row.update(extra or {})
  return row


def _cells(row):
  if row['agent_steps_per_second'] is None:
    return ['n/a'] * 4
  return [f'{row["agent_steps_per_second"]:,.0f}',
          f'{row["frames_per_second"]:,.0f}',
          f'{row["cpu_ms_per_agent_step"]:.3f}', f'{row["cores_busy"]:.2f}']


def limit_lines(limits):
  """The compute-limit paragraph under the table (see benchmarks.limit)."""
  ms = limits['cpu_ms_per_agent_step']
  lines = [
      f'**Compute limit** of the end-to-end configuration: {limits["cores"]} '
      f'cores / ({ms["env"]:.3f} + {ms["inference"]:.3f} + '
      f'{ms["learner"]:.3f} CPU ms per agent step of environment, inference '
      f'and learner alone) = **{limits["compute_limit"]:,.0f} agent '
      'steps/s**.']
  if 'end_to_end' in limits:
    lines[0] += (
        f' End-to-end: **{limits["end_to_end"]:,.0f} agent steps/s** '
        f'({limits["end_to_end_cpu_ms_per_agent_step"]:.3f} CPU ms per agent '
        f'step, {limits["end_to_end_cores_busy"]:.2f} cores busy) = '
        f'**{limits["percent_of_compute_limit"]:.0f}% of the compute limit** '
        f'and {limits["percent_of_environment_alone"]:.0f}% of the '
        f'environment alone ({limits["environment_alone"]:,.0f} agent '
        'steps/s, the ceiling no agent can pass).')
  serial = (f'Serial composition 1 / (1/env + 1/inference + 1/learner) of '
            f'the standalone rates: {limits["serial_composition"]:,.0f} agent '
            'steps/s')
  if 'end_to_end' in limits:
    serial += (f'; end-to-end = '
               f'{limits["percent_of_serial_composition"]:.0f}% of it')
  lines += ['', serial + ' (not a bound: the parts overlap on the cores).']
  return lines


def projection_lines(projection):
  """The projection paragraph and table under the table (see
  benchmarks.projection)."""
  p = projection
  if 'unavailable' in p:
    return [f'No projection: {p["unavailable"]}.']
  lines = [
      '**Projection from CPU costs measured here (not a measurement).** '
      f'Over the learner + k actor process rows ({p["source"]}), the learner '
      f'process costs {p["learner_cpu_ms_per_agent_step"]:.3f} and the actor '
      f'processes {p["actor_cpu_ms_per_agent_step"]:.3f} CPU ms per agent '
      'step. On dedicated cores, one learner core consumes '
      f'{p["learner_core_agent_steps_per_second"]:,.0f} agent steps/s '
      f'({p["learner_core_frames_per_second"]:,.0f} frames/s) and one actor '
      f'core produces {p["actor_core_agent_steps_per_second"]:,.0f} '
      f'({p["actor_core_frames_per_second"]:,.0f} frames/s): **one learner '
      'core absorbs '
      f'{p["actor_cores_absorbed_per_learner_core"]:.1f} actor cores** '
      '(actor ms / learner ms) before it saturates. The paper\'s single P100 '
      'GPU learner absorbed 150 to 500 actor CPUs (Table 1, DMLab):', '',
      '| paper Table 1 row (1 GPU learner) | CPUs | paper frames/s | paper '
      'frames/s per CPU | those CPUs as actor processes here, frames/s | CPU '
      'learner cores needed here | one learner core here, % of paper |',
      '|---|---:|---:|---:|---:|---:|---:|']
  for row in p['paper_rows']:
    lines.append(
        f'| {row["name"]} | {row["cpus"]} | '
        f'{row["paper_frames_per_second"]:,.0f} | '
        f'{row["paper_frames_per_second_per_cpu"]:,.0f} | '
        f'{row["actor_frames_per_second"]:,.0f} | '
        f'{row["learner_cores_needed"]:,.1f} | '
        f'{row["learner_core_percent_of_paper"]:.1f}% |')
  lines += ['', 'It assumes the per-step costs stay the same at scale (no '
            'network, no contention for cores, synchronous learners scaling '
            'linearly, which the 2-learner row checks only at 2). The level '
            'here is not DMLab, whose rendering made the paper\'s actors '
            'costlier, and the learner here is a CPU, not a P100 GPU.']
  return lines


def markdown(info, rows, limits, work_line, projection=None):
  """The Markdown text.

  Args:
    info: system_info() dict (cpu_model, cores, cores_source, cpu_count,
      gpus, tensorflow, python, date).
    rows: JSON rows (row_dict).
    limits: end_to_end_limits() dict, or None.
    work_line: one sentence saying how much each row measured.
    projection: benchmarks.projection.project() dict plus "source" (which
      rows it pools), {"unavailable": why}, or None.
  """
  lines = [
      f'Machine: {info["cpu_model"]}, {info["cores"]} usable cores '
      f'({info["cores_source"]}; os.cpu_count() = {info["cpu_count"]}), '
      f'{info["gpus"]} GPUs; TF {info["tensorflow"]}, Python '
      f'{info["python"]}; {info["date"]}.', '', work_line, '',
      '| row | agent steps/s | frames/s | CPU ms / agent step | cores busy '
      '| note |', '|---|---:|---:|---:|---:|---|']
  for row in rows:
    lines.append('| ' + ' | '.join([row['row']] + _cells(row) + [row['note']])
                 + ' |')
  if limits:
    lines += [''] + limit_lines(limits)
  if projection:
    lines += [''] + projection_lines(projection)
  return '\n'.join(lines)
