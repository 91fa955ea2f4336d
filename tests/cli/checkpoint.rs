//! Checkpoints: kept until `done` is durable; an edited, damaged or foreign one is discarded with
//! a warning and the job trains from the start; temp files of crashed writers are removed.

use super::signals::{checkpoint_epochs, reference, Group, SIX_EPOCHS};
use super::*;

fn train_entry(store: &Path, model: &str) -> PathBuf {
    entries(store, "train")
        .into_iter()
        .find(|e| fs::read_to_string(e.join("job.json")).unwrap_or_default().contains(model))
        .unwrap_or_else(|| panic!("no train entry of {model}"))
}

#[test]
fn an_edited_or_foreign_checkpoint_is_discarded_and_training_restarts() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = bin();
    // One job at a time: Deep-Emotion (the longer) trains first, MicroExpNet waits.
    cmd.args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "1"]).args(SIX_EPOCHS);
    let run = Group::spawn(cmd);
    let ready = || {
        let e = entries(&store, "train");
        e.len() == 2 && e.iter().any(|e| (2..6).contains(&checkpoint_epochs(e)))
    };
    assert!(wait_for(ready, 300), "no checkpoints at epoch 2:\n{}", run.output());
    drop(run); // SIGKILL to the group
    let de = train_entry(&store, "deep-emotion");
    let mx = train_entry(&store, "microexpnet");
    assert!((2..6).contains(&checkpoint_epochs(&de)) && !mx.join("done").exists());
    let de_ck = de.join("checkpoint.safetensors");
    let mut bytes = fs::read(&de_ck).unwrap();
    // Deep-Emotion's checkpoint goes to MicroExpNet's entry: a checkpoint of another job.
    fs::write(mx.join("checkpoint.safetensors"), &bytes).unwrap();
    // And Deep-Emotion's own header says one epoch less than it holds.
    let key = b"\"epochs_done\":\"";
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    assert!((b'2'..=b'5').contains(&bytes[at]) && bytes[at + 1] == b'"', "one digit");
    bytes[at] -= 1;
    fs::write(&de_ck, &bytes).unwrap();

    let again = run_tiny(&store, &SIX_EPOCHS);
    let out = text(&again);
    assert!(again.status.success(), "a bad checkpoint must not fail the job:\n{out}");
    assert!(out.contains("warning: ") && out.contains("discarding damaged checkpoint"), "{out}");
    for (e, why) in [(&de, "seal"), (&mx, "belongs to job")] {
        let log = fs::read_to_string(e.join("log.txt")).unwrap();
        assert!(log.contains("warning: discarding damaged checkpoint") && log.contains(why), "{log}");
        let metrics = fs::read_to_string(e.join("metrics.csv")).unwrap();
        assert_eq!(metrics.lines().count(), 7, "a header and 6 epochs:\n{metrics}");
    }
    same_results(&store, reference);
}

#[test]
fn the_checkpoint_outlives_a_crash_before_done_and_stale_temps_go() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Every train job is killed (SIGKILL) after writing weights, metrics and provenance, before
    // its `done` marker.
    let crashed = bin()
        .env("FER_FAILPOINT", "before-done:train")
        .args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap()])
        .args(SIX_EPOCHS)
        .output()
        .unwrap();
    assert_eq!(crashed.status.code(), Some(1), "{}", text(&crashed));
    let trains = entries(&store, "train");
    assert_eq!(trains.len(), 2);
    // A crash while writing a big file leaves its temp file (named with the dead writer's pid).
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = trains[0].join(format!(".weights.safetensors.tmp-{dead}-0"));
    fs::write(&stale, vec![0u8; 4096]).unwrap();
    for e in &trains {
        assert!(!e.join("done").exists());
        assert!(e.join("weights.safetensors").exists() && e.join("provenance.json").exists());
        assert!(e.join("checkpoint.safetensors").exists(), "the checkpoint must live until `done` is written");
        assert_eq!(checkpoint_epochs(e), 6);
    }

    let again = run_tiny(&store, &SIX_EPOCHS);
    assert!(again.status.success(), "{}", text(&again));
    for e in &trains {
        let log = fs::read_to_string(e.join("log.txt")).unwrap();
        assert!(log.contains("resuming from checkpoint after epoch 6 of 6"), "not retrained:\n{log}");
        assert!(e.join("done").exists());
        assert!(!e.join("checkpoint.safetensors").exists(), "removed once `done` is written");
    }
    assert!(!stale.exists(), "a stale temp file is left");
    let log = fs::read_to_string(trains[0].join("log.txt")).unwrap();
    assert!(log.contains("removed 1 temporary file(s)"), "{log}");
    for kind in ["prepare", "train", "evaluate", "saliency"] {
        for e in entries(&store, kind) {
            for f in fs::read_dir(&e).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                assert!(!name.contains(".tmp-"), "temp file left: {}", e.join(name).display());
            }
        }
    }
    same_results(&store, reference);
}

/// A crash after `done` but before the checkpoint's removal leaves a finished entry holding its
/// checkpoint; the next run keeps the entry (cached) and removes the checkpoint.
#[test]
fn a_checkpoint_left_beside_done_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let crashed = bin()
        .env("FER_FAILPOINT", "after-done:train")
        .args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "--no-report"])
        .output()
        .unwrap();
    assert_eq!(crashed.status.code(), Some(1), "{}", text(&crashed));
    let trains = entries(&store, "train");
    assert_eq!(trains.len(), 2);
    for e in &trains {
        assert!(e.join("done").exists() && e.join("checkpoint.safetensors").exists(), "{}", e.display());
    }
    let again = run_tiny(&store, &["--no-report"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("4 ran, 4 cached"), "finished entries are kept: {}", text(&again));
    for e in &trains {
        assert!(!e.join("checkpoint.safetensors").exists(), "{} kept its checkpoint", e.display());
    }
}
