//! Execution: one job in this process (`exec`), the local multi-job executor, events and displays.

pub mod device;
mod events;
mod job;
mod local;
mod progress;

pub use events::{EventSink, JobEvent, Outcome, RunEvent};
pub use job::{exec, find_entry, ExecError, ExecOptions, ExecOutcome, JobLog, Provenance};
pub use local::{run, LocalOptions, RunSummary, EXIT_STOPPED};
pub use progress::{human_secs, BarSink, LineSink};
