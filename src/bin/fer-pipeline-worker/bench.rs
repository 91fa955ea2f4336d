//! `fer-pipeline bench`: throughput and latency of each model against PyTorch eager on the same
//! architecture, data, batch size and threads; the orchestrator's costs (plan, no-op re-run,
//! per-job overhead, start-up) against the same work with LibTorch loaded; face detection; and,
//! in a checkout, incremental rebuild times. Printed side by side and written as CSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use fer_core::spec::{DeviceRequest, ModelSpec, Variant};
use fer_pipeline::error::Error;
use fer_train::bench::{faces, planning, reference, throughput};
use fer_train::device;
use tch::Device;

/// What to measure.
#[derive(Debug, Clone)]
pub(crate) struct BenchArgs {
    pub threads: u32,
    pub device: String,
    pub steps: usize,
    pub sections: Vec<String>,
    pub out: PathBuf,
    /// Largest planning benchmark (jobs).
    pub plan_max: usize,
    /// Only these models (display names, e.g. `deep-emotion`, `microexpnet-xxs`).
    pub models: Vec<String>,
    /// Skip the PyTorch side.
    pub no_reference: bool,
}

struct Row {
    section: &'static str,
    item: String,
    metric: &'static str,
    ours: f64,
    theirs: Option<f64>,
    reference: &'static str,
}

fn models() -> Vec<(ModelSpec, usize, i64)> {
    let mut v = vec![(ModelSpec::deep_emotion(), 7, 128)];
    for variant in [Variant::Xxs, Variant::Xs, Variant::S, Variant::M] {
        v.push((ModelSpec::microexpnet(variant), 8, 64));
    }
    v.push((ModelSpec::inception_v3(75), 7, 32));
    v
}

fn field(v: &Result<serde_json::Value, String>, k: &str) -> Option<f64> {
    v.as_ref().ok().and_then(|j| j[k].as_f64())
}

/// Where the benchmarks run and what they write.
struct Ctx<'a> {
    args: &'a BenchArgs,
    dev: Device,
    script: &'a Path,
}

impl Ctx<'_> {
    /// The reference script's common arguments for one model.
    fn common(&self, m: &ModelSpec, classes: usize, batch: i64) -> Vec<String> {
        let mut a = vec![
            "--model".to_string(),
            m.display(),
            "--batch".into(),
            batch.to_string(),
            "--classes".into(),
            classes.to_string(),
            "--threads".into(),
            self.args.threads.to_string(),
            "--device".into(),
            device::name(self.dev),
            "--steps".into(),
            self.args.steps.to_string(),
        ];
        if let ModelSpec::InceptionV3 { input_size, .. } = m {
            a.extend(["--side".into(), input_size.to_string()]);
        }
        a
    }

    /// The models asked for.
    fn chosen(&self) -> impl Iterator<Item = (ModelSpec, usize, i64)> + '_ {
        models().into_iter().filter(|(m, _, _)| self.args.models.is_empty() || self.args.models.contains(&m.display()))
    }
}

