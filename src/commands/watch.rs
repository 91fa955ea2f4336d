//! `status --watch`: the pipeline's progress redrawn in place every few seconds (per-stage counts,
//! running jobs with epoch and ETA, Slurm states), or one plain line per change off a terminal.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::context::{load, store_for};
use super::plan::{gather_status, StatusRow, StatusSnapshot};
use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan::{self, Job, JobKind, JobSpec, Plan, PlannedState};
use fer_core::records::checkpoint_epochs_done;
use fer_core::store::{Store, CHECKPOINT_FILE, LOG_FILE};

/// Off a terminal, a line is printed at least every this many looks, changed or not.
const HEARTBEAT_LOOKS: u32 = 30;

/// `fer-pipeline status --watch`: returns the closing line once every job is done; Ctrl-C
/// (SIGINT) or SIGTERM leaves with an empty string (exit 0).
pub(super) fn watch_cmd(store_flag: &Option<PathBuf>, args: &PipelineArgs, interval: f64) -> Result<String, Error> {
    if !(interval.is_finite() && interval > 0.0 && interval <= 86_400.0) {
        return Err(Error::Usage(format!("failed to use `--interval {interval}`: give seconds between 0 and 86400")));
    }
    let pipeline = load(args)?;
    let plan = plan::build(&pipeline);
    let store = store_for(store_flag, Some(&pipeline));
    store.check()?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            tracing::warn!("failed to install the handler of signal {sig}: {e}");
        }
    }
    let title = format!("pipeline `{}`, store `{}`", pipeline.name, store.root().display());
    let tty = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut screen = Screen { tty, started: false, last_key: None, looks: 0 };
    let result = loop {
        let snap = gather_status(&plan, &store);
        let view = View::new(&plan, &store, &snap, now_secs());
        screen.show(&mut out, &title, interval, &view);
        if view.complete() {
            break Ok(view.closing_line(&pipeline.name));
        }
        let until = Instant::now() + Duration::from_secs_f64(interval);
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
        }
        if stop.load(Ordering::SeqCst) {
            break Ok(String::new());
        }
    };
    screen.finish(&mut out);
    result
}

/// What the terminal has been shown so far.
struct Screen {
    tty: bool,
    /// Whether the cursor is hidden and the screen cleared.
    started: bool,
    /// The last plain line without its clock and ETAs (off a terminal).
    last_key: Option<String>,
    looks: u32,
}

impl Screen {
    fn show(&mut self, out: &mut impl Write, title: &str, interval: f64, view: &View) {
        if self.tty {
            let (cols, rows) = terminal_size();
            let mut lines = view.screen(title, interval);
            if lines.len() > rows.max(3) - 1 {
                let more = lines.len() - (rows.max(3) - 2);
                lines.truncate(rows.max(3) - 2);
                lines.push(format!("... {more} more line(s); a taller terminal shows them"));
            }
            let mut text = String::new();
            if !self.started {
                // Hide the cursor, clear once; later looks overwrite in place (no flicker).
                text.push_str("\x1b[?25l\x1b[2J");
                self.started = true;
            }
            text.push_str("\x1b[H");
            for l in &lines {
                let cut: String = l.chars().take(cols.saturating_sub(1).max(20)).collect();
                let _ = write!(text, "{cut}\x1b[K\r\n");
            }
            text.push_str("\x1b[J");
            let _ = out.write_all(text.as_bytes());
        } else {
            let (key, line) = view.plain_line();
            let changed = self.last_key.as_deref() != Some(key.as_str());
            if changed || self.looks.is_multiple_of(HEARTBEAT_LOOKS) {
                let _ = writeln!(out, "{line}");
                self.last_key = Some(key);
            }
        }
        self.looks += 1;
        let _ = out.flush();
    }

    /// Gives the cursor back.
    fn finish(&mut self, out: &mut impl Write) {
        if self.tty && self.started {
            let _ = out.write_all(b"\x1b[?25h");
            let _ = out.flush();
        }
    }
}

/// A running job: where it stands.
#[derive(Debug, Clone, PartialEq)]
struct Running {
    what: String,
    /// Epochs finished (from the checkpoint) and the job's epochs (train jobs).
    epoch: Option<(u32, u32)>,
    /// Seconds since the job (or its resumption) started, from its log.
    elapsed: Option<u64>,
    /// Seconds left, from the epochs finished since it started.
    eta: Option<u64>,
    /// `slurm <task> on <node>`.
    slurm: Option<String>,
}

