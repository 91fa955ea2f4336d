//! Training: the loop, an Adam with owned state, checkpoints and per-epoch metrics.

mod adam;
pub mod augment;
mod checkpoint;
mod kd;
mod observer;
mod penalty;
pub mod tensorboard;
mod trainer;

pub use adam::Adam;
pub use checkpoint::Checkpoint;
pub use fer_core::records::{to_csv, EpochRow};
pub use kd::{kd_loss, kd_terms};
pub use observer::{EpochEnd, Silent, TrainObserver, TrainStart};
pub use trainer::{best_epoch, evaluate, step, train, Batch, TrainEnd, TrainError, TrainRun};
