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
    // Slurm holds a requeued task for two minutes (until the killed attempt's credential has
    // expired); let it start in 3 s instead. Not at once: slurmd refuses to launch a task whose
    // credential was issued in the same second its previous attempt's was revoked ("Job
    // credential revoked"), and that attempt would end without running at all.
    for line in pending() {
        let id = line.split(' ').next().unwrap().to_string();
        let o = slurm.cmd("scontrol").args(["update", &format!("JobId={id}"), "StartTime=now+3"]).output().unwrap();
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
        assert_eq!(rec["attempts"], 2, "{rec}\n{log}\n{}", slurm.ctld_log());
        assert!(rec["message"].as_str().unwrap().to_lowercase().contains("cuda"), "{rec}");
        assert_eq!(log.matches("failed: ").count(), 2, "{log}");
        assert!(!e.join("done").exists());
    }
}

#[test]
fn slurm_usr1_then_sigterm_checkpoints_and_requeues_only_that_task() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let long = ["--set", "models.deep-emotion.epochs=500", "--set", "models.microexpnet.epochs=500"];
    let o = slurm.bin().args(["--store", &store_arg(&store), "submit", tiny().to_str().unwrap()]).args(long).output();
    let o = o.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Both training tasks of one array run and have finished an epoch.
    let training = || {
        let e = entries(&store, "train");
        e.len() == 2 && e.iter().all(|e| checkpoint_epochs(e) >= 1)
    };
    assert!(wait_for(training, 300), "training did not start");
    let task_of = |e: &Path| -> (String, u64) {
        let rec: serde_json::Value = serde_json::from_slice(&fs::read(e.join("slurm.json")).unwrap()).unwrap();
        (rec["array_job"].as_str().unwrap().to_string(), rec["task"].as_u64().unwrap())
    };
    let trains = entries(&store, "train");
    let (array, _) = task_of(&trains[0]);
    assert_eq!(task_of(&trains[1]).0, array, "one array");
    // The array's first task: its bare SLURM_JOB_ID is the array's id.
    let (first, sibling) = if task_of(&trains[0]).1 == 0 { (&trains[0], &trains[1]) } else { (&trains[1], &trains[0]) };
    let task = format!("{array}_0");
    // Slurm's warning before the time limit, then (here at once) the SIGTERM of the limit.
    for sig in ["USR1", "TERM"] {
        // slurmctld answers "try again later" while it updates the job (a busy machine): retry.
        let mut tries = 0;
        let o = loop {
            let o = slurm.cmd("scancel").args([&format!("--signal={sig}"), "--batch", &task]).output().unwrap();
            tries += 1;
            if o.status.success() || !text(&o).contains("try again later") || tries == 40 {
                break o;
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        assert!(o.status.success(), "{}", text(&o));
    }
    let state = |id: &str| {
        let o = slurm.cmd("squeue").args(["-h", "-r", "-j", id, "-o", "%T"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert!(wait_for(|| state(&task) == "PENDING", 60), "task {task} is `{}`, not requeued", state(&task));
    let log = fs::read_to_string(first.join("log.txt")).unwrap();
    assert!(log.contains("stopped by a signal"), "{log}");
    assert!(!first.join("failed.json").exists(), "{log}");
    assert!(checkpoint_epochs(first) >= 1);
    // Its sibling trains on, untouched.
    let sibling_task = format!("{array}_1");
    assert_eq!(state(&sibling_task), "RUNNING");
    let sibling_log = fs::read_to_string(sibling.join("log.txt")).unwrap();
    assert!(!sibling_log.contains("stopped by a signal"), "{sibling_log}");
    // scancel (SIGTERM alone) stops the sibling with a checkpoint and it stays cancelled. This
    // cluster is the test's own: cancel everything.
    let o = slurm.cmd("scancel").args(["--user", "root"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let drained = slurm.wait_idle(120);
    let queue = slurm.cmd("squeue").args(["-h", "-r", "-o", "%i %T %r"]).output().unwrap();
    assert!(drained, "the queue did not drain:\n{}", text(&queue));
}
