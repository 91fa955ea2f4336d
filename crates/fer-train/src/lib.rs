//! fer-pipeline with LibTorch: the models, the trainer, the job bodies run by the core's
//! executor, evaluation, export to ONNX and TorchScript, and the benchmarks.

pub mod bench;
pub mod data;
pub mod device;
pub mod eval;
pub mod export;
pub mod jobs;
pub mod models;
pub mod predict;
pub mod released;
pub mod tensor_file;
pub mod train;

/// The LibTorch version this crate was built against (from the wheel's `version.py`).
pub const LIBTORCH_VERSION: &str = env!("FER_LIBTORCH_VERSION");
