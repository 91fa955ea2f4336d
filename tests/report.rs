//! The report on real stores: the tiny pipeline run by the real binary, a partly finished copy,
//! a headless-Chromium check of the page, and a benchmark on 1,000 fabricated evaluations.
#![allow(clippy::print_stdout)] // tests print what they measured

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use fer_core::digest::sha256_hex;
use fer_core::plan::{EvaluateSpec, JobHash, JobKind, JobLabel, JobSpec, KdInput, JOB_FORMAT};
use fer_core::records::EvalResult;
use fer_core::records::Provenance;
use fer_core::spec::{Analyses, DatasetSpec, DistillSpec, InputNorm, ModelSpec, Overrides, Variant};
use fer_core::store::{read_json, DoneRecord, FileRecord, JobRecord, Store, DONE_FILE, JOB_FILE};
use fer_report::{scope_of, write_report, ReportOptions, ScopeJob};
use polars::prelude::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tiny_yaml() -> PathBuf {
    root().join("examples/tiny.yaml")
}

/// Where test outputs worth keeping go (screenshots): `<target>/test-artifacts/`.
fn artifacts() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("test-artifacts");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh folder under the target's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-tests").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary under test, copied first: another checkout sharing the target folder may rebuild
/// it while these tests run.
fn exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = scratch("bin");
        fs::copy(env!("CARGO_BIN_EXE_fer-pipeline-worker"), dir.join("fer-pipeline-worker")).unwrap();
        let dest = dir.join("fer-pipeline");
        fs::copy(env!("CARGO_BIN_EXE_fer-pipeline"), &dest).unwrap();
        dest
    })
}

/// The store of `examples/tiny.yaml`, run once per test process by the real binary.
fn tiny_store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = scratch("tiny").join("store");
        let out = Command::new(exe())
            .env_remove("FER_STORE")
            .env_remove("RUST_LOG")
            .current_dir(root())
            .arg("--store")
            .arg(&store)
            .arg("run")
            .arg(tiny_yaml())
            .arg("--no-report")
            .output()
            .expect("the fer-pipeline binary runs");
        assert!(
            out.status.success(),
            "tiny pipeline failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The binary and this test must hash jobs alike (a binary from another checkout does not).
        let plan = fer_core::plan::build(&fer_core::spec::load(&tiny_yaml(), &Overrides::default()).unwrap());
        for job in scope_of(&plan) {
            let dir = store.join(job.kind.name()).join(job.hash.short());
            assert!(
                dir.join("done").exists(),
                "{} is not in the store: the binary under test was built from other code",
                dir.display()
            );
        }
        store
    })
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for item in fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            fs::copy(item.path(), &target).unwrap();
        }
    }
}

/// Entries of one kind: (folder, job record).
fn entries(store: &Path, kind: &str) -> Vec<(PathBuf, JobRecord)> {
    let mut v: Vec<(PathBuf, JobRecord)> = fs::read_dir(store.join(kind))
        .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let rec: JobRecord = read_json(&p.join(JOB_FILE)).unwrap().unwrap();
            (p, rec)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn read_csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(path).unwrap()).finish().unwrap()
}

fn strs(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    let c = df.column(name).unwrap().cast(&DataType::Float64).unwrap();
    c.f64().unwrap().iter().collect()
}

/// A chart or image decodes, has at least the given size, and is not blank.
fn assert_png_ok(path: &Path, min_w: u32, min_h: u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display())).to_luma8();
    assert!(img.width() >= min_w && img.height() >= min_h, "{} is {}x{}", path.display(), img.width(), img.height());
    let n = img.pixels().len() as f64;
    let mean = img.pixels().map(|p| p.0[0] as f64).sum::<f64>() / n;
    let var = img.pixels().map(|p| (p.0[0] as f64 - mean).powi(2)).sum::<f64>() / n;
    assert!(var > 0.0, "{} is blank", path.display());
}

