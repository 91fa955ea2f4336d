//! Ctrl-C, SIGTERM and Slurm preemption: interrupted jobs checkpoint and are reported interrupted, never failed.
