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
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::{EventSink, JobEvent, Outcome, RunEvent};
use super::ready::ReadyQueue;
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

/// A child's message to the executor: an event it printed, or its exit code.
enum Msg {
    Event(usize, JobEvent),
    Exit(usize, Option<i32>),
}

/// A running child process.
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

/// A job's state in this run; `Ended(true)` is finished (cached or done).
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
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut ex = Executor::new(plan, store, opts, sink, tx)?;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if stopping {
            ex.signal_running();
        }
        ex.skip_failed_inputs();
        if !stopping {
            ex.launch_ready();
        }
        if ex.running == 0 {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Event(i, ev)) => ex.on_event(i, ev),
            Ok(Msg::Exit(i, code)) => ex.on_exit(i, code, stop.load(Ordering::SeqCst)),
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(ex.finish(t0))
}

/// The state of one local run: each job's state, the running children, the free slots, the
/// totals so far, and the queue of jobs ready to start.
struct Executor<'a> {
    plan: &'a Plan,
    store: &'a Store,
    opts: &'a LocalOptions,
    sink: &'a mut dyn EventSink,
    /// Each child sends its events and its exit here.
    tx: mpsc::Sender<Msg>,
    entries: Vec<Entry>,
    state: Vec<State>,
    /// The running children, by job.
    children: Vec<Option<Running>>,
    /// How many children are running.
    running: usize,
    /// The slot each running job holds.
    slot_of: Vec<usize>,
    free_slots: Vec<usize>,
    summary: RunSummary,
    queue: ReadyQueue,
    /// Jobs that ended without finishing since their dependents were last skipped.
    failed_since: Vec<usize>,
    /// A job that runs alone (`JobKind::exclusive`) is running.
    alone: bool,
}

