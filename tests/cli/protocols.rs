//! Protocols: k-fold validation drawn from the training subjects, the paper's random split, every
//! result recording its protocol, and `select: best-val`.

use super::*;

/// A JAFFE in its real layout with `subjects` subjects (named `S00`, `S01`, ...), one image per
/// expression and subject (7 per subject), 32x32.
fn write_many_jaffe(dir: &Path, subjects: usize) {
    fs::create_dir_all(dir).unwrap();
    for s in 0..subjects {
        for (e, ex) in ["AN", "DI", "FE", "HA", "NE", "SA", "SU"].iter().enumerate() {
            let img = image::GrayImage::from_fn(32, 32, |x, y| {
                image::Luma([((x * (e as u32 + 1) + y * (s as u32 + 2)) % 256) as u8])
            });
            img.save(dir.join(format!("S{s:02}.{ex}1.{}.tiff", 7 * s + e))).unwrap();
        }
    }
}

/// A folder with a JAFFE copy, a manifest whose `protocol:` is `protocol`, and a pipeline of one
/// Deep-Emotion model (`model_extra` appended to its settings).
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(subjects: usize, protocol: &str, model_extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let manifests = dir.path().join("manifests");
        fs::create_dir_all(&manifests).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = fs::read_to_string(repo.join("data-manifests/jaffe.yaml")).unwrap();
        let at = manifest.find("\nprotocol:").unwrap() + 1;
        let end = manifest[at..].find("\npreprocessing:").unwrap() + at + 1;
        let manifest = format!("{}protocol: {protocol}\n{}", &manifest[..at], &manifest[end..]);
        fs::write(manifests.join("jaffe.yaml"), manifest).unwrap();
        fs::write(
            dir.path().join("pipeline.yaml"),
            format!(
                "version: 1\nname: protocols\nseeds: [1]\nsaliency: {{enabled: false}}\n\
                 datasets:\n  jaffe: {{kind: jaffe, manifest: manifests/jaffe.yaml}}\n\
                 models:\n  de: {{arch: deep-emotion, datasets: jaffe, epochs: 1, batch_size: 64{model_extra}}}\n"
            ),
        )
        .unwrap();
        write_many_jaffe(&dir.path().join("data/jaffe"), subjects);
        Setup { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn cmd(&self, args: &[&str]) -> Output {
        let pipeline = self.dir.path().join("pipeline.yaml");
        let args: Vec<String> = args.iter().map(|a| a.replace("PIPELINE", pipeline.to_str().unwrap())).collect();
        bin()
            .env("FER_DATA_DIR", self.dir.path().join("data"))
            .arg("--store")
            .arg(self.store())
            .args(&args)
            .output()
            .unwrap()
    }

    fn results(&self) -> Vec<serde_json::Value> {
        entries(&self.store(), "evaluate")
            .iter()
            .map(|e| serde_json::from_slice(&fs::read(e.join("result.json")).unwrap()).unwrap())
            .collect()
    }
}

/// The fields of one CSV line (double-quoted fields may hold commas).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn count(r: &serde_json::Value, split: &str, what: &str) -> u64 {
    r["protocol"][split][what].as_u64().unwrap_or_else(|| panic!("no protocol.{split}.{what} in {r}"))
}

