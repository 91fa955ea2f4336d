//! The LibTorch half of the command line: `fer-pipeline-worker`, installed beside this program.
//! The commands that need LibTorch (`exec`, `export`, `models`, `bench`, `doctor`) are handed to
//! it whole (the same arguments, in this process's place), so their output, signals and exit
//! codes are the worker's; `run` starts it once per job. This program never loads LibTorch.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::error::Error;

/// The worker's file name.
pub const WORKER_NAME: &str = "fer-pipeline-worker";
/// Overrides where the worker is (default: beside this program).
pub const WORKER_ENV: &str = "FER_PIPELINE_WORKER";
/// Benchmarks only (`fer-pipeline bench`): `exec` runs jobs with an empty body in this
/// program, and `run` starts this program for each job, so a run measures the executor alone.
pub const EMPTY_JOBS_ENV: &str = "FER_BENCH_EMPTY_JOBS";

/// Whether jobs run with an empty body here ([`EMPTY_JOBS_ENV`] is `1`).
pub(super) fn empty_jobs() -> bool {
    std::env::var(EMPTY_JOBS_ENV).is_ok_and(|v| v == "1")
}

/// The program `run` starts for each job: the worker, or this program for empty jobs.
pub(super) fn job_program() -> Result<PathBuf, Error> {
    match empty_jobs() {
        true => std::env::current_exe().map_err(|source| Error::Worker { path: PathBuf::from("fer-pipeline"), source }),
        false => worker_path(),
    }
}

/// The worker program: `$FER_PIPELINE_WORKER`, else `fer-pipeline-worker` beside this program.
pub fn worker_path() -> Result<PathBuf, Error> {
    let path = match std::env::var_os(WORKER_ENV).filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|source| Error::Worker { path: PathBuf::from(WORKER_NAME), source })?
            .with_file_name(WORKER_NAME),
    };
    match path.is_file() {
        true => Ok(path),
        false => Err(Error::Worker {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (install it beside `fer-pipeline`)",
            ),
        }),
    }
}

/// Replaces this process with the worker, given this process's arguments; returns only if
/// the worker could not be started.
pub(super) fn hand_over() -> Error {
    let path = match worker_path() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let source = Command::new(&path).arg0("fer-pipeline").args(std::env::args_os().skip(1)).exec();
    Error::Worker { path, source }
}
