//! The plan: a DAG of content-hashed jobs expanded from a compiled pipeline.

mod dag;
mod hash;
mod hyper;
mod job;
mod render;
pub mod robustness;
mod transfer;

pub use dag::{build, retain, unavailable, Job, Plan};
pub use hash::{hash_canonical, JobHash};
pub use hyper::{Hyper, HYPER_ORDER};
pub use job::{
    EvaluateSpec, JobKind, JobLabel, JobSpec, KdInput, PrepareSpec, SaliencySpec, TargetsSpec, Threads, ThroughputSpec,
    TrainJobSpec, JOB_FORMAT, THROUGHPUT_BATCHES, THROUGHPUT_THREADS,
};
pub use render::{render_dot, render_mermaid, render_table, PlannedJob, PlannedState};
pub use transfer::{canonical_classes, shared_classes, TransferSpec, MIN_SHARED};
