"""Networks of the paper and the one builder that makes them.

  build_agent(network, spec, core='lstm') -> ImpalaAgent

``network`` is 'shallow' or 'deep'; ``spec`` is the environment's EnvSpec (its
num_actions and has_instruction decide the heads and the instruction branch).
"""

from impala_tf.networks.agent import AgentInput, AgentOutput, CORES, ImpalaAgent
from impala_tf.networks.instruction import MAX_WORDS, tokenize_instructions
from impala_tf.networks.torsos import DeepTorso, ShallowTorso

NETWORKS = {'shallow': ShallowTorso, 'deep': DeepTorso}

__all__ = ['AgentInput', 'AgentOutput', 'CORES', 'ImpalaAgent', 'MAX_WORDS',
           'NETWORKS', 'build_agent', 'tokenize_instructions']


def build_agent(network, spec, core='lstm'):
  """Builds the agent for an environment.

  Args:
    network: 'shallow' or 'deep'.
    spec: impala_tf.envs.EnvSpec of the level (or of every level of a
      multi-task set; they share it).
    core: 'lstm' (paper's DMLab agents) or 'feedforward' (paper's Atari
      deep agent has no LSTM).
  """
  if network not in NETWORKS:
    raise ValueError(f'Unknown network {network!r}; choices are '
                     f'{sorted(NETWORKS)}.')
  if core not in CORES:
    raise ValueError(f'Unknown core {core!r}; choices are {list(CORES)}.')
  return ImpalaAgent(num_actions=spec.num_actions, torso=NETWORKS[network](),
                     core=core, use_instruction=spec.has_instruction,
                     name=f'impala_{network}')