#[test]
fn tables_match_the_evaluations_in_the_store() {
    let store_dir = tiny_store();
    let out = scratch("tables").join("reports");
    let summary = write_report(&Store::new(store_dir), None, &out, &ReportOptions::default()).unwrap();
    assert_eq!(summary.evaluations, 2);
    assert!(summary.missing.is_empty(), "{:?}", summary.missing);

    let evals: HashMap<String, EvalResult> = entries(store_dir, "evaluate")
        .into_iter()
        .map(|(p, rec)| (rec.hash.hex(), read_json(&p.join("result.json")).unwrap().unwrap()))
        .collect();
    let trains: HashMap<String, Provenance> = entries(store_dir, "train")
        .into_iter()
        .map(|(p, rec)| (rec.hash.hex(), read_json(&p.join("provenance.json")).unwrap().unwrap()))
        .collect();
    for df in [read_csv(&out.join("tables/jobs.csv")), read_parquet(&out.join("tables/jobs.parquet"))] {
        assert_eq!(df.height(), 2);
        let (hash, train) = (strs(&df, "hash"), strs(&df, "train_hash"));
        let (acc, f1) = (f64s(&df, "accuracy"), f64s(&df, "macro_f1"));
        let (params, secs) = (f64s(&df, "trainable_params"), f64s(&df, "train_seconds"));
        let (b1, lr) = (f64s(&df, "latency_ms_b1"), f64s(&df, "lr"));
        for i in 0..2 {
            let r = &evals[&hash[i]];
            assert_eq!(acc[i], Some(r.test.accuracy), "accuracy of {}", hash[i]);
            assert_eq!(f1[i], Some(r.test.macro_f1), "macro-F1 of {}", hash[i]);
            assert_eq!(params[i], Some(r.trainable_params as f64), "parameters of {}", hash[i]);
            assert_eq!(b1[i], Some(r.latency_ms_batch1));
            assert_eq!(secs[i], Some(trains[&train[i]].seconds));
            assert!(lr[i].is_some());
        }
        for col in
            ["model", "arch", "variant", "dataset", "fold", "seed", "epochs", "batch_size", "adam_beta1", "dropout"]
        {
            assert!(df.column(col).is_ok(), "jobs table lacks `{col}`");
        }
        assert_eq!(strs(&df, "dataset"), ["tiny", "tiny"]);
    }

    let summary_df = read_parquet(&out.join("tables/summary.parquet"));
    assert_eq!(summary_df.height(), 2);
    assert_eq!(f64s(&summary_df, "n"), [Some(1.0), Some(1.0)]);

    // Published figures: both FER2013 sources; the reproduced `tiny` rows have none.
    let p = read_csv(&out.join("tables/published_vs_reproduced.csv"));
    let (ds, src, pubs) = (strs(&p, "dataset"), strs(&p, "source"), f64s(&p, "published_pct"));
    let fer: Vec<usize> = (0..p.height()).filter(|&i| ds[i] == "fer2013").collect();
    assert_eq!(fer.len(), 2);
    assert!(fer.iter().all(|&i| pubs[i] == Some(70.02)));
    assert!(src[fer[0]] != src[fer[1]]);
    let tiny: Vec<usize> = (0..p.height()).filter(|&i| ds[i] == "tiny").collect();
    assert_eq!(tiny.len(), 2);
    assert!(tiny.iter().all(|&i| pubs[i].is_none()));
    let repro = f64s(&p, "reproduced_pct");
    assert!(tiny.iter().all(|&i| repro[i].is_some()));

    // KD table: empty, with its columns; curves: 4 epochs of each train job.
    let kd = read_csv(&out.join("tables/kd_effects.csv"));
    assert_eq!(kd.height(), 0);
    assert!(kd.column("temperature").is_ok() && kd.column("kd_weight").is_ok());
    assert_eq!(read_parquet(&out.join("tables/learning_curves.parquet")).height(), 8);

    // Charts: PNG and SVG, sized and not blank; every one is on the page.
    let html = fs::read_to_string(&summary.index).unwrap();
    assert!(summary.charts.len() >= 7, "{:?}", summary.charts);
    for png in &summary.charts {
        assert_png_ok(png, 500, 300);
        assert!(png.with_extension("svg").exists());
        let rel = png.strip_prefix(&out).unwrap().to_string_lossy().into_owned();
        assert!(html.contains(&format!("src=\"{rel}\"")), "{rel} is not on the page");
    }
    assert_png_ok(&out.join("images/samples-tiny-84px.png"), 50, 50);
    // The saliency entries' occlusion maps (both models) and Deep-Emotion's STN warp.
    let mut saliency: Vec<String> = fs::read_dir(out.join("images"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("saliency-"))
        .collect();
    saliency.sort();
    assert_eq!(saliency.iter().filter(|n| n.ends_with("-saliency.png")).count(), 2, "{saliency:?}");
    assert_eq!(saliency.iter().filter(|n| n.ends_with("-stn.png")).count(), 1, "{saliency:?}");
    for n in &saliency {
        assert_png_ok(&out.join("images").join(n), 20, 20);
        assert!(html.contains(&format!("src=\"images/{n}\"")), "{n} is not on the page");
    }
    assert!(html.contains("samples-tiny-84px.png"));
    assert!(html.contains("70.02"));
    assert!(html.contains(&fer_pipeline::LIBTORCH_VERSION.to_string()));
    assert!(html.contains("no knowledge-distillation runs"));
}

/// Finds headless Chromium: `FER_CHROMIUM`, else `chromium`, `chromium-browser` or
/// `google-chrome` on the PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("FER_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "this test needs headless Chromium and found none: install Debian's `chromium` package \
         (`apt-get install -y chromium`) or point FER_CHROMIUM at a Chromium binary"
    );
}

fn chromium_cmd(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// What the page's own check wrote into `#img-check` after loading, and the console lines.
struct PageCheck {
    ok: String,
    images: usize,
    broken: String,
    errors: String,
    console: Vec<String>,
}

fn attr(tag: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    tag.find(&key)
        .map(|i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_string()
        })
        .unwrap_or_default()
}

fn check_page(index: &Path, profile: &Path) -> PageCheck {
    let url = format!("file://{}", index.canonicalize().unwrap().display());
    let out = chromium_cmd(profile)
        .args(["--virtual-time-budget=10000", "--dump-dom", &url])
        .output()
        .expect("chromium starts");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<div id=\"img-check\"").expect("the page has its image check");
    let tag = &dom[start..start + dom[start..].find('>').unwrap()];
    let console =
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect();
    PageCheck {
        ok: attr(tag, "data-ok"),
        images: attr(tag, "data-images").parse().unwrap_or(0),
        broken: attr(tag, "data-broken"),
        errors: attr(tag, "data-errors"),
        console,
    }
}

