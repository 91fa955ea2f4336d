//! Consumers of runner events: a live display (indicatif) for terminals, plain lines otherwise.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::events::{EventSink, JobEvent, Outcome, RunEvent};

/// Formats seconds as `1h02m`, `3m05s` or `12.3s`.
pub fn human_secs(s: f64) -> String {
    if s >= 3600.0 {
        format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    } else if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Done { summary } => format!("done: {summary}"),
        Outcome::Interrupted => "interrupted (checkpoint kept; run again to resume)".into(),
        Outcome::Failed { message } => {
            format!("FAILED: {}", message.lines().next().unwrap_or_default())
        }
        Outcome::Skipped { reason } => format!("skipped: {reason}"),
    }
}

fn epoch_text(ev: &JobEvent) -> Option<String> {
    match ev {
        JobEvent::Started { epochs, resumed_from: Some(e), .. } => Some(format!("resuming after epoch {e}/{epochs}")),
        JobEvent::Epoch { epoch, epochs, train_loss, train_acc, val_acc, seconds } => Some(format!(
            "epoch {epoch}/{epochs} loss {train_loss:.3} acc {:.1}% val {:.1}% ETA {}",
            train_acc * 100.0,
            val_acc * 100.0,
            human_secs(seconds * (*epochs - *epoch) as f64)
        )),
        JobEvent::Note { text } => Some(text.clone()),
        JobEvent::Waiting => Some("waiting for another run that holds this job".into()),
        _ => None,
    }
}

/// Plain lines on stderr (logs, CI, pipes).
pub struct LineSink {
    pub verbose: bool,
    pub total: usize,
    pub ended: usize,
    /// Job ids by index, to name them in warnings.
    names: HashMap<usize, String>,
}

impl LineSink {
    pub fn new(verbose: bool) -> LineSink {
        LineSink { verbose, total: 0, ended: 0, names: HashMap::new() }
    }
}

impl EventSink for LineSink {
    fn on(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Planned { total, cached, to_run } => {
                self.total = *total;
                self.ended = *cached;
                eprintln!("{total} jobs: {cached} cached, {to_run} to run");
            }
            RunEvent::JobStarted { index, id, describe } => {
                self.names.insert(*index, id.clone());
                eprintln!("start  {id} {describe}");
            }
            RunEvent::Job { index, event: JobEvent::Warning { text } } => {
                eprintln!("warning: {}: {text}", self.names.get(index).map(String::as_str).unwrap_or("job"));
            }
            RunEvent::Job { index, event } => {
                if self.verbose {
                    if let Some(t) = epoch_text(event) {
                        eprintln!("       job {index}: {t}");
                    }
                }
            }
            RunEvent::JobEnded { id, describe, outcome, seconds, .. } => {
                self.ended += 1;
                eprintln!(
                    "[{}/{}] {id} {describe} {} ({})",
                    self.ended,
                    self.total,
                    outcome_text(outcome),
                    human_secs(*seconds)
                );
            }
            RunEvent::JobCached { .. } | RunEvent::Finished { .. } => {}
        }
    }
}

/// A live display: one bar for the run, one line per running job.
pub struct BarSink {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: HashMap<usize, (ProgressBar, String)>,
}

impl BarSink {
    pub fn new() -> BarSink {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} jobs {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        BarSink { multi, overall, bars: HashMap::new() }
    }
}

impl Default for BarSink {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSink for BarSink {
    fn on(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Planned { total, cached, to_run } => {
                self.overall.set_length(*total as u64);
                self.overall.set_position(*cached as u64);
                self.overall.set_message(format!("({cached} cached, {to_run} to run)"));
            }
            RunEvent::JobStarted { index, id, describe } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                let prefix = format!("{id} {describe}");
                bar.set_prefix(prefix.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                self.bars.insert(*index, (bar, prefix));
            }
            RunEvent::Job { index, event: JobEvent::Warning { text } } => {
                let name = self.bars.get(index).map(|(_, p)| p.as_str()).unwrap_or("job");
                let _ = self.multi.println(format!("warning: {name}: {text}"));
            }
            RunEvent::Job { index, event } => {
                if let (Some((bar, _)), Some(t)) = (self.bars.get(index), epoch_text(event)) {
                    bar.set_message(t);
                }
            }
            RunEvent::JobEnded { index, id, describe, outcome, seconds } => {
                if let Some((bar, _)) = self.bars.remove(index) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                self.overall.inc(1);
                let _ =
                    self.multi.println(format!("{id} {describe} {} ({})", outcome_text(outcome), human_secs(*seconds)));
            }
            RunEvent::JobCached { .. } => {}
            RunEvent::Finished { .. } => {
                self.overall.finish_and_clear();
            }
        }
    }
}
