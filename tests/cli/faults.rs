//! Fault injection: SIGKILL at seeded random moments across a distillation chain, and a full disk.