#[test]
fn page_loads_every_image_in_headless_chromium() {
    let dir = scratch("browser");
    let out = dir.join("reports");
    let summary = write_report(&Store::new(tiny_store()), None, &out, &ReportOptions::default()).unwrap();

    let check = check_page(&summary.index, &dir.join("profile"));
    assert_eq!(check.ok, "true", "broken: {} errors: {} console: {:?}", check.broken, check.errors, check.console);
    assert_eq!(check.images, summary.charts.len() + summary.images);
    assert!(check.console.is_empty(), "console output: {:?}", check.console);

    let shot = artifacts().join("report-screenshot.png");
    let _ = fs::remove_file(&shot);
    let url = format!("file://{}", summary.index.canonicalize().unwrap().display());
    let status = chromium_cmd(&dir.join("profile"))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1400,4000", &url])
        .output()
        .expect("chromium starts");
    assert!(status.status.success());
    assert_png_ok(&shot, 1400, 4000);
    println!("screenshot: {}", shot.display());

    // The check catches a broken image: remove one chart from a copy of the report.
    let broken = dir.join("broken");
    copy_dir(&out, &broken);
    let victim = summary.charts[0].strip_prefix(&out).unwrap().to_path_buf();
    fs::remove_file(broken.join(&victim)).unwrap();
    let check = check_page(&broken.join("index.html"), &dir.join("profile"));
    assert_eq!(check.ok, "false");
    assert!(check.broken.contains(&*victim.to_string_lossy()), "{}", check.broken);
}

#[test]
fn partial_store_gives_a_partial_report_that_names_what_is_missing() {
    let dir = scratch("partial");
    let store_dir = dir.join("store");
    copy_dir(tiny_store(), &store_dir);
    let plan = fer_core::plan::build(&fer_core::spec::load(&tiny_yaml(), &Overrides::default()).unwrap());
    let mut scope = scope_of(&plan);
    assert_eq!(scope.len(), 8, "prepare x2, train x2, evaluate x2, saliency x2");

    // One evaluation unfinished (its done marker gone), one job never run.
    let (eval_dir, eval_rec) = entries(&store_dir, "evaluate").remove(0);
    fs::remove_file(eval_dir.join("done")).unwrap();
    let mut ghost = JobLabel { model: "ghost".into(), dataset: "tiny".into(), ..Default::default() };
    ghost.seed = Some(9);
    scope.push(ScopeJob { kind: JobKind::Evaluate, hash: JobHash([7; 32]), label: ghost });
    // A damaged result in the other evaluation is listed, not fatal.
    let (other_dir, other_rec) = entries(&store_dir, "evaluate").remove(1);

    let out = dir.join("reports");
    let s = write_report(&Store::new(&store_dir), Some(&scope), &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.evaluations, 1, "{:?}", s.missing);
    let ids: Vec<&str> = s.missing.iter().map(|m| m.id.as_str()).collect();
    let unfinished = format!("evaluate/{}", eval_rec.hash.short());
    assert!(ids.contains(&unfinished.as_str()), "{ids:?}");
    assert!(ids.contains(&"evaluate/0707070707070707"), "{ids:?}");
    let ghost_row = s.missing.iter().find(|m| m.id == "evaluate/0707070707070707").unwrap();
    assert_eq!(ghost_row.why, "not started");
    assert!(ghost_row.what.contains("ghost"));
    let html = fs::read_to_string(&s.index).unwrap();
    assert!(html.contains("Partial report"));
    assert!(html.contains(&unfinished));
    assert!(s.summary.iter().any(|l| l.contains("partial")));
    assert_eq!(read_csv(&out.join("tables/jobs.csv")).height(), 1);

    // Store-wide, a folder without a job record is listed too.
    fs::create_dir_all(store_dir.join("train/00000000deadbeef")).unwrap();
    let s = write_report(&Store::new(&store_dir), None, &dir.join("all"), &ReportOptions::default()).unwrap();
    let stray = s.missing.iter().find(|m| m.id == "train/00000000deadbeef").expect("the stray folder is listed");
    assert!(stray.why.contains("no job record"), "{stray:?}");
    assert!(s.missing.iter().any(|m| m.id == unfinished), "{:?}", s.missing);

    // Damage the remaining result: the report still comes out, with no evaluation and the reason.
    fs::write(other_dir.join("result.json"), b"{ not json").unwrap();
    let s = write_report(&Store::new(&store_dir), Some(&scope), &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.evaluations, 0);
    let damaged = s.missing.iter().find(|m| m.id == format!("evaluate/{}", other_rec.hash.short())).unwrap();
    assert!(damaged.why.contains("damaged"), "{damaged:?}");
    assert!(fs::read_to_string(&s.index).unwrap().contains("No finished evaluation"));
    assert_eq!(read_parquet(&out.join("tables/jobs.parquet")).height(), 0);
}

