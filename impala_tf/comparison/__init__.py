"""Our runs beside the IMPALA paper's published tables (``impala_tf.compare``).

Modules, by role:
  * ``runs``: reads run directories (``metrics.csv``, ``config.json``,
    ``eval/``) and groups of them (seeds, sweeps, PBT populations);
  * ``final``: one final score per run and level (evaluation or the last
    training episodes), combined over a group's runs;
  * ``paper``: the paper's columns (Table C.1, Table B.1) as looked up here;
  * ``statistics``: human-normalised aggregates on any subset of a suite,
    bootstrap confidence intervals, the Table 2 statistic;
  * ``plots``: learning curves, per-level bars, the Fig. E.2-style sweep plot;
  * ``comparing``: an entry's final scores and bootstrap samples (the
    report's input), and the paper's score beside each level;
  * ``arms``: a sweep's members that differ only in their seed, pooled;
  * ``markdown``: tables and number formats;
  * ``corrections``: a sweep over the off-policy corrections laid out as
    paper Table 2, beside the paper's;
  * ``sweep_report``: the sweep section (Table 2 statistic, Fig. E.2, arms);
  * ``report``: the other sections; writes ``report.md`` and the PNGs.

Nothing here imports TensorFlow.
"""
