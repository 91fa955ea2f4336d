//! Uncertainty, paired tests and distillation in the report, on a real tiny pipeline with a
//! distilled student, its plain counterpart and its teacher (2 seeds each).

use super::*;

use std::collections::HashMap;

use polars::prelude::*;

/// A teacher (Deep-Emotion), a plain MicroExpNet and the same MicroExpNet distilled from the
/// teacher at the default temperature and weight: no T or w axis.
const KD_PIPELINE: &str = "version: 1
name: stats-kd
seeds: [1, 2]
threads: 1
datasets:
  tiny: {kind: synthetic, seed: 7, subjects: 12, images_per_subject: 30, val_fraction: 0.2, test_fraction: 0.25}
models:
  de: {arch: deep-emotion, datasets: tiny, epochs: 3, lr: 0.005, batch_size: 32}
  men: {arch: microexpnet, variant: xxs, datasets: tiny, epochs: 3, lr: 0.001, batch_size: 32, multi_crop: false, input_norm: standardize}
  men-kd: {arch: microexpnet, variant: xxs, datasets: tiny, epochs: 3, lr: 0.001, batch_size: 32, multi_crop: false, input_norm: standardize, teacher: de}
";

fn csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn col_str(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

fn col_f64(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    let c = df.column(name).unwrap().cast(&DataType::Float64).unwrap();
    c.f64().unwrap().iter().collect()
}

/// One evaluate entry: its model name, seed and (index -> (label, prediction, confidence)).
struct Run {
    model: String,
    seed: u64,
    preds: HashMap<u64, (i64, i64, f64)>,
}

fn runs(store: &Path) -> Vec<Run> {
    entries(store, "evaluate")
        .into_iter()
        .map(|e| {
            let job: serde_json::Value = serde_json::from_slice(&fs::read(e.join("job.json")).unwrap()).unwrap();
            let result: serde_json::Value = serde_json::from_slice(&fs::read(e.join("result.json")).unwrap()).unwrap();
            assert_eq!(result["predictions_format"], 2, "result.json names the predictions' format");
            let text = fs::read_to_string(e.join("predictions.csv")).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("index,label,prediction,confidence"));
            let preds = lines
                .map(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    let conf: f64 = f[3].parse().unwrap();
                    assert!((1.0 / 7.0 - 1e-6..=1.0).contains(&conf), "a softmax maximum: {l}");
                    (f[0].parse().unwrap(), (f[1].parse().unwrap(), f[2].parse().unwrap(), conf))
                })
                .collect();
            Run {
                model: job["label"]["model"].as_str().unwrap().to_string(),
                seed: job["label"]["seed"].as_u64().unwrap(),
                preds,
            }
        })
        .collect()
}

/// (only a right, only b right, same prediction, images) of two runs, counted from their files.
fn discordant(a: &Run, b: &Run) -> (i64, i64, i64, i64) {
    let (mut x, mut y, mut same, mut n) = (0, 0, 0, 0);
    for (i, (la, pa, _)) in &a.preds {
        let (lb, pb, _) = b.preds[i];
        assert_eq!(*la, lb, "the same test image has the same label");
        let (ra, rb) = (pa == la, pb == lb);
        x += (ra && !rb) as i64;
        y += (rb && !ra) as i64;
        same += (*pa == pb) as i64;
        n += 1;
    }
    (x, y, same, n)
}