#[test]
fn images_of_finished_entries_join_the_gallery_and_bad_ones_are_listed() {
    let dir = scratch("gallery");
    let store_dir = dir.join("store");
    copy_dir(tiny_store(), &store_dir);
    // An evaluation that also lists an STN warp image and a damaged occlusion map, as a saliency
    // or evaluate job of a later version would.
    let (eval_dir, rec) = entries(&store_dir, "evaluate").remove(0);
    let grid = entries(&store_dir, "prepare").remove(0).0.join("samples.png");
    fs::copy(&grid, eval_dir.join("stn-warp.png")).unwrap();
    fs::write(eval_dir.join("occlusion-happy.png"), b"not a png").unwrap();
    let store = Store::new(&store_dir);
    let entry = store.entry(JobKind::Evaluate, &rec.hash);
    entry
        .finish(&["result.json", "predictions.csv", "provenance.json", "stn-warp.png", "occlusion-happy.png"])
        .unwrap();

    let out = dir.join("reports");
    let s = write_report(&store, None, &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.evaluations, 2);
    let copied = out.join(format!("images/evaluate-{}-stn-warp.png", rec.hash.short()));
    assert_png_ok(&copied, 10, 10);
    let html = fs::read_to_string(&s.index).unwrap();
    assert!(html.contains(&format!("src=\"images/evaluate-{}-stn-warp.png\"", rec.hash.short())));
    assert!(!html.contains("occlusion-happy.png\""), "a damaged image must not be on the page");
    let bad = s.missing.iter().find(|m| m.what == "occlusion-happy.png").expect("the damaged image is listed");
    assert!(bad.why.contains("not a readable image"), "{bad:?}");
    assert_eq!(check_page(&s.index, &dir.join("profile")).ok, "true");
}

/// Every file under `dir`, relative, `/`-separated, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for item in fs::read_dir(dir).unwrap().flatten() {
            let p = item.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

#[test]
fn the_manifest_lists_every_file_the_report_wrote() {
    let dir = scratch("manifest");
    let out = dir.join("reports");
    let s = write_report(&Store::new(tiny_store()), None, &out, &ReportOptions::default()).unwrap();
    assert!(s.charts.len() > 3 && s.images > 0, "a full report: {} charts, {} images", s.charts.len(), s.images);
    let m: serde_json::Value = serde_json::from_slice(&fs::read(out.join(".fer-report.json")).unwrap()).unwrap();
    assert_eq!(m["format_version"], 1);
    let mut listed: Vec<String> =
        m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    listed.sort();
    let mut on_disk = files_under(&out);
    on_disk.retain(|f| f != ".fer-report.json");
    assert_eq!(listed, on_disk, "every file written is recorded, nothing else");
    for f in m["files"].as_array().unwrap() {
        let bytes = fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(&bytes));
        assert_eq!(f["bytes"].as_u64().unwrap(), bytes.len() as u64);
    }
}

#[test]
fn shared_entries_are_labelled_by_the_pipeline_being_reported() {
    // Pipeline B: tiny.yaml's deep-emotion renamed `beta`, with an extra lr value; its lr=0.005
    // jobs are the entries tiny.yaml (model `deep-emotion`, no lr axis) already finished.
    let dir = scratch("relabel");
    let store_dir = dir.join("store");
    copy_dir(tiny_store(), &store_dir);
    let tiny = fs::read_to_string(tiny_yaml()).unwrap();
    let models = tiny.find("models:").unwrap();
    let b = format!(
        "{}models:\n  beta:\n    arch: deep-emotion\n    datasets: tiny\n    epochs: 4\n    lr: [0.005, 0.001]\n    batch_size: 32\n",
        tiny[..models].replace("name: tiny", "name: relabelled")
    );
    let b_yaml = dir.join("b.yaml");
    fs::write(&b_yaml, b).unwrap();
    let out = Command::new(exe())
        .env_remove("FER_STORE")
        .current_dir(root())
        .arg("--store")
        .arg(&store_dir)
        .args(["run", b_yaml.to_str().unwrap(), "--no-report"])
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    assert!(log.contains("2 ran, 4 cached"), "train and evaluate of lr=0.001 run, the rest is shared: {log}");

    let plan = fer_core::plan::build(&fer_core::spec::load(&b_yaml, &Overrides::default()).unwrap());
    let out = dir.join("reports");
    let s = write_report(&Store::new(&store_dir), Some(&scope_of(&plan)), &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.evaluations, 2, "{:?}", s.missing);
    let jobs = read_csv(&out.join("tables/jobs.csv"));
    assert_eq!(strs(&jobs, "model"), ["beta", "beta"]);
    let mut settings = strs(&jobs, "setting");
    settings.sort();
    assert_eq!(settings, ["lr=0.001", "lr=0.005"]);
    let summary = read_csv(&out.join("tables/summary.csv"));
    assert_eq!(strs(&summary, "model"), ["beta", "beta"]);
    let html = fs::read_to_string(&s.index).unwrap();
    assert!(!html.contains("deep-emotion on tiny"), "no label of the other pipeline on the page");
    assert!(html.contains("beta on tiny"), "the saliency map is captioned with this pipeline's name");

    // The store-wide report still shows what each entry's own record says.
    let all = write_report(&Store::new(&store_dir), None, &dir.join("all"), &ReportOptions::default()).unwrap();
    assert_eq!(all.evaluations, 3);
}

