//! Stop requests by signal. The first SIGINT, SIGTERM or SIGUSR1 sets a flag: a running job
//! writes a checkpoint at the next batch and stops (`exec` exits 75), and `run` stops launching
//! jobs, tells its running jobs to stop and reports them as interrupted (exit 130). A second
//! Ctrl-C stops at once (exit 130); every file is written atomically, so nothing is half-written.
//!
//! A Ctrl-C in a terminal reaches the whole process group, `run` and its `exec` children alike,
//! and `run` then also sends each child SIGTERM (for a `run` signalled alone). So in `exec` only
//! a second SIGINT stops at once: SIGTERM and SIGUSR1 (Slurm's warning before the time limit, and
//! the SIGTERM of the requeue or time limit that follows it) only ever ask for a checkpoint.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};

/// Exit code of a process stopped at once by a second Ctrl-C (128 + SIGINT).
pub const EXIT_HARD_STOP: i32 = 130;

/// Set when SIGUSR1 arrived: Slurm's warning before the time limit (`--signal=B:USR1@90`).
static TIME_LIMIT_WARNING: AtomicBool = AtomicBool::new(false);

/// Whether this process got SIGUSR1, i.e. a Slurm task nears its time limit and should ask to be
/// requeued; a SIGTERM alone (scancel, or preemption, which Slurm requeues itself) should not.
pub fn time_limit_warned() -> bool {
    TIME_LIMIT_WARNING.load(Ordering::SeqCst)
}

/// Which process installs the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRole {
    /// `run`: a second SIGINT or SIGTERM stops at once.
    Run,
    /// `exec` (one job): a second SIGINT stops at once; SIGTERM and SIGUSR1 never do.
    Exec,
}

impl StopRole {
    /// Whether a repeated `sig` ends the process at once.
    fn hard(self, sig: i32) -> bool {
        match self {
            StopRole::Run => sig == SIGINT || sig == SIGTERM,
            StopRole::Exec => sig == SIGINT,
        }
    }
}

/// Installs the handlers; returns the flag they set.
pub fn install(role: StopRole) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    // Signals of the "hard" set seen so far, shared between them.
    let strikes = Arc::new(AtomicUsize::new(0));
    for sig in [SIGINT, SIGTERM, SIGUSR1] {
        let flag = Arc::clone(&flag);
        let strikes = Arc::clone(&strikes);
        let hard = role.hard(sig);
        let action = move || {
            if sig == SIGUSR1 {
                TIME_LIMIT_WARNING.store(true, Ordering::SeqCst);
            }
            if hard && strikes.fetch_add(1, Ordering::SeqCst) > 0 {
                signal_hook::low_level::exit(EXIT_HARD_STOP);
            }
            flag.store(true, Ordering::SeqCst);
        };
        // SAFETY: the action only touches atomics and calls `_exit`, both async-signal-safe.
        if let Err(e) = unsafe { signal_hook::low_level::register(sig, action) } {
            tracing::warn!("failed to install the handler of signal {sig}: {e}");
        }
    }
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_repeated_interrupt_is_hard_in_a_job() {
        assert!(StopRole::Exec.hard(SIGINT));
        assert!(!StopRole::Exec.hard(SIGTERM));
        assert!(!StopRole::Exec.hard(SIGUSR1));
        assert!(StopRole::Run.hard(SIGINT) && StopRole::Run.hard(SIGTERM));
        assert!(!StopRole::Run.hard(SIGUSR1));
    }
}
