//! fer-pipeline: reproducible facial-emotion-recognition experiments (Deep-Emotion vs
//! MicroExpNet) from a declarative `pipeline.yaml` to cached, resumable LibTorch training.

pub mod arch;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod data;
pub mod error;
pub mod eval;
pub mod exec;
pub mod export;
pub mod jobs;
pub mod models;
pub mod plan;
pub mod report;
pub mod rng;
pub mod slurm;
pub mod spec;
pub mod store;
pub mod train;
pub mod version;

/// The LibTorch version this binary was built against (from the wheel's `version.py`).
pub const LIBTORCH_VERSION: &str = env!("FER_LIBTORCH_VERSION");