/// A deterministic number in 0..1 from a few integers.
fn noise(parts: &[u64]) -> f64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        x ^= p.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(x << 6).wrapping_add(x >> 2);
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Writes a finished entry quickly (no fsync): its files, `job.json` and the `done` marker.
fn put_entry(store: &Store, spec: &JobSpec, label: &JobLabel, files: &[(&str, &[u8])]) -> JobHash {
    let hash = spec.hash();
    let entry = store.entry(spec.kind(), &hash);
    fs::create_dir_all(&entry.dir).unwrap();
    let rec = JobRecord {
        format_version: JOB_FORMAT,
        hash,
        kind: spec.kind(),
        revision: spec.kind().revision(),
        spec: spec.clone(),
        label: label.clone(),
    };
    fs::write(entry.file(JOB_FILE), serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let mut records = Vec::new();
    for (name, bytes) in files {
        fs::write(entry.file(name), bytes).unwrap();
        records.push(FileRecord {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            stamp: None,
        });
    }
    let done =
        DoneRecord { format_version: JOB_FORMAT, hash, files: records, finished_at: "2026-01-01T00:00:00Z".into() };
    fs::write(entry.file(DONE_FILE), serde_json::to_vec_pretty(&done).unwrap()).unwrap();
    hash
}

/// A fabricated setting: model, label axes, learning rate, distillation (temperature, weight).
type Config = (ModelSpec, Vec<(String, String)>, f64, Option<(f64, f64)>);

/// Writes `n` finished train + evaluate entries into `dst`, copied from the real tiny store with
/// varied numbers: two models on five data sets (a prepare entry each), learning-rate settings
/// for Deep-Emotion and distillation temperature x weight settings for MicroExpNet students (their
/// teacher targets are not fabricated: the report does not read them), 25 seeds each.
fn fabricate(src: &Path, dst: &Path, n: usize) {
    let (real_eval_dir, real_eval) = entries(src, "evaluate")
        .into_iter()
        .find(|(_, r)| r.label.arch == "deep-emotion")
        .expect("a Deep-Emotion evaluation");
    let JobSpec::Evaluate(real_spec) = &real_eval.spec else { panic!("not an evaluation") };
    let real_train_dir = src.join("train").join(real_spec.weights.short());
    let real_prep_dir = src.join("prepare").join(real_spec.data.short());
    let read = |p: PathBuf| fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let base: EvalResult = read_json(&real_eval_dir.join("result.json")).unwrap().unwrap();
    let metrics = String::from_utf8(read(real_train_dir.join("metrics.csv"))).unwrap();
    let prov = read(real_train_dir.join("provenance.json"));
    let preds = read(real_eval_dir.join("predictions.csv"));
    let real_train: JobRecord = read_json(&real_train_dir.join(JOB_FILE)).unwrap().unwrap();
    let JobSpec::Train(train_base) = real_train.spec else { panic!("not a train job") };
    let real_prep: JobRecord = read_json(&real_prep_dir.join(JOB_FILE)).unwrap().unwrap();
    let JobSpec::Prepare(prep_base) = real_prep.spec else { panic!("not a prepare job") };
    let prep_files: Vec<(&str, Vec<u8>)> = ["data.safetensors", "summary.json", "samples.png", "provenance.json"]
        .into_iter()
        .map(|f| (f, read(real_prep_dir.join(f))))
        .collect();
    let prep_refs: Vec<(&str, &[u8])> = prep_files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    fs::create_dir_all(dst).unwrap();
    fs::copy(src.join("store.json"), dst.join("store.json")).unwrap();
    let store = Store::new(dst);

    let datasets = ["fer2013", "ferg", "jaffe", "ckplus", "oulu-casia"];
    let data: Vec<JobHash> = datasets
        .iter()
        .enumerate()
        .map(|(di, name)| {
            let mut p = prep_base.clone();
            if let DatasetSpec::Synthetic(s) = &mut p.dataset {
                s.seed = 1000 + di as u64;
            }
            let label = JobLabel { dataset: name.to_string(), ..Default::default() };
            put_entry(&store, &JobSpec::Prepare(p), &label, &prep_refs)
        })
        .collect();
    // Deep-Emotion: 2 learning rates; MicroExpNet: 3 temperatures x 2 weights.
    let mut configs: Vec<Config> = Vec::new();
    for lr in [0.005, 0.001] {
        let de = ModelSpec::DeepEmotion { dropout: 0.5, input_norm: InputNorm::Centered };
        configs.push((de, vec![("lr".into(), lr.to_string())], lr, None));
    }
    for t in [2.0, 4.0, 8.0] {
        for w in [0.25, 0.5] {
            let axes = vec![("temperature".into(), t.to_string()), ("kd_weight".into(), w.to_string())];
            let men = ModelSpec::MicroExpNet { variant: Variant::Xxs, dropout: 0.5, input_norm: InputNorm::Raw };
            configs.push((men, axes, 1e-4, Some((t, w))));
        }
    }
    let mut made = 0;
    'outer: for seed in 1..=1000u64 {
        for (di, dataset) in datasets.iter().enumerate() {
            for (ci, (model, axes, lr, kd)) in configs.iter().enumerate() {
                if made == n {
                    break 'outer;
                }
                made += 1;
                let job_seed = seed;
                let label = JobLabel {
                    model: if kd.is_some() { "microexpnet".into() } else { "deep-emotion".into() },
                    arch: model.display(),
                    dataset: dataset.to_string(),
                    seed: Some(job_seed),
                    fold: None,
                    axes: axes.clone(),
                };
                let mut tspec = train_base.clone();
                tspec.model = *model;
                tspec.seed = job_seed;
                tspec.train.lr = *lr;
                tspec.data = data[di];
                tspec.distill = kd.map(|(temperature, weight)| KdInput {
                    targets: JobHash([di as u8; 32]),
                    spec: DistillSpec { temperature, weight, t2: false },
                });
                let shift = noise(&[seed, di as u64, ci as u64]) * 0.1;
                let curve: String = metrics
                    .lines()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            return format!("{l}\n");
                        }
                        let f: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
                        format!("{},{},{},{},{}\n", f[0], f[1] - shift, f[2] + shift, f[3] - shift, f[4] + shift)
                    })
                    .collect();
                let files: [(&str, &[u8]); 2] = [("metrics.csv", curve.as_bytes()), ("provenance.json", &prov)];
                let weights = put_entry(&store, &JobSpec::Train(tspec), &label, &files);

                let mut r = base.clone();
                let level = 0.55 + 0.08 * di as f64 + if kd.is_some() { -0.05 } else { 0.0 };
                let kd_effect = kd.map(|(t, w)| 0.01 * t.log2() + 0.02 * w).unwrap_or(0.0);
                r.test.accuracy = (level + kd_effect + 0.04 * noise(&[seed, di as u64, ci as u64, 1])).min(0.999);
                r.test.macro_f1 = r.test.accuracy - 0.03;
                r.model = model.display();
                let speed = if kd.is_some() { 0.45 } else { 1.0 };
                r.latency_ms_batch1 *= speed * (1.0 + 0.1 * noise(&[seed, ci as u64, 2]));
                if kd.is_some() {
                    r.trainable_params = 64_951;
                }
                let result = serde_json::to_vec_pretty(&r).unwrap();
                let eval = JobSpec::Evaluate(EvaluateSpec {
                    model: *model,
                    classes: real_spec.classes,
                    weights,
                    data: data[di],
                    fold: None,
                });
                let files: [(&str, &[u8]); 3] =
                    [("result.json", &result), ("predictions.csv", &preds), ("provenance.json", &prov)];
                put_entry(&store, &eval, &label, &files);
                put_analyses(&store, (model, real_spec.classes, weights, data[di]), &label, &r, (seed, ci));
            }
        }
    }
    assert_eq!(made, n);
}