/// `fer-pipeline bench`.
pub(crate) fn bench_cmd(args: &BenchArgs) -> Result<String, Error> {
    let req = DeviceRequest::parse(&args.device).map_err(Error::Usage)?;
    let dev = device::resolve(req).map_err(Error::Device)?;
    device::configure(dev, false);
    tch::set_num_threads(args.threads as i32);
    let ctx = Ctx { args, dev, script: Path::new("benches/torch_reference.py") };
    // `pack` and `rebuild` only when asked: one is about sharing a GPU, the other needs a checkout.
    let want = |s: &str| {
        if args.sections.is_empty() {
            s != "pack" && s != "rebuild"
        } else {
            args.sections.iter().any(|x| x == s)
        }
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut notes = Vec::new();
    type Section = fn(&Ctx<'_>, &mut Vec<Row>, &mut Vec<String>) -> Result<(), Error>;
    let sections: [(&str, Section); 7] = [
        ("train", train_rows),
        ("latency", latency_rows),
        ("pack", pack_rows),
        ("faces", faces_rows),
        ("plan", plan_rows),
        ("overhead", overhead_rows),
        ("rebuild", rebuild_rows),
    ];
    for (name, section) in sections {
        if want(name) {
            section(&ctx, &mut rows, &mut notes)?;
        }
    }
    let out = render(&ctx, &rows, &notes);
    write_csv(&ctx, &rows)?;
    Ok(format!("{out}written: {}\n", args.out.display()))
}

/// Training throughput against PyTorch eager (in memory, and as the public code feeds it).
fn train_rows(ctx: &Ctx<'_>, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Result<(), Error> {
    let (args, dev, script) = (ctx.args, ctx.dev, ctx.script);
    for (m, classes, batch) in ctx.chosen() {
        let steps =
            if matches!(m, ModelSpec::InceptionV3 { .. }) && !dev.is_cuda() { args.steps.min(6) } else { args.steps };
        // Interleaved, best of two rounds each: the machine is shared and noisy.
        let mut ours = 0f64;
        let mut theirs: Option<f64> = None;
        for _ in 0..2 {
            ours = ours.max(throughput::train_images_per_s(&m, classes, batch, steps, 3, 2048, dev));
            if args.no_reference {
                continue;
            }
            let mut a = ctx.common(&m, classes, batch);
            a.extend(["--mode".into(), "train-memory".into(), "--steps".into(), steps.to_string()]);
            let r = reference::run(script, &a);
            if let Err(e) = &r {
                notes.push(format!("{}: {e}", m.display()));
            }
            theirs = match (theirs, field(&r, "images_per_s")) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        rows.push(Row {
            section: "train",
            item: format!("{} bs{batch}", m.display()),
            metric: "images/s",
            ours,
            theirs,
            reference: "pytorch eager, tensors in memory",
        });
        if matches!(m, ModelSpec::DeepEmotion { .. }) && !args.no_reference {
            let mut a = ctx.common(&m, classes, batch);
            a.extend(["--mode".into(), "train-jpeg".into(), "--images".into(), "1024".into()]);
            let r = reference::run(script, &a);
            if let Err(e) = &r {
                notes.push(format!("deep-emotion jpeg: {e}"));
            }
            rows.push(Row {
                section: "train",
                item: format!("{} bs{batch}", m.display()),
                metric: "images/s",
                ours,
                theirs: field(&r, "images_per_s"),
                reference: "pytorch as the public code feeds it (JPEG + PIL + DataLoader)",
            });
        }
    }
    Ok(())
}

/// Inference latency at batch 1 and 64 against PyTorch eager.
fn latency_rows(ctx: &Ctx<'_>, rows: &mut Vec<Row>, _notes: &mut Vec<String>) -> Result<(), Error> {
    let (dev, script) = (ctx.dev, ctx.script);
    for (m, classes, _) in ctx.chosen() {
        let (b1, b64) = throughput::latency_ms(&m, classes, dev, 30);
        let mut a = ctx.common(&m, classes, 1);
        a.extend(["--mode".into(), "latency".into()]);
        let r = reference::run(script, &a);
        for (batch, ours, key) in [(1, b1, "ms_batch1"), (64, b64, "ms_batch64")] {
            rows.push(Row {
                section: "latency",
                item: format!("{} batch {batch}", m.display()),
                metric: "ms",
                ours,
                theirs: field(&r, key),
                reference: "pytorch eager",
            });
        }
    }
    Ok(())
}

/// Several training processes sharing the device: aggregate images/s of Deep-Emotion.
fn pack_rows(ctx: &Ctx<'_>, rows: &mut Vec<Row>, _notes: &mut Vec<String>) -> Result<(), Error> {
    let args = ctx.args;
    // Several training processes sharing the device: aggregate images/s of Deep-Emotion.
    let exe = std::env::current_exe().map_err(|e| Error::io("find", "this program", e))?;
    let dir = tempdir()?;
    let mut base = None;
    for n in [1usize, 2, 4, 8] {
        let children: Vec<_> = (0..n)
            .map(|i| {
                let out = dir.path().join(format!("pack-{n}-{i}.csv"));
                let child = Command::new(&exe)
                    .args(["bench", "--only", "train", "--no-reference", "--models", "deep-emotion"])
                    .args(["--device", &args.device, "--threads", &args.threads.to_string()])
                    .args(["--steps", &args.steps.to_string()])
                    .arg("--out")
                    .arg(&out)
                    .stdout(std::process::Stdio::null())
                    .spawn();
                (child, out)
            })
            .collect();
        let mut total = 0.0;
        for (child, out) in children {
            if let Ok(mut c) = child {
                let _ = c.wait();
            }
            let csv = std::fs::read_to_string(&out).unwrap_or_default();
            total += first_value(&csv, "ours").unwrap_or(0.0);
        }
        let base = *base.get_or_insert(total);
        rows.push(Row {
            section: "pack",
            item: format!("deep-emotion bs128 x {n} jobs at once"),
            metric: "images/s",
            ours: total,
            theirs: Some(base),
            reference: "aggregate; reference = 1 job",
        });
    }
    Ok(())
}

/// Face detection speed on 640x490 frames.
fn faces_rows(_ctx: &Ctx<'_>, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Result<(), Error> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    match faces::detection_speed(64, all) {
        Ok(f) => {
            for (threads, rate) in &f.rates {
                rows.push(Row {
                    section: "faces",
                    item: format!("detect, 640x490 frames, {threads} thread(s)"),
                    metric: "images/s",
                    ours: *rate,
                    theirs: None,
                    reference: "",
                });
            }
            rows.push(Row {
                section: "faces",
                item: "detect, 640x490 frames, per CPU second".to_string(),
                metric: "images/s",
                ours: f.per_cpu_s,
                theirs: None,
                reference: "one thread's images per second of CPU time",
            });
            notes.push(format!("faces: found in {} of {} frames ({})", f.found, f.frames, f.source));
        }
        Err(e) => notes.push(format!("faces: {e}")),
    }
    Ok(())
}

/// The orchestrator's commands on large plans, in `fer-pipeline` (which never loads LibTorch)
/// and, side by side, the same command in the worker (LibTorch loaded): `plan` of 1,000 x 10^k
/// jobs, and the no-op re-run of 10,000 finished jobs.
fn plan_rows(ctx: &Ctx<'_>, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Result<(), Error> {
    let (ours, worker) = programs()?;
    let dir = tempdir()?;
    let mut n = 1000;
    while n <= ctx.args.plan_max {
        let file = dir.path().join(format!("bench-{n}.yaml"));
        std::fs::write(&file, planning::pipeline_text(n)).map_err(|e| Error::io("write", &file, e))?;
        let store = dir.path().join(format!("store-{n}"));
        let mut plan = |exe: &Path| {
            let mut c = Command::new(exe);
            c.arg("--store").arg(&store).arg("plan").arg(&file);
            best_of(2, &mut c, notes, &format!("plan {n}"))
        };
        let (a, b) = (plan(&ours), plan(&worker));
        rows.push(Row::secs("plan", format!("plan, {n} jobs"), a, b, "the same in the worker (LibTorch loaded)"));
        if n == 10_000 {
            let s = fer_core::store::Store::new(&store);
            let jobs = planning::fabricate_finished(&s, &file).map_err(Error::Usage)?;
            let mut noop = |exe: &Path| {
                let mut c = Command::new(exe);
                c.args(["-q", "--store"]).arg(&store).arg("run").arg(&file).args(["--device", "cpu", "--no-report"]);
                best_of(2, &mut c, notes, "no-op run")
            };
            let (a, b) = (noop(&ours), noop(&worker));
            let item = format!("no-op re-run, {jobs} finished jobs");
            rows.push(Row::secs("plan", item, a, b, "the same in the worker (LibTorch loaded)"));
        }
        n *= 10;
    }
    Ok(())
}

/// The executor's own cost per job: `run` of up to 10,000 jobs whose bodies are empty (each
/// still a child process taking its entry's lock and writing its record, provenance and `done`
/// marker), against the start-up of one worker process (what each real job adds to that).
fn overhead_rows(ctx: &Ctx<'_>, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Result<(), Error> {
    let (ours, worker) = programs()?;
    let mut version = |exe: &Path| best_of(3, Command::new(exe).arg("--version"), notes, "--version");
    let (a, b) = (version(&ours), version(&worker));
    rows.push(Row::secs(
        "overhead",
        "process start-up (--version)".into(),
        a,
        b,
        "the worker (LibTorch's initialisers)",
    ));
    let n = ctx.args.plan_max.min(10_000);
    let dir = tempdir()?;
    let file = dir.path().join("empty.yaml");
    std::fs::write(&file, planning::pipeline_text(n)).map_err(|e| Error::io("write", &file, e))?;
    let store = dir.path().join("store");
    let mut c = Command::new(&ours);
    c.args(["-q", "--store"]).arg(&store).arg("run").arg(&file).args(["--device", "cpu", "--no-report"]);
    c.env(fer_pipeline::commands::EMPTY_JOBS_ENV, "1");
    let (secs, ok, err) = planning::time_command(&mut c);
    if !ok {
        notes.push(format!("empty jobs: {err}"));
    }
    let jobs = planning::count_done(&store);
    if jobs > 0 {
        let per_job = secs / jobs as f64;
        rows.push(Row::secs(
            "overhead",
            format!("run, per job ({jobs} empty jobs)"),
            per_job,
            b,
            "one worker start-up",
        ));
        notes.push(format!(
            "executor: {jobs} empty jobs in {secs:.1} s on {} slot(s)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
    }
    Ok(())
}

/// Incremental rebuild times of the binaries (`cargo build --bins`, the dev profile) after
/// touching one report file, against touching one core file; only in a checkout.
fn rebuild_rows(_ctx: &Ctx<'_>, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Result<(), Error> {
    let report = Path::new("crates/fer-report/src/tables.rs");
    let core = Path::new("crates/fer-core/src/spec/compile.rs");
    if !report.is_file() || !core.is_file() {
        notes.push("rebuild: skipped (run it from the root of a fer-pipeline checkout)".into());
        return Ok(());
    }
    let build = |touched: &Path, notes: &mut Vec<String>| -> f64 {
        let _ = Command::new("cargo").args(["build", "--bins", "-q"]).status();
        let _ = Command::new("touch").arg(touched).status();
        let (secs, ok, err) = planning::time_command(Command::new("cargo").args(["build", "--bins", "-q"]));
        if !ok {
            notes.push(format!("rebuild: {err}"));
        }
        secs
    };
    let (a, b) = (build(report, notes), build(core, notes));
    rows.push(Row::secs("rebuild", format!("touch {}", report.display()), a, b, "touching a core file instead"));
    Ok(())
}

/// A scratch folder for a benchmark.
fn tempdir() -> Result<tempfile::TempDir, Error> {
    tempfile::tempdir().map_err(|e| Error::io("create a folder in", std::env::temp_dir(), e))
}

/// `fer-pipeline` (beside this worker) and this worker.
fn programs() -> Result<(PathBuf, PathBuf), Error> {
    let worker = std::env::current_exe().map_err(|e| Error::io("find", "this program", e))?;
    let ours = worker.with_file_name("fer-pipeline");
    match ours.is_file() {
        true => Ok((ours, worker)),
        false => Err(Error::io("find", ours, std::io::ErrorKind::NotFound.into())),
    }
}

/// The fastest of `n` runs of `cmd`, in seconds; a failure is noted.
fn best_of(n: usize, cmd: &mut Command, notes: &mut Vec<String>, what: &str) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let (secs, ok, err) = planning::time_command(cmd);
        if !ok {
            notes.push(format!("{what}: {err}"));
        }
        best = best.min(secs);
    }
    best
}

impl Row {
    /// A row in seconds; `theirs` is the side-by-side reference (ratio: how many times faster).
    fn secs(section: &'static str, item: String, ours: f64, theirs: f64, reference: &'static str) -> Row {
        Row { section, item, metric: "s", ours, theirs: Some(theirs), reference }
    }

    /// More than 1: ours is better (more images/s, or fewer ms or s).
    fn ratio(&self) -> Option<f64> {
        self.theirs.map(|t| if self.metric == "images/s" { self.ours / t } else { t / self.ours })
    }
}

/// The value in `column` of the first data line of CSV text (by the header's names).
fn first_value(csv: &str, column: &str) -> Option<f64> {
    let mut lines = csv.lines();
    let index = lines.next()?.split(',').position(|h| h == column)?;
    lines.next()?.split(',').nth(index)?.parse().ok()
}

/// The table printed on stdout.
fn render(ctx: &Ctx<'_>, rows: &[Row], notes: &[String]) -> String {
    let mut out = format!(
        "fer-pipeline bench: device {}, {} thread(s), libtorch {}\n{:<8} {:<40} {:>12} {:>12} {:>8}  {}\n",
        device::name(ctx.dev),
        ctx.args.threads,
        fer_pipeline::LIBTORCH_VERSION,
        "SECTION",
        "ITEM",
        "OURS",
        "REFERENCE",
        "RATIO",
        "REFERENCE IS"
    );
    for r in rows {
        let f = |v: f64| match r.metric {
            "images/s" => format!("{v:.0}"),
            "s" if v < 1.0 => format!("{:.1} ms", v * 1000.0),
            _ => format!("{v:.3}"),
        };
        let ours = if r.metric == "s" && r.ours < 1.0 { f(r.ours) } else { format!("{} {}", f(r.ours), r.metric) };
        let _ = writeln!(
            out,
            "{:<8} {:<40} {:>12} {:>12} {:>8}  {}",
            r.section,
            r.item,
            ours,
            r.theirs.map(f).unwrap_or_else(|| "-".into()),
            r.ratio().map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into()),
            r.reference
        );
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// The rows as CSV at `--out`.
fn write_csv(ctx: &Ctx<'_>, rows: &[Row]) -> Result<(), Error> {
    let mut csv = String::from("section,item,metric,ours,reference,ratio,reference_is,device,threads\n");
    for r in rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},\"{}\",{},{}",
            r.section,
            r.item,
            r.metric,
            r.ours,
            r.theirs.map(|v| v.to_string()).unwrap_or_default(),
            r.ratio().map(|v| v.to_string()).unwrap_or_default(),
            r.reference,
            device::name(ctx.dev),
            ctx.args.threads
        );
    }
    let out = &ctx.args.out;
    if let Some(parent) = out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(out, csv).map_err(|e| Error::io("write", out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_columns_by_name() {
        let csv = "section,item,metric,ours,reference\ntrain,x,images/s,812.5,\n";
        assert_eq!(first_value(csv, "ours"), Some(812.5));
        assert_eq!(first_value(csv, "missing"), None);
        assert_eq!(first_value("ours\n", "ours"), None);
    }
}