/// The default pipeline's two distilled students were reported as "no knowledge-distillation
/// runs" (only T or w as matrix axes counted); now every student is compared with its plain
/// counterpart and its teacher on the same test images, and the numbers are those of the
/// per-image predictions in the store.
#[test]
fn distilled_students_are_compared_with_plain_and_teacher_on_the_same_images() {
    let dir = tempfile::tempdir().unwrap();
    let (store, reports) = (dir.path().join("store"), dir.path().join("reports"));
    let pipeline = dir.path().join("kd.yaml");
    fs::write(&pipeline, KD_PIPELINE).unwrap();
    let o = run(&[
        "--store",
        &store_arg(&store),
        "run",
        pipeline.to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(!html.contains("no knowledge-distillation runs"), "the student is a distillation run");

    let runs = runs(&store);
    assert_eq!(runs.len(), 6);
    let find = |m: &str, seed: u64| runs.iter().find(|r| r.model == m && r.seed == seed).unwrap();

    // The student against its plain counterpart (seed with seed) and its teacher (the run that taught it).
    let kd = csv(&reports.join("tables/kd_comparison.csv"));
    assert_eq!(col_str(&kd, "reference_role"), ["plain", "teacher"], "{kd}");
    assert_eq!(col_str(&kd, "reference"), ["men", "de"]);
    assert_eq!(col_str(&kd, "student"), ["men-kd", "men-kd"]);
    for (row, reference) in ["men", "de"].iter().enumerate() {
        let (mut same, mut n) = (0.0, 0);
        for seed in [1, 2] {
            let (_, _, s, k) = discordant(find("men-kd", seed), find(reference, seed));
            same += s as f64 / k as f64 / 2.0;
            n = k;
        }
        let get = |name: &str| col_f64(&kd, name)[row].unwrap();
        assert_eq!(get("runs"), 2.0);
        assert_eq!(get("test_images"), n as f64);
        assert!((get("agreement") - same).abs() < 1e-9, "agreement with {reference}: {kd}");
        let p = get("p_exact");
        assert!(p > 0.0 && p <= 1.0);
        let ece = get("ece_student");
        assert!((0.0..=1.0).contains(&ece) && get("ece_change").is_finite(), "{kd}");
    }
    let teacher_weaker = col_str(&kd, "teacher_weaker");
    assert_eq!(teacher_weaker[0], "", "only against the teacher");
    assert!(["true", "false"].contains(&teacher_weaker[1].as_str()));

    // Every pair of models, runs paired by seed; the pooled counts are the files' discordant images.
    let paired = csv(&reports.join("tables/paired_comparisons.csv"));
    assert_eq!(paired.height(), 3, "{paired}");
    let (ma, mb) = (col_str(&paired, "model_a"), col_str(&paired, "model_b"));
    for i in 0..paired.height() {
        let (mut x, mut y) = (0, 0);
        for seed in [1, 2] {
            let (a, b, _, _) = discordant(find(&ma[i], seed), find(&mb[i], seed));
            x += a;
            y += b;
        }
        assert_eq!(col_f64(&paired, "only_a_right")[i], Some(x as f64), "{paired}");
        assert_eq!(col_f64(&paired, "only_b_right")[i], Some(y as f64), "{paired}");
        assert_eq!(col_f64(&paired, "runs")[i], Some(2.0));
        let (lo, hi, d) = (
            col_f64(&paired, "difference_ci_low_pp")[i].unwrap(),
            col_f64(&paired, "difference_ci_high_pp")[i].unwrap(),
            col_f64(&paired, "difference_pp")[i].unwrap(),
        );
        assert!(lo <= d && d <= hi, "{paired}");
    }
    assert_eq!(csv(&reports.join("tables/paired_runs.csv")).height(), 6);
    for stem in ["paired_comparisons", "paired_runs", "kd_comparison"] {
        assert!(reports.join(format!("tables/{stem}.parquet")).is_file(), "{stem}.parquet");
    }

    // Every accuracy of the summary carries its 95 % t-interval over the 2 runs.
    let summary = csv(&reports.join("tables/summary.csv"));
    for i in 0..summary.height() {
        let (lo, m, hi) = (
            col_f64(&summary, "accuracy_ci_low")[i].unwrap(),
            col_f64(&summary, "accuracy_mean")[i].unwrap(),
            col_f64(&summary, "accuracy_ci_high")[i].unwrap(),
        );
        assert!(lo <= m && m <= hi, "{summary}");
        assert!(col_f64(&summary, "macro_f1_ci_low")[i].is_some());
    }
    assert!(col_str(&summary, "ci_method").iter().all(|m| m == "t over 2 runs"), "{summary}");
    let jobs = csv(&reports.join("tables/jobs.csv"));
    assert!(col_f64(&jobs, "ece").iter().all(|e| e.is_some_and(|e| (0.0..=1.0).contains(&e))), "{jobs}");

    // A report of one seed shows single runs: their intervals are the bootstrap over test images.
    let one = dir.path().join("one-seed");
    let o = run(&[
        "--store",
        &store_arg(&store),
        "report",
        pipeline.to_str().unwrap(),
        "--set",
        "seeds=[1]",
        "--out",
        one.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = csv(&one.join("tables/summary.csv"));
    let images = find("de", 1).preds.len();
    for i in 0..summary.height() {
        assert_eq!(col_str(&summary, "ci_method")[i], format!("bootstrap over {images} test images (1 run)"));
        let (lo, m, hi) = (
            col_f64(&summary, "accuracy_ci_low")[i].unwrap(),
            col_f64(&summary, "accuracy_mean")[i].unwrap(),
            col_f64(&summary, "accuracy_ci_high")[i].unwrap(),
        );
        assert!(lo <= m && m <= hi && lo < hi, "{summary}");
    }
    let paired = csv(&one.join("tables/paired_comparisons.csv"));
    assert_eq!(col_f64(&paired, "runs"), [Some(1.0); 3], "one run each: McNemar alone, no t-interval");
    assert_eq!(col_f64(&paired, "difference_ci_low_pp"), [None; 3]);

    // The page: the sections, the charts and one plain sentence each.
    for needle in [
        "id=\"paired\"",
        "charts/paired-tiny.png",
        "charts/kd-gain-tiny.png",
        "Paired on the same test images of",
        "Distillation on",
        "it agrees with its teacher on",
        "95 % confidence interval in brackets",
    ] {
        assert!(html.contains(needle), "`{needle}` missing from the page");
    }
    assert!(
        html.contains(" is better than ") || html.contains("the data cannot tell"),
        "the narrative calls a winner only on the test"
    );
}