/// A fabricated run's robustness entry (six corruptions x five severities) and its transfer
/// entry to the next data set, as the analyses leave them.
fn put_analyses(
    store: &Store,
    (model, classes, weights, data): (&ModelSpec, usize, JobHash, JobHash),
    label: &JobLabel,
    r: &EvalResult,
    (seed, ci): (u64, usize),
) {
    use fer_core::plan::robustness::{Corruption, RobustnessSpec, SEED, SEVERITIES};
    use fer_core::records::{RobustnessRecord, RobustnessRow, TransferRecord, ROBUSTNESS_FORMAT, TRANSFER_FORMAT};
    let clean = r.test.accuracy;
    let rows: Vec<RobustnessRow> = Corruption::ALL
        .iter()
        .flat_map(|c| {
            (1..=SEVERITIES).map(move |s| RobustnessRow {
                corruption: c.name().to_string(),
                severity: s,
                accuracy: clean * (1.0 - 0.08 * s as f64) + 0.01 * noise(&[seed, ci as u64, s as u64]),
            })
        })
        .collect();
    let relative = rows.iter().map(|x| x.accuracy).sum::<f64>() / rows.len() as f64 / clean;
    let record = RobustnessRecord {
        format_version: ROBUSTNESS_FORMAT,
        model: r.model.clone(),
        classes,
        n: r.test.n,
        clean_accuracy: clean,
        rows,
        relative,
    };
    let spec = RobustnessSpec {
        model: *model,
        classes,
        weights,
        data,
        fold: None,
        corruptions: Corruption::ALL.to_vec(),
        severities: SEVERITIES,
        seed: SEED,
    };
    let json = serde_json::to_vec_pretty(&record).unwrap();
    put_entry(store, &JobSpec::Robustness(spec), label, &[("robustness.json", &json)]);
    let shared: Vec<String> = (0..classes).map(|i| format!("class{i}")).collect();
    let mut test = r.test.clone();
    test.accuracy *= 0.7;
    let record = TransferRecord {
        format_version: TRANSFER_FORMAT,
        model: r.model.clone(),
        shared: shared.clone(),
        images: "test split".into(),
        test,
        dropped: 0,
    };
    let spec = fer_core::plan::TransferSpec {
        model: *model,
        classes,
        weights,
        // Another data set's test split (any prepare entry's hash names it).
        data: JobHash([seed as u8; 32]),
        shared,
        outputs: (0..classes as u32).collect(),
        labels: (0..classes as u32).collect(),
    };
    let mut l = label.clone();
    l.axes.push(("tested_on".into(), "other".into()));
    let json = serde_json::to_vec_pretty(&record).unwrap();
    put_entry(store, &JobSpec::Transfer(spec), &l, &[("transfer.json", &json)]);
}

/// Every analysis switched off.
fn all_off() -> Analyses {
    Analyses {
        uncertainty: false,
        calibration: false,
        distillation: false,
        data_efficiency: false,
        efficiency: false,
        domain_shift: false,
        robustness: false,
    }
}

