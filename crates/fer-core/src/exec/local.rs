//! The local executor: runs the plan's pending jobs as child processes (`fer-pipeline exec`),
//! as many at once as there are slots, in dependency order; reports events to a sink.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::events::{EventSink, JobEvent, Outcome, RunEvent};
use super::stop::EXIT_HARD_STOP;
use crate::plan::Plan;
use crate::store::{Entry, EntryState, Store, StoreError};

/// Exit code of `exec` when a signal stopped it after a checkpoint.
pub const EXIT_STOPPED: i32 = 75;

/// Exit code of `exec` (and `run`) when the store cannot be written (a full disk, a quota, a
/// read-only file system).
pub const EXIT_STORE: i32 = 3;

/// How to run jobs locally.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The program to run for each job (this binary).
    pub exe: PathBuf,
    /// Jobs at once.
    pub slots: usize,
    /// Device argument per slot, e.g. `cpu` or `cuda:0`; slot `i` uses `devices[i % len]`.
    pub devices: Vec<String>,
    pub threads: u32,
    pub deterministic: bool,
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub done: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: usize,
    /// Failures as (job, message).
    pub failures: Vec<(String, String)>,
    /// The first job that failed because the store could not be written: no job is started
    /// after it, since every one would fail the same way.
    pub store_failure: Option<(String, String)>,
}

enum Msg {
    Event(usize, JobEvent),
    Exit(usize, Option<i32>),
}

