//! Executes one job of the store in this process (`fer-pipeline exec <kind>/<hash16>`): takes
//! its lock, checks its inputs, runs it, writes artifacts atomically and the `done` marker last.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::body::{JobBody, JobContext, JobOutput};
use super::events::JobEvent;
use crate::plan::JobKind;
use crate::records::{Provenance, PROVENANCE_FILE};
use crate::spec::DeviceRequest;
use crate::store::{write_json, Entry, EntryState, JobRecord, Store, StoreError, CHECKPOINT_FILE, LOG_FILE};

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
    #[error(transparent)]
    Device(#[from] crate::gpus::DeviceError),
    /// The job's body failed with an error of its own (training, LibTorch).
    #[error("failed to run `{id}`: {source}")]
    Body {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("failed to run `{id}`: {message}")]
    Job { id: String, message: String },
}

impl ExecError {
    /// Whether the job failed because the store's file system is full (or over quota, or
    /// read-only): nothing is wrong with the job, and every other job would fail the same way.
    pub fn storage_full(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if is_storage_full(io) {
                    return true;
                }
            }
            cause = e.source();
        }
        // Job bodies that report errors as text keep the OS's words.
        STORAGE_FULL_TEXTS.iter().any(|t| self.to_string().contains(t))
    }
}

/// An I/O error that says the file system cannot take more data.
pub fn is_storage_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{QuotaExceeded, ReadOnlyFilesystem, StorageFull};
    matches!(e.kind(), StorageFull | QuotaExceeded | ReadOnlyFilesystem)
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EROFS))
}

/// How `std::io::Error` prints ENOSPC, EDQUOT and EROFS.
const STORAGE_FULL_TEXTS: [&str; 3] = ["(os error 28)", "(os error 122)", "(os error 30)"];

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
        self.append(text);
    }

    /// A warning: in the log and on stderr whatever the verbosity.
    pub fn warn(&self, text: &str) {
        tracing::warn!("{}: {text}", self.id);
        self.append(&format!("warning: {text}"));
    }

    fn append(&self, text: &str) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&self.path) {
            let _ = writeln!(f, "{} {text}", crate::clock::now_rfc3339());
        }
    }
}

/// How `exec` ended, and how many failed attempts the entry records.
#[derive(Debug)]
pub struct ExecReport {
    pub result: Result<ExecOutcome, ExecError>,
    /// On failure: failed attempts recorded in `failed.json`, this one included; `None` when the
    /// failure could not be recorded (no entry, or the entry is not writable).
    pub attempts: Option<u32>,
}

/// Test-only fault injection (debug builds): `FER_FAILPOINT=before-done:<kind>` (or
/// `after-done:<kind>`: after `done`, before the checkpoint is removed) kills the process (SIGKILL, as
/// an out-of-memory killer would) after a job of that kind wrote its artifacts and provenance,
/// before its `done` marker.
const FAILPOINT_ENV: &str = "FER_FAILPOINT";

