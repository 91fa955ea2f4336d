//! The job kinds' bodies: prepare, train, distill-targets, evaluate, saliency.

mod artifacts;
mod context;
mod dispatch;
mod evaluate;
mod prepare;
mod saliency;
mod subset;
mod targets;
mod train;

pub use artifacts::*;
pub use context::{JobContext, JobOutput, JobResult};
pub use dispatch::TorchJobs;
