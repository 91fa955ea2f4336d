//! The job kinds' bodies: prepare, train, distill-targets, evaluate, saliency, throughput, transfer.

mod artifacts;
mod context;
mod dispatch;
mod evaluate;
mod prepare;
mod robustness;
mod saliency;
mod subset;
mod targets;
mod throughput;
mod train;
mod transfer;

pub use artifacts::*;
pub use context::{JobContext, JobOutput, JobResult};
pub use dispatch::TorchJobs;
