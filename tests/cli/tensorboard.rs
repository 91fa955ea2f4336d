//! TensorBoard: every train entry holds an event file of its per-epoch scalars in a run folder
//! named by model, data set and seed; TensorBoard's own reader reads them back, and a resumed
//! job writes the same bytes as an uninterrupted one.

use super::signals::{checkpoint_epochs, reference, Group, SIX_EPOCHS};
use super::*;

const EVENTS: &str = "events.out.tfevents.fer-pipeline";

/// Reads every run under `logdir` with TensorBoard's event multiplexer (as `tensorboard
/// --logdir` does) and prints `{run: {tag: [[wall_time, step, value], ...]}}` as JSON.
const READER: &str = r#"
import json, sys
from tensorboard.backend.event_processing import event_multiplexer
m = event_multiplexer.EventMultiplexer()
m.AddRunsFromDirectory(sys.argv[1])
m.Reload()
out = {}
for run, tags in m.Runs().items():
    out[run] = {t: [[e.wall_time, e.step, e.value] for e in m.Scalars(run, t)] for t in tags["scalars"]}
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

fn read_runs(logdir: &Path) -> serde_json::Value {
    let o = Command::new(python()).args(["-c", READER]).arg(logdir).output().expect("the venv's python runs");
    assert!(o.status.success(), "tensorboard's reader failed (scripts/setup --test installs it):\n{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The one event file of a train entry, and its run folder's name.
fn event_file(entry: &Path) -> (String, PathBuf) {
    let runs: Vec<_> = fs::read_dir(entry.join("tb")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(runs.len(), 1, "one run folder in {}", entry.display());
    let name = runs[0].file_name().unwrap().to_string_lossy().into_owned();
    (name, runs[0].join(EVENTS))
}

#[test]
fn tensorboard_reads_every_train_entry_named_by_model_data_set_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run_tiny(&store, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = read_runs(&store.join("train"));
    let trains = entries(&store, "train");
    assert_eq!(trains.len(), 2);
    let mut names = Vec::new();
    for entry in &trains {
        let (name, file) = event_file(entry);
        assert!(file.is_file(), "{}", file.display());
        let done = fs::read_to_string(entry.join("done")).unwrap();
        assert!(done.contains(&format!("\"tb/{name}/{EVENTS}\"")), "the event file is an artifact:\n{done}");
        let hash16 = entry.file_name().unwrap().to_string_lossy().into_owned();
        let run = &runs[format!("{hash16}/tb/{name}")];
        assert!(run.is_object(), "TensorBoard shows run `{hash16}/tb/{name}`: {runs}");
        let lr = if name.starts_with("deep-emotion") { 0.005 } else { 1.0e-4 };
        // Every scalar equals metrics.csv's (as f32), one point per epoch, wall_time = step.
        let csv = fs::read_to_string(entry.join("metrics.csv")).unwrap();
        let rows: Vec<Vec<f64>> =
            csv.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        assert_eq!(rows.len(), 4);
        for (tag, col) in
            [("loss/train", 1), ("accuracy/train", 2), ("loss/val", 3), ("accuracy/val", 4), ("learning_rate", 5)]
        {
            let points = run[tag].as_array().unwrap_or_else(|| panic!("no `{tag}` in {run}"));
            assert_eq!(points.len(), rows.len(), "{tag}");
            for (p, r) in points.iter().zip(&rows) {
                let want = if col == 5 { lr } else { r[col] };
                assert_eq!(p[1].as_f64().unwrap(), r[0], "{tag}: step = epoch");
                assert_eq!(p[0].as_f64().unwrap(), r[0], "{tag}: wall_time = epoch");
                assert_eq!(p[2].as_f64().unwrap() as f32, want as f32, "{tag} at epoch {}", r[0]);
            }
        }
        names.push(name);
    }
    names.sort();
    assert_eq!(names, ["deep-emotion_tiny_seed1", "microexpnet_tiny_seed1"]);

    // The reader checks our CRCs: a flipped bit in the last record's data drops that epoch.
    let copy = dir.path().join("copy");
    fs::create_dir_all(&copy).unwrap();
    let (_, file) = event_file(&trains[0]);
    let mut bytes = fs::read(&file).unwrap();
    let at = bytes.len() - 6;
    bytes[at] ^= 1;
    fs::write(copy.join(EVENTS), &bytes).unwrap();
    let damaged = read_runs(&copy);
    assert_eq!(damaged["."]["loss/train"].as_array().map(|a| a.len()), Some(3), "{damaged}");
}

#[test]
fn a_resumed_job_writes_the_same_event_file() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "1"]).args(SIX_EPOCHS);
    let run = Group::spawn(cmd);
    let ready = || entries(&store, "train").iter().any(|e| (2..6).contains(&checkpoint_epochs(e)));
    assert!(wait_for(ready, 300), "no checkpoint at epoch 2:\n{}", run.output());
    drop(run); // SIGKILL to the group, mid-training
    let again = run_tiny(&store, &SIX_EPOCHS);
    assert!(again.status.success(), "{}", text(&again));
    let (ours, theirs) = (entries(&store, "train"), entries(reference, "train"));
    assert_eq!(ours.len(), 2);
    assert_eq!(
        ours.iter().map(|p| p.file_name().unwrap()).collect::<Vec<_>>(),
        theirs.iter().map(|p| p.file_name().unwrap()).collect::<Vec<_>>()
    );
    let mut resumed = 0;
    for (a, b) in ours.iter().zip(&theirs) {
        let ((na, fa), (nb, fb)) = (event_file(a), event_file(b));
        assert_eq!(na, nb);
        assert_eq!(fs::read(&fa).unwrap(), fs::read(&fb).unwrap(), "{} differs", fa.display());
        let log = fs::read_to_string(a.join("log.txt")).unwrap();
        resumed += log.contains("resuming from checkpoint") as usize;
    }
    assert!(resumed >= 1, "a job was resumed");
}