struct Running {
    child_pid: u32,
    /// Whether it was told to stop.
    signalled: bool,
    /// Failed attempts recorded before this one started.
    attempts_before: u32,
    started: Instant,
    summary: Option<String>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

#[derive(Clone, PartialEq)]
enum State {
    Waiting,
    Running,
    Ended(bool),
}

/// Runs every job of `plan` that is not finished in `store`.
pub fn run(
    plan: &Plan,
    store: &Store,
    opts: &LocalOptions,
    sink: &mut dyn EventSink,
    stop: &AtomicBool,
) -> Result<RunSummary, StoreError> {
    let t0 = Instant::now();
    let n = plan.jobs.len();
    let entries: Vec<Entry> = plan.jobs.iter().map(|j| store.entry(j.kind(), &j.hash)).collect();
    let mut state = vec![State::Waiting; n];
    let mut summary = RunSummary::default();
    for (i, e) in entries.iter().enumerate() {
        match e.state() {
            EntryState::Done(_) => {
                state[i] = State::Ended(true);
                summary.cached += 1;
                // A crash between `done` and the checkpoint's removal leaves it behind (for
                // Inception, hundreds of MB); nobody writes a checkpoint into a finished entry.
                e.remove(crate::store::CHECKPOINT_FILE)?;
            }
            st => {
                if let EntryState::Corrupt(why) = st {
                    tracing::warn!("{} is damaged ({why}); it will run again", e.id());
                }
                e.ensure_record(&plan.jobs[i].spec, &plan.jobs[i].label)?;
            }
        }
    }
    sink.on(&RunEvent::Planned { total: n, cached: summary.cached, to_run: n - summary.cached });
    for i in (0..n).filter(|&i| state[i] == State::Ended(true)) {
        sink.on(&RunEvent::JobCached { index: i, id: entries[i].id(), describe: plan.jobs[i].label.describe() });
    }

    let (tx, rx) = mpsc::channel::<Msg>();
    let mut running: Vec<Option<Running>> = (0..n).map(|_| None).collect();
    let mut slot_of: Vec<usize> = vec![0; n];
    let mut free_slots: Vec<usize> = (0..opts.slots.max(1)).rev().collect();
    // Ready jobs start longest-remaining-path first, so a long teacher does not start last.
    let priority = critical_path(plan);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| priority[*b].total_cmp(&priority[*a]).then(a.cmp(b)));
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if stopping {
            // Each running job checkpoints and stops (SIGTERM never stops a job at once, so one
            // that also got the terminal's SIGINT is not hurried by this).
            for r in running.iter_mut().flatten().filter(|r| !r.signalled) {
                r.signalled = true;
                // SAFETY: plain kill(2) on a child we spawned and have not reaped.
                unsafe { libc::kill(r.child_pid as i32, libc::SIGTERM) };
            }
        }
        // Skip jobs whose inputs failed.
        for i in 0..n {
            if state[i] == State::Waiting && plan.jobs[i].deps.iter().any(|&d| state[d] == State::Ended(false)) {
                state[i] = State::Ended(false);
                summary.skipped += 1;
                let job = &plan.jobs[i];
                sink.on(&RunEvent::JobEnded {
                    index: i,
                    id: entries[i].id(),
                    describe: job.label.describe(),
                    outcome: Outcome::Skipped { reason: "an input job did not finish".into() },
                    seconds: 0.0,
                });
            }
        }
        // Launch ready jobs (none once the store cannot be written).
        if !stopping && summary.store_failure.is_none() {
            for &i in &order {
                if free_slots.is_empty() {
                    break;
                }
                let ready =
                    state[i] == State::Waiting && plan.jobs[i].deps.iter().all(|&d| state[d] == State::Ended(true));
                if !ready {
                    continue;
                }
                let slot = free_slots.pop().unwrap_or(0);
                let device = &opts.devices[slot % opts.devices.len().max(1)];
                let r = spawn(opts, store, &entries[i], device, i, tx.clone());
                match r {
                    Ok(r) => {
                        slot_of[i] = slot;
                        state[i] = State::Running;
                        sink.on(&RunEvent::JobStarted {
                            index: i,
                            id: entries[i].id(),
                            describe: plan.jobs[i].label.describe(),
                        });
                        running[i] = Some(r);
                    }
                    Err(e) => {
                        free_slots.push(slot);
                        state[i] = State::Ended(false);
                        summary.failed += 1;
                        let message = format!("failed to start `{}`: {e}", opts.exe.display());
                        summary.failures.push((entries[i].id(), message.clone()));
                        sink.on(&RunEvent::JobEnded {
                            index: i,
                            id: entries[i].id(),
                            describe: plan.jobs[i].label.describe(),
                            outcome: Outcome::Failed { message },
                            seconds: 0.0,
                        });
                    }
                }
            }
        }
        if running.iter().all(Option::is_none) {
            break;
        }
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Msg::Event(i, ev) => {
                if let (JobEvent::Finished { summary: s }, Some(r)) = (&ev, running[i].as_mut()) {
                    r.summary = Some(s.clone());
                }
                sink.on(&RunEvent::Job { index: i, event: ev });
            }
            Msg::Exit(i, code) => {
                let Some(r) = running[i].take() else { continue };
                free_slots.push(slot_of[i]);
                let seconds = r.started.elapsed().as_secs_f64();
                let outcome = match code {
                    Some(0) => {
                        state[i] = State::Ended(true);
                        summary.done += 1;
                        Outcome::Done { summary: r.summary.unwrap_or_else(|| "finished by another run".into()) }
                    }
                    // Stopped after a checkpoint; or, while stopping, ended by the signal itself
                    // (a second Ctrl-C, or a signal before the job installed its handlers).
                    Some(EXIT_STOPPED) => {
                        state[i] = State::Ended(false);
                        summary.interrupted += 1;
                        Outcome::Interrupted
                    }
                    Some(EXIT_HARD_STOP) | None if stop.load(Ordering::SeqCst) => {
                        state[i] = State::Ended(false);
                        summary.interrupted += 1;
                        Outcome::Interrupted
                    }
                    _ => {
                        state[i] = State::Ended(false);
                        summary.failed += 1;
                        let message = failure_message(&entries[i], r.attempts_before, code, &r.stderr_tail);
                        summary.failures.push((entries[i].id(), message.clone()));
                        if code == Some(EXIT_STORE) && summary.store_failure.is_none() {
                            summary.store_failure = Some((entries[i].id(), message.clone()));
                        }
                        Outcome::Failed { message }
                    }
                };
                sink.on(&RunEvent::JobEnded {
                    index: i,
                    id: entries[i].id(),
                    describe: plan.jobs[i].label.describe(),
                    outcome,
                    seconds,
                });
            }
        }
    }
    sink.on(&RunEvent::Finished {
        done: summary.done,
        cached: summary.cached,
        failed: summary.failed,
        skipped: summary.skipped,
        interrupted: summary.interrupted,
        seconds: t0.elapsed().as_secs_f64(),
    });
    Ok(summary)
}

