//! Ctrl-C and SIGTERM: running jobs checkpoint and stop, are reported as interrupted (never as
//! failed), and the next run resumes them to the same bytes; a run waiting on a lock stops too.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::Child;
use std::sync::{Arc, Mutex};

use super::*;

/// Both models train 6 epochs.
pub(crate) const SIX_EPOCHS: [&str; 4] =
    ["--set", "models.deep-emotion.epochs=6", "--set", "models.microexpnet.epochs=6"];

/// A store where tiny ran uninterrupted with [`SIX_EPOCHS`] (made once, shared by tests).
pub(crate) fn reference() -> &'static Path {
    static REF: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    REF.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("fer-reference-").tempdir().unwrap().keep();
        let store = dir.join("store");
        let o = run_tiny(&store, &SIX_EPOCHS);
        assert!(o.status.success(), "{}", text(&o));
        store
    })
}

/// `fer-pipeline` as the leader of a new process group (as a shell runs a foreground command),
/// with stdout and stderr collected in the background.
pub(crate) struct Group {
    pub child: Child,
    pub out: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Group {
    pub(crate) fn spawn(mut cmd: Command) -> Group {
        let mut child = cmd.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let streams: Vec<Box<dyn Read + Send>> =
            vec![Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        for mut s in streams {
            let out = Arc::clone(&out);
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }));
        }
        Group { child, out, readers }
    }

    pub(crate) fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Sends `sig` to the whole group, as a terminal does on Ctrl-C.
    pub(crate) fn signal_group(&self, sig: i32) {
        // SAFETY: kill(2) on the process group this test created.
        assert_eq!(unsafe { libc::kill(-(self.child.id() as i32), sig) }, 0);
    }

    /// Waits for the exit (at most `secs`, then kills the group); returns the code and output.
    pub(crate) fn wait(mut self, secs: u64) -> (Option<i32>, String) {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return (status.code(), self.output());
            }
            if t.elapsed() > Duration::from_secs(secs) {
                self.signal_group(libc::SIGKILL);
                let _ = self.child.wait();
                panic!("still running after {secs} s:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: as in `signal_group`.
            unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// The metadata of a checkpoint (its safetensors header), if one is there and readable.
pub(crate) fn checkpoint_meta(entry: &Path) -> Option<serde_json::Value> {
    let bytes = fs::read(entry.join("checkpoint.safetensors")).ok()?;
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let head: serde_json::Value = serde_json::from_slice(bytes.get(8..8 + n)?).ok()?;
    Some(head["__metadata__"].clone())
}

/// Epochs a job's checkpoint has finished (0 without one).
pub(crate) fn checkpoint_epochs(entry: &Path) -> u32 {
    checkpoint_meta(entry).and_then(|m| m["epochs_done"].as_str()?.parse().ok()).unwrap_or(0)
}

/// The number before `word` in the run's summary line, e.g. `2 interrupted`.
pub(crate) fn count(out: &str, word: &str) -> Option<usize> {
    let line = out.lines().find(|l| l.contains(" ran, ") && l.contains(" cached, "))?;
    line.split(", ").find_map(|part| part.trim().strip_suffix(word)?.trim().parse().ok())
}

fn no_failure_records(store: &Path) {
    for kind in ["prepare", "train", "evaluate", "saliency", "distill-targets"] {
        for e in entries(store, kind) {
            assert!(!e.join("failed.json").exists(), "{} has a failed.json", e.display());
        }
    }
}

#[test]
fn ctrl_c_checkpoints_reports_interrupted_and_resumes_identically() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "2"]).args(SIX_EPOCHS);
    let run = Group::spawn(cmd);
    // Training is under way: a job has finished an epoch.
    let underway = || entries(&store, "train").iter().any(|e| checkpoint_epochs(e) >= 1);
    assert!(wait_for(underway, 240), "no epoch finished:\n{}", run.output());
    let t = Instant::now();
    run.signal_group(libc::SIGINT);
    let (code, out) = run.wait(120);
    let stopped_in = t.elapsed();
    assert_eq!(code, Some(130), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    assert_eq!(count(&out, "failed"), Some(0), "{out}");
    let interrupted = count(&out, "interrupted").unwrap_or(0);
    assert!(interrupted >= 1, "{out}");
    assert!(out.contains("interrupted (checkpoint kept; run again to resume)"), "{out}");
    assert!(stopped_in < Duration::from_secs(60), "took {stopped_in:?} to stop");
    no_failure_records(&store);
    let partial: Vec<PathBuf> =
        entries(&store, "train").into_iter().filter(|e| e.join("checkpoint.safetensors").exists()).collect();
    assert_eq!(partial.len(), interrupted, "one checkpoint per interrupted job:\n{out}");
    for e in &partial {
        let log = fs::read_to_string(e.join("log.txt")).unwrap();
        assert!(log.contains("stopped by a signal"), "{log}");
    }

    let again = run_tiny(&store, &SIX_EPOCHS);
    assert!(again.status.success(), "{}", text(&again));
    let logs: String = partial.iter().map(|e| fs::read_to_string(e.join("log.txt")).unwrap()).collect();
    assert!(logs.contains("resuming from checkpoint after epoch"), "{logs}");
    same_results(&store, reference);
    for e in entries(&store, "train") {
        assert!(!e.join("checkpoint.safetensors").exists(), "a finished job keeps no checkpoint");
    }
}

