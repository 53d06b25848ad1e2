#!/usr/bin/env bash
# Optional tf-agents interop tests, in a virtualenv of their own.
#
# tf-agents 0.19.0 (its last release) cannot share impala_tf's core virtualenv:
#   * with TensorFlow >= 2.16 (Keras 3) it imports only when tf-keras is
#     installed and TF_USE_LEGACY_KERAS=1 is set before TensorFlow loads;
#   * its metadata pins typing-extensions==4.5.0, while the core needs >= 4.12
#     (gymnasium 1.4.0, grpcio 1.85) and pins 4.16.0, so pip cannot resolve
#     tf-agents together with the core. tf-agents is therefore installed with
#     --no-deps; its real dependencies come from impala_tf's `tf-agents` extra
#     (tf-keras, tensorflow-probability 0.23, gin-config, gym 0.23, pillow).
#     It runs fine with typing-extensions 4.16.0. pygame (also pinned by
#     tf-agents) is only used by gym's rendering and is left out.
#
# Creates .venv-tf-agents in the repository root (if absent), installs the repo
# with that extra plus tf-agents, and runs tests/tf_agents with
# TF_USE_LEGACY_KERAS=1. Exits non-zero on any failure.
#
#   bash .ci/tf_agents.sh            # PYTHON=python3.11 to pick the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-tf-agents
TF_AGENTS_REQUIREMENT='tf-agents==0.19.0'
start=$SECONDS

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }
# This machine's pip configuration warns about every package it looks up in
# its (partial) local indexes; the warnings say nothing about this install.
quiet_pip() { sed -u '/is ignored: it is neither a file nor a directory/d'; }

[ -f setup.py ] || [ -f pyproject.toml ] ||
  die "no setup.py or pyproject.toml in $(pwd): the 'tf-agents' extra is declared there."

# tf-agents 0.19 imports distutils, which Python 3.12 removed; impala_tf needs
# Python >= 3.11. So: Python 3.11.
pick_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  say "reusing virtualenv $VENV ($("$VENV/bin/python" --version))"
else
  python_bin=$(pick_python) ||
    die "Python 3.11 not found (tried \$PYTHON, python3, python3.11); tf-agents 0.19 needs Python < 3.12."
  say "creating virtualenv $VENV with $python_bin ($("$python_bin" --version))"
  rm -rf "$VENV"
  "$python_bin" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Transitive pins of the extra that the core constraints.txt does not cover.
extra_constraints=$(mktemp)
log=$(mktemp)
trap 'rm -f "$extra_constraints" "$log"' EXIT
cat > "$extra_constraints" <<'EOF'
decorator==5.3.1
gym-notices==0.1.0
EOF
constraint_args=(-c "$extra_constraints")
[ -f constraints.txt ] && constraint_args+=(-c constraints.txt)

say "installing impala_tf with the 'tf-agents' and 'test' extras (pip install -e '.[tf-agents,test]' ${constraint_args[*]})"
"$PY" -m pip install --disable-pip-version-check -q "${constraint_args[@]}" \
  -e '.[tf-agents,test]' 2>&1 | tee "$log" | quiet_pip
if grep -qi 'does not provide the extra' "$log"; then
  die "setup.py declares no 'tf-agents' extra; it must list the dependencies that tf-agents needs (see the top of this script)."
fi

say "installing $TF_AGENTS_REQUIREMENT without its declared dependencies (pip install --no-deps)"
"$PY" -m pip install --disable-pip-version-check -q --no-deps \
  "$TF_AGENTS_REQUIREMENT" 2>&1 | quiet_pip

say "checking dependency consistency (pip check; only tf-agents' known-unmet pins are allowed)"
check_output=$("$PY" -m pip check --disable-pip-version-check 2>&1 | quiet_pip || true)
unexpected=$(printf '%s\n' "$check_output" | grep -v \
  -e '^No broken requirements found' \
  -e '^tf-agents 0\.19\.0 requires pygame' \
  -e '^tf-agents 0\.19\.0 has requirement typing-extensions==4\.5\.0' \
  -e '^$' || true)
printf '%s\n' "$check_output"
[ -z "$unexpected" ] || die "unexpected dependency problems:
$unexpected"

export TF_USE_LEGACY_KERAS=1
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
say "import check with TF_USE_LEGACY_KERAS=1"
"$PY" - <<'EOF'
import tensorflow as tf
import tf_agents
import tf_keras
import tensorflow_probability as tfp
assert 'tf_keras' in tf.keras.__file__, f'tf.keras is not tf-keras: {tf.keras}'
print(f'tensorflow {tf.__version__}, tf_keras {tf_keras.__version__}, '
      f'tf_agents {tf_agents.__version__}, tensorflow_probability '
      f'{tfp.__version__}')
EOF

say "running: TF_USE_LEGACY_KERAS=1 python -m pytest tests/tf_agents -q -p no:cacheprovider"
# The folder's conftest skips itself when tf_agents does not import; here that
# must be an error instead, so the run cannot pass by skipping everything.
IMPALA_TF_REQUIRE_TF_AGENTS=1 "$PY" -m pytest tests/tf_agents -q -p no:cacheprovider

say "tf-agents interop tests passed in $((SECONDS - start)) s"
