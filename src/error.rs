//! The top-level error of a command and its documented exit code.

use std::path::PathBuf;

use fer_core::data::error::DataError;
use fer_core::exec::ExecError;
use fer_core::gpus::DeviceError;
use fer_core::slurm::{SlurmError, SubmitError};
use fer_core::spec::SpecError;
use fer_core::store::StoreError;
use fer_report::ReportError;

/// Exit codes (also in the README).
pub mod exit {
    /// Everything ran.
    pub const OK: i32 = 0;
    /// Some jobs failed (the others ran).
    pub const JOBS_FAILED: i32 = 1;
    /// Bad input: pipeline file, command line.
    pub const BAD_INPUT: i32 = 2;
    /// The store cannot be used (not writable, full, unknown format).
    pub const STORE: i32 = fer_core::exec::EXIT_STORE;
    /// The requested device is not available.
    pub const DEVICE: i32 = 4;
    /// Slurm refused or could not be reached; nothing was queued.
    pub const SLURM: i32 = 5;
    /// A data set failed verification.
    pub const DATA: i32 = 6;
    /// The report could not be written.
    pub const REPORT: i32 = 7;
    /// `exec` stopped on a signal (SIGINT, SIGTERM, or Slurm's SIGUSR1 before the time limit)
    /// after writing a checkpoint, or while waiting for another run's lock on its entry; nothing
    /// is recorded as failed. Inside a Slurm task (`--requeue`) the task has been requeued.
    pub const STOPPED: i32 = fer_core::exec::EXIT_STOPPED;
    /// `run` was stopped by its first SIGINT (Ctrl-C) or SIGTERM: running jobs wrote checkpoints
    /// and are reported as interrupted, not failed; run it again to resume. A second Ctrl-C
    /// ends `run` and its jobs at once with the same code (files are only ever written whole).
    pub const INTERRUPTED: i32 = fer_core::exec::EXIT_HARD_STOP;
    /// `fer-pipeline-worker` (the LibTorch half, installed beside `fer-pipeline`) could not be
    /// started for a command that needs it.
    pub const WORKER: i32 = 8;
    /// A file outside the store could not be written or read (an output file, a temporary
    /// folder): permissions, a full disk.
    pub const IO: i32 = 9;

    /// Every exit code with what it means, as `--help` lists them (and the README, checked).
    pub const ALL: [(i32, &str); 12] = [
        (OK, "ok"),
        (JOBS_FAILED, "jobs failed"),
        (BAD_INPUT, "bad input"),
        (STORE, "store unusable (or full)"),
        (DEVICE, "device unavailable"),
        (SLURM, "Slurm refused or unreachable"),
        (DATA, "data verification or an export's check failed"),
        (REPORT, "report not written"),
        (WORKER, "fer-pipeline-worker could not be started"),
        (IO, "a file outside the store could not be written"),
        (STOPPED, "job stopped with a checkpoint (exec)"),
        (INTERRUPTED, "interrupted (run again to resume)"),
    ];
}

/// The exit codes as `--help` ends: `Exit codes: 0 ok, 1 jobs failed, ...`.
pub fn exit_codes_help() -> String {
    let codes: Vec<String> = exit::ALL.iter().map(|(c, what)| format!("{c} {what}")).collect();
    format!("Exit codes: {}.", codes.join(", "))
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// A bad command line: the message names the flag and what is wrong with it.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Slurm(#[from] SlurmError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("failed to verify data set(s): {}", .0.join(", "))]
    DataInvalid(Vec<String>),
    /// An export failed, or its check by the runtime that loads it disagreed with our logits.
    #[error("failed to export {what}")]
    Export {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("failed to write the report")]
    Report(#[source] ReportError),
    #[error("failed to {what} `{}`", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to use the store: `{job}` failed: {message}\nno job was started after it; fix the store (free space, permissions) and run the same command again: finished jobs are kept")]
    StoreFull { job: String, message: String },
    #[error("failed to finish the pipeline: {failed} job(s) failed{}", if *.skipped > 0 { format!(", {} skipped", .skipped) } else { String::new() })]
    JobsFailed { failed: usize, skipped: usize },
    #[error("failed to classify {failed} of {total} input(s) (each is named above; the others were classified)")]
    InputsFailed { failed: usize, total: usize },
    #[error("interrupted: finished jobs are kept and a half-trained job resumes from its checkpoint when you run the same command again")]
    Interrupted,
    #[error("stopped by a signal after writing a checkpoint")]
    Stopped,
    #[error("failed to start `{}`, the LibTorch half of fer-pipeline", .path.display())]
    Worker {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O failure on a file outside the store.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { what, path: path.into(), source }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spec(_) | Error::Usage(_) => exit::BAD_INPUT,
            Error::Store(_) => exit::STORE,
            Error::Device(_) | Error::Exec(ExecError::Device(_)) => exit::DEVICE,
            Error::Slurm(_) | Error::Submit(SubmitError::Slurm(_)) => exit::SLURM,
            Error::Submit(SubmitError::Store(_)) => exit::STORE,
            Error::Data(_) | Error::DataInvalid(_) | Error::Export { .. } => exit::DATA,
            Error::Report(_) => exit::REPORT,
            Error::Io { .. } => exit::IO,
            // A job that read a damaged record failed; the store itself is usable.
            Error::Exec(ExecError::Store(StoreError::Format { .. })) => exit::JOBS_FAILED,
            Error::Exec(ExecError::Store(_)) | Error::StoreFull { .. } => exit::STORE,
            Error::Exec(e) if e.storage_full() => exit::STORE,
            Error::Exec(_) | Error::JobsFailed { .. } | Error::InputsFailed { .. } => exit::JOBS_FAILED,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Stopped => exit::STOPPED,
            Error::Worker { .. } => exit::WORKER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_is_listed_once_in_the_help_and_the_readme() {
        let mut codes: Vec<i32> = exit::ALL.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), exit::ALL.len(), "an exit code is listed twice");
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let start = readme.find("Exit codes: ").expect("the README's exit codes");
        let para = &readme[start..start + readme[start..].find("\n\n").unwrap_or(readme.len() - start)];
        let para = para.replace('\n', " ");
        for (code, _) in exit::ALL {
            assert!(
                para.contains(&format!(": {code} ")) || para.contains(&format!("; {code} ")),
                "the README's exit codes lack {code}: {para}"
            );
        }
        let help = exit_codes_help();
        for (code, what) in exit::ALL {
            assert!(help.contains(&format!("{code} {what}")), "{help}");
        }
    }

    #[test]
    fn io_and_worker_failures_are_not_bad_input() {
        let io = Error::io("write", "/x/bench.csv", std::io::Error::other("disk full"));
        assert_eq!(io.exit_code(), exit::IO);
        let w = Error::Worker { path: "/x/fer-pipeline-worker".into(), source: std::io::Error::other("missing") };
        assert_eq!(w.exit_code(), exit::WORKER);
        let store = Error::Submit(fer_core::slurm::SubmitError::Store(StoreError::format("/s/job.json", "bad")));
        assert_eq!(store.exit_code(), exit::STORE, "a store failure while submitting is a store failure");
    }
}