/// 20 subjects in 4 folds of 5: each fold's test set is its 5 subjects; the other 15 subjects
/// train, except round(0.1 x 15) = 2 drawn (per fold, seeded) to validate. Before, a whole fold
/// (5 subjects) validated and only 10 trained.
#[test]
fn kfold_trains_on_the_other_folds_and_validates_on_a_fraction_of_their_subjects() {
    let s = Setup::new(20, "{kind: subject-kfold, folds: 4, seed: 0}", "");
    let run = s.cmd(&["run", "PIPELINE", "--no-report"]);
    assert!(run.status.success(), "{}", text(&run));
    let results = s.results();
    assert_eq!(results.len(), 4);
    let mut folds = Vec::new();
    for r in &results {
        assert_eq!(r["protocol"]["kind"], "subject-kfold", "{r}");
        assert_eq!(r["protocol"]["subject_independent"], true, "{r}");
        assert_eq!(count(r, "test", "subjects"), 5, "{r}");
        assert_eq!(count(r, "val", "subjects"), 2, "{r}");
        assert_eq!(count(r, "train", "subjects"), 13, "{r}");
        assert_eq!(count(r, "train", "images") + count(r, "val", "images") + count(r, "test", "images"), 140);
        assert_eq!(r["test"]["n"], 35);
        assert!(r["val"]["n"].as_u64() == Some(14), "validation is evaluated and recorded: {r}");
        folds.push(r["protocol"]["fold"].as_u64().unwrap());
    }
    folds.sort();
    assert_eq!(folds, [0, 1, 2, 3]);

    // The report sets the paper's protocol (random, subject-dependent) beside ours and says so.
    let out = s.dir.path().join("report");
    let rep = s.cmd(&["report", "PIPELINE", "--out", out.to_str().unwrap()]);
    assert!(rep.status.success(), "{}", text(&rep));
    let csv = fs::read_to_string(out.join("tables/published_vs_reproduced.csv")).unwrap();
    let header = fields(csv.lines().next().unwrap());
    let row = fields(csv.lines().find(|l| l.starts_with("jaffe,deep-emotion,")).unwrap_or_else(|| panic!("{csv}")));
    let cell = |name: &str| {
        let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no `{name}` in {csv}"));
        row[i].clone()
    };
    assert_eq!(cell("published_protocol"), "random", "{csv}");
    assert_eq!(cell("reproduced_protocol"), "subject-kfold", "{csv}");
    assert_eq!(cell("same_protocol"), "false", "{csv}");
    let jobs = fs::read_to_string(out.join("tables/jobs.csv")).unwrap();
    assert!(jobs.lines().next().unwrap().contains("val_accuracy") && jobs.contains("subject-kfold"), "{jobs}");
    let page = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("Protocols differ") && page.contains("subject-dependent"), "the narrative says so");
    assert!(page.contains("(1 seed x 4 folds)"), "the spread names what it pools");

    // The fraction is the manifest's: `val: 0.34` of 15 training subjects is 5.
    let s = Setup::new(20, "{kind: subject-kfold, folds: 4, seed: 0, val: 0.34}", "");
    let plan = s.cmd(&["plan", "PIPELINE"]);
    assert!(plan.status.success(), "{}", text(&plan));
    // A fraction out of range is refused with its line.
    let bad = Setup::new(20, "{kind: subject-kfold, folds: 4, seed: 0, val: 1.5}", "");
    let out = bad.cmd(&["plan", "PIPELINE"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("val"), "{}", text(&out));
}

/// The papers' random, subject-dependent split can be asked for by name, and says so.
#[test]
fn the_random_protocol_is_subject_dependent_and_recorded() {
    let s = Setup::new(6, "{kind: random, val: 0.1, test: 0.2, seed: 3}", "");
    let run = s.cmd(&["run", "PIPELINE", "--no-report"]);
    assert!(run.status.success(), "{}", text(&run));
    let r = &s.results()[0];
    assert_eq!(r["protocol"]["kind"], "random", "{r}");
    assert_eq!(r["protocol"]["subject_independent"], false, "{r}");
    // 42 images: round(0.2 x 42) = 8 test, round(0.1 x 42) = 4 validation, 30 train.
    assert_eq!((count(r, "train", "images"), count(r, "val", "images"), count(r, "test", "images")), (30, 4, 8));
    assert!(r["protocol"]["description"].as_str().unwrap().contains("subject-dependent"), "{r}");
}

