//! The commands of the command line, one module each.

mod completions;
pub mod context;
mod data;
mod dispatch;
mod exec;
mod gc;
pub mod json;
mod plan;
mod report;
mod run;
mod submit;
mod watch;
mod worker;

pub use dispatch::dispatch;
pub use exec::exec_cmd;
pub use plan::unavailable_footer;
pub use run::results_table;
pub use worker::{worker_path, EMPTY_JOBS_ENV, WORKER_ENV, WORKER_NAME};