impl<'a> Executor<'a> {
    /// Marks the finished entries cached (and the others recorded), and reports the plan.
    fn new(
        plan: &'a Plan,
        store: &'a Store,
        opts: &'a LocalOptions,
        sink: &'a mut dyn EventSink,
        tx: mpsc::Sender<Msg>,
    ) -> Result<Executor<'a>, StoreError> {
        let n = plan.jobs.len();
        let entries: Vec<Entry> = plan.jobs.iter().map(|j| store.entry(j.kind(), &j.hash)).collect();
        let mut state = vec![State::Waiting; n];
        let mut summary = RunSummary::default();
        // Each entry's state is a few file reads: read them on every core (a no-op re-run of a
        // large finished pipeline is all this).
        let cached: Vec<bool> = {
            use rayon::prelude::*;
            entries.par_iter().enumerate().map(|(i, e)| mark_cached(plan, i, e)).collect::<Result<_, _>>()?
        };
        for (i, done) in cached.into_iter().enumerate() {
            if done {
                state[i] = State::Ended(true);
                summary.cached += 1;
            }
        }
        let finished: Vec<bool> = state.iter().map(|s| *s == State::Ended(true)).collect();
        sink.on(&RunEvent::Planned { total: n, cached: summary.cached, to_run: n - summary.cached });
        for i in (0..n).filter(|&i| finished[i]) {
            sink.on(&RunEvent::JobCached { index: i, id: entries[i].id(), describe: plan.jobs[i].label.describe() });
        }
        Ok(Executor {
            plan,
            store,
            opts,
            sink,
            tx,
            entries,
            state,
            children: (0..n).map(|_| None).collect(),
            running: 0,
            slot_of: vec![0; n],
            free_slots: (0..opts.slots.max(1)).rev().collect(),
            summary,
            queue: ReadyQueue::new(plan, &finished),
            failed_since: Vec::new(),
            alone: false,
        })
    }

    /// Tells each running job to checkpoint and stop (SIGTERM never stops a job at once, so one
    /// that also got the terminal's SIGINT is not hurried by this).
    fn signal_running(&mut self) {
        for r in self.children.iter_mut().flatten().filter(|r| !r.signalled) {
            r.signalled = true;
            // SAFETY: plain kill(2) on a child we spawned and have not reaped.
            unsafe { libc::kill(r.child_pid as i32, libc::SIGTERM) };
        }
    }

    /// Skips the waiting jobs whose inputs (or their inputs) ended without finishing.
    fn skip_failed_inputs(&mut self) {
        let failed = std::mem::take(&mut self.failed_since);
        let state = &self.state;
        for i in self.queue.blocked(&failed, |d| state[d] == State::Waiting) {
            self.state[i] = State::Ended(false);
            self.summary.skipped += 1;
            let outcome = Outcome::Skipped { reason: "an input job did not finish".into() };
            self.report_end(i, outcome, 0.0);
        }
    }

    /// Starts ready jobs, longest remaining path first, while slots are free (none once the
    /// store cannot be written).
    /// A job that runs alone waits for the running ones to end, and nothing starts beside it.
    fn launch_ready(&mut self) {
        while self.summary.store_failure.is_none() && !self.free_slots.is_empty() && !self.alone {
            let Some(i) = self.queue.peek() else { break };
            let exclusive = self.plan.jobs[i].kind().exclusive();
            if exclusive && self.running > 0 {
                break;
            }
            self.queue.pop();
            self.alone = exclusive;
            self.launch(i);
        }
    }

    /// Starts job `i` in a free slot; a job that cannot start fails.
    fn launch(&mut self, i: usize) {
        let slot = self.free_slots.pop().unwrap_or(0);
        let device = &self.opts.devices[slot % self.opts.devices.len().max(1)];
        match spawn(self.opts, self.store, &self.entries[i], device, i, self.tx.clone()) {
            Ok(r) => {
                self.slot_of[i] = slot;
                self.state[i] = State::Running;
                let (id, describe) = (self.entries[i].id(), self.plan.jobs[i].label.describe());
                self.sink.on(&RunEvent::JobStarted { index: i, id, describe });
                self.children[i] = Some(r);
                self.running += 1;
            }
            Err(e) => {
                self.alone = false;
                self.free_slots.push(slot);
                let message = format!("failed to start `{}`: {e}", self.opts.exe.display());
                let outcome = self.failed(i, message);
                self.report_end(i, outcome, 0.0);
            }
        }
    }

    /// A running job's progress event: reported, and its summary kept for its end.
    fn on_event(&mut self, i: usize, ev: JobEvent) {
        if let (JobEvent::Finished { summary: s }, Some(r)) = (&ev, self.children[i].as_mut()) {
            r.summary = Some(s.clone());
        }
        self.sink.on(&RunEvent::Job { index: i, event: ev });
    }

    /// A child exited with `code`: its slot is free, and its job done, interrupted (stopped
    /// after a checkpoint, or killed while `stopping`) or failed.
    fn on_exit(&mut self, i: usize, code: Option<i32>, stopping: bool) {
        let Some(r) = self.children[i].take() else { return };
        self.running -= 1;
        self.alone = false;
        self.free_slots.push(self.slot_of[i]);
        let seconds = r.started.elapsed().as_secs_f64();
        let outcome = match code {
            Some(0) => {
                self.state[i] = State::Ended(true);
                self.summary.done += 1;
                self.queue.finished(i);
                Outcome::Done { summary: r.summary.unwrap_or_else(|| "finished by another run".into()) }
            }
            // Stopped after a checkpoint; or, while stopping, ended by the signal itself (a
            // second Ctrl-C, or a signal before the job installed its handlers).
            Some(EXIT_STOPPED) => self.interrupted(i),
            Some(EXIT_HARD_STOP) | None if stopping => self.interrupted(i),
            _ => {
                let message = failure_message(&self.entries[i], r.attempts_before, code, &r.stderr_tail);
                if code == Some(EXIT_STORE) && self.summary.store_failure.is_none() {
                    self.summary.store_failure = Some((self.entries[i].id(), message.clone()));
                }
                self.failed(i, message)
            }
        };
        self.report_end(i, outcome, seconds);
    }

    /// Job `i` was interrupted: it ends without finishing, not as a failure.
    fn interrupted(&mut self, i: usize) -> Outcome {
        self.state[i] = State::Ended(false);
        self.failed_since.push(i);
        self.summary.interrupted += 1;
        Outcome::Interrupted
    }

    /// Job `i` failed with `message`.
    fn failed(&mut self, i: usize, message: String) -> Outcome {
        self.state[i] = State::Ended(false);
        self.failed_since.push(i);
        self.summary.failed += 1;
        self.summary.failures.push((self.entries[i].id(), message.clone()));
        Outcome::Failed { message }
    }

    /// Reports the end of job `i`.
    fn report_end(&mut self, i: usize, outcome: Outcome, seconds: f64) {
        let (id, describe) = (self.entries[i].id(), self.plan.jobs[i].label.describe());
        self.sink.on(&RunEvent::JobEnded { index: i, id, describe, outcome, seconds });
    }

    /// Reports the run's totals and returns them.
    fn finish(self, t0: Instant) -> RunSummary {
        let s = self.summary;
        self.sink.on(&RunEvent::Finished {
            done: s.done,
            cached: s.cached,
            failed: s.failed,
            skipped: s.skipped,
            interrupted: s.interrupted,
            seconds: t0.elapsed().as_secs_f64(),
        });
        s
    }
}

