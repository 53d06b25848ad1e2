"""Soak-test plot: resident memory of a training run against wall time.

  .venv/bin/python results/plot_rss.py logs/atari_pong/metrics.csv results/soak_rss.png

Reads the 'system/rss_megabytes' rows of a run's metrics.csv, keeps the last
process (a resume restarts wall time; a gap over 10 minutes or a drop in
frames marks it), prints the growth after a 2-minute warm-up, and plots it.
"""

import csv
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top


def last_process(rows):
  segment = []
  for row in rows:
    if segment and (row[0] - segment[-1][0] > 600 or row[2] < segment[-1][2]):
      segment = []
    segment.append(row)
  return segment


def main(csv_path, out_path):
  rows = [(float(r['wall_time']), float(r['value']), float(r['step']))
          for r in csv.DictReader(open(csv_path))
          if r['tag'] == 'system/rss_megabytes']
  rows = last_process(rows)
  t0 = rows[0][0]
  minutes = [(t - t0) / 60 for t, _, _ in rows]
  rss = [v for _, v, _ in rows]
  warm = [v for m, v in zip(minutes, rss) if m >= 2]
  growth = 100 * (max(warm) - min(warm)) / min(warm)
  print(f'{minutes[-1]:.1f} minutes, frames {rows[0][2]:,.0f} -> '
        f'{rows[-1][2]:,.0f}; RSS after 2 min warm-up: min {min(warm):.0f} MB,'
        f' max {max(warm):.0f} MB, spread {growth:.2f}%')
  plt.figure(figsize=(8, 4))
  plt.plot(minutes, rss, marker='.')
  plt.xlabel('wall-clock minutes since the process started')
  plt.ylabel('resident memory (MB)')
  plt.ylim(0, max(rss) * 1.1)
  plt.title(f'RSS of the training process (spread after warm-up '
            f'{growth:.1f}%)')
  plt.grid(alpha=0.3)
  plt.tight_layout()
  plt.savefig(out_path, dpi=100)
  print(f'Saved {out_path}')


if __name__ == '__main__':
  main(*sys.argv[1:3])
