//! Nothing a user writes becomes a shell line in an sbatch script; requeues are bounded.