fn failpoint(name: &str, kind: JobKind) {
    // Debug builds only (the test suite's): a release binary has no kill switch.
    if cfg!(debug_assertions) && std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == format!("{name}:{}", kind.name())) {
        // SAFETY: plain kill(2) on this process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// Runs the job `id` from `store`. Every failure once the entry is found counts as an attempt
/// and is recorded in its `failed.json` (Slurm's retries count them).
pub fn exec<B: JobBody>(
    body: &B,
    store: &Store,
    id: &str,
    opts: &ExecOptions,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
) -> ExecReport {
    if let Err(e) = store.check() {
        return ExecReport { result: Err(e.into()), attempts: None };
    }
    let (entry, record) = match find_entry(store, id) {
        Ok(found) => found,
        Err(e) => return ExecReport { result: Err(e), attempts: None },
    };
    let mut held = None;
    let result = exec_entry(body, store, &entry, &record, opts, stop, emit, &mut held);
    // A failure is recorded while the lock is still held, before another run can start the job.
    let attempts = match &result {
        Ok(_) => None,
        Err(e) => {
            let log = JobLog::new(&entry);
            log.line(&format!("failed: {e}"));
            match entry.mark_failed(&e.to_string()) {
                Ok(n) => Some(n),
                Err(w) => {
                    tracing::error!("{}: failed to record the failure: {w}", entry.id());
                    None
                }
            }
        }
    };
    drop(held);
    ExecReport { result, attempts }
}

/// Takes the entry's lock, waiting for another holder unless a stop is asked for.
fn lock_entry(
    entry: &Entry,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
) -> Result<Option<crate::store::EntryLock>, ExecError> {
    if let Some(l) = entry.try_lock()? {
        return Ok(Some(l));
    }
    emit(JobEvent::Waiting);
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
        if let Some(l) = entry.try_lock()? {
            return Ok(Some(l));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn exec_entry<B: JobBody>(
    body: &B,
    store: &Store,
    entry: &Entry,
    record: &JobRecord,
    opts: &ExecOptions,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
    held: &mut Option<crate::store::EntryLock>,
) -> Result<ExecOutcome, ExecError> {
    let Some(lock) = lock_entry(entry, stop, emit)? else {
        return Ok(ExecOutcome::Stopped);
    };
    *held = Some(lock);
    let log = JobLog::new(entry);
    // Holding the lock, nobody else writes large files here: temp files are from crashes.
    let stale = entry.remove_stale_temps();
    if !stale.is_empty() {
        log.line(&format!("removed {} temporary file(s) left by an earlier crash: {}", stale.len(), stale.join(", ")));
    }
    match entry.state() {
        EntryState::Done(_) => {
            // A crash between `done` and the checkpoint's removal leaves it behind.
            entry.remove(CHECKPOINT_FILE)?;
            return Ok(ExecOutcome::AlreadyDone);
        }
        EntryState::Corrupt(why) => {
            log.line(&format!("entry is damaged ({why}); running it again"));
            entry.invalidate()?;
        }
        _ => {}
    }
    let (dev, device_name) = body.setup(opts)?;

    let started = crate::clock::now_rfc3339();
    let t0 = Instant::now();
    log.line(&format!(
        "start {} on {} with {} thread(s): {}",
        record.kind.name(),
        device_name,
        opts.threads,
        record.label.describe()
    ));
    let mut ctx = JobContext { store, entry, device: dev, threads: opts.threads, stop, emit, log: &log };
    let Some(JobOutput { summary, files }) = body.run(&mut ctx, &record.spec)? else {
        return Ok(ExecOutcome::Stopped);
    };
    let prov = Provenance {
        format_version: 1,
        program: concat!("fer-pipeline ", env!("CARGO_PKG_VERSION")).to_string(),
        libtorch: body.runtime_version().to_string(),
        device: device_name,
        threads: opts.threads,
        deterministic: opts.deterministic,
        started_at: started,
        finished_at: crate::clock::now_rfc3339(),
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_json(&entry.file(PROVENANCE_FILE), &prov)?;
    failpoint("before-done", record.kind);
    let mut all: Vec<&str> = files.iter().map(|f| f.as_ref()).collect();
    all.push(PROVENANCE_FILE);
    // `done` is written (synced, renamed, folder synced) before the checkpoint goes: a crash in
    // between leaves a finished entry, and one before leaves a checkpoint to finish from.
    entry.finish(&all)?;
    failpoint("after-done", record.kind);
    if let Err(e) = entry.remove(CHECKPOINT_FILE) {
        log.warn(&format!("failed to remove the checkpoint: {e}"));
    }
    log.line(&format!("done in {:.1} s: {summary}", t0.elapsed().as_secs_f64()));
    (ctx.emit)(JobEvent::Finished { summary: summary.clone() });
    Ok(ExecOutcome::Done { summary })
}
