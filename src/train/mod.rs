//! Training: the loop, an Adam with owned state, checkpoints and per-epoch metrics.

mod adam;
mod checkpoint;
mod metrics;
mod trainer;

pub use adam::Adam;
pub use checkpoint::Checkpoint;
pub use metrics::{to_csv, EpochRow};
pub use trainer::{evaluate, train, TrainEnd, TrainError, TrainRun};
