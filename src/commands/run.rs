//! `fer-pipeline run`: plan, run what is missing in local slots, print the results.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::context::{load, store_for};
use crate::cli::{EventsFormat, ExecArgs, PipelineArgs};
use crate::error::Error;
use fer_core::exec::{self, BarSink, EventSink, JsonLinesSink, LineSink, LocalOptions, Tee};
use fer_core::plan::{self, JobKind, JobSpec};
use fer_core::records::{EvalResult, RESULT_FILE};
use fer_core::spec::DeviceRequest;
use fer_core::store::read_json;

/// Output settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Verbosity {
    pub verbose: u8,
    pub quiet: bool,
}

/// How many jobs at once, and on which devices.
fn slots(
    req: DeviceRequest,
    exec: &ExecArgs,
    threads: u32,
    jobs_cfg: Option<u32>,
    jobs_per_gpu: u32,
) -> Result<(usize, Vec<String>), Error> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // Asked of the CUDA driver, as the worker will choose: this process never loads LibTorch.
    let cuda = fer_core::gpus::cuda_devices(req)?;
    if !cuda.is_empty() {
        let gpus: Vec<String> = cuda.iter().map(|i| format!("cuda:{i}")).collect();
        let n = exec.jobs.or(jobs_cfg.map(|j| j as usize)).unwrap_or(jobs_per_gpu as usize * gpus.len());
        Ok((n.max(1), gpus))
    } else {
        let n = exec.jobs.or(jobs_cfg.map(|j| j as usize)).unwrap_or((cores / threads.max(1) as usize).max(1));
        Ok((n.max(1), vec!["cpu".into()]))
    }
}

