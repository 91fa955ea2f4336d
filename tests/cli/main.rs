//! Integration tests: the real `fer-pipeline` binary on temporary stores and pipelines.
#![allow(clippy::print_stdout)] // tests print what they measured

mod architecture;
mod checkpoint;
mod crops;
mod data_efficiency;
mod domain_shift;
mod efficiency;
mod export;
mod faults;
mod gc_roots;
mod hashing;
mod json;
mod limits;
mod predict;
mod protocols;
mod recipe;
mod released;
mod report_out;
mod requeue;
mod robustness;
mod signals;
mod slurm_safety;
mod stats;
mod tensorboard;
mod torch_free;
mod typed;
mod watch;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// This test process's scratch folder, `fer-cli-<pid>` in the temp dir: the binary under test
/// and every report folder go there. The harness runs no destructors at exit, so each run first
/// removes the folders of test processes that are gone (a hard-linked binary pins 1.4 GB once a
/// rebuild has replaced it).
fn scratch() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        for e in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("fer-cli-").and_then(|p| p.parse::<i32>().ok()) else { continue };
            // SAFETY: kill(2) with signal 0 only checks whether the process exists.
            let gone = unsafe { libc::kill(pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if gone {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        let dir = tmp.join(format!("fer-cli-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// The binary under test, copied once to a private place: the suite runs for minutes, and a
/// build in another checkout sharing the target folder must not swap it out mid-run.
fn exe() -> &'static Path {
    static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        // A hard link pins the inode without copying 1.4 GB of debug info per test run (a
        // rebuild writes a new file); a copy where /tmp is another file system. The worker
        // (LibTorch's half) goes beside it, where `fer-pipeline` looks for it.
        for src in [env!("CARGO_BIN_EXE_fer-pipeline"), env!("CARGO_BIN_EXE_fer-pipeline-worker")] {
            let dest = scratch().join(Path::new(src).file_name().unwrap());
            if fs::hard_link(src, &dest).is_err() {
                fs::copy(src, &dest).unwrap();
            }
        }
        scratch().join("fer-pipeline")
    })
}

fn bin() -> Command {
    let mut c = Command::new(exe());
    // Each invocation writes its report (the end of `run`) somewhere of its own.
    let reports = tempfile::Builder::new().prefix("reports-").tempdir_in(scratch()).unwrap().keep();
    c.env_remove("FER_STORE")
        .env_remove("RUST_LOG")
        .env("FER_REPORT_DIR", reports)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Writes an executable bash script (a stand-in for the program on a Slurm node).
fn write_script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    let mut perm = fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    fs::set_permissions(path, perm).unwrap();
}

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny.yaml")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn store_arg(dir: &Path) -> String {
    dir.to_string_lossy().into_owned()
}

/// Entry folders of one kind in a store.
fn entries(store: &Path, kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        fs::read_dir(store.join(kind)).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn run_tiny(store: &Path, extra: &[&str]) -> Output {
    let s = store_arg(store);
    let t = tiny();
    let mut args = vec!["--store", &s, "run", t.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn tiny_runs_then_everything_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let first = run_tiny(&store, &[]);
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("8 ran, 0 cached, 0 failed"), "{out}");
    assert!(out.contains("deep-emotion") && out.contains("microexpnet-xxs"), "{out}");
    for kind in ["prepare", "train", "evaluate"] {
        for e in entries(&store, kind) {
            assert!(e.join("done").exists(), "{} not done", e.display());
            assert!(e.join("job.json").exists());
        }
    }
    assert_eq!(entries(&store, "train").len(), 2);
    let train = &entries(&store, "train")[0];
    for f in ["weights.safetensors", "metrics.csv", "provenance.json", "log.txt"] {
        assert!(train.join(f).exists(), "{f} missing");
    }
    assert!(!train.join("checkpoint.safetensors").exists(), "a finished job keeps no checkpoint");
    let metrics = fs::read_to_string(train.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 5, "{metrics}");

    let second = run_tiny(&store, &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("0 ran, 8 cached"), "{}", text(&second));

    let status = run(&["--store", &store_arg(&store), "status", tiny().to_str().unwrap()]);
    assert!(status.status.success());
    let s = text(&status);
    assert!(s.contains("cached acc "), "{s}");
}

#[test]
fn changing_one_hyperparameter_reruns_exactly_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(run_tiny(&store, &[]).status.success());
    let s = store_arg(&store);
    let t = tiny();
    let plan = run(&["--store", &s, "plan", t.to_str().unwrap(), "--set", "models.microexpnet.lr=0.001", "--explain"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let out = text(&plan);
    let pending: Vec<&str> = out.lines().filter(|l| l.ends_with("pending")).collect();
    assert_eq!(pending.len(), 3, "{out}");
    for kind in ["train", "evaluate", "saliency"] {
        assert!(pending.iter().any(|l| l.starts_with(kind) && l.contains("microexpnet")), "{kind}: {out}");
    }
    assert!(out.contains("train.lr: 0.0001 -> 0.001"), "explain names the change: {out}");
    let again = run_tiny(&store, &["--set", "models.microexpnet.lr=0.001"]);
    assert!(text(&again).contains("3 ran, 5 cached"), "{}", text(&again));
}

fn wait_for(mut f: impl FnMut() -> bool, secs: u64) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn sigkill_mid_training_resumes_to_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let killed = dir.path().join("killed");
    let clean = dir.path().join("clean");
    let sets = ["--set", "models.deep-emotion.epochs=6", "--set", "models.microexpnet.epochs=6", "-j", "1"];
    let mut child = bin()
        .args(["--store", &store_arg(&killed), "run", tiny().to_str().unwrap()])
        .args(sets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some training job has a checkpoint after epoch 2.
    let has_checkpoint = || {
        entries(&killed, "train").iter().any(|e| {
            let log = fs::read_to_string(e.join("log.txt")).unwrap_or_default();
            e.join("checkpoint.safetensors").exists() && !log.contains("done in") && {
                let h = fs::read(e.join("checkpoint.safetensors")).unwrap_or_default();
                String::from_utf8_lossy(&h).contains("\"epochs_done\":\"2\"")
            }
        })
    };
    assert!(wait_for(has_checkpoint, 240), "no checkpoint appeared");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let resumed =
        bin().args(["--store", &store_arg(&killed), "run", tiny().to_str().unwrap()]).args(sets).output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    let logs: String =
        entries(&killed, "train").iter().map(|e| fs::read_to_string(e.join("log.txt")).unwrap()).collect();
    assert!(logs.contains("resuming from checkpoint after epoch"), "{logs}");

    let fresh =
        bin().args(["--store", &store_arg(&clean), "run", tiny().to_str().unwrap()]).args(sets).output().unwrap();
    assert!(fresh.status.success(), "{}", text(&fresh));
    let (a, b) = (entries(&killed, "train"), entries(&clean, "train"));
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.file_name(), y.file_name(), "same hashes");
        for f in ["weights.safetensors", "metrics.csv"] {
            assert_eq!(fs::read(x.join(f)).unwrap(), fs::read(y.join(f)).unwrap(), "{f} differs after resume");
        }
    }
    for (x, y) in entries(&killed, "evaluate").iter().zip(&entries(&clean, "evaluate")) {
        assert_eq!(fs::read(x.join("predictions.csv")).unwrap(), fs::read(y.join("predictions.csv")).unwrap());
    }
}

#[test]
fn two_runs_at_once_train_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let spawn = || {
        bin()
            .args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "-j", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    for kind in ["prepare", "train", "evaluate"] {
        for e in entries(&store, kind) {
            let log = fs::read_to_string(e.join("log.txt")).unwrap();
            assert_eq!(log.matches(" start ").count(), 1, "{} ran twice:\n{log}", e.display());
            assert!(e.join("done").exists());
        }
    }
    let again = run_tiny(&store, &[]);
    assert!(text(&again).contains("0 ran, 8 cached"), "no entry is corrupt: {}", text(&again));
}

#[test]
fn damaged_weights_are_detected_and_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(run_tiny(&store, &[]).status.success());
    let train = entries(&store, "train")[0].clone();
    let w = train.join("weights.safetensors");
    let original = fs::read(&w).unwrap();
    let mut bad = original.clone();
    let n = bad.len();
    bad[n - 10] ^= 0x55;
    fs::write(&w, &bad).unwrap();
    let plan = run(&["--store", &store_arg(&store), "plan", tiny().to_str().unwrap()]);
    assert!(text(&plan).contains("damaged"), "{}", text(&plan));
    let again = run_tiny(&store, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("1 ran, 7 cached"), "{}", text(&again));
    assert_eq!(fs::read(&w).unwrap(), original, "re-run reproduces the same weights");

    // A truncated checkpoint is discarded, never used.
    let t = entries(&store, "train")[1].clone();
    fs::remove_file(t.join("done")).unwrap();
    fs::write(t.join("checkpoint.safetensors"), b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    let again = run_tiny(&store, &[]);
    assert!(again.status.success(), "{}", text(&again));
    let log = fs::read_to_string(t.join("log.txt")).unwrap();
    assert!(log.contains("discarding damaged checkpoint"), "{log}");
}

/// Writes `yaml` as a pipeline, runs `plan` and `run` on it: both must fail with exit 2,
/// a message naming `pipeline.yaml:line:col` (when `line` is given) and `key`, and no store.
fn rejects(yaml: &str, line: Option<usize>, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pipeline.yaml");
    fs::write(&p, yaml).unwrap();
    let store = dir.path().join("store");
    for cmd in ["plan", "run"] {
        let o = run(&["--store", &store_arg(&store), cmd, p.to_str().unwrap()]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {out}");
        assert!(!out.contains("panicked"), "{out}");
        if let Some(l) = line {
            assert!(out.contains(&format!("pipeline.yaml:{l}:")), "expected line {l}: {out}");
        }
        assert!(out.contains(key), "expected key `{key}`: {out}");
        assert!(!store.exists(), "{cmd} wrote to the store");
    }
}

const GOOD: &str = "version: 1
name: t
seeds: [1]
datasets:
  d:
    kind: synthetic
    subjects: 6
    images_per_subject: 10
models:
  m:
    arch: deep-emotion
    datasets: d
    epochs: 1
    lr: 0.01
";

#[test]
fn bad_pipelines_are_rejected_with_positions() {
    rejects("version: 1\nname: x\nseeds: [1]\n  datasets: x\n", Some(4), "invalid YAML");
    rejects(&GOOD.replace("    lr: 0.01\n", "    lr: 0.01\n    lr: 0.02\n"), Some(15), "duplicate key `models.m.lr`");
    rejects(&GOOD.replace("    epochs: 1\n", "    epochs: 1\n    epochz: 2\n"), Some(14), "models.m.epochz");
    rejects(&GOOD.replace("epochs: 1", "epochs: many"), Some(13), "models.m.epochs");
    rejects(&GOOD.replace("epochs: 1", "epochs: -3"), Some(13), "models.m.epochs");
    rejects(&GOOD.replace("lr: 0.01", "lr: 0"), Some(14), "models.m.lr");
    rejects(&GOOD.replace("lr: 0.01", "lr: [0.1, -1]"), Some(14), "models.m.lr[1]");
    rejects(&GOOD.replace("arch: deep-emotion", "arch: resnet"), Some(11), "models.m.arch");
    rejects(&GOOD.replace("datasets: d", "datasets: nope"), Some(12), "models.m.datasets");
    rejects(&format!("{GOOD}matrix:\n  exclude:\n    - seed: 1\n"), None, "zero jobs");
    rejects(&format!("{GOOD}matrix:\n  include:\n    - model: other\n"), Some(17), "matrix.include[0].model");
    rejects(
        &format!("{GOOD}profiles:\n  quick:\n    models:\n      m:\n        batch_size: 0\n"),
        Some(19),
        "models.m.batch_size",
    );
}

#[test]
fn bad_command_lines_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let missing = run(&["--store", &s, "plan", "/nonexistent/pipeline.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("/nonexistent/pipeline.yaml"), "{}", text(&missing));
    let t = tiny();
    let bad_set = run(&["--store", &s, "plan", t.to_str().unwrap(), "--set", "models.deep-emotion.lr=-1"]);
    assert_eq!(bad_set.status.code(), Some(2));
    assert!(text(&bad_set).contains("--set `models.deep-emotion.lr=-1`"), "{}", text(&bad_set));
    let bad_profile = run(&["--store", &s, "plan", t.to_str().unwrap(), "--profile", "nope"]);
    assert_eq!(bad_profile.status.code(), Some(2));
    assert!(text(&bad_profile).contains("unknown profile `nope`"), "{}", text(&bad_profile));
    assert!(!store.exists());
}

#[test]
fn unwritable_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let store = file.join("store");
    let o = run(&["--store", &store_arg(&store), "run", tiny().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("not writable"), "{}", text(&o));
}

#[test]
fn plan_draws_the_dag() {
    let t = tiny();
    let dot = run(&["plan", t.to_str().unwrap(), "--dot"]);
    let d = text(&dot);
    assert!(d.starts_with("digraph plan {"), "{d}");
    assert_eq!(d.matches(" -> ").count(), 10, "{d}");
    let mermaid = text(&run(&["plan", t.to_str().unwrap(), "--mermaid"]));
    assert!(mermaid.starts_with("flowchart LR"));
    assert_eq!(mermaid.matches(" --> ").count(), 10, "{mermaid}");
}

#[test]
fn plan_output_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["--store", &store_arg(&dir.path().join("s")), "plan", "examples/tiny.yaml"]);
    let out = String::from_utf8_lossy(&o.stdout).replace(&store_arg(&dir.path().join("s")), "[STORE]");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[HASH]");
    settings.bind(|| insta::assert_snapshot!(out));
}

#[test]
fn models_lists_reference_parameter_counts() {
    let o = run(&["models"]);
    let out = text(&o);
    assert!(o.status.success());
    for n in ["66,877", "900,920", "232,184", "120,728", "65,000"] {
        assert!(out.contains(n), "{n} missing: {out}");
    }
}

#[test]
fn distillation_chain_shares_teacher_targets() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let kd = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kd.yaml");
    let o = run(&["--store", &store_arg(&store), "run", kd.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("15 ran"), "{}", text(&o));
    // One set of targets per teacher, read by both students of `inception` (T = 4 and T = 8).
    let targets = entries(&store, "distill-targets");
    assert_eq!(targets.len(), 2);
    let mut readers: std::collections::HashMap<String, usize> = Default::default();
    for e in entries(&store, "train") {
        let job: serde_json::Value = serde_json::from_slice(&fs::read(e.join("job.json")).unwrap()).unwrap();
        if let Some(t) = job["spec"]["distill"]["targets"].as_str() {
            *readers.entry(t.to_string()).or_default() += 1;
        }
    }
    let mut counts: Vec<usize> = readers.values().copied().collect();
    counts.sort();
    assert_eq!(counts, vec![1, 2], "{readers:?}");
    for t in &targets {
        let log = fs::read_to_string(t.join("log.txt")).unwrap();
        assert_eq!(log.matches(" start ").count(), 1, "targets computed once:\n{log}");
    }
}

/// A real one-node Slurm (slurmctld + slurmd + munge) for the duration of a test.
struct LocalSlurm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl LocalSlurm {
    fn start() -> LocalSlurm {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-slurm");
        let o = Command::new(&script).arg("start").arg(dir.path()).output().expect("scripts/local-slurm runs");
        assert!(
            o.status.success(),
            "could not start a local Slurm (needs root, slurm-wlm and munge: scripts/setup --test): {}",
            text(&o)
        );
        let conf = dir.path().join("slurm.conf");
        LocalSlurm { dir, conf }
    }

    /// The binary with SLURM_CONF pointing at this cluster.
    fn bin(&self) -> Command {
        let mut c = bin();
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// The controller's log, for failure messages.
    fn ctld_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("slurmctld.log")).unwrap_or_default()
    }

    /// Waits until no task of ours is queued or running.
    fn wait_idle(&self, secs: u64) -> bool {
        wait_for(
            || {
                let o = self.cmd("squeue").args(["-h", "-o", "%i"]).output().unwrap();
                o.status.success() && String::from_utf8_lossy(&o.stdout).trim().is_empty()
            },
            secs,
        )
    }
}

