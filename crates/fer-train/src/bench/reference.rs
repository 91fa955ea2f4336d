//! The PyTorch side of the benchmarks: runs `benches/torch_reference.py` with the venv's (or a
//! given) Python and reads its one-line JSON answer.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python interpreter with torch: `FER_BENCH_PYTHON`, else `.venv/bin/python`.
pub fn python() -> PathBuf {
    std::env::var_os("FER_BENCH_PYTHON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".venv/bin/python"))
}

/// Runs the reference script with `args`; returns its JSON, or why not.
pub fn run(script: &Path, args: &[String]) -> Result<serde_json::Value, String> {
    let py = python();
    let out = Command::new(&py)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("failed to run `{}`: {e}", py.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{'));
    match (out.status.success(), line) {
        (true, Some(l)) => serde_json::from_str(l).map_err(|e| format!("bad JSON from reference: {e}")),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            Err(format!("reference failed: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" | ")))
        }
    }
}
