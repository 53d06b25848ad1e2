"""What an actor process and its learner must agree on before data flows.

  describe(config, spec, core, variables) -> dict (JSON-able)
  differences(learner, actor) -> [str]   empty when they fit

An actor whose description differs is refused at connect time, with each
difference named ("network: learner shallow, actor deep"), so that a
mismatched flag file cannot feed a learner unrolls it would misread or act
with parameters of another network.
"""

import importlib.metadata

# Config fields that change what actors produce or how they act.
_CONFIG_FIELDS = ('level_name', 'network', 'unroll_length',
                  'num_action_repeats', 'full_action_space', 'sticky_actions',
                  'num_actors')


def _version():
  try:
    return importlib.metadata.version('impala_tf')
  except importlib.metadata.PackageNotFoundError:
    return 'unknown'


def describe(config, spec, core, variables):
  """The facts both sides compare (config, environment spec, network)."""
  description = {field: getattr(config, field) for field in _CONFIG_FIELDS}
  description.update(
      core=core,
      observation_shape=list(spec.observation_shape),
      num_actions=spec.num_actions,
      has_instruction=spec.has_instruction,
      parameters=[[v.name, list(v.shape)] for v in variables],
      impala_tf_version=_version())
  return description


def differences(learner, actor):
  """Human-readable differences, learner first; [] if they fit."""
  problems = []
  for key in sorted(set(learner) | set(actor)):
    mine, theirs = learner.get(key), actor.get(key)
    if mine == theirs:
      continue
    if key == 'parameters':
      problems.append(f'network parameters: learner has {len(mine or [])} '
                      f'variables, actor {len(theirs or [])} (first '
                      f'difference: {_first_difference(mine, theirs)})')
    else:
      problems.append(f'{key}: learner {mine!r}, actor {theirs!r}')
  return problems


def _first_difference(mine, theirs):
  for a, b in zip(mine or [], theirs or []):
    if a != b:
      return f'learner {a}, actor {b}'
  return 'one list is longer'