impl Drop for LocalSlurm {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-slurm");
        let _ = Command::new(script).arg("stop").arg(self.dir.path()).output();
    }
}

fn same_results(a: &Path, b: &Path) {
    for kind in ["prepare", "train", "distill-targets", "evaluate"] {
        let (x, y) = (entries(a, kind), entries(b, kind));
        let names = |v: &Vec<PathBuf>| v.iter().map(|p| p.file_name().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(&x), names(&y), "{kind}: same hashes");
        for (p, q) in x.iter().zip(&y) {
            for f in ["weights.safetensors", "metrics.csv", "targets.safetensors", "predictions.csv"] {
                if p.join(f).exists() {
                    assert_eq!(
                        fs::read(p.join(f)).unwrap(),
                        fs::read(q.join(f)).unwrap(),
                        "{} differs",
                        p.join(f).display()
                    );
                }
            }
        }
    }
}

#[test]
fn slurm_runs_the_kd_chain_resumes_and_reports_a_dead_controller() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let kd = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kd.yaml");
    let kd = kd.to_str().unwrap();

    // 1. The whole distillation chain through job arrays; equal to a local run.
    let cluster = dir.path().join("cluster");
    let o = slurm.bin().args(["--store", &store_arg(&cluster), "submit", kd]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("queued 15 task(s)"), "{}", text(&o));
    assert!(slurm.wait_idle(600), "the cluster did not finish");
    let status = slurm.bin().args(["--store", &store_arg(&cluster), "status", kd]).output().unwrap();
    assert!(text(&status).contains("15 jobs") && text(&status).contains(": 15 cached"), "{}", text(&status));
    let local = dir.path().join("local");
    let o = bin().args(["--store", &store_arg(&local), "run", kd]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    same_results(&cluster, &local);
    let again = slurm.bin().args(["--store", &store_arg(&cluster), "submit", kd]).output().unwrap();
    assert!(text(&again).contains("queued 0 task(s)"), "a second submit queues nothing: {}", text(&again));

    // 2. scancel a training task mid-way; submit again: it resumes from its checkpoint.
    let long = dir.path().join("long");
    let sets = ["--set", "models.deep-emotion.epochs=12", "--set", "models.microexpnet.epochs=2"];
    let submit_long = || {
        let o =
            slurm.bin().args(["--store", &store_arg(&long), "submit", tiny().to_str().unwrap()]).args(sets).output();
        let o = o.unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    submit_long();
    let de_train = || {
        entries(&long, "train")
            .into_iter()
            .find(|e| fs::read_to_string(e.join("job.json")).unwrap_or_default().contains("deep-emotion"))
    };
    let progressed = || {
        de_train().is_some_and(|e| {
            let h = fs::read(e.join("checkpoint.safetensors")).unwrap_or_default();
            let head = String::from_utf8_lossy(&h[..h.len().min(4096)]).into_owned();
            head.contains("\"epochs_done\":\"3\"") || head.contains("\"epochs_done\":\"4\"")
        })
    };
    assert!(wait_for(progressed, 300), "training did not reach epoch 3");
    let rec: serde_json::Value =
        serde_json::from_slice(&fs::read(de_train().unwrap().join("slurm.json")).unwrap()).unwrap();
    let task = format!("{}_{}", rec["array_job"].as_str().unwrap(), rec["task"]);
    let o = slurm.cmd("scancel").arg(&task).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // The task checkpoints and exits; dependent arrays are cancelled (--kill-on-invalid-dep).
    assert!(slurm.wait_idle(300), "the queue did not drain after scancel");
    submit_long();
    assert!(slurm.wait_idle(600));
    let log = fs::read_to_string(de_train().unwrap().join("log.txt")).unwrap();
    assert!(log.contains("resuming from checkpoint after epoch"), "{log}");
    assert!(de_train().unwrap().join("done").exists(), "{log}");
    let local_long = dir.path().join("local-long");
    let o =
        bin().args(["--store", &store_arg(&local_long), "run", tiny().to_str().unwrap()]).args(sets).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    same_results(&long, &local_long);

    // 3. slurmctld down: a clear error, nothing recorded as queued or running.
    let down_dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-slurm");
    let o = Command::new(script).args(["conf", down_dir.path().to_str().unwrap(), "6"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let down = dir.path().join("down");
    let o = bin()
        .env("SLURM_CONF", down_dir.path().join("slurm.conf"))
        .args(["--store", &store_arg(&down), "submit", tiny().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("squeue"), "{}", text(&o));
    assert!(!down.exists(), "nothing written when Slurm is down");
}

/// A tiny JAFFE in its real layout (`SUBJ.EXn.idx.tiff`): 4 subjects x 7 expressions x 2.
fn write_jaffe(dir: &Path) -> Vec<PathBuf> {
    fs::create_dir_all(dir).unwrap();
    let mut files = Vec::new();
    for (s, subj) in ["KA", "KL", "KM", "YM"].iter().enumerate() {
        for (e, ex) in ["AN", "DI", "FE", "HA", "NE", "SA", "SU"].iter().enumerate() {
            for k in 0..2 {
                let img = image::GrayImage::from_fn(64, 64, |x, y| {
                    image::Luma([((x * (e as u32 + 1) + y * (s as u32 + 2) + k) % 256) as u8])
                });
                let p = dir.join(format!("{subj}.{ex}{}.{}.tiff", k + 1, 10 * s + 2 * e + k as usize));
                img.save(&p).unwrap();
                files.push(p);
            }
        }
    }
    files
}

#[test]
fn real_data_set_folds_absence_and_verification() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let manifests = dir.path().join("manifests");
    fs::create_dir_all(&manifests).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(repo.join("data-manifests/jaffe.yaml")).unwrap();
    assert!(manifest.contains("folds: 10"));
    fs::write(manifests.join("jaffe.yaml"), manifest.replace("folds: 10", "folds: 4")).unwrap();
    let pipeline = dir.path().join("pipeline.yaml");
    fs::write(
        &pipeline,
        "version: 1\nname: jaffe-folds\nseeds: [1]\nsaliency: {enabled: false}\n\
         datasets:\n  jaffe: {kind: jaffe, manifest: manifests/jaffe.yaml, folds: 4}\n\
         models:\n  de: {arch: deep-emotion, datasets: jaffe, epochs: 1, batch_size: 16}\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let cmd = |args: &[&str]| {
        let mut c = bin();
        c.env("FER_DATA_DIR", &data).arg("--store").arg(&store).args(args);
        c.output().unwrap()
    };
    let p = pipeline.to_str().unwrap();

    // Absent: plan says where to put it; run skips (or fails with --strict).
    let plan = cmd(&["plan", p]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(text(&plan).contains("unavailable"), "{}", text(&plan));
    assert!(text(&plan).contains(&data.join("jaffe").display().to_string()), "says where: {}", text(&plan));
    assert_eq!(cmd(&["run", p, "--strict"]).status.code(), Some(2));
    let skipped = cmd(&["run", p]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    assert!(text(&skipped).contains("skipping 9 job(s)"), "{}", text(&skipped));

    // Present: one prepare job, each fold trained and evaluated on held-out subjects.
    let files = write_jaffe(&data.join("jaffe"));
    let run = cmd(&["run", p]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("9 ran"), "{}", text(&run));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(entries(&store, "prepare")[0].join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["images"], 56);
    assert_eq!(summary["subjects"]["fold0"], 1, "one subject per fold: {summary}");
    for e in entries(&store, "evaluate") {
        let r: serde_json::Value = serde_json::from_slice(&fs::read(e.join("result.json")).unwrap()).unwrap();
        assert_eq!(r["test"]["n"], 14, "a fold's test set is one subject's 14 images");
    }

    // Verification: hashes written from the local copy, then a tampered file is named.
    let m = manifests.to_str().unwrap();
    let hashed = cmd(&["data", "hash", "jaffe", "--manifests", m]);
    assert!(hashed.status.success(), "{}", text(&hashed));
    let ok = cmd(&["data", "verify", "jaffe", "--manifests", m]);
    assert!(ok.status.success(), "{}", text(&ok));
    let mut bytes = fs::read(&files[5]).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    fs::write(&files[5], &bytes).unwrap();
    let bad = cmd(&["data", "verify", "jaffe", "--manifests", m]);
    assert_eq!(bad.status.code(), Some(6), "{}", text(&bad));
    let name = files[5].file_name().unwrap().to_string_lossy().into_owned();
    assert!(text(&bad).contains(&name), "names the tampered file: {}", text(&bad));
}

#[test]
fn doctor_reports_libtorch_and_cuda() {
    let o = run(&["doctor"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    // What the venv's torch wheel (whose LibTorch we link) says about itself and this machine.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let torch = Command::new(&python)
        .args(["-c", "import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.device_count())"])
        .output()
        .expect("the venv's python runs");
    let said = String::from_utf8_lossy(&torch.stdout).into_owned();
    assert!(torch.status.success(), "{said}{}", String::from_utf8_lossy(&torch.stderr));
    let [version, available, devices] = said.split_whitespace().collect::<Vec<_>>()[..] else { panic!("{said}") };
    let value = |label: &str| {
        out.lines().find_map(|l| l.strip_prefix(label)).map(str::trim).unwrap_or_else(|| panic!("no `{label}`: {out}"))
    };
    assert_eq!(value("libtorch "), format!("{version} (built against)"), "{out}");
    assert_eq!(value("cuda available "), available.to_lowercase(), "{out}");
    assert_eq!(value("cuda devices "), devices, "{out}");
    assert!(out.contains("libtorch_cuda    loaded"), "the binary must load libtorch_cuda: {out}");
}

#[test]
fn submit_dry_run_prints_scripts_with_resources_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    fs::write(
        &p,
        format!(
            "{GOOD}slurm:\n  partition: gpu\n  array_limit: 3\n  retries: {{train: 2}}\n  resources:\n    default: {{cpus: 2, memory: 4G, time: \"01:00:00\"}}\n    train: {{gpus: 1}}\n    m: {{memory: 8G}}\n  sbatch: [\"--qos=normal\"]\n"
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    let o = run(&["--store", &store_arg(&store), "submit", p.to_str().unwrap(), "--dry-run"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("#SBATCH --partition=gpu"), "{out}");
    assert!(out.contains("#SBATCH --gres=gpu:1"), "{out}");
    assert!(out.contains("#SBATCH --mem=8G"), "model resources win: {out}");
    assert!(out.contains("#SBATCH --qos=normal"), "{out}");
    assert!(out.contains("%3"), "{out}");
    assert!(out.contains("--retries 2"), "{out}");
    assert!(out.contains("would queue 4 task(s)"), "{out}");
    assert!(!store.exists());
    fs::write(&p, format!("{GOOD}slurm:\n  resources:\n    nosuch: {{cpus: 0}}\n")).unwrap();
    let bad = run(&["--store", &store_arg(&store), "submit", p.to_str().unwrap(), "--dry-run"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("slurm.resources.nosuch"), "{}", text(&bad));
}
