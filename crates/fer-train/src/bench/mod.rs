//! Benchmarks printed side by side in one run (never timed tests): training throughput and
//! latency against PyTorch eager, planning / no-op re-run times, and face detection speed.

pub mod faces;
pub mod planning;
pub mod reference;
pub mod throughput;
