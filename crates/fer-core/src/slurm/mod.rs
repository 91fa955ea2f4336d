//! Cluster execution on Slurm: job arrays per stage with `afterok` dependencies, records of
//! where each entry was submitted, and the queue's view for `status`.

pub mod ctl;
mod record;
mod script;
mod submit;

pub use ctl::SlurmError;
pub use record::{SlurmRecord, SLURM_FILE};
pub use script::{render, unusable_path, ScriptSpec};
pub use submit::{arrays, submit, ArrayPlan, ArrayReport, SubmitError, SubmitOptions, SubmitReport};
