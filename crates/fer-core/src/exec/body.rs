//! The seam between the executor and the job bodies: `exec` runs the store's protocol (lock,
//! inputs, `done` last) around a [`JobBody`], which the LibTorch worker implements. The core never
//! names a tensor or a device type.

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;

use super::events::JobEvent;
use super::job::{ExecError, ExecOptions, JobLog};
use crate::plan::{JobHash, JobKind, JobSpec};
use crate::store::{Entry, Store};

/// Runs the bodies of jobs in this process.
pub trait JobBody {
    /// The device a body runs on (LibTorch's device in the worker).
    type Device;

    /// Resolves and configures the requested device and the thread count: the device and its
    /// lower-case name (`cpu`, `cuda:0`), or why it cannot be used ([`ExecError::Device`]).
    fn setup(&self, opts: &ExecOptions) -> Result<(Self::Device, String), ExecError>;

    /// Runs the body of the job `spec`.
    fn run(&self, ctx: &mut JobContext<'_, Self::Device>, spec: &JobSpec) -> JobResult;

    /// The version of the numeric runtime, recorded in every job's provenance.
    fn runtime_version(&self) -> &str;
}

/// The running job's surroundings.
pub struct JobContext<'a, D> {
    pub store: &'a Store,
    pub entry: &'a Entry,
    pub device: D,
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

impl<D> JobContext<'_, D> {
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

/// A body that does nothing: `exec` then costs only the store's protocol (lock, record,
/// provenance, `done`), which is what `fer-pipeline bench` measures as the executor's per-job
/// overhead (`FER_BENCH_EMPTY_JOBS=1`). Never used for a real run.
pub struct EmptyBody;

impl JobBody for EmptyBody {
    type Device = ();

    fn setup(&self, _: &ExecOptions) -> Result<((), String), ExecError> {
        Ok(((), "none".to_string()))
    }

    fn run(&self, _: &mut JobContext<'_, ()>, _: &JobSpec) -> JobResult {
        Ok(Some(JobOutput { summary: "empty body (benchmark)".to_string(), files: Vec::new() }))
    }

    fn runtime_version(&self) -> &str {
        "none"
    }
}
