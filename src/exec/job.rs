//! Executes one job of the store in this process (`fer-pipeline exec <kind>/<hash16>`): takes
//! its lock, checks its inputs, runs it, writes artifacts atomically and the `done` marker last.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::device;
use super::events::JobEvent;
use crate::jobs::{self, JobContext, JobOutput, PROVENANCE_FILE};
use crate::plan::JobKind;
use crate::spec::DeviceRequest;
use crate::store::{write_json, Entry, EntryState, JobRecord, Store, StoreError, LOG_FILE};

/// How to run a job here.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub device: DeviceRequest,
    pub threads: u32,
    pub deterministic: bool,
}

/// How `exec` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecOutcome {
    Done {
        summary: String,
    },
    /// Another process finished it while we waited for the lock.
    AlreadyDone,
    /// Stopped by a signal after a checkpoint.
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to find job `{0}` in the store (plan or run the pipeline first)")]
    UnknownEntry(String),
    #[error("failed to run `{id}`: input `{input}` is not finished ({why})")]
    Input { id: String, input: String, why: String },
    #[error("{0}")]
    Device(String),
    #[error("failed to run `{id}`: {source}")]
    Train {
        id: String,
        #[source]
        source: crate::train::TrainError,
    },
    #[error("failed to run `{id}`: {message}")]
    Job { id: String, message: String },
}

/// Finds an entry by `<kind>/<hash16>`, `<hash16>` or a full hash.
pub fn find_entry(store: &Store, id: &str) -> Result<(Entry, JobRecord), ExecError> {
    let (kinds, hash) = match id.split_once('/') {
        Some((k, h)) => (JobKind::parse(k).map(|k| vec![k]).unwrap_or_default(), h),
        None => (JobKind::ALL.to_vec(), id),
    };
    // Entry names are hex digits: anything else names no entry (and is never sliced by bytes).
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ExecError::UnknownEntry(id.to_string()));
    }
    let short = hash.get(..16).unwrap_or(hash);
    for kind in kinds {
        if let Some(found) = Entry::open(&store.root().join(kind.name()).join(short), kind)? {
            return Ok(found);
        }
    }
    Err(ExecError::UnknownEntry(id.to_string()))
}

/// Appends timestamped lines to an entry's `log.txt` and to the tracing log.
pub struct JobLog {
    path: PathBuf,
    id: String,
}

impl JobLog {
    pub fn new(entry: &Entry) -> JobLog {
        JobLog { path: entry.file(LOG_FILE), id: entry.id() }
    }

    pub fn line(&self, text: &str) {
        tracing::info!("{}: {text}", self.id);
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&self.path) {
            let _ = writeln!(f, "{} {text}", crate::clock::now_rfc3339());
        }
    }
}

/// Runs the job `id` from `store`.
pub fn exec(
    store: &Store,
    id: &str,
    opts: &ExecOptions,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
) -> Result<ExecOutcome, ExecError> {
    store.check()?;
    let (entry, record) = find_entry(store, id)?;
    let lock = match entry.try_lock()? {
        Some(l) => l,
        None => {
            emit(JobEvent::Waiting);
            entry.lock()?
        }
    };
    let log = JobLog::new(&entry);
    match entry.state() {
        EntryState::Done(_) => return Ok(ExecOutcome::AlreadyDone),
        EntryState::Corrupt(why) => {
            log.line(&format!("entry is damaged ({why}); running it again"));
            entry.invalidate()?;
        }
        _ => {}
    }
    let dev = device::resolve(opts.device).map_err(ExecError::Device)?;
    device::configure(dev, opts.deterministic);
    tch::set_num_threads(opts.threads as i32);

    let started = crate::clock::now_rfc3339();
    let t0 = Instant::now();
    log.line(&format!(
        "start {} on {} with {} thread(s): {}",
        record.kind.name(),
        device::name(dev),
        opts.threads,
        record.label.describe()
    ));
    let mut ctx = JobContext { store, entry: &entry, device: dev, threads: opts.threads, stop, emit, log: &log };
    let result = jobs::run(&mut ctx, &record.spec);
    match result {
        Ok(Some(JobOutput { summary, files })) => {
            let prov = Provenance {
                format_version: 1,
                program: concat!("fer-pipeline ", env!("CARGO_PKG_VERSION")).to_string(),
                libtorch: crate::LIBTORCH_VERSION.to_string(),
                device: device::name(dev),
                threads: opts.threads,
                deterministic: opts.deterministic,
                started_at: started,
                finished_at: crate::clock::now_rfc3339(),
                seconds: t0.elapsed().as_secs_f64(),
            };
            write_json(&entry.file(PROVENANCE_FILE), &prov)?;
            let mut all: Vec<&str> = files;
            all.push(PROVENANCE_FILE);
            entry.finish(&all)?;
            log.line(&format!("done in {:.1} s: {summary}", t0.elapsed().as_secs_f64()));
            (ctx.emit)(JobEvent::Finished { summary: summary.clone() });
            drop(lock);
            Ok(ExecOutcome::Done { summary })
        }
        Ok(None) => Ok(ExecOutcome::Stopped),
        Err(e) => {
            log.line(&format!("failed: {e}"));
            let _ = entry.mark_failed(&e.to_string());
            Err(e)
        }
    }
}

/// Where and how a job ran (not part of its hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub format_version: u32,
    pub program: String,
    pub libtorch: String,
    pub device: String,
    pub threads: u32,
    pub deterministic: bool,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
}