/// `select: best-val` keeps the epoch with the best validation accuracy (ties: the earliest); the
/// evaluate job's validation accuracy is that epoch's; a bad value is refused with its position.
#[test]
fn select_best_val_keeps_the_best_validation_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = fs::read_to_string(tiny()).unwrap().replace("epochs: 4", "epochs: 5");
    let pipeline = dir.path().join("p.yaml");
    fs::write(
        &pipeline,
        yaml.replace("    batch_size: 32\n  microexpnet:", "    batch_size: 32\n    select: best-val\n  microexpnet:"),
    )
    .unwrap();
    let store = dir.path().join("store");
    let out =
        bin().args(["--store", &store_arg(&store), "run", pipeline.to_str().unwrap(), "--no-report"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut checked = 0;
    for e in entries(&store, "train") {
        let job = fs::read_to_string(e.join("job.json")).unwrap();
        let metrics = fs::read_to_string(e.join("metrics.csv")).unwrap();
        let vals: Vec<f64> =
            metrics.lines().skip(1).map(|l| l.split(',').nth(4).unwrap().parse::<f64>().unwrap()).collect();
        assert_eq!(vals.len(), 5, "every epoch is still recorded");
        let eval = entries(&store, "evaluate")
            .into_iter()
            .find(|ev| {
                fs::read_to_string(ev.join("job.json"))
                    .unwrap()
                    .contains(&e.file_name().unwrap().to_string_lossy().to_string())
            })
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&fs::read(eval.join("result.json")).unwrap()).unwrap();
        let val = r["val"]["accuracy"].as_f64().unwrap();
        let log = fs::read_to_string(e.join("log.txt")).unwrap();
        if job.contains("best-val") {
            let best = vals.iter().cloned().fold(f64::MIN, f64::max);
            let epoch = vals.iter().position(|v| *v == best).unwrap() + 1;
            assert!((val - best).abs() < 1e-9, "kept {val}, best {best}: {metrics}");
            assert!(log.contains(&format!("kept the weights of epoch {epoch}")), "{log}");
            // Deterministic on CPU: here the best epoch is an early one, so `last` would differ.
            assert!(epoch < 5, "the test should keep an epoch other than the last: {metrics}");
        } else {
            assert!((val - vals[4]).abs() < 1e-9, "last epoch kept: {val} vs {metrics}");
        }
        checked += 1;
    }
    assert_eq!(checked, 2);

    let bad = dir.path().join("bad.yaml");
    fs::write(
        &bad,
        yaml.replace("    batch_size: 32\n  microexpnet:", "    batch_size: 32\n    select: best\n  microexpnet:"),
    )
    .unwrap();
    let out = bin().args(["--store", &store_arg(&store), "plan", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("bad.yaml:22:5") && t.contains("select") && t.contains("best-val"), "{t}");
}

/// `select: best-val` resumes exactly: a run killed mid-training (SIGKILL, after a checkpoint) and
/// run again ends with the bytes of an uninterrupted run (the checkpoint carries the best weights).
#[test]
fn select_best_val_resumes_to_identical_weights() {
    use super::signals::{checkpoint_epochs, Group};
    let args = ["--set", "models.deep-emotion.epochs=6", "--set", "models.deep-emotion.select=best-val"];
    let exclude = ["--set", "models.microexpnet.epochs=1"];
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let o = run_tiny(&reference, &[&args[..], &exclude[..]].concat());
    assert!(o.status.success(), "{}", text(&o));

    let store = dir.path().join("store");
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "1", "--no-report"])
        .args(args)
        .args(exclude);
    let run = Group::spawn(cmd);
    let ready = || entries(&store, "train").iter().any(|e| (2..6).contains(&checkpoint_epochs(e)));
    assert!(wait_for(ready, 300), "no checkpoint at epoch 2..5:\n{}", run.output());
    drop(run); // SIGKILL to the group
    let again = run_tiny(&store, &[&args[..], &exclude[..]].concat());
    assert!(again.status.success(), "{}", text(&again));
    same_results(&store, &reference);
}
