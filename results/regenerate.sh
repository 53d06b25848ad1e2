#!/usr/bin/env bash
# Regenerates every report and plot in results/ from the logs committed here:
#   bash results/regenerate.sh            (from the repository root, after the README's install)
# The throughput tables are measurements, not derived from logs: rerun the benchmark for those
# (results/throughput.md gives its command).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

# Atari Pong, shallow expert (52.5M frames) and its evaluation.
"$PYTHON" -m impala_tf.compare results/pong_run --eval_dir=results/pong_eval \
  --out=results/pong_report
"$PYTHON" -m impala_tf.plot --logdir=results/pong_run --out=results/pong_learning_curve.png
"$PYTHON" results/plot_rss.py results/pong_run/metrics.csv results/soak_rss.png

# Atari Breakout, shallow expert (the second game).
"$PYTHON" -m impala_tf.compare results/breakout_run --eval_dir=results/breakout_eval \
  --out=results/breakout_report

# Our Table 2 on Breakout: the four corrections without and with replay, one sweep, at 20M frames
# per arm and at 5M.
"$PYTHON" -m impala_tf.compare results/table2_breakout_20m --out=results/table2_breakout_20m_report
"$PYTHON" -m impala_tf.compare results/table2_breakout --out=results/table2_breakout_report

# Our Fig. E.1 on Catch: the four corrections at policy lags 0, 8 and 32, two seeds each.
"$PYTHON" -m impala_tf.compare results/fig_e1_catch --out=results/fig_e1_catch_report