/// Benchmark (prints, asserts no time): the report of 1,000 finished evaluations.
#[test]
fn benchmark_report_of_1000_evaluations() {
    let dir = scratch("bench");
    let store_dir = dir.join("store");
    let t = Instant::now();
    fabricate(tiny_store(), &store_dir, 1000);
    println!("fabricated 1000 evaluations (+ train jobs) in {:.2} s", t.elapsed().as_secs_f64());

    let out = dir.join("reports");
    let t = Instant::now();
    let s = write_report(&Store::new(&store_dir), None, &out, &ReportOptions::default()).unwrap();
    let wall = t.elapsed().as_secs_f64();
    println!(
        "report of {} evaluations: {wall:.3} s wall ({} charts, {} tables files); build profile: {}",
        s.evaluations,
        s.charts.len(),
        s.tables.len(),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let t = Instant::now();
    let s2 = write_report(
        &Store::new(&store_dir),
        None,
        &dir.join("reports-png"),
        &ReportOptions { svg: false, ..Default::default() },
    )
    .unwrap();
    println!("same report without SVG copies: {:.3} s", t.elapsed().as_secs_f64());
    assert_eq!(s2.evaluations, 1000);
    // The analyses' extra cost, side by side: every analysis on (each run also has a robustness and
    // a transfer record) against every one off, alternating, best of three each.
    let off = all_off();
    let (mut on_s, mut off_s) = (f64::INFINITY, f64::INFINITY);
    for i in 0..3 {
        for (analyses, best) in [(Analyses::all(), &mut on_s), (off, &mut off_s)] {
            let t = Instant::now();
            let opts = ReportOptions { svg: false, analyses, ..Default::default() };
            write_report(&Store::new(&store_dir), None, &dir.join(format!("reports-{i}")), &opts).unwrap();
            *best = best.min(t.elapsed().as_secs_f64());
        }
    }
    println!(
        "analyses' extra cost over 1000 evaluations: {:.3} s (all on {on_s:.3} s, all off {off_s:.3} s, ratio {:.2}; \
         goal: extra < 2 s)",
        on_s - off_s,
        on_s / off_s
    );
    assert!(out.join("tables/robustness.csv").exists() && out.join("tables/domain_shift.csv").exists());

    assert_eq!(s.evaluations, 1000);
    assert!(s.missing.is_empty(), "{:?}", &s.missing[..s.missing.len().min(5)]);
    assert_eq!(read_parquet(&out.join("tables/jobs.parquet")).height(), 1000);
    let kd = read_csv(&out.join("tables/kd_effects.csv"));
    assert_eq!(kd.height(), 5 * 6, "one row per data set x temperature x weight");
    // One learning-curve and one confusion chart per model x data set, not per job.
    let count =
        |prefix: &str| s.charts.iter().filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix)).count();
    assert_eq!(count("curves-"), 10);
    assert_eq!(s.images, 5, "one sample grid per data set");
    assert_eq!(count("confusion-"), 10);
    assert_eq!(count("kd-"), 10);
    for png in
        s.charts.iter().filter(|p| p.to_string_lossy().contains("kd-") || p.to_string_lossy().contains("accuracy-by"))
    {
        assert_png_ok(png, 500, 300);
    }
}

/// Every analysis at once (domain shift between a posed and a wild set, robustness, efficiency,
/// data efficiency, calibration, paired tests), run for real on tiny data: the page's sections
/// are all there and every image loads in headless Chromium, without console errors.
#[test]
fn every_analysis_section_renders_in_headless_chromium() {
    let dir = scratch("analyses");
    let yaml = dir.join("pipeline.yaml");
    fs::write(
        &yaml,
        "version: 1\nname: analyses\nseeds: [1, 2]\nsaliency: {enabled: false}\n\
         analyses: {efficiency: true, domain_shift: true, robustness: true}\n\
         datasets:\n  \
         posed: {kind: synthetic, seed: 4, subjects: 10, images_per_subject: 14, style: posed, test_fraction: 0.3}\n  \
         wild: {kind: synthetic, seed: 4, subjects: 10, images_per_subject: 14, style: wild, test_fraction: 0.3}\n\
         models:\n  \
         deep-emotion: {arch: deep-emotion, datasets: [posed, wild], epochs: 1, batch_size: 32, train_fraction: [0.5, 1.0]}\n  \
         microexpnet: {arch: microexpnet, datasets: [posed, wild], epochs: 1, batch_size: 32, multi_crop: false}\n",
    )
    .unwrap();
    let store = dir.join("store");
    let out = Command::new(exe())
        .env_remove("FER_STORE")
        .env_remove("RUST_LOG")
        .current_dir(root())
        .args(["--store", store.to_str().unwrap(), "run", yaml.to_str().unwrap(), "--no-report"])
        .output()
        .expect("the fer-pipeline binary runs");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let plan = fer_core::plan::build(&fer_core::spec::load(&yaml, &Overrides::default()).unwrap());
    let reports = dir.join("reports");
    let summary =
        write_report(&Store::new(&store), Some(&scope_of(&plan)), &reports, &ReportOptions::default()).unwrap();
    let html = fs::read_to_string(&summary.index).unwrap();
    for id in ["paired", "efficiency", "domain-shift", "robustness", "calibration", "kd"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "section `{id}` missing");
    }
    assert!(html.contains("Data efficiency"), "the data-efficiency section");
    let check = check_page(&summary.index, &dir.join("profile"));
    assert_eq!(check.ok, "true", "broken: {} errors: {} console: {:?}", check.broken, check.errors, check.console);
    assert_eq!(check.images, summary.charts.len() + summary.images);
    assert!(check.console.is_empty(), "console output: {:?}", check.console);
    for chart in ["domain_shift", "robustness-posed", "robustness-wild", "reliability-posed", "efficiency_frontier"] {
        assert!(reports.join(format!("charts/{chart}.png")).exists(), "{chart}");
    }
    // Every analysis switched off: none of their sections, tables or charts, and still a whole page.
    let off = all_off();
    let bare = dir.join("reports-off");
    let opts = ReportOptions { analyses: off, ..ReportOptions::default() };
    let summary = write_report(&Store::new(&store), Some(&scope_of(&plan)), &bare, &opts).unwrap();
    let html = fs::read_to_string(&summary.index).unwrap();
    for id in ["paired", "efficiency", "domain-shift", "robustness", "calibration", "kd", "data-efficiency"] {
        assert!(!html.contains(&format!("id=\"{id}\"")), "section `{id}` is switched off");
        assert!(!html.contains(&format!("href=\"#{id}\"")), "no link to `{id}`");
    }
    for table in [
        "paired_comparisons",
        "paired_runs",
        "kd_comparison",
        "calibration",
        "robustness",
        "domain_shift",
        "throughput",
    ] {
        assert!(!bare.join(format!("tables/{table}.csv")).exists(), "{table}");
    }
    assert!(bare.join("tables/summary.csv").exists());
    assert!(html.contains("id=\"summary\"") && html.contains("id=\"confusion\""));
}

