"""The tf-agents interop tests run only in the virtualenv of ``.ci/tf_agents.sh``.

TF-Agents is an optional extra that does not install next to impala_tf's core
(it needs ``tf-keras`` and ``TF_USE_LEGACY_KERAS=1``), so the core test run skips
this whole folder, with the reason shown by ``pytest -rs``. Setting
``IMPALA_TF_REQUIRE_TF_AGENTS=1`` (the script does) turns the skip into an
error, so the dedicated run cannot pass by skipping everything.
"""

import importlib
import importlib.util
import os

import pytest

_HOW = ('the tf-agents interop tests run in their own virtualenv: '
        'bash .ci/tf_agents.sh')


def _unavailable_reason():
  """None when tf_agents imports, else why not."""
  if importlib.util.find_spec('tf_agents') is None:
    return f'tf_agents is not installed; {_HOW}'
  if os.environ.get('TF_USE_LEGACY_KERAS') != '1':
    # Importing tf_agents without it fails inside TensorFlow/Keras 3.
    return f'TF_USE_LEGACY_KERAS=1 is not set; {_HOW}'
  try:
    importlib.import_module('tf_agents')
  except Exception as e:  # pylint: disable=broad-except
    return f'tf_agents does not import ({type(e).__name__}: {e}); {_HOW}'
  return None


_REASON = _unavailable_reason()

if _REASON is not None:

  class _UnavailableModule(pytest.Module):
    """Stands in for each test module here: reports it skipped, unimported."""

    def collect(self):
      if os.environ.get('IMPALA_TF_REQUIRE_TF_AGENTS') == '1':
        raise RuntimeError(
            f'IMPALA_TF_REQUIRE_TF_AGENTS=1 but the tests cannot run: '
            f'{_REASON}')
      pytest.skip(_REASON)

  def pytest_pycollect_makemodule(module_path, parent):
    # A skip raised while this conftest is imported would be a crash when the
    # folder is named on the command line, so each module is skipped instead.
    return _UnavailableModule.from_parent(parent, path=module_path)
