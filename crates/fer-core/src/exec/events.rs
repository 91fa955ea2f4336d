//! Events: what a running job reports (one JSON line each on the child's stdout) and what the
//! runner reports to its consumers (progress display, logs, summary).

use serde::{Deserialize, Serialize};

/// Reported by a job while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum JobEvent {
    /// Training starts (or resumes after `resumed_from` epochs).
    Started { epochs: u32, resumed_from: Option<u32>, device: String, threads: u32 },
    /// An epoch ended.
    Epoch { epoch: u32, epochs: u32, train_loss: f64, train_acc: f64, val_acc: f64, seconds: f64 },
    /// Free-form progress, e.g. "rendering 4200 images".
    Note { text: String },
    /// Something the user should see, e.g. a checkpoint discarded.
    Warning { text: String },
    /// Another process holds this job's lock; waiting for it.
    Waiting,
    /// The job finished; `summary` is one line for the log, e.g. "test accuracy 61.2 %".
    Finished { summary: String },
}

impl JobEvent {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_line(line: &str) -> Option<JobEvent> {
        serde_json::from_str(line).ok()
    }
}

/// How a job ended, as the runner saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Ran to the end here (or was finished by another run while we waited).
    Done {
        summary: String,
    },
    /// Stopped by a signal after writing a checkpoint.
    Interrupted,
    Failed {
        message: String,
    },
    /// Not run because a job it needs failed or was interrupted.
    Skipped {
        reason: String,
    },
}

/// Reported by the runner. `JobCached`: one per job found finished in the store, right after
/// `Planned`.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Planned { total: usize, cached: usize, to_run: usize },
    JobCached { index: usize, id: String, describe: String },
    JobStarted { index: usize, id: String, describe: String },
    Job { index: usize, event: JobEvent },
    JobEnded { index: usize, id: String, describe: String, outcome: Outcome, seconds: f64 },
    Finished { done: usize, cached: usize, failed: usize, skipped: usize, interrupted: usize, seconds: f64 },
}

/// Anything that consumes runner events.
pub trait EventSink: Send {
    fn on(&mut self, event: &RunEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_roundtrip() {
        let e = JobEvent::Epoch { epoch: 1, epochs: 3, train_loss: 0.5, train_acc: 0.25, val_acc: 0.5, seconds: 1.0 };
        assert_eq!(JobEvent::from_line(&e.to_line()), Some(e));
        assert_eq!(JobEvent::from_line("not json"), None);
    }
}
