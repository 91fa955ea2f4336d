//! Execution: one job in this process (`exec`), the local multi-job executor, events and displays.

mod body;
mod events;
mod job;
mod json_events;
mod local;
mod progress;
mod ready;
mod stop;

pub use body::{EmptyBody, JobBody, JobContext, JobOutput, JobResult};
pub use events::{EventSink, JobEvent, Outcome, RunEvent};
pub use job::{exec, find_entry, is_storage_full, ExecError, ExecOptions, ExecOutcome, ExecReport, JobLog};
pub use json_events::{JsonLinesSink, Tee, EVENTS_FORMAT_VERSION};
pub use local::{run, LocalOptions, RunSummary, EXIT_STOPPED, EXIT_STORE};
pub use progress::{human_secs, BarSink, LineSink};
pub use stop::{install as install_stop, time_limit_warned, StopRole, EXIT_HARD_STOP};
