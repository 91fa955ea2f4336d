//! fer-pipeline: reproducible facial-emotion-recognition experiments (Deep-Emotion vs
//! MicroExpNet) from a declarative `pipeline.yaml` to cached, resumable LibTorch training.
//! This crate is the command line: `fer-pipeline` (torch-free) and `fer-pipeline-worker` (the
//! commands that need LibTorch); the work is done by `fer-core`, `fer-train` and `fer-report`.

pub mod cli;
pub mod commands;
pub mod error;
pub mod logging;
pub mod version;

/// The LibTorch version the worker is built against (from the wheel's `version.py`).
pub const LIBTORCH_VERSION: &str = env!("FER_LIBTORCH_VERSION");

pub use logging::finish;
