//! `run --events jsonl`: runner events as JSON lines on stdout, one object per event, for CI
//! systems and notebooks (as cargo's and nextest's JSON messages); the shape is documented in the
//! README ("Machine-readable output") and versioned by `format_version`.

use std::io::Write;

use serde::Serialize;

use super::events::{EventSink, JobEvent, Outcome, RunEvent};
use crate::plan::Plan;

/// Version of the event lines; bumped when a field changes meaning or goes away (new events
/// and fields may appear without a bump: consumers ignore what they do not know).
pub const EVENTS_FORMAT_VERSION: u32 = 1;

/// The job an event is about.
#[derive(Debug, Clone, Serialize)]
pub(super) struct JobRef {
    /// `<kind>/<hash16>`, the store entry.
    pub id: String,
    pub kind: &'static str,
    /// E.g. `deep-emotion on tiny lr=0.005 seed=1`.
    pub label: String,
    pub model: Option<String>,
    pub arch: Option<String>,
    pub dataset: String,
    pub seed: Option<u64>,
    pub fold: Option<u32>,
}

/// What happened, with its own fields.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(super) enum Body<'a> {
    /// The run's plan: how many jobs, how many are cached.
    Planned {
        total: usize,
        cached: usize,
        to_run: usize,
    },
    /// The job was found finished in the store; it does not run.
    Cached,
    /// The job's process started.
    Started,
    /// Training begins (or resumes after `resumed_from` epochs).
    Training {
        epochs: u32,
        resumed_from: Option<u32>,
        device: &'a str,
        threads: u32,
    },
    /// An epoch ended.
    Epoch {
        epoch: u32,
        epochs: u32,
        train_loss: f64,
        train_acc: f64,
        val_acc: f64,
        seconds: f64,
    },
    /// Progress text of the job.
    Note {
        message: &'a str,
    },
    Warning {
        message: &'a str,
    },
    /// Another process holds the job's lock; waiting for it.
    Waiting,
    /// The job finished; `summary` is its one-line result.
    Finished {
        summary: &'a str,
        seconds: f64,
    },
    Failed {
        message: &'a str,
        seconds: f64,
    },
    /// Stopped by a signal after a checkpoint: the next run resumes it.
    Interrupted {
        seconds: f64,
    },
    /// Not run because an input job did not finish.
    Skipped {
        reason: &'a str,
    },
    /// The run ended.
    RunFinished {
        done: usize,
        cached: usize,
        failed: usize,
        skipped: usize,
        interrupted: usize,
        seconds: f64,
    },
}

/// One line of the stream.
#[derive(Debug, Serialize)]
pub(super) struct EventLine<'a> {
    pub format_version: u32,
    /// UTC, RFC 3339.
    pub time: String,
    #[serde(flatten)]
    pub job: Option<&'a JobRef>,
    #[serde(flatten)]
    pub body: Body<'a>,
}

/// Writes one JSON line per runner event.
pub struct JsonLinesSink<W: Write + Send> {
    jobs: Vec<JobRef>,
    out: W,
}

impl<W: Write + Send> JsonLinesSink<W> {
    /// A sink for the events of running `plan` (jobs are named by their plan index).
    pub fn new(plan: &Plan, out: W) -> Self {
        let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
        let jobs = plan
            .jobs
            .iter()
            .map(|j| JobRef {
                id: format!("{}/{}", j.kind().name(), j.hash.short()),
                kind: j.kind().name(),
                label: j.label.describe(),
                model: non_empty(&j.label.model),
                arch: non_empty(&j.label.arch),
                dataset: j.label.dataset.clone(),
                seed: j.label.seed,
                fold: j.label.fold,
            })
            .collect();
        JsonLinesSink { jobs, out }
    }

    fn emit(&mut self, index: Option<usize>, body: Body<'_>) {
        let line = EventLine {
            format_version: EVENTS_FORMAT_VERSION,
            time: crate::clock::now_rfc3339(),
            job: index.and_then(|i| self.jobs.get(i)),
            body,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            // A closed pipe must not stop the run: the events are a view, the store is the record.
            let _ = writeln!(self.out, "{text}");
            let _ = self.out.flush();
        }
    }
}

impl<W: Write + Send> EventSink for JsonLinesSink<W> {
    fn on(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Planned { total, cached, to_run } => {
                self.emit(None, Body::Planned { total: *total, cached: *cached, to_run: *to_run })
            }
            RunEvent::JobCached { index, .. } => self.emit(Some(*index), Body::Cached),
            RunEvent::JobStarted { index, .. } => self.emit(Some(*index), Body::Started),
            RunEvent::Job { index, event } => {
                let body = match event {
                    JobEvent::Started { epochs, resumed_from, device, threads } => {
                        Body::Training { epochs: *epochs, resumed_from: *resumed_from, device, threads: *threads }
                    }
                    JobEvent::Epoch { epoch, epochs, train_loss, train_acc, val_acc, seconds } => Body::Epoch {
                        epoch: *epoch,
                        epochs: *epochs,
                        train_loss: *train_loss,
                        train_acc: *train_acc,
                        val_acc: *val_acc,
                        seconds: *seconds,
                    },
                    JobEvent::Note { text } => Body::Note { message: text },
                    JobEvent::Warning { text } => Body::Warning { message: text },
                    JobEvent::Waiting => Body::Waiting,
                    // Reported with its duration when the process has exited (`JobEnded`).
                    JobEvent::Finished { .. } => return,
                };
                self.emit(Some(*index), body)
            }
            RunEvent::JobEnded { index, outcome, seconds, .. } => {
                let seconds = *seconds;
                let body = match outcome {
                    Outcome::Done { summary } => Body::Finished { summary, seconds },
                    Outcome::Failed { message } => Body::Failed { message, seconds },
                    Outcome::Interrupted => Body::Interrupted { seconds },
                    Outcome::Skipped { reason } => Body::Skipped { reason },
                };
                self.emit(Some(*index), body)
            }
            RunEvent::Finished { done, cached, failed, skipped, interrupted, seconds } => self.emit(
                None,
                Body::RunFinished {
                    done: *done,
                    cached: *cached,
                    failed: *failed,
                    skipped: *skipped,
                    interrupted: *interrupted,
                    seconds: *seconds,
                },
            ),
        }
    }
}

/// Sends every event to two sinks (the JSON lines and the human display).
pub struct Tee<'a> {
    pub first: &'a mut dyn EventSink,
    pub second: &'a mut dyn EventSink,
}

impl EventSink for Tee<'_> {
    fn on(&mut self, event: &RunEvent) {
        self.first.on(event);
        self.second.on(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_version_event_and_fields() {
        let line = EventLine {
            format_version: EVENTS_FORMAT_VERSION,
            time: "2026-01-01T00:00:00Z".into(),
            job: None,
            body: Body::Failed { message: "failed to read `x`", seconds: 1.5 },
        };
        let v: serde_json::Value = serde_json::from_str(&serde_json::to_string(&line).unwrap()).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(v["event"], "failed");
        assert_eq!(v["message"], "failed to read `x`");
        assert_eq!(v["seconds"], 1.5);
        assert!(v.get("id").is_none());
    }
}
