//! Fault injection: SIGKILL at seeded random moments across a distillation chain, and a full disk.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;

use sha2::{Digest, Sha256};

use super::*;

/// A distillation chain small enough to run many times: prepare (two sizes), a Deep-Emotion
/// teacher, its distillation targets, a MicroExpNet student, and both evaluations.
const CHAIN: &str = "\
version: 1
name: kill-chain
seeds: [1]
threads: 1
saliency: {enabled: false}
datasets:
  tiny: {kind: synthetic, seed: 7, subjects: 8, images_per_subject: 24, val_fraction: 0.25, test_fraction: 0.25}
models:
  teacher: {arch: deep-emotion, datasets: tiny, epochs: 3, batch_size: 16}
  student:
    arch: microexpnet
    variant: xxs
    datasets: tiny
    epochs: 3
    batch_size: 16
    input_norm: standardize
    lr: 0.001
    teacher: teacher
    temperature: 4
    kd_weight: 0.5
";

/// The result files that must be byte-identical however often a run was killed (the measured
/// latencies in `result.json` aside).
const RESULTS: [&str; 5] =
    ["weights.safetensors", "metrics.csv", "targets.safetensors", "predictions.csv", "result.json"];

/// The sha256 of every result file of a store, by `<kind>/<hash16>/<file>`.
fn results(store: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in ["prepare", "train", "distill-targets", "evaluate"] {
        for e in entries(store, kind) {
            for f in RESULTS {
                if let Ok(mut bytes) = fs::read(e.join(f)) {
                    if f == "result.json" {
                        // Latencies are measured, not computed: everything else must match.
                        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                        v.as_object_mut().unwrap().retain(|k, _| !k.starts_with("latency_"));
                        bytes = serde_json::to_vec(&v).unwrap();
                    }
                    let name = e.file_name().unwrap().to_string_lossy().into_owned();
                    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
                    out.insert(format!("{kind}/{name}/{f}"), digest);
                }
            }
        }
    }
    out
}

/// Files under `dir` whose names mark them as temporary (`.<name>.tmp-<pid>-<n>`).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temp_files(&p));
        } else if p.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp-")) {
            out.push(p);
        }
    }
    out
}

/// Finished entries (with a `done` marker): their `done` bytes and how often their log says
/// the job started.
fn finished(store: &Path) -> BTreeMap<PathBuf, (Vec<u8>, usize)> {
    let mut out = BTreeMap::new();
    for kind in ["prepare", "train", "distill-targets", "evaluate"] {
        for e in entries(store, kind) {
            if let Ok(done) = fs::read(e.join("done")) {
                let starts = fs::read_to_string(e.join("log.txt")).unwrap_or_default().matches(" start ").count();
                out.insert(e, (done, starts));
            }
        }
    }
    out
}

fn chain_run(store: &Path, pipeline: &Path) -> Command {
    let mut c = bin();
    c.args(["--store", &store_arg(store), "run", pipeline.to_str().unwrap(), "-j", "2", "--no-report"]);
    c
}

