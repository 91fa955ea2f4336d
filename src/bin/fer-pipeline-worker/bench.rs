//! `fer-pipeline bench`: throughput and latency of each model against PyTorch eager on the same
//! architecture, data, batch size and threads, and planning times; printed side by side and
//! written as CSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use fer_train::bench::{faces, planning, reference, throughput};
use fer_pipeline::error::Error;
use fer_train::device;
use fer_core::spec::{DeviceRequest, ModelSpec, Variant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchArgs {
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

/// `fer-pipeline bench`.
pub fn bench_cmd(args: &BenchArgs) -> Result<String, Error> {
    let req = DeviceRequest::parse(&args.device).map_err(Error::Usage)?;
    let dev = device::resolve(req).map_err(Error::Device)?;
    device::configure(dev, false);
    tch::set_num_threads(args.threads as i32);
    let script = Path::new("benches/torch_reference.py");
    // `pack` only when asked: it is about sharing a GPU.
    let want = |s: &str| if args.sections.is_empty() { s != "pack" } else { args.sections.iter().any(|x| x == s) };
    let mut rows: Vec<Row> = Vec::new();
    let mut notes = Vec::new();
    let common = |m: &ModelSpec, classes: usize, batch: i64| {
        let mut a = vec![
            "--model".to_string(),
            m.display(),
            "--batch".into(),
            batch.to_string(),
            "--classes".into(),
            classes.to_string(),
            "--threads".into(),
            args.threads.to_string(),
            "--device".into(),
            device::name(dev),
            "--steps".into(),
            args.steps.to_string(),
        ];
        if let ModelSpec::InceptionV3 { input_size, .. } = m {
            a.extend(["--side".into(), input_size.to_string()]);
        }
        a
    };
    let chosen =
        || models().into_iter().filter(|(m, _, _)| args.models.is_empty() || args.models.contains(&m.display()));
    if want("train") {
        for (m, classes, batch) in chosen() {
            let steps = if matches!(m, ModelSpec::InceptionV3 { .. }) && !dev.is_cuda() {
                args.steps.min(6)
            } else {
                args.steps
            };
            // Interleaved, best of two rounds each: the machine is shared and noisy.
            let mut ours = 0f64;
            let mut theirs: Option<f64> = None;
            for _ in 0..2 {
                ours = ours.max(throughput::train_images_per_s(&m, classes, batch, steps, 3, 2048, dev));
                if args.no_reference {
                    continue;
                }
                let mut a = common(&m, classes, batch);
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
                let mut a = common(&m, classes, batch);
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
    }
    if want("latency") {
        for (m, classes, _) in chosen() {
            let (b1, b64) = throughput::latency_ms(&m, classes, dev, 30);
            let mut a = common(&m, classes, 1);
            a.extend(["--mode".into(), "latency".into()]);
            let r = reference::run(script, &a);
            rows.push(Row {
                section: "latency",
                item: format!("{} batch 1", m.display()),
                metric: "ms",
                ours: b1,
                theirs: field(&r, "ms_batch1"),
                reference: "pytorch eager",
            });
            rows.push(Row {
                section: "latency",
                item: format!("{} batch 64", m.display()),
                metric: "ms",
                ours: b64,
                theirs: field(&r, "ms_batch64"),
                reference: "pytorch eager",
            });
        }
    }
    if want("pack") {
        // Several training processes sharing the device: aggregate images/s of Deep-Emotion.
        let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
        let dir = tempfile::tempdir().map_err(|e| Error::Usage(e.to_string()))?;
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
                total += csv
                    .lines()
                    .nth(1)
                    .and_then(|l| l.split(',').nth(3))
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0);
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
    }
    if want("faces") {
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
    }
    if want("plan") {
        let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
        let dir = tempfile::tempdir().map_err(|e| Error::Usage(e.to_string()))?;
        let mut n = 1000;
        while n <= args.plan_max {
            let file = dir.path().join(format!("bench-{n}.yaml"));
            std::fs::write(&file, planning::pipeline_text(n)).map_err(|e| Error::Usage(e.to_string()))?;
            let store = dir.path().join(format!("store-{n}"));
            let (secs, ok, err) =
                planning::time_command(Command::new(&exe).arg("--store").arg(&store).arg("plan").arg(&file));
            if !ok {
                notes.push(format!("plan {n}: {err}"));
            }
            rows.push(Row {
                section: "plan",
                item: format!("plan, {n} jobs"),
                metric: "s",
                ours: secs,
                theirs: None,
                reference: "",
            });
            if n == 10_000 {
                let s = fer_core::store::Store::new(&store);
                let jobs = planning::fabricate_finished(&s, &file).map_err(Error::Usage)?;
                let (secs, ok, err) = planning::time_command(
                    Command::new(&exe)
                        .arg("-q")
                        .arg("--store")
                        .arg(&store)
                        .arg("run")
                        .arg(&file)
                        .arg("--device")
                        .arg("cpu")
                        .arg("--no-report"),
                );
                if !ok {
                    notes.push(format!("no-op run: {err}"));
                }
                rows.push(Row {
                    section: "plan",
                    item: format!("no-op re-run, {jobs} finished jobs"),
                    metric: "s",
                    ours: secs,
                    theirs: None,
                    reference: "",
                });
            }
            n *= 10;
        }
    }

    let mut out = format!(
        "fer-pipeline bench: device {}, {} thread(s), libtorch {}\n{:<8} {:<38} {:>12} {:>12} {:>7}  {}\n",
        device::name(dev),
        args.threads,
        fer_pipeline::LIBTORCH_VERSION,
        "SECTION",
        "ITEM",
        "OURS",
        "REFERENCE",
        "RATIO",
        "REFERENCE IS"
    );
    let mut csv = String::from("section,item,metric,ours,reference,ratio,reference_is,device,threads\n");
    for r in &rows {
        // Ratio > 1 means we are better: more images/s, or fewer ms.
        let ratio = r.theirs.map(|t| if r.metric == "images/s" { r.ours / t } else { t / r.ours });
        let f = |v: f64| if r.metric == "images/s" { format!("{v:.0}") } else { format!("{v:.3}") };
        let _ = writeln!(
            out,
            "{:<8} {:<38} {:>12} {:>12} {:>7}  {}",
            r.section,
            r.item,
            format!("{} {}", f(r.ours), r.metric),
            r.theirs.map(f).unwrap_or_else(|| "-".into()),
            ratio.map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into()),
            r.reference
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},\"{}\",{},{}",
            r.section,
            r.item,
            r.metric,
            r.ours,
            r.theirs.map(|v| v.to_string()).unwrap_or_default(),
            ratio.map(|v| v.to_string()).unwrap_or_default(),
            r.reference,
            device::name(dev),
            args.threads
        );
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    if let Some(parent) = args.out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&args.out, csv)
        .map_err(|e| Error::Usage(format!("failed to write `{}`: {e}", args.out.display())))?;
    let _ = writeln!(out, "written: {}", args.out.display());
    Ok(out)
}
