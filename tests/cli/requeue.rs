//! Slurm requeue is bounded: every failure path counts as an attempt, and failed.json says why.