/// splitmix64: the kill moments are a pure function of the seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Kills `fer-pipeline run` (its whole process group, children included) at seeded random
/// moments across the chain, runs it again each time, and checks that nothing was lost,
/// damaged, left behind or done twice. `FER_KILL_POINTS` (default 20) and `FER_KILL_SEED`
/// (default 2026) set the number of kills and their moments; `scripts/kill-test` runs 100.
#[test]
fn sigkill_at_random_moments_never_loses_or_repeats_work() {
    let points: u64 = std::env::var("FER_KILL_POINTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("FER_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(2026);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("chain.yaml");
    fs::write(&pipeline, CHAIN).unwrap();

    // The uninterrupted reference, and how long it takes.
    let clean = dir.path().join("clean");
    let t0 = Instant::now();
    let o = chain_run(&clean, &pipeline).output().unwrap();
    let span = t0.elapsed();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("7 ran, 0 cached, 0 failed"), "{}", text(&o));
    let reference = results(&clean);
    assert!(reference.keys().any(|k| k.starts_with("distill-targets/")), "{reference:?}");

    // Each kill lands in its own slice of the chain's span (stratified), so every stage is hit
    // whatever the seed.
    let store = dir.path().join("killed");
    let mut state = seed;
    let mut survived = 0;
    let mut hit_finished = 0;
    for k in 0..points {
        let slice = span.as_secs_f64() / points as f64;
        let at = slice * (k as f64 + (splitmix(&mut state) % 1000) as f64 / 1000.0);
        // Each kill starts from an empty store, so its moment falls within the whole chain.
        if store.exists() {
            fs::remove_dir_all(&store).unwrap();
        }
        let mut child =
            chain_run(&store, &pipeline).process_group(0).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs_f64(at);
        let mut exited = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: kill(2) of the process group we created for the child.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        child.wait().unwrap();
        let before = finished(&store);
        hit_finished += usize::from(exited);

        let again = chain_run(&store, &pipeline).output().unwrap();
        let out = text(&again);
        assert!(again.status.success(), "kill {k} at {at:.2}s: the re-run failed:\n{out}");
        let got = results(&store);
        let differ: Vec<_> =
            reference.keys().chain(got.keys()).filter(|key| got.get(*key) != reference.get(*key)).collect();
        assert!(differ.is_empty(), "kill {k} at {at:.2}s: differ from an uninterrupted run: {differ:?}\n{out}");
        let leftovers = temp_files(&store);
        assert!(leftovers.is_empty(), "kill {k} at {at:.2}s: temporary files left: {leftovers:?}");
        let after = finished(&store);
        for e in after.keys() {
            assert!(
                !e.join("checkpoint.safetensors").exists(),
                "kill {k} at {at:.2}s: finished {} kept its checkpoint",
                e.display()
            );
        }
        for (e, was) in &before {
            assert_eq!(after.get(e), Some(was), "kill {k} at {at:.2}s: finished {} ran again", e.display());
        }
        let third = chain_run(&store, &pipeline).output().unwrap();
        assert!(
            text(&third).contains("0 ran, 7 cached, 0 failed"),
            "kill {k} at {at:.2}s: an entry is damaged:\n{}",
            text(&third)
        );
        survived += 1;
    }
    eprintln!(
        "kills survived: {survived}/{points} (seed {seed}, chain {:.1}s, {hit_finished} landed after the run ended)",
        span.as_secs_f64()
    );
}

/// Mounts a tmpfs of `size` at `dir` (root only); `None` when this machine does not allow it.
fn mount_tmpfs(dir: &Path, size: &str) -> Option<()> {
    let o = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).output();
    match o {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => {
            eprintln!("skipping the disk-full test: cannot mount a tmpfs: {}", text(&o).trim());
            None
        }
        Err(e) => {
            eprintln!("skipping the disk-full test: cannot run mount: {e}");
            None
        }
    }
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

/// A store on a full disk: a clear error and exit 3, nothing half-written; after space is
/// freed the run completes with the results of a run that never saw a full disk.
#[test]
fn full_disk_is_a_clear_error_and_the_next_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("chain.yaml");
    fs::write(&pipeline, CHAIN).unwrap();
    let mnt = dir.path().join("small");
    fs::create_dir(&mnt).unwrap();
    if mount_tmpfs(&mnt, "3m").is_none() {
        return;
    }
    let _unmount = Unmount(mnt.clone());
    let store = mnt.join("store");
    let o = chain_run(&store, &pipeline).output().unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "a full disk is a store error (exit 3):\n{out}");
    assert!(out.to_lowercase().contains("no space left"), "the error says why:\n{out}");
    assert!(!out.contains("panicked"), "{out}");
    let leftovers = temp_files(&store);
    assert!(leftovers.is_empty(), "temporary files left on the full disk: {leftovers:?}");

    // Free space, run again: the results equal those of a store that never filled up.
    let o = Command::new("mount").args(["-o", "remount,size=256m"]).arg(&mnt).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let again = chain_run(&store, &pipeline).output().unwrap();
    assert!(again.status.success(), "{}", text(&again));
    let clean = dir.path().join("clean");
    let o = chain_run(&clean, &pipeline).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(results(&store), results(&clean), "results after a full disk differ");
    assert!(temp_files(&store).is_empty());
}