/// Whether job `i`'s entry `e` is finished (then a checkpoint left behind is removed); an
/// unfinished entry gets its record (a damaged one is logged and runs again).
fn mark_cached(plan: &Plan, i: usize, e: &Entry) -> Result<bool, StoreError> {
    match e.state() {
        EntryState::Done(_) => {
            // A crash between `done` and the checkpoint's removal leaves it behind (for
            // Inception, hundreds of MB); nobody writes a checkpoint into a finished entry.
            e.remove(crate::store::CHECKPOINT_FILE)?;
            Ok(true)
        }
        st => {
            if let EntryState::Corrupt(why) = st {
                tracing::warn!("{} is damaged ({why}); it will run again", e.id());
            }
            e.ensure_record(&plan.jobs[i].spec, &plan.jobs[i].label)?;
            Ok(false)
        }
    }
}

/// Starts job `index` as a child process; a thread sends its events and its exit to `tx`.
fn spawn(
    opts: &LocalOptions,
    store: &Store,
    entry: &Entry,
    device: &str,
    index: usize,
    tx: mpsc::Sender<Msg>,
) -> std::io::Result<Running> {
    let attempts_before = entry.failed_attempts();
    let mut child: Child = exec_command(opts, store, entry, device).spawn()?;
    let pid = child.id();
    let (stderr_tail, err_thread) = keep_stderr_tail(&mut child);
    let stdout = child.stdout.take();
    std::thread::spawn(move || {
        if let Some(s) = stdout {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if let Some(ev) = JobEvent::from_line(&line) {
                    let _ = tx.send(Msg::Event(index, ev));
                }
            }
        }
        // The tail is complete before the exit is reported.
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
        stderr_tail,
    })
}

/// The command line of `exec` for `entry` on `device`, its output piped; the child dies with
/// its parent.
fn exec_command(opts: &LocalOptions, store: &Store, entry: &Entry, device: &str) -> Command {
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
    cmd
}