/// Counts of one stage.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    done: usize,
    running: usize,
    pending: usize,
    failed: usize,
    unavailable: usize,
}

/// One look at the pipeline, ready to draw.
struct View {
    stages: Vec<(JobKind, Counts)>,
    running: Vec<Running>,
    /// Submitted jobs by squeue's state: (state, how many, reasons).
    slurm: Vec<(String, usize, Vec<String>)>,
    slurm_note: Option<String>,
    failed: Vec<String>,
    now: u64,
}

impl View {
    fn new(plan: &Plan, store: &Store, snap: &StatusSnapshot, now: u64) -> View {
        let mut stages: Vec<(JobKind, Counts)> = Vec::new();
        let mut running = Vec::new();
        let mut slurm: Vec<(String, usize, Vec<String>)> = Vec::new();
        let mut failed = Vec::new();
        for (job, row) in plan.jobs.iter().zip(&snap.rows) {
            let kind = job.kind();
            let i = match stages.iter().position(|(k, _)| *k == kind) {
                Some(i) => i,
                None => {
                    stages.push((kind, Counts::default()));
                    stages.len() - 1
                }
            };
            let c = &mut stages[i].1;
            match &row.state {
                PlannedState::Cached => c.done += 1,
                PlannedState::Running => {
                    c.running += 1;
                    running.push(running_job(store, job, row, now));
                }
                PlannedState::Failed(m) | PlannedState::Damaged(m) => {
                    c.failed += 1;
                    failed.push(format!(
                        "{} {}: {}",
                        kind.name(),
                        job.label.describe(),
                        m.lines().next().unwrap_or_default()
                    ));
                }
                PlannedState::Unavailable(_) => c.unavailable += 1,
                PlannedState::Pending | PlannedState::Partial(_) => c.pending += 1,
            }
            if let Some(s) = &row.slurm {
                if let Some(state) = &s.state {
                    let reason = s.reason.clone().filter(|r| !r.is_empty() && r != "None");
                    match slurm.iter_mut().find(|(st, _, _)| st == state) {
                        Some((_, n, reasons)) => {
                            *n += 1;
                            reasons.extend(reason.filter(|r| !reasons.contains(r)));
                        }
                        None => slurm.push((state.clone(), 1, reason.into_iter().collect())),
                    }
                }
            }
        }
        stages.sort_by_key(|(k, _)| JobKind::ALL.iter().position(|a| a == k));
        View { stages, running, slurm, slurm_note: snap.slurm_note.clone(), failed, now }
    }

    fn total(&self) -> Counts {
        self.stages.iter().fold(Counts::default(), |a, (_, c)| Counts {
            done: a.done + c.done,
            running: a.running + c.running,
            pending: a.pending + c.pending,
            failed: a.failed + c.failed,
            unavailable: a.unavailable + c.unavailable,
        })
    }

    /// Every job is done, or cannot run here (its data set is absent).
    fn complete(&self) -> bool {
        let t = self.total();
        t.running + t.pending + t.failed == 0
    }

    fn closing_line(&self, name: &str) -> String {
        let t = self.total();
        if t.unavailable > 0 {
            format!(
                "pipeline `{name}` complete: {} job(s) done, {} unavailable (their data sets are absent; see `status`)\n",
                t.done, t.unavailable
            )
        } else {
            format!("pipeline `{name}` complete: all {} job(s) done\n", t.done)
        }
    }

