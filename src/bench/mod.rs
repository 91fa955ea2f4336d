//! Benchmarks printed side by side in one run (never timed tests): training throughput and
//! latency against PyTorch eager, and planning / no-op re-run times.

pub mod planning;
pub mod reference;
pub mod throughput;