/// `fer-pipeline run`. With `events`, stdout carries only the event stream: the results table
/// and the summary go to stderr.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_cmd(
    store_flag: &Option<PathBuf>,
    args: &PipelineArgs,
    exec_args: &ExecArgs,
    strict: bool,
    only: Option<JobKind>,
    report: Option<&std::path::Path>,
    v: Verbosity,
    events: Option<EventsFormat>,
) -> Result<String, Error> {
    let pipeline = load(args)?;
    let req = match &exec_args.device {
        Some(d) => DeviceRequest::parse(d).map_err(|e| Error::Usage(format!("--device: {e}")))?,
        None => pipeline.device,
    };
    let threads = exec_args.threads.unwrap_or(pipeline.threads);
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    let (n_slots, devices) = slots(req, exec_args, threads, pipeline.jobs, pipeline.jobs_per_gpu)?;
    let full = plan::build(&pipeline);
    let missing = plan::unavailable(&full);
    if missing.iter().any(Option::is_some) {
        let footer = super::plan::unavailable_footer(&missing);
        if strict {
            return Err(Error::Usage(format!(
                "failed to run with --strict: some data is absent or incomplete\n{}",
                footer.trim_end()
            )));
        }
        let n = missing.iter().flatten().count();
        eprint!("{footer}");
        eprintln!("warning: skipping {n} job(s) whose data is absent or incomplete (--strict makes this an error)");
    }
    let plan = plan::retain(&full, |i, j| missing[i].is_none() && only.is_none_or(|k| j.kind() == k));
    let store = store_for(store_flag, Some(&pipeline));
    store.init()?;
    super::gc::record_root(&store, args, &pipeline, &full, &missing, "run")?;
    for e in &pipeline.experiments {
        if let Some(w) = &e.init {
            store.import_blob(&w.path, &w.sha256)?;
        }
    }
    let stop = exec::install_stop(exec::StopRole::Run);
    // Jobs run in the LibTorch worker; this process never loads LibTorch.
    let exe = super::worker::job_program()?;
    let opts =
        LocalOptions { exe, slots: n_slots, devices: devices.clone(), threads, deterministic: pipeline.deterministic };
    if !v.quiet {
        eprintln!(
            "pipeline `{}`{}: {} jobs, store `{}`, {n_slots} at once on {} with {threads} thread(s) each",
            pipeline.name,
            pipeline.profile.as_ref().map(|p| format!(" (profile `{p}`)")).unwrap_or_default(),
            plan.jobs.len(),
            store.root().display(),
            devices.join(", ")
        );
    }
    let mut quiet_sink = QuietSink;
    let mut lines = LineSink::new(v.verbose > 0);
    let mut bars = BarSink::new();
    let human: &mut dyn EventSink = if v.quiet {
        &mut quiet_sink
    } else if std::io::stderr().is_terminal() && v.verbose == 0 {
        &mut bars
    } else {
        &mut lines
    };
    let mut json_sink = JsonLinesSink::new(&plan, std::io::stdout());
    let mut tee;
    let sink: &mut dyn EventSink = match events {
        Some(EventsFormat::Jsonl) => {
            tee = Tee { first: &mut json_sink, second: human };
            &mut tee
        }
        None => human,
    };
    let summary = exec::run(&plan, &store, &opts, sink, &stop)?;
    // What `main` would print on stdout, or stderr under `--events`.
    let emit = |out: &str| {
        if events.is_some() {
            eprint!("{out}");
        } else {
            // The results so far are the output even when a job failed.
            #[allow(clippy::print_stdout)]
            {
                print!("{out}");
            }
        }
    };
    let mut out = results_table(&plan, &store);
    out.push_str(&format!(
        "{} ran, {} cached, {} failed, {} skipped, {} interrupted\n",
        summary.done, summary.cached, summary.failed, summary.skipped, summary.interrupted
    ));
    for (id, msg) in &summary.failures {
        out.push_str(&format!("failed: {id}: {msg}\n"));
    }
    let stopped = stop.load(std::sync::atomic::Ordering::SeqCst);
    if let Some(dir) = report.filter(|_| !stopped) {
        // The report covers the whole pipeline (a partial one says what is missing).
        let title = format!("{}: fer-pipeline report", pipeline.name);
        match super::report::write(&store, Some((&full, pipeline.analyses)), &title, dir, false) {
            Ok(s) => out.push_str(&super::report::summary_line(&s)),
            Err(e) => out.push_str(&format!("warning: {e}\n")),
        }
    }
    if summary.interrupted > 0 || stopped {
        emit(&out);
        return Err(Error::Interrupted);
    }
    if let Some((job, message)) = summary.store_failure {
        emit(&out);
        return Err(Error::StoreFull { job, message });
    }
    if summary.failed > 0 || summary.skipped > 0 {
        emit(&out);
        return Err(Error::JobsFailed { failed: summary.failed, skipped: summary.skipped });
    }
    if events.is_some() {
        emit(&out);
        return Ok(String::new());
    }
    Ok(out)
}

struct QuietSink;

impl EventSink for QuietSink {
    fn on(&mut self, _: &exec::RunEvent) {}
}

/// One line per finished evaluation: model, data set, seed, accuracy, macro-F1.
pub fn results_table(plan: &plan::Plan, store: &fer_core::store::Store) -> String {
    let mut rows = Vec::new();
    for job in plan.jobs.iter().filter(|j| j.kind() == JobKind::Evaluate) {
        let entry = store.entry(job.kind(), &job.hash);
        if !entry.is_done_marked() {
            continue;
        }
        if let (Ok(Some(r)), JobSpec::Evaluate(_)) = (read_json::<EvalResult>(&entry.file(RESULT_FILE)), &job.spec) {
            let settings: Vec<String> = job.label.axes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rows.push(format!(
                "{:<16} {:<18} {:<16} {:<10} {:>5} {:>7.2}% {:>8.3} {:>10}",
                job.label.model,
                job.label.arch,
                settings.join(","),
                job.label.dataset,
                job.label.seed.map(|s| s.to_string()).unwrap_or_default(),
                r.test.accuracy * 100.0,
                r.test.macro_f1,
                r.trainable_params
            ));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{:<16} {:<18} {:<16} {:<10} {:>5} {:>8} {:>8} {:>10}\n",
        "MODEL", "ARCH", "SETTINGS", "DATASET", "SEED", "TEST ACC", "MACRO-F1", "PARAMS"
    );
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}
