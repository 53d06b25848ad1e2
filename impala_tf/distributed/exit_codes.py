"""Exit codes of the distributed jobs (no TensorFlow import: the launcher
reads them too).

  FAILED       a fault; restarting the process may help
  REFUSED      the learner refused the actor (config or network differ);
               restarting cannot help
  UNREACHABLE  the learner stayed unreachable for --connect_timeout_secs
  RESTART      a controller asked for a restart (run_directory.RESTART_FILE):
               checkpointed; start the same command again
  INTERRUPTED  a second Ctrl-C: exit at once, without a checkpoint
"""

FAILED = 1
REFUSED = 3
UNREACHABLE = 4
RESTART = 75  # EX_TEMPFAIL in sysexits.h
INTERRUPTED = 130
