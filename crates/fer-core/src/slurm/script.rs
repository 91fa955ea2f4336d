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

/// Quotes for bash: the whole text in single quotes, each `'` written as `'\''`.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One argument of an `#SBATCH` line as sbatch reads it back: bare when it holds only plain
/// characters, otherwise in double quotes with `\`, `"`, `'` and `#` escaped by a backslash
/// (sbatch's parser honours quotes and backslashes, and an unquoted `#` starts a comment).
/// Control characters cannot be written on one line; values are checked before they get here
/// (`spec::check_sbatch_option`, [`unusable_path`]), and any left are dropped.
pub(super) fn header_arg(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_.,:@+=/%&|[]*^~!-".contains(c);
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if !s.is_empty() && s.chars().all(plain) {
        return s;
    }
    let mut out = String::from('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '\'' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Why `path` cannot be written into a script (to be named in an error), if so: it must be
/// UTF-8 without control characters (one line) and without backslashes (a backslash turns off
/// Slurm's `%A`/`%a` file name patterns).
pub fn unusable_path(path: &Path) -> Option<String> {
    let Some(s) = path.to_str() else {
        return Some(format!("`{}` is not UTF-8", path.display()));
    };
    if s.chars().any(char::is_control) {
        return Some(format!("`{}` contains a control character", s.escape_debug()));
    }
    if s.contains('\\') {
        return Some(format!("`{s}` contains a backslash, which Slurm's log file patterns cannot express"));
    }
    None
}

/// An `--output` file pattern: the folder's `%` doubled (literal for Slurm), the file name's
/// `%A`/`%a` patterns kept.
fn log_pattern(p: &Path) -> String {
    let dir = p.parent().map(|d| d.to_string_lossy().replace('%', "%%")).unwrap_or_default();
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if dir.is_empty() {
        name
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// The script text. Every line before the body is an `#SBATCH` option whose value is one
/// header argument; the body is three fixed lines in which every path is single-quoted.
pub fn render(s: &ScriptSpec<'_>) -> String {
    let r = s.resources;
    let mut t = String::from("#!/bin/bash\n");
    let mut opt = |key: &str, value: Option<&str>| {
        let _ = match value {
            Some(v) => writeln!(t, "#SBATCH --{key}={}", header_arg(v)),
            None => writeln!(t, "#SBATCH --{key}"),
        };
    };
    opt("job-name", Some(s.name));
    let limit = s.array_limit.map(|k| format!("%{k}")).unwrap_or_default();
    opt("array", Some(&format!("0-{}{limit}", s.tasks.saturating_sub(1))));
    opt("output", Some(&log_pattern(s.log_pattern)));
    opt("open-mode", Some("append"));
    // Preemption and requeues resume from checkpoints; 90 s before the time limit the task gets
    // SIGUSR1, writes a checkpoint and asks to be requeued.
    opt("requeue", None);
    opt("signal", Some("B:USR1@90"));
    opt("kill-on-invalid-dep", Some("yes"));
    opt("cpus-per-task", Some(&r.cpus.unwrap_or(1).to_string()));
    if let Some(m) = &r.memory {
        opt("mem", Some(m));
    }
    if let Some(time) = &r.time {
        opt("time", Some(time));
    }
    if let Some(g) = r.gpus.filter(|g| *g > 0) {
        opt("gres", Some(&format!("gpu:{g}")));
    }
    if let Some(p) = &r.partition {
        opt("partition", Some(p));
    }
    if let Some(a) = &r.account {
        opt("account", Some(a));
    }
    for extra in &r.sbatch {
        // Checked to be `--key=value` or `--flag` with a known key (spec::check_sbatch_option).
        let body = extra.strip_prefix("--").unwrap_or(extra);
        match body.split_once('=') {
            Some((k, v)) => opt(k, Some(v)),
            None => opt(body, None),
        }
    }
    let _ = writeln!(t, "set -u");
    let _ = writeln!(t, "id=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {})", quote(&s.tasks_file.to_string_lossy()));
    let _ = writeln!(
        t,
        "exec {} --store {} exec --device {} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" --requeue --retries {} \"$id\"",
        quote(&s.exe.to_string_lossy()),
        quote(&s.store.to_string_lossy()),
        quote(s.device),
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
        assert!(text.contains("#SBATCH --output=/shared/store/slurm/x/logs/%A_%a.out\n"), "{text}");
    }

    #[test]
    fn header_arguments_read_back_as_written() {
        assert_eq!(header_arg("gpu"), "gpu");
        assert_eq!(header_arg("a b"), "\"a b\"");
        assert_eq!(header_arg(r#"x"'#\y"#), r#""x\"\'\#\\y""#);
        assert_eq!(log_pattern(Path::new("/s 100%/logs/n-%A_%a.out")), "/s 100%%/logs/n-%A_%a.out");
        assert!(unusable_path(Path::new("/a\nb")).is_some());
        assert!(unusable_path(Path::new("/a\\b")).is_some());
        assert!(unusable_path(Path::new("/a b/'c'/$d/%e")).is_none());
    }
}
