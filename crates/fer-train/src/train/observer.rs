//! What the trainer reports while it runs, to whoever watches it: the job body turns it into
//! the executor's job events and log lines; a test may simply collect it. The trainer itself
//! knows nothing of the executor.

/// Training starts, or resumes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainStart {
    pub epochs: u32,
    /// Epochs already done by the checkpoint it resumes from.
    pub resumed_from: Option<u32>,
    /// Lower-case device name, e.g. `cpu`, `cuda(0)`.
    pub device: String,
    pub threads: u32,
}

/// An epoch ended.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochEnd {
    /// 1-based.
    pub epoch: u32,
    pub epochs: u32,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_acc: f64,
    /// Since this process started training.
    pub seconds: f64,
}

/// Receives the trainer's progress.
pub trait TrainObserver {
    fn started(&mut self, start: &TrainStart);
    fn epoch(&mut self, end: &EpochEnd);
    /// A line for the job's log (what the trainer did and why).
    fn log(&mut self, line: String);
}

/// Ignores everything (benchmarks, tests).
pub struct Silent;

impl TrainObserver for Silent {
    fn started(&mut self, _: &TrainStart) {}
    fn epoch(&mut self, _: &EpochEnd) {}
    fn log(&mut self, _: String) {}
}