/// Reads the child's stderr on a thread (returned), keeping its last 20 lines.
fn keep_stderr_tail(child: &mut Child) -> (Arc<Mutex<VecDeque<String>>>, JoinHandle<()>) {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.stderr.take();
    let keep = Arc::clone(&tail);
    let thread = std::thread::spawn(move || {
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() >= 20 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
    (tail, thread)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::plan::{build, JobKind};
    use crate::spec::{load_str, Overrides};

    /// The stand-in for `fer-pipeline exec`: logs `start <id> <device>` and `end <id>` to
    /// `<dir>/log`, and acts on control files named after the entry (`/` as `_`): `fail_` (exit 1
    /// with a message on stderr), `store_` (exit 3: the store cannot be written), `hang_` (waits,
    /// and on SIGTERM exits 75 as after a checkpoint); otherwise it sleeps 0.15 s, counting the
    /// jobs running at once, reports `finished` and exits 0.
    const STAND_IN: &str = r#"#!/bin/sh
ctl=$(dirname "$0")
for a; do id=$a; done
key=$(echo "$id" | tr / _)
echo "start $id $5" >> "$ctl/log"
if [ -e "$ctl/fail_$key" ]; then echo "boom in $id" >&2; echo "end $id" >> "$ctl/log"; exit 1; fi
if [ -e "$ctl/store_$key" ]; then echo "end $id" >> "$ctl/log"; exit 3; fi
if [ -e "$ctl/hang_$key" ]; then
  trap 'echo "end $id" >> "$ctl/log"; exit 75' TERM
  touch "$ctl/started_$key"
  i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
  exit 9
fi
mkdir "$ctl/running_$key"
ls -d "$ctl"/running_* | wc -l >> "$ctl/concurrent"
sleep 0.15
rmdir "$ctl/running_$key"
echo '{"event":"finished","summary":"stand-in done"}'
echo "end $id" >> "$ctl/log"
"#;

    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        plan: Plan,
    }

    impl Fixture {
        fn new(models: &str) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let exe = dir.path().join("exe");
            std::fs::write(&exe, STAND_IN).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
            let text = format!(
                "version: 1\nname: local\nseeds: [1]\ndatasets:\n  syn: {{kind: synthetic, subjects: 6, images_per_subject: 4}}\n  \
                 two: {{kind: synthetic, subjects: 7, images_per_subject: 4}}\nsaliency: {{enabled: false}}\nmodels:\n{models}"
            );
            let plan = build(&load_str("local.yaml", &text, &Overrides::default()).unwrap());
            let store = Store::new(dir.path().join("store"));
            Fixture { dir, store, plan }
        }

        fn id(&self, i: usize) -> String {
            self.store.entry(self.plan.jobs[i].kind(), &self.plan.jobs[i].hash).id()
        }

        /// The plan index of the first job of `kind` of `model` (any model when empty).
        fn find(&self, kind: JobKind, model: &str) -> usize {
            self.plan
                .jobs
                .iter()
                .position(|j| j.kind() == kind && (model.is_empty() || j.label.model == model))
                .unwrap()
        }

        fn control(&self, what: &str, i: usize) {
            std::fs::write(self.dir.path().join(format!("{what}_{}", self.id(i).replace('/', "_"))), b"").unwrap();
        }

        fn run(&self, slots: usize, devices: &[&str], stop: &AtomicBool) -> (RunSummary, Vec<RunEvent>) {
            let opts = LocalOptions {
                exe: self.dir.path().join("exe"),
                slots,
                devices: devices.iter().map(|d| d.to_string()).collect(),
                threads: 1,
                deterministic: true,
            };
            let mut sink = Collect(Vec::new());
            let summary = run(&self.plan, &self.store, &opts, &mut sink, stop).unwrap();
            (summary, sink.0)
        }

        /// The stand-in's log lines, split in words.
        fn log(&self) -> Vec<Vec<String>> {
            let text = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            text.lines().map(|l| l.split_whitespace().map(str::to_string).collect()).collect()
        }

        fn started(&self) -> Vec<String> {
            self.log().into_iter().filter(|l| l[0] == "start").map(|l| l[1].clone()).collect()
        }

        /// Every job started only after each of its inputs ended.
        fn check_order(&self) {
            let log = self.log();
            let at = |what: &str, id: &str| log.iter().position(|l| l[0] == what && l[1] == id);
            for (i, j) in self.plan.jobs.iter().enumerate() {
                let Some(start) = at("start", &self.id(i)) else { continue };
                for &d in &j.deps {
                    let end = at("end", &self.id(d))
                        .unwrap_or_else(|| panic!("{} started before {} ended", self.id(i), self.id(d)));
                    assert!(end < start, "{} started before {} ended", self.id(i), self.id(d));
                }
            }
        }
    }

    struct Collect(Vec<RunEvent>);

    impl EventSink for Collect {
        fn on(&mut self, event: &RunEvent) {
            self.0.push(event.clone());
        }
    }

    fn outcomes(events: &[RunEvent]) -> HashMap<usize, Outcome> {
        events
            .iter()
            .filter_map(|e| match e {
                RunEvent::JobEnded { index, outcome, .. } => Some((*index, outcome.clone())),
                _ => None,
            })
            .collect()
    }

    const TEACHER_AND_STUDENT: &str = "  t: {arch: deep-emotion, datasets: syn, epochs: 2}\n  \
                                       s: {arch: microexpnet, datasets: syn, epochs: 2, multi_crop: false, teacher: t}\n";

    #[test]
    fn jobs_run_after_their_inputs_and_a_failure_skips_its_dependents_only() {
        let f = Fixture::new(TEACHER_AND_STUDENT);
        let teacher = f.find(JobKind::Train, "t");
        f.control("fail", teacher);
        let (s, events) = f.run(2, &["cpu"], &AtomicBool::new(false));
        f.check_order();
        // Both prepares run; the teacher fails; its evaluation, the targets, the student's
        // training and evaluation are skipped.
        assert_eq!((s.done, s.failed, s.skipped, s.cached, s.interrupted), (2, 1, 4, 0, 0), "{s:?}");
        assert_eq!(s.failures.len(), 1);
        assert_eq!(s.failures[0].0, f.id(teacher));
        assert!(s.failures[0].1.starts_with("job process exited with code 1"), "{}", s.failures[0].1);
        assert!(
            s.failures[0].1.contains(&format!("boom in {}", f.id(teacher))),
            "the stderr tail: {}",
            s.failures[0].1
        );
        assert!(s.store_failure.is_none());
        // The crash is recorded in the entry, as one failed attempt.
        let e = f.store.entry(JobKind::Train, &f.plan.jobs[teacher].hash);
        assert_eq!(e.failed_attempts(), 1);
        let o = outcomes(&events);
        assert_eq!(o.len(), f.plan.jobs.len());
        for (i, j) in f.plan.jobs.iter().enumerate() {
            let want_skip = i != teacher && j.kind() != JobKind::Prepare;
            match &o[&i] {
                Outcome::Skipped { reason } => {
                    assert!(want_skip, "{} skipped", f.id(i));
                    assert_eq!(reason, "an input job did not finish");
                }
                Outcome::Done { summary } => {
                    assert_eq!(j.kind(), JobKind::Prepare);
                    assert_eq!(summary, "stand-in done");
                }
                Outcome::Failed { .. } => assert_eq!(i, teacher),
                other => panic!("{}: {other:?}", f.id(i)),
            }
        }
        assert_eq!(f.started().len(), 3, "skipped jobs never start: {:?}", f.started());
        // Once the teacher trains, everything runs, in order.
        std::fs::remove_file(f.dir.path().join("log")).unwrap();
        std::fs::remove_file(f.dir.path().join(format!("fail_{}", f.id(teacher).replace('/', "_")))).unwrap();
        let (s, _) = f.run(2, &["cpu"], &AtomicBool::new(false));
        assert_eq!((s.done, s.failed, s.skipped), (f.plan.jobs.len(), 0, 0), "{s:?}");
        f.check_order();
    }

    #[test]
    fn no_more_jobs_run_at_once_than_there_are_slots_and_slots_pick_devices() {
        let f = Fixture::new("  m: {arch: deep-emotion, datasets: syn, epochs: 2, seeds: [1, 2, 3, 4, 5, 6]}\n");
        let (s, _) = f.run(2, &["cpu", "cuda:7"], &AtomicBool::new(false));
        assert_eq!((s.done, s.failed), (f.plan.jobs.len(), 0));
        f.check_order();
        let counts: Vec<usize> = std::fs::read_to_string(f.dir.path().join("concurrent"))
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(counts.len(), f.plan.jobs.len());
        assert_eq!(counts.iter().max(), Some(&2), "two slots: {counts:?}");
        let devices: std::collections::BTreeSet<String> =
            f.log().into_iter().filter(|l| l[0] == "start").map(|l| l[2].clone()).collect();
        assert_eq!(devices, ["cpu".to_string(), "cuda:7".to_string()].into());
        // One slot: one at a time.
        let g = Fixture::new("  m: {arch: deep-emotion, datasets: syn, epochs: 2, seeds: [1, 2, 3]}\n");
        g.run(1, &["cpu"], &AtomicBool::new(false));
        let counts = std::fs::read_to_string(g.dir.path().join("concurrent")).unwrap();
        assert!(counts.lines().all(|l| l.trim() == "1"), "{counts}");
    }

    #[test]
    fn throughput_jobs_run_alone() {
        // Three networks measured while six trains (two seeds, three models) wait on one
        // prepare; four slots. Each throughput job starts when nothing runs, and nothing starts
        // until it ends.
        let f = Fixture::new(
            "  a: {arch: deep-emotion, datasets: syn, epochs: 1, seeds: [1, 2]}\n  \
             b: {arch: microexpnet, variant: s, datasets: syn, epochs: 1, seeds: [1, 2]}\n  \
             c: {arch: microexpnet, datasets: syn, epochs: 1, seeds: [1, 2]}\nanalyses: {efficiency: true}\n",
        );
        let speeds: Vec<String> =
            (0..f.plan.jobs.len()).filter(|&i| f.plan.jobs[i].kind() == JobKind::Throughput).map(|i| f.id(i)).collect();
        assert_eq!(speeds.len(), 3);
        let (s, _) = f.run(4, &["cpu"], &AtomicBool::new(false));
        assert_eq!((s.done, s.failed), (f.plan.jobs.len(), 0), "{s:?}");
        f.check_order();
        let log = f.log();
        let mut running: Vec<&str> = Vec::new();
        for l in &log {
            match l[0].as_str() {
                "start" => {
                    let alone = running.iter().any(|r| speeds.iter().any(|s| s == r));
                    assert!(!alone, "{} started beside a throughput job: {log:?}", l[1]);
                    if speeds.contains(&l[1]) {
                        assert!(running.is_empty(), "{} started beside {running:?}", l[1]);
                    }
                    running.push(&l[1]);
                }
                _ => running.retain(|r| *r != l[1]),
            }
        }
        // Without the analysis there are none.
        let g = Fixture::new("  a: {arch: deep-emotion, datasets: syn, epochs: 1}\nanalyses: {efficiency: false}\n");
        assert!(g.plan.jobs.iter().all(|j| j.kind() != JobKind::Throughput));
    }

    #[test]
    fn ready_jobs_start_longest_path_first() {
        // `a` comes first in the plan; `b` trains 50 times longer.
        let f = Fixture::new(
            "  a: {arch: deep-emotion, datasets: syn, epochs: 1}\n  b: {arch: deep-emotion, datasets: syn, epochs: 50}\n",
        );
        let (a, b) = (f.find(JobKind::Train, "a"), f.find(JobKind::Train, "b"));
        assert!(a < b);
        f.run(1, &["cpu"], &AtomicBool::new(false));
        let started = f.started();
        let pos = |i: usize| started.iter().position(|x| *x == f.id(i)).unwrap();
        assert!(pos(b) < pos(a), "the long training starts first: {started:?}");
        assert_eq!(pos(b), 1, "right after the prepare: {started:?}");
        f.check_order();
    }

    #[test]
    fn the_stop_flag_interrupts_running_jobs_and_starts_nothing_more() {
        let f = Fixture::new("  m: {arch: deep-emotion, datasets: [syn, two], epochs: 2}\n");
        let train = f.find(JobKind::Train, "m");
        f.control("hang", train);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let started = f.dir.path().join(format!("started_{}", f.id(train).replace('/', "_")));
        let setter = std::thread::spawn(move || {
            let t0 = Instant::now();
            while !started.exists() && t0.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(20));
            }
            flag.store(true, Ordering::SeqCst);
        });
        let t0 = Instant::now();
        let (s, events) = f.run(1, &["cpu"], &stop);
        setter.join().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(20), "the hanging job (30 s) was told to stop");
        assert_eq!((s.interrupted, s.failed), (1, 0), "{s:?}");
        assert!(s.failures.is_empty());
        assert_eq!(outcomes(&events)[&train], Outcome::Interrupted);
        // Interrupted jobs are not failures.
        assert_eq!(f.store.entry(JobKind::Train, &f.plan.jobs[train].hash).failed_attempts(), 0);
        // Nothing started after the stop.
        let started = f.started();
        assert_eq!(started.last(), Some(&f.id(train)), "{started:?}");
        assert!(s.done + s.interrupted + s.skipped < f.plan.jobs.len(), "{s:?}");
        let log = f.log();
        assert_eq!(log.last().map(|l| l.join(" ")), Some(format!("end {}", f.id(train))), "{log:?}");
    }

    #[test]
    fn after_a_store_failure_no_job_starts() {
        let f = Fixture::new("  m: {arch: deep-emotion, datasets: [syn, two], epochs: 2}\n");
        let preps: Vec<usize> = (0..f.plan.jobs.len()).filter(|&i| f.plan.jobs[i].kind() == JobKind::Prepare).collect();
        assert_eq!(preps.len(), 2);
        for &p in &preps {
            f.control("store", p);
        }
        let (s, _) = f.run(1, &["cpu"], &AtomicBool::new(false));
        assert_eq!(f.started().len(), 1, "{:?}", f.started());
        assert_eq!(s.failed, 1);
        assert_eq!(s.store_failure.as_ref().map(|x| x.0.clone()), Some(f.started()[0].clone()));
        assert_eq!(s.done, 0);
    }

    #[test]
    fn finished_entries_are_cached_not_run() {
        let f = Fixture::new("  m: {arch: deep-emotion, datasets: syn, epochs: 2}\n");
        let prep = f.find(JobKind::Prepare, "");
        let e = f.store.entry(JobKind::Prepare, &f.plan.jobs[prep].hash);
        e.write_record(&f.plan.jobs[prep].spec, &f.plan.jobs[prep].label).unwrap();
        std::fs::write(e.file("data.bin"), b"prepared").unwrap();
        e.finish(&["data.bin"]).unwrap();
        std::fs::write(e.file(crate::store::CHECKPOINT_FILE), b"left by a crash").unwrap();
        let (s, events) = f.run(2, &["cpu"], &AtomicBool::new(false));
        assert_eq!((s.cached, s.done), (1, f.plan.jobs.len() - 1));
        assert!(!f.started().contains(&f.id(prep)));
        assert!(!e.file(crate::store::CHECKPOINT_FILE).exists(), "a finished entry's checkpoint is removed");
        assert!(events.iter().any(|ev| matches!(ev, RunEvent::JobCached { index, .. } if *index == prep)));
        assert!(
            matches!(events.first(), Some(RunEvent::Planned { total, cached: 1, .. }) if *total == f.plan.jobs.len())
        );
    }
}
