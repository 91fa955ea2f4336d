//! The commands of the command line, one module each.

mod bench;
mod completions;
mod context;
mod data;
mod dispatch;
mod doctor;
mod exec;
mod export;
mod gc;
mod json;
mod models;
mod plan;
mod report;
mod run;
mod submit;
mod watch;

pub use dispatch::dispatch;
pub use doctor::gpu_names;
pub use plan::unavailable_footer;
pub use run::results_table;