    /// The terminal's lines.
    fn screen(&self, title: &str, interval: f64) -> Vec<String> {
        let mut l = vec![
            format!("fer-pipeline status --watch: {title}"),
            format!("{}  every {interval}s; Ctrl-C to leave", clock(self.now)),
            String::new(),
        ];
        let t = self.total();
        let unavail = t.unavailable > 0;
        let row = |name: &str, c: &Counts| {
            let mut s = format!("{name:<16} {:>6} {:>8} {:>8} {:>7}", c.done, c.running, c.pending, c.failed);
            if unavail {
                let _ = write!(s, " {:>12}", c.unavailable);
            }
            s
        };
        let mut head = format!("{:<16} {:>6} {:>8} {:>8} {:>7}", "STAGE", "DONE", "RUNNING", "PENDING", "FAILED");
        if unavail {
            head.push_str("  UNAVAILABLE");
        }
        l.push(head);
        for (k, c) in &self.stages {
            l.push(row(k.name(), c));
        }
        l.push(row("total", &t));
        l.push(String::new());
        if self.running.is_empty() && !self.complete() {
            l.push("running: none (jobs are left: `fer-pipeline run` or `submit` them; this view follows)".into());
        } else if self.running.is_empty() {
            l.push("running: none".into());
        } else {
            l.push(format!("running ({}):", self.running.len()));
            for r in &self.running {
                l.push(format!("  {}", r.describe()));
            }
        }
        if let Some(n) = &self.slurm_note {
            l.push(n.clone());
        }
        if !self.slurm.is_empty() {
            l.push(format!("slurm: {}", self.slurm_words()));
        }
        if !self.failed.is_empty() {
            l.push(format!("failed ({}):", self.failed.len()));
            l.extend(self.failed.iter().map(|f| format!("  {f}")));
        }
        l
    }

    fn slurm_words(&self) -> String {
        let words: Vec<String> = self
            .slurm
            .iter()
            .map(|(state, n, reasons)| {
                if reasons.is_empty() {
                    format!("{n} {state}")
                } else {
                    format!("{n} {state} ({})", reasons.join(", "))
                }
            })
            .collect();
        words.join(", ")
    }

    /// One line for a pipe or a log file, and the same without the clock and ETAs: a new line
    /// is printed only when the latter changes (or every [`HEARTBEAT_LOOKS`] looks).
    fn plain_line(&self) -> (String, String) {
        let t = self.total();
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|(k, c)| {
                let all = c.done + c.running + c.pending + c.failed + c.unavailable;
                let mut s = format!("{} {}/{all}", k.name(), c.done);
                if c.running > 0 {
                    let _ = write!(s, " {} running", c.running);
                }
                if c.failed > 0 {
                    let _ = write!(s, " {} failed", c.failed);
                }
                s
            })
            .collect();
        let mut key = format!(
            "done {}/{} running {} pending {} failed {}",
            t.done,
            t.done + t.running + t.pending + t.failed + t.unavailable,
            t.running,
            t.pending,
            t.failed
        );
        let _ = write!(key, " [{}]", stages.join(", "));
        let mut line = key.clone();
        for r in &self.running {
            let what = match r.epoch {
                Some((e, n)) => format!("{} epoch {e}/{n}", r.what),
                None => r.what.clone(),
            };
            let _ = write!(key, " | {what}");
            let _ = write!(line, " | {what}");
            if let Some(eta) = r.eta {
                let _ = write!(line, " eta {}", duration(eta));
            }
        }
        if !self.slurm.is_empty() {
            let s = format!(" | slurm: {}", self.slurm_words());
            key.push_str(&s);
            line.push_str(&s);
        }
        (key, format!("{} {line}", clock(self.now)))
    }
}

impl Running {
    fn describe(&self) -> String {
        let mut s = self.what.clone();
        if let Some((e, n)) = self.epoch {
            let _ = write!(s, "  epoch {e}/{n}");
        }
        match self.eta {
            Some(eta) => {
                let _ = write!(s, "  eta {}", duration(eta));
            }
            None if self.epoch.is_some() => s.push_str("  eta ? (first epoch)"),
            None => {}
        }
        if let Some(el) = self.elapsed {
            let _ = write!(s, "  elapsed {}", duration(el));
        }
        if let Some(sl) = &self.slurm {
            let _ = write!(s, "  [{sl}]");
        }
        s
    }
}

