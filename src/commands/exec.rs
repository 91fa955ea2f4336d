//! `fer-pipeline exec <id>`: runs one job; events as JSON lines on stdout.

use std::io::Write;
use std::path::PathBuf;

use super::context::store_for;
use super::run::stop_flag;
use crate::error::Error;
use crate::exec::{self, ExecOptions, ExecOutcome};
use crate::spec::DeviceRequest;

/// `fer-pipeline exec`; `requeue` = Some(retries) inside a Slurm task.
pub fn exec_cmd(
    store_flag: &Option<PathBuf>,
    id: &str,
    device: &str,
    threads: u32,
    deterministic: bool,
    requeue: Option<u32>,
) -> Result<String, Error> {
    let device = DeviceRequest::parse(device).map_err(|e| Error::Usage(format!("--device: {e}")))?;
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    // `<kind>/<hash16>` or `<hash16>` (hex digits); anything else is bad input, not a failed job.
    let (kind, hash) = id.split_once('/').map_or((None, id), |(k, h)| (Some(k), h));
    if kind.is_some_and(|k| crate::plan::JobKind::parse(k).is_none())
        || hash.len() < 16
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(Error::Usage(format!(
            "failed to run `{id}`: not a job id; expected `<kind>/<hash16>` with 16 hex digits (`fer-pipeline plan` lists them)"
        )));
    }
    let store = store_for(store_flag, None);
    let stop = stop_flag();
    let opts = ExecOptions { device, threads, deterministic };
    let mut stdout = std::io::stdout();
    let result = exec::exec(&store, id, &opts, &stop, &mut |ev| {
        let _ = writeln!(stdout, "{}", ev.to_line());
        let _ = stdout.flush();
    });
    if let Some(retries) = requeue {
        slurm_requeue(&store, id, &result, retries);
    }
    match result? {
        // stdout carries events only; the summary was the last one.
        ExecOutcome::Done { .. } | ExecOutcome::AlreadyDone => Ok(String::new()),
        ExecOutcome::Stopped => Err(Error::Stopped),
    }
}

/// Inside a Slurm task: a stopped job, or a failed one with retries left, asks to run again.
fn slurm_requeue(store: &crate::store::Store, id: &str, result: &Result<ExecOutcome, exec::ExecError>, retries: u32) {
    let Ok(job) = std::env::var("SLURM_JOB_ID") else { return };
    let again = match result {
        Ok(ExecOutcome::Stopped) => true,
        Ok(_) => false,
        Err(_) => exec::find_entry(store, id).map(|(e, _)| e.failed_attempts() <= retries).unwrap_or(false),
    };
    if again {
        match crate::slurm::ctl::requeue(&job) {
            Ok(()) => tracing::warn!("{id}: requeued Slurm job {job}"),
            Err(e) => tracing::warn!("{id}: {e}"),
        }
    }
}
