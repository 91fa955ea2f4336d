//! What every job body gets from the executor (the core's context, on a LibTorch device) and
//! what it returns.

pub use fer_core::exec::{JobOutput, JobResult};

/// The running job's surroundings: store, entry, device, threads, stop flag, events and log.
pub type JobContext<'a> = fer_core::exec::JobContext<'a, tch::Device>;