/// Where a running job stands: its checkpoint's epochs, and the start and resumption in its log.
fn running_job(store: &Store, job: &Job, row: &StatusRow, now: u64) -> Running {
    let entry = store.entry(job.kind(), &job.hash);
    let what = format!("{} {}", job.kind().name(), job.label.describe());
    let log = std::fs::read_to_string(entry.file(LOG_FILE)).unwrap_or_default();
    let (started, resumed_at) = last_start(&log);
    let epoch = match &job.spec {
        JobSpec::Train(t) => {
            let ck = entry.file(CHECKPOINT_FILE);
            let done = checkpoint_epochs_done(&ck).unwrap_or(0);
            let written = std::fs::metadata(&ck).and_then(|m| m.modified()).ok().map(secs_of);
            Some((done, t.train.epochs, written))
        }
        _ => None,
    };
    let eta = match (epoch, started) {
        (Some((done, total, Some(written))), Some(start)) => {
            eta_secs(start, resumed_at.unwrap_or(0), done, total, written, now)
        }
        _ => None,
    };
    let slurm = row
        .slurm
        .as_ref()
        .filter(|s| s.state.as_deref() == Some("running"))
        .map(|s| format!("slurm {} on {}", s.task_id, s.node.clone().unwrap_or_default()));
    Running { what, epoch: epoch.map(|(d, t, _)| (d, t)), elapsed: started.map(|s| now.saturating_sub(s)), eta, slurm }
}

/// Seconds left: the epochs trained since the start (`start`, resumed after epoch `base`) took
/// `written - start` seconds; the rest take as long each, less the time since the last one.
fn eta_secs(start: u64, base: u32, done: u32, total: u32, written: u64, now: u64) -> Option<u64> {
    if done <= base || written < start {
        return None;
    }
    let per = (written - start) as f64 / f64::from(done - base);
    let left = per * f64::from(total.saturating_sub(done)) - now.saturating_sub(written) as f64;
    Some(left.max(0.0).round() as u64)
}

/// The last `start` line of a job's log (seconds since the epoch) and the epoch a training
/// resumed after, if it did after that start.
fn last_start(log: &str) -> (Option<u64>, Option<u32>) {
    let mut start = None;
    let mut resumed = None;
    for line in log.lines() {
        let Some((ts, text)) = line.split_once(' ') else { continue };
        if text.starts_with("start ") {
            start = parse_rfc3339(ts);
            resumed = None;
        } else if let Some(rest) = text.strip_prefix("resuming from checkpoint after epoch ") {
            resumed = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    (start, resumed)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (as [`fer_core::clock::now_rfc3339`] writes it) to seconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (proleptic Gregorian), the inverse of `clock::format_rfc3339`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

fn secs_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn now_secs() -> u64 {
    secs_of(SystemTime::now())
}

/// `HH:MM:SS UTC` of a time.
fn clock(secs: u64) -> String {
    let full = fer_core::clock::format_rfc3339(secs);
    format!("{} UTC", &full[11..19])
}

/// `1h02m`, `3m05s` or `42s`.
fn duration(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Columns and rows of the terminal on stdout (80x24 when it cannot be asked).
fn terminal_size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ fills a `winsize` we own; nothing else is touched.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 && ws.ws_row > 0 {
        (usize::from(ws.ws_col), usize::from(ws.ws_row))
    } else {
        (80, 24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_back() {
        for secs in [0, 951_782_400, 1_795_000_000, 1_800_000_123] {
            assert_eq!(parse_rfc3339(&fer_core::clock::format_rfc3339(secs)), Some(secs));
        }
        assert_eq!(parse_rfc3339("2026-11-30 05:00:00"), None);
    }

    #[test]
    fn eta_from_epochs_since_the_start() {
        // Resumed after epoch 2 at t=100; epoch 4 finished at t=140: 20 s an epoch.
        assert_eq!(eta_secs(100, 2, 4, 10, 140, 145), Some(6 * 20 - 5));
        // No epoch finished since the start: no estimate yet.
        assert_eq!(eta_secs(100, 2, 2, 10, 90, 145), None);
        // Overdue: zero, never negative.
        assert_eq!(eta_secs(100, 0, 1, 2, 110, 500), Some(0));
    }

    #[test]
    fn the_last_start_and_its_resumption_count() {
        let log = "2026-11-30T05:00:00Z start train on cpu with 1 thread(s): m on d seed=1\n\
                   2026-11-30T05:00:01Z resuming from checkpoint after epoch 3 of 9\n\
                   2026-11-30T05:01:00Z start train on cpu with 1 thread(s): m on d seed=1\n";
        let (start, resumed) = last_start(log);
        assert_eq!(start, parse_rfc3339("2026-11-30T05:01:00Z"));
        assert_eq!(resumed, None);
        let (_, resumed) = last_start(&log[..log.rfind("2026-11-30T05:01").unwrap()]);
        assert_eq!(resumed, Some(3));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(3720), "1h02m");
    }
}
