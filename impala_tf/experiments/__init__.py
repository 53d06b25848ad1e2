"""Experiments made of many training runs (paper section 5.2, Appendix F).

  sweep_settings   the 24 pre-sampled hyperparameter settings (Table D.1)
  sweep_plan       a sweep's members, their training commands, sweep.json
  member_process   one member's training process, and how it ended
  sweep_results    results.csv: frames, status and final return per member
  sweep            runs a sweep (the binary is impala_tf/sweep.py)
  pbt_rules        population based training's rules (Appendix F)
"""