/// A rough relative cost of a job (seconds on one CPU thread, within a factor of a few).
fn cost(job: &crate::plan::Job) -> f64 {
    use crate::plan::JobSpec;
    use crate::spec::ModelSpec;
    let per_image = |m: &ModelSpec| match m {
        ModelSpec::DeepEmotion { .. } => 1.0,
        ModelSpec::MicroExpNet { .. } => 0.4,
        ModelSpec::InceptionV3 { input_size, .. } => 20.0 * (*input_size as f64 / 75.0).powi(2),
    };
    match &job.spec {
        JobSpec::Prepare(_) => 1.0,
        JobSpec::Train(t) => t.train.epochs as f64 * per_image(&t.model),
        JobSpec::DistillTargets(t) => per_image(&t.model),
        JobSpec::Evaluate(e) => per_image(&e.model),
        JobSpec::Saliency(s) => 3.0 * per_image(&s.model),
    }
}

/// Each job's cost plus the costliest chain of jobs that wait for it.
fn critical_path(plan: &Plan) -> Vec<f64> {
    let mut p: Vec<f64> = plan.jobs.iter().map(cost).collect();
    // Jobs are in topological order: walk backwards, pushing each job's path into its inputs.
    for i in (0..plan.jobs.len()).rev() {
        for &d in &plan.jobs[i].deps {
            let via = cost(&plan.jobs[d]) + p[i];
            if via > p[d] {
                p[d] = via;
            }
        }
    }
    p
}

fn spawn(
    opts: &LocalOptions,
    store: &Store,
    entry: &Entry,
    device: &str,
    index: usize,
    tx: mpsc::Sender<Msg>,
) -> std::io::Result<Running> {
    let attempts_before = entry.failed_attempts();
    let mut cmd = Command::new(&opts.exe);
    cmd.arg("--store")
        .arg(store.root())
        .arg("exec")
        .arg("--device")
        .arg(device)
        .arg("--threads")
        .arg(opts.threads.to_string())
        .arg(format!("--deterministic={}", opts.deterministic))
        .arg(entry.id())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; the child dies with its parent (kill -9 of a run
    // must not leave orphans training on).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child: Child = cmd.spawn()?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let tail2 = Arc::clone(&tail);
    let err_thread = std::thread::spawn(move || {
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                let mut t = tail2.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() >= 20 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
    let pid = child.id();
    std::thread::spawn(move || {
        if let Some(s) = stdout {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if let Some(ev) = JobEvent::from_line(&line) {
                    let _ = tx.send(Msg::Event(index, ev));
                }
            }
        }
        let _ = err_thread.join();
        let code = child.wait().ok().and_then(|s| s.code());
        let _ = tx.send(Msg::Exit(index, code));
    });
    Ok(Running {
        child_pid: pid,
        signalled: false,
        attempts_before,
        started: Instant::now(),
        summary: None,
        stderr_tail: tail,
    })
}

/// The child's own failure record when it wrote one this attempt; otherwise (a crash) a record
/// from its exit status and the tail of its stderr.
fn failure_message(entry: &Entry, attempts_before: u32, code: Option<i32>, tail: &Mutex<VecDeque<String>>) -> String {
    if entry.failed_attempts() > attempts_before {
        if let Some(f) = entry.failure() {
            return f.message;
        }
    }
    let tail = tail.lock().map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default();
    let how = match code {
        Some(c) => format!("exited with code {c}"),
        None => "was killed by a signal".into(),
    };
    let msg = format!("job process {how}");
    let _ = entry.mark_failed(&format!("{msg}\n{tail}"));
    if tail.is_empty() {
        msg
    } else {
        format!("{msg}:\n{tail}")
    }
}