/// The default pipeline (`pipeline.yaml`, quick profile, every analysis) at test scale, through
/// `fer-pipeline run`: its report has the seven analyses, each with a chart and a table on the
/// page, and the page loads whole in headless Chromium.
#[test]
fn the_default_pipeline_reports_all_seven_analyses_readably_in_headless_chromium() {
    let dir = scratch("default-pipeline");
    let mut args: Vec<String> =
        ["--store", dir.join("store").to_str().unwrap(), "run"].iter().map(|s| s.to_string()).collect();
    args.push(root().join("pipeline.yaml").to_str().unwrap().to_string());
    // Smaller sets and one epoch; everything else is the default run's.
    for set in [
        "datasets.common.subjects=12",
        "datasets.common.images_per_subject=8",
        "datasets.posed.subjects=12",
        "datasets.posed.images_per_subject=8",
        "models.deep-emotion.epochs=1",
        "models.inception-v3.epochs=1",
        "models.microexpnet.epochs=1",
        "models.microexpnet-kd.epochs=1",
        "models.microexpnet-kd-de.epochs=1",
    ] {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let out = Command::new(exe())
        .env_remove("FER_STORE")
        .env_remove("RUST_LOG")
        .current_dir(&dir)
        .args(&args)
        .output()
        .expect("the fer-pipeline binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 failed"), "{text}");
    let index = dir.join("reports/index.html");
    let html = fs::read_to_string(&index).unwrap();
    // Each analysis's section, with at least one chart and one table inside it.
    for (analysis, id) in [
        ("uncertainty", "paired"),
        ("efficiency", "efficiency"),
        ("domain shift", "domain-shift"),
        ("robustness", "robustness"),
        ("calibration", "calibration"),
        ("distillation", "kd"),
        ("data efficiency", "data-efficiency"),
    ] {
        let start = html.find(&format!("<h2 id=\"{id}\"")).unwrap_or_else(|| panic!("no {analysis} section"));
        let rest = &html[start + 4..];
        let section = &rest[..rest.find("<h2 ").unwrap_or(rest.len())];
        assert!(section.contains("<img"), "the {analysis} section has no chart");
        assert!(section.contains("<table"), "the {analysis} section has no table");
        assert!(html.contains(&format!("href=\"#{id}\"")), "no link to the {analysis} section");
    }
    // Intervals on the summary's accuracies (t over three seeds).
    let summary = fs::read_to_string(dir.join("reports/tables/summary.csv")).unwrap();
    assert!(summary.contains("t over 3 runs"), "intervals over runs: {summary}");
    for table in [
        "paired_comparisons",
        "efficiency_frontier",
        "throughput",
        "domain_shift",
        "robustness",
        "calibration",
        "kd_comparison",
        "data_efficiency",
    ] {
        assert!(dir.join(format!("reports/tables/{table}.csv")).exists(), "{table}.csv");
        assert!(dir.join(format!("reports/tables/{table}.parquet")).exists(), "{table}.parquet");
    }
    let domain = read_csv(&dir.join("reports/tables/domain_shift.csv"));
    assert!(domain.height() >= 4, "a 2 x 2 matrix per compared model: {domain}");
    let check = check_page(&index, &dir.join("profile"));
    assert_eq!(check.ok, "true", "broken: {} errors: {} console: {:?}", check.broken, check.errors, check.console);
    assert!(check.console.is_empty(), "console output: {:?}", check.console);
}
