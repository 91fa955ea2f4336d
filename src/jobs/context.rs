//! What every job gets from the executor: the store, its entry, device, threads, the stop flag,
//! an event callback and its log; and what it returns (a summary and the files it wrote).

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;

use tch::Device;

use crate::exec::{ExecError, JobEvent, JobLog};
use crate::plan::{JobHash, JobKind};
use crate::store::{Entry, Store};

/// The running job's surroundings.
pub struct JobContext<'a> {
    pub store: &'a Store,
    pub entry: &'a Entry,
    pub device: Device,
    pub threads: u32,
    pub stop: &'a AtomicBool,
    pub emit: &'a mut dyn FnMut(JobEvent),
    pub log: &'a JobLog,
}

/// A finished job's one-line summary and the artifacts to list in its `done` marker (fixed
/// names, or names computed per entry such as a TensorBoard run folder).
pub struct JobOutput {
    pub summary: String,
    pub files: Vec<Cow<'static, str>>,
}

/// `Ok(None)`: stopped by a signal after a checkpoint.
pub type JobResult = Result<Option<JobOutput>, ExecError>;

impl JobContext<'_> {
    /// The finished input `hash` of `kind`, verified, or an error naming it.
    pub fn input(&self, kind: JobKind, hash: &JobHash) -> Result<Entry, ExecError> {
        let e = self.store.entry(kind, hash);
        match e.verify() {
            Ok(_) => Ok(e),
            Err(why) => Err(ExecError::Input { id: self.entry.id(), input: e.id(), why }),
        }
    }

    /// An error of this job.
    pub fn fail(&self, message: impl Into<String>) -> ExecError {
        ExecError::Job { id: self.entry.id(), message: message.into() }
    }
}
