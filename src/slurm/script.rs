//! The sbatch script of one array: resources as `#SBATCH` lines, and a body that picks this
//! task's job from the task list and `exec`s the binary, so Slurm's signals reach it directly.

use std::fmt::Write;
use std::path::Path;

use crate::spec::Resources;

/// Everything one array's script needs.
pub struct ScriptSpec<'a> {
    pub name: &'a str,
    pub exe: &'a Path,
    pub store: &'a Path,
    pub tasks_file: &'a Path,
    pub log_pattern: &'a Path,
    pub tasks: usize,
    pub array_limit: Option<u32>,
    pub resources: &'a Resources,
    pub device: &'a str,
    pub retries: u32,
}

/// Quotes for bash.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script text.
pub fn render(s: &ScriptSpec<'_>) -> String {
    let r = s.resources;
    let mut t = String::from("#!/bin/bash\n");
    let mut opt = |line: String| {
        let _ = writeln!(t, "#SBATCH {line}");
    };
    opt(format!("--job-name={}", s.name));
    let limit = s.array_limit.map(|k| format!("%{k}")).unwrap_or_default();
    opt(format!("--array=0-{}{limit}", s.tasks.saturating_sub(1)));
    opt(format!("--output={}", s.log_pattern.display()));
    opt("--open-mode=append".into());
    // Preemption and requeues resume from checkpoints; 90 s before the time limit the task gets
    // SIGUSR1, writes a checkpoint and asks to be requeued.
    opt("--requeue".into());
    opt("--signal=B:USR1@90".into());
    opt("--kill-on-invalid-dep=yes".into());
    opt(format!("--cpus-per-task={}", r.cpus.unwrap_or(1)));
    if let Some(m) = &r.memory {
        opt(format!("--mem={m}"));
    }
    if let Some(time) = &r.time {
        opt(format!("--time={time}"));
    }
    if let Some(g) = r.gpus.filter(|g| *g > 0) {
        opt(format!("--gres=gpu:{g}"));
    }
    if let Some(p) = &r.partition {
        opt(format!("--partition={p}"));
    }
    if let Some(a) = &r.account {
        opt(format!("--account={a}"));
    }
    for extra in &r.sbatch {
        opt(extra.clone());
    }
    let _ = writeln!(t, "set -u");
    let _ = writeln!(t, "id=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {})", quote(&s.tasks_file.to_string_lossy()));
    let _ = writeln!(
        t,
        "exec {} --store {} exec --device {} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" --requeue --retries {} \"$id\"",
        quote(&s.exe.to_string_lossy()),
        quote(&s.store.to_string_lossy()),
        s.device,
        s.retries
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_resources_and_body() {
        let r = Resources { cpus: Some(4), memory: Some("8G".into()), gpus: Some(1), ..Default::default() };
        let text = render(&ScriptSpec {
            name: "fer-train",
            exe: Path::new("/opt/fer pipeline/bin"),
            store: Path::new("/shared/store"),
            tasks_file: Path::new("/shared/store/slurm/x/train.tasks"),
            log_pattern: Path::new("/shared/store/slurm/x/logs/%A_%a.out"),
            tasks: 12,
            array_limit: Some(3),
            resources: &r,
            device: "auto",
            retries: 2,
        });
        assert!(text.contains("#SBATCH --array=0-11%3\n"), "{text}");
        assert!(text.contains("#SBATCH --gres=gpu:1\n"));
        assert!(text.contains("#SBATCH --mem=8G\n"));
        assert!(text.contains("exec '/opt/fer pipeline/bin' --store '/shared/store' exec"), "{text}");
        assert!(text.contains("--retries 2"));
    }
}
