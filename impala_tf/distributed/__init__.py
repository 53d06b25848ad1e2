"""The distributed runtime: actor and learner processes on TensorFlow's RPC.

  cluster.py    who is who: learner addresses, actor processes, this task
  wire.py       unrolls, parameters and episodes as TF-serialised strings
  handshake.py  what an actor and its learner must agree on
  service.py    the learner's RPC server: unrolls in, parameters out
  client.py     the actor's connection to its learner, with back-off
  actor_job.py, learner_job.py   the two jobs of impala_tf.train
  exit_codes.py what the jobs' exit codes mean
  launcher.py   one command that runs a whole cluster on this machine
                (launch_plan.py: flags, ports, commands, before anything
                starts; child_process.py: one supervised child;
                merged_output.py: the console)

Data path: env -> actor process (ActorThread) -> client.push -> service ->
the learner's TrajectoryQueue -> StagingArea -> Learner -> ParameterStore ->
service -> client.parameters -> actor. The queue, staging area and parameter
store are the one-process runtime's own.
"""
