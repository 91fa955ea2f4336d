//! `fer-pipeline exec <id>`: runs one job; events as JSON lines on stdout.

use std::io::Write;
use std::path::PathBuf;

use super::context::store_for;
use super::run::stop_flag;
use crate::error::Error;
use crate::exec::{self, ExecOptions, ExecOutcome};
use crate::spec::DeviceRequest;

/// `fer-pipeline exec`.
pub fn exec_cmd(
    store_flag: &Option<PathBuf>,
    id: &str,
    device: &str,
    threads: u32,
    deterministic: bool,
) -> Result<String, Error> {
    let device = DeviceRequest::parse(device).map_err(|e| Error::Usage(format!("--device: {e}")))?;
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    let store = store_for(store_flag, None);
    let stop = stop_flag();
    let opts = ExecOptions { device, threads, deterministic };
    let mut stdout = std::io::stdout();
    let outcome = exec::exec(&store, id, &opts, &stop, &mut |ev| {
        let _ = writeln!(stdout, "{}", ev.to_line());
        let _ = stdout.flush();
    })?;
    match outcome {
        // stdout carries events only; the summary was the last one.
        ExecOutcome::Done { .. } | ExecOutcome::AlreadyDone => Ok(String::new()),
        ExecOutcome::Stopped => Err(Error::Stopped),
    }
}
