//! Failed attempts: every failure counts (Slurm requeues are bounded by `retries`), and a crash
//! is reported with its own message, not an earlier attempt's.

use super::signals::{checkpoint_epochs, Group};
use super::*;

/// Pids of the processes whose parent is `parent` and whose command line contains `needle`.
fn children_running(parent: u32, needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for p in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else { continue };
        let stat = fs::read_to_string(p.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let ppid = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<u32>().ok());
        let cmdline = fs::read(p.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if ppid == Some(parent) && cmdline.contains(needle) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn a_crash_after_a_failed_attempt_is_reported_with_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let long = ["--set", "models.deep-emotion.epochs=500", "-j", "1"];
    let tiny = tiny();
    let args = ["--store", &store_arg(&store), "run", tiny.to_str().unwrap()];
    // A run records every job of the plan; stopped at once, the data is not prepared yet.
    let mut cmd = bin();
    cmd.args(args).args(long);
    let first = Group::spawn(cmd);
    let recorded = || entries(&store, "train").iter().filter(|e| e.join("job.json").exists()).count() == 2;
    assert!(wait_for(recorded, 120), "{}", first.output());
    drop(first); // SIGKILL
    for e in entries(&store, "prepare") {
        let _ = fs::remove_file(e.join("done"));
    }
    let de = entries(&store, "train")
        .into_iter()
        .find(|e| fs::read_to_string(e.join("job.json")).unwrap().contains("deep-emotion"))
        .unwrap();
    let id = format!("train/{}", de.file_name().unwrap().to_string_lossy());

    // Attempt 1 fails in the job body: its input is not finished.
    let o = run(&["--store", &store_arg(&store), "exec", "--device", "cpu", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let failed = fs::read_to_string(de.join("failed.json")).unwrap();
    assert!(failed.contains("is not finished"), "{failed}");

    // Attempt 2 is killed mid-training (as the out-of-memory killer would).
    let mut cmd = bin();
    cmd.args(args).args(long);
    let second = Group::spawn(cmd);
    assert!(wait_for(|| checkpoint_epochs(&de) >= 1, 240), "{}", second.output());
    let pids = children_running(second.child.id(), &id);
    assert_eq!(pids.len(), 1, "one exec of {id}");
    // SAFETY: kill(2) on the job process this test's run started.
    assert_eq!(unsafe { libc::kill(pids[0], libc::SIGKILL) }, 0);
    let (code, out) = second.wait(300);
    assert_eq!(code, Some(1), "{out}");
    let line = out.lines().find(|l| l.starts_with(&format!("failed: {id}"))).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("job process was killed by a signal"), "this attempt's failure: {line}\n{out}");
    assert!(!out.contains("is not finished"), "the old attempt's message is reported:\n{out}");
    let rec: serde_json::Value = serde_json::from_str(&fs::read_to_string(de.join("failed.json")).unwrap()).unwrap();
    assert_eq!(rec["attempts"], 2, "{rec}");
    assert!(rec["message"].as_str().unwrap().contains("killed by a signal"), "{rec}");
}

/// The failure records of a store's prepare entries (`Null` where there is none).
fn prepare_failures(store: &Path) -> Vec<serde_json::Value> {
    entries(store, "prepare")
        .iter()
        .map(|e| {
            fs::read_to_string(e.join("failed.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(serde_json::Value::Null)
        })
        .collect()
}

#[test]
fn slurm_requeues_a_failing_task_only_while_retries_are_left() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // `cuda:9` fails before any training (a device error) on a machine with fewer than 10 GPUs;
    // one retry is allowed.
    let o = slurm
        .bin()
        .args(["--store", &store_arg(&store), "submit", tiny().to_str().unwrap(), "--device", "cuda:9"])
        .args(["--set", "slurm.retries.default=1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let attempts = |n: u64| {
        let f = prepare_failures(&store);
        !f.is_empty() && f.iter().all(|r| r["attempts"] == n)
    };
    // Attempt 1 of each prepare task fails, is recorded, and the task (alone) is requeued.
    assert!(wait_for(|| attempts(1), 60), "failures not recorded: {:?}", prepare_failures(&store));
    let pending = || {
        let o =
            slurm.cmd("squeue").args(["-h", "-r", "-t", "PD", "-n", "fer-prepare", "-o", "%i %r"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect::<Vec<_>>()
    };
    let tasks = entries(&store, "prepare").len();
    assert!(wait_for(|| pending().len() == tasks, 30), "each failed task is requeued: {:?}", pending());
    // Slurm holds a requeued task for two minutes; let it start now.
    for line in pending() {
        let id = line.split(' ').next().unwrap().to_string();
        let o = slurm.cmd("scontrol").args(["update", &format!("JobId={id}"), "StartTime=now"]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    // Attempt 2 fails too: retries are spent, no requeue, the tasks that need it are cancelled.
    // Unbounded, the queue would never drain.
    let drained = slurm.wait_idle(90);
    if !drained {
        let _ = slurm.cmd("scancel").args(["-u", "root"]).output();
    }
    let failures = prepare_failures(&store);
    assert!(drained, "the failing tasks kept being requeued: {failures:?}");
    for (e, rec) in entries(&store, "prepare").iter().zip(&failures) {
        let log = fs::read_to_string(e.join("log.txt")).unwrap_or_default();
        assert_eq!(rec["attempts"], 2, "{rec}\n{log}");
        assert!(rec["message"].as_str().unwrap().to_lowercase().contains("cuda"), "{rec}");
        assert_eq!(log.matches("failed: ").count(), 2, "{log}");
        assert!(!e.join("done").exists());
    }
}