/// The train entry of Deep-Emotion in `store`, once planned.
fn deep_emotion_entry(store: &Path) -> Option<PathBuf> {
    entries(store, "train")
        .into_iter()
        .find(|e| fs::read_to_string(e.join("job.json")).unwrap_or_default().contains("deep-emotion"))
}

/// Starts `run` of the tiny pipeline with a 500-epoch Deep-Emotion (one job at a time) in its
/// own process group, and waits until that training has checkpointed an epoch.
fn start_long_deep_emotion(store: &Path) -> Group {
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(store), "run", tiny().to_str().unwrap()]).args(LONG);
    let run = Group::spawn(cmd);
    assert!(
        wait_for(|| deep_emotion_entry(store).is_some_and(|e| checkpoint_epochs(&e) >= 1), 240),
        "{}",
        run.output()
    );
    run
}

const LONG: [&str; 4] = ["--set", "models.deep-emotion.epochs=500", "-j", "1"];

#[test]
fn a_run_waiting_for_another_runs_lock_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // A long Deep-Emotion training holds its lock; both runs plan the same jobs.
    let first = start_long_deep_emotion(&store);

    let mut second = bin();
    second.args(["--store", &store_arg(&store), "-v", "run", tiny().to_str().unwrap()]).args(LONG);
    let second = Group::spawn(second);
    assert!(
        wait_for(|| second.output().contains("waiting for another run that holds this job"), 120),
        "the second run did not wait:\n{}",
        second.output()
    );
    let t = Instant::now();
    second.signal_group(libc::SIGINT);
    let (code, out) = second.wait(60);
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?} to stop", t.elapsed());
    assert_eq!(code, Some(130), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    assert_eq!(count(&out, "failed"), Some(0), "{out}");
    assert_eq!(count(&out, "interrupted"), Some(1), "{out}");
    assert!(!deep_emotion_entry(&store).unwrap().join("failed.json").exists());
    // A SIGTERM to a waiting run alone (not its group) stops it as promptly: it tells its job.
    let mut third = bin();
    third.args(["--store", &store_arg(&store), "-v", "run", tiny().to_str().unwrap()]).args(LONG);
    let third = Group::spawn(third);
    assert!(wait_for(|| third.output().contains("waiting for another run"), 120), "{}", third.output());
    let t = Instant::now();
    // SAFETY: kill(2) on the process this test started.
    assert_eq!(unsafe { libc::kill(third.child.id() as i32, libc::SIGTERM) }, 0);
    let (code, out) = third.wait(60);
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?} to stop", t.elapsed());
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(count(&out, "interrupted"), Some(1), "{out}");
    // The first run trains on, unaffected, and stops cleanly on its own Ctrl-C.
    assert!(!first.output().contains("FAILED"), "{}", first.output());
    first.signal_group(libc::SIGINT);
    let (code, out) = first.wait(120);
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(count(&out, "failed"), Some(0), "{out}");
    no_failure_records(&store);
}

#[test]
fn a_sigterm_after_slurms_usr1_does_not_fail_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // A run prepares the data and starts Deep-Emotion; Ctrl-C leaves it with a checkpoint.
    let first = start_long_deep_emotion(&store);
    first.signal_group(libc::SIGINT);
    let (code, out) = first.wait(120);
    assert_eq!(code, Some(130), "{out}");
    let de = deep_emotion_entry(&store).unwrap();
    let id = format!("train/{}", de.file_name().unwrap().to_string_lossy());

    // The job alone, as a Slurm task runs it: USR1 (time limit near), then at once SIGTERM.
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "exec", "--device", "cpu", &id]);
    let task = Group::spawn(cmd);
    assert!(wait_for(|| task.output().contains("\"event\":\"started\""), 120), "{}", task.output());
    let resumed_at = checkpoint_epochs(&de);
    // SAFETY: kill(2) on the process this test started.
    unsafe {
        assert_eq!(libc::kill(task.child.id() as i32, libc::SIGUSR1), 0);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(libc::kill(task.child.id() as i32, libc::SIGTERM), 0);
    }
    let (code, out) = task.wait(120);
    assert_eq!(code, Some(75), "stopped after a checkpoint:\n{out}");
    assert!(!de.join("failed.json").exists(), "{out}");
    let log = fs::read_to_string(de.join("log.txt")).unwrap();
    assert!(log.contains("stopped by a signal"), "{log}");
    assert!(checkpoint_epochs(&de) >= resumed_at);
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_the_next_run_still_matches() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "2"]).args(SIX_EPOCHS);
    let run = Group::spawn(cmd);
    let underway = || entries(&store, "train").iter().any(|e| checkpoint_epochs(e) >= 1);
    assert!(wait_for(underway, 240), "no epoch finished:\n{}", run.output());
    run.signal_group(libc::SIGINT);
    std::thread::sleep(Duration::from_millis(30));
    let t = Instant::now();
    run.signal_group(libc::SIGINT);
    let (code, out) = run.wait(60);
    assert_eq!(code, Some(130), "{out}");
    assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
    // Whatever was being written is whole or absent: the next run resumes or restarts each job
    // and ends byte-identical to an uninterrupted run, leaving no temp file.
    let again = run_tiny(&store, &SIX_EPOCHS);
    assert!(again.status.success(), "{}", text(&again));
    same_results(&store, reference);
    for kind in ["prepare", "train", "evaluate", "saliency"] {
        for e in entries(&store, kind) {
            for f in fs::read_dir(&e).unwrap().flatten() {
                assert!(!f.file_name().to_string_lossy().contains(".tmp-"), "{}", e.display());
            }
        }
    }
}
