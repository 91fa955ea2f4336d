//! `fer-pipeline exec <id>`: runs one job; events as JSON lines on stdout. Inside a Slurm task
//! (`--requeue`) it asks Slurm to run the task again after a stop, or after a failure while
//! retries are left.

use std::io::Write;
use std::path::PathBuf;

use super::context::store_for;
use crate::error::Error;
use fer_core::exec::{self, ExecOptions, ExecOutcome, ExecReport, JobBody, StopRole};
use fer_core::spec::DeviceRequest;

/// `fer-pipeline exec` with the job bodies of `body` (LibTorch's, in the worker); `requeue` =
/// Some(retries) inside a Slurm task.
pub fn exec_cmd<B: JobBody>(
    body: &B,
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
    if kind.is_some_and(|k| fer_core::plan::JobKind::parse(k).is_none())
        || hash.len() < 16
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(Error::Usage(format!(
            "failed to run `{id}`: not a job id; expected `<kind>/<hash16>` with 16 hex digits (`fer-pipeline plan` lists them)"
        )));
    }
    let store = store_for(store_flag, None);
    let stop = exec::install_stop(StopRole::Exec);
    let opts = ExecOptions { device, threads, deterministic };
    let mut stdout = std::io::stdout();
    let report = exec::exec(body, &store, id, &opts, &stop, &mut |ev| {
        let _ = writeln!(stdout, "{}", ev.to_line());
        let _ = stdout.flush();
    });
    if let Some(retries) = requeue {
        if let Some(job) = fer_core::slurm::ctl::this_task() {
            match requeue_decision(&report, retries, exec::time_limit_warned()) {
                Decision::Requeue(why) => match fer_core::slurm::ctl::requeue(&job) {
                    Ok(()) => tracing::warn!("{id}: {why}: requeued Slurm job {job}"),
                    Err(e) => tracing::error!("{id}: {why}, but {e}"),
                },
                Decision::Stay(Some(why)) => tracing::warn!("{id}: {why}: not requeued"),
                Decision::Stay(None) => {}
            }
        }
    }
    match report.result? {
        // stdout carries events only; the summary was the last one.
        ExecOutcome::Done { .. } | ExecOutcome::AlreadyDone => Ok(String::new()),
        ExecOutcome::Stopped => Err(Error::Stopped),
    }
}

/// Whether a Slurm task runs again, and why.
#[derive(Debug, PartialEq)]
enum Decision {
    Requeue(String),
    Stay(Option<String>),
}

/// A job stopped by Slurm's warning before the time limit (SIGUSR1) runs again; one stopped by
/// SIGTERM alone does not (a `scancel` stays cancelled; a preempted task Slurm requeues itself).
/// A failed one runs again only while its recorded failed attempts (every failure counts:
/// device, lock, store and job errors alike) do not exceed `retries`. A failure that could not
/// be recorded is never retried: nothing would bound the retries.
fn requeue_decision(report: &ExecReport, retries: u32, time_limit_warned: bool) -> Decision {
    match (&report.result, report.attempts) {
        (Ok(ExecOutcome::Stopped), _) if time_limit_warned => {
            Decision::Requeue("stopped after a checkpoint before the time limit".into())
        }
        (Ok(ExecOutcome::Stopped), _) => Decision::Stay(Some("stopped by a signal after a checkpoint".into())),
        (Ok(_), _) => Decision::Stay(None),
        (Err(_), Some(n)) if n <= retries => Decision::Requeue(format!("attempt {n} of {} failed", retries + 1)),
        (Err(_), Some(n)) => {
            Decision::Stay(Some(format!("attempt {n} of {} failed, no retries left (see failed.json)", retries + 1)))
        }
        (Err(_), None) => Decision::Stay(Some("the failure could not be recorded in the entry".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer_core::exec::ExecError;

    fn failed(attempts: Option<u32>) -> ExecReport {
        ExecReport { result: Err(ExecError::Device(fer_core::gpus::DeviceError::NoCuda)), attempts }
    }

    #[test]
    fn failures_requeue_only_while_retries_are_left() {
        assert!(matches!(requeue_decision(&failed(Some(1)), 0, false), Decision::Stay(Some(_))));
        assert!(matches!(requeue_decision(&failed(Some(1)), 1, false), Decision::Requeue(_)));
        assert!(matches!(requeue_decision(&failed(Some(2)), 1, true), Decision::Stay(Some(_))));
        assert!(matches!(requeue_decision(&failed(None), 5, false), Decision::Stay(Some(_))));
        let stopped = ExecReport { result: Ok(ExecOutcome::Stopped), attempts: None };
        assert!(matches!(requeue_decision(&stopped, 0, true), Decision::Requeue(_)));
        assert!(matches!(requeue_decision(&stopped, 0, false), Decision::Stay(Some(_))), "scancel stays cancelled");
        let done = ExecReport { result: Ok(ExecOutcome::AlreadyDone), attempts: None };
        assert_eq!(requeue_decision(&done, 3, true), Decision::Stay(None));
    }
}
