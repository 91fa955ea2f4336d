//! Talking to Slurm through its commands (`sbatch`, `squeue`, `scontrol`, `scancel`): every call
//! returns a clear error naming the command and what it printed.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Errors of Slurm commands.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("failed to run `{cmd}`: {source} (is Slurm installed and on PATH?)")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to run `{cmd}` (exit {code}): {stderr}")]
    Failed { cmd: String, code: i32, stderr: String },
    #[error("failed to read the output of `{cmd}`: `{output}`")]
    Parse { cmd: String, output: String },
}

fn run(program: &str, args: &[&str]) -> Result<String, SlurmError> {
    let cmd = format!("{program} {}", args.join(" "));
    let out =
        Command::new(program).args(args).output().map_err(|source| SlurmError::Spawn { cmd: cmd.clone(), source })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(SlurmError::Failed { cmd, code: out.status.code().unwrap_or(-1), stderr });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits a batch script; returns the job id (`--parsable` prints `id[;cluster]`).
pub fn sbatch(script: &Path, args: &[String]) -> Result<String, SlurmError> {
    let mut a: Vec<&str> = vec!["--parsable"];
    a.extend(args.iter().map(String::as_str));
    let s = script.to_string_lossy();
    a.push(&s);
    let out = run("sbatch", &a)?;
    let id = out.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::Parse { cmd: "sbatch".into(), output: out });
    }
    Ok(id)
}

/// The state of a queued or running task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    pub state: String,
    pub node: String,
    pub reason: String,
}

/// Queued and running tasks by id (`123_4` for array tasks), one line per array task.
pub fn squeue() -> Result<HashMap<String, TaskState>, SlurmError> {
    let out = run("squeue", &["-h", "-r", "-o", "%i|%T|%N|%r"])?;
    let mut map = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() == 4 {
            map.insert(
                f[0].trim().to_string(),
                TaskState { state: f[1].into(), node: f[2].into(), reason: f[3].into() },
            );
        }
    }
    Ok(map)
}

/// The cluster's `MaxArraySize` (arrays hold indices 0..MaxArraySize-1).
pub fn max_array_size() -> Result<usize, SlurmError> {
    let out = run("scontrol", &["show", "config"])?;
    out.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok()).flatten()
        })
        .ok_or(SlurmError::Parse { cmd: "scontrol show config".into(), output: "no MaxArraySize".into() })
}

/// The Slurm id of the task this process runs in: `<array>_<index>` inside an array task (the
/// bare `SLURM_JOB_ID` of an array's first task names the whole array, and requeueing it would
/// requeue every sibling), else `SLURM_JOB_ID`; `None` outside Slurm.
pub fn this_task() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(array), Some(task)) => Some(format!("{array}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}

/// Puts a job back in the queue (it runs again from its checkpoint).
pub fn requeue(job: &str) -> Result<(), SlurmError> {
    run("scontrol", &["requeue", job]).map(|_| ())
}

/// Cancels jobs.
pub fn scancel(jobs: &[String]) -> Result<(), SlurmError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let a: Vec<&str> = jobs.iter().map(String::as_str).collect();
    run("scancel", &a).map(|_| ())
}