/// A Deep-Emotion teacher and a MicroExpNet student distilled from it at T = 4.
const KD: &str = r#"version: 1
name: tb-kd
seeds: [1]
threads: 1
datasets:
  tiny:
    kind: synthetic
    seed: 7
    subjects: 12
    images_per_subject: 40
    val_fraction: 0.2
    test_fraction: 0.25
saliency:
  enabled: false
models:
  teacher:
    arch: deep-emotion
    datasets: tiny
    epochs: 1
    batch_size: 32
  student:
    arch: microexpnet
    variant: xxs
    datasets: tiny
    epochs: 6
    lr: 1.0e-4
    batch_size: 32
    multi_crop: false
    teacher: teacher
    temperature: 4
    kd_weight: 0.5
"#;

/// Whether a train entry is a distilled student.
fn is_student(entry: &Path) -> bool {
    let job: serde_json::Value =
        serde_json::from_slice(&fs::read(entry.join("job.json")).unwrap_or_default()).unwrap_or_default();
    job["spec"]["distill"]["targets"].is_string()
}

/// The student's entry in a store.
fn student(store: &Path) -> PathBuf {
    entries(store, "train").into_iter().find(|e| is_student(e)).expect("a student entry")
}

#[test]
fn a_student_shows_its_kd_terms_and_resumes_to_the_same_event_file() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("kd.yaml");
    fs::write(&yaml, KD).unwrap();
    let (whole, cut) = (dir.path().join("whole"), dir.path().join("cut"));
    let o = run(&["--store", &store_arg(&whole), "run", yaml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    let entry = student(&whole);
    let (name, file) = event_file(&entry);
    assert_eq!(name, "student_tiny_seed1");
    let runs = read_runs(&entry.join("tb"));
    let scalars = &runs[&name];
    let csv = fs::read_to_string(entry.join("metrics.csv")).unwrap();
    let losses: Vec<f64> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    let (hard, soft) = (scalars["kd/hard_ce"].as_array().unwrap(), scalars["kd/soft_ce"].as_array().unwrap());
    assert_eq!((hard.len(), soft.len(), losses.len()), (6, 6, 6), "{scalars}");
    for ((h, s), loss) in hard.iter().zip(soft).zip(&losses) {
        let (h, s) = (h[2].as_f64().unwrap(), s[2].as_f64().unwrap());
        assert!(h > 0.0 && s > 0.0, "{h} {s}");
        // The training loss is the weighted sum of its two terms (kd_weight 0.5), epoch by epoch.
        assert!((0.5 * h + 0.5 * s - loss).abs() < 1e-5 * loss.abs().max(1.0), "{h} {s} {loss}");
    }
    // The teacher is no student: no KD terms.
    let teacher = entries(&whole, "train").into_iter().find(|e| *e != entry).unwrap();
    let (tname, _) = event_file(&teacher);
    let truns = read_runs(&teacher.join("tb"));
    assert!(truns[&tname]["loss/train"].is_array() && truns[&tname]["kd/hard_ce"].is_null(), "{truns}");

    // Killed mid-way through the student, then resumed: the same bytes.
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&cut), "run", yaml.to_str().unwrap(), "-j", "1"]);
    let group = Group::spawn(cmd);
    let ready = || entries(&cut, "train").iter().any(|e| is_student(e) && (1..6).contains(&checkpoint_epochs(e)));
    assert!(wait_for(ready, 300), "no student checkpoint:\n{}", group.output());
    drop(group);
    let o = run(&["--store", &store_arg(&cut), "run", yaml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let resumed = student(&cut);
    let log = fs::read_to_string(resumed.join("log.txt")).unwrap();
    assert!(log.contains("resuming from checkpoint"), "{log}");
    let (_, again) = event_file(&resumed);
    assert_eq!(fs::read(again).unwrap(), fs::read(file).unwrap(), "the resumed student's event file differs");
}
