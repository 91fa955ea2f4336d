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

#[test]
fn slurm_requeues_a_failing_task_only_while_retries_are_left() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // `cuda:9` fails before any training (device error) on a machine with fewer than 10 GPUs.
    let o = slurm
        .bin()
        .args(["--store", &store_arg(&store), "submit", tiny().to_str().unwrap(), "--device", "cuda:9"])
        .args(["--set", "slurm.retries.default=1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Attempt 1 fails and is requeued; attempt 2 fails, retries are spent: no requeue, and the
    // tasks that need it are cancelled. Unbounded, the queue would never drain.
    let drained = slurm.wait_idle(180);
    let prepare = entries(&store, "prepare");
    assert_eq!(prepare.len(), 1);
    let log = fs::read_to_string(prepare[0].join("log.txt")).unwrap_or_default();
    if !drained {
        let _ = slurm.cmd("scancel").args(["-u", "root"]).output();
    }
    assert!(drained, "the failing task kept being requeued:\n{log}");
    let rec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(prepare[0].join("failed.json")).unwrap()).unwrap();
    assert_eq!(rec["attempts"], 2, "{rec}\n{log}");
    assert!(rec["message"].as_str().unwrap().contains("cuda:9"), "{rec}");
    assert_eq!(log.matches("failed: ").count(), 2, "{log}");
    assert!(!prepare[0].join("done").exists());
}
