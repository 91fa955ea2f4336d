//! Where the numbers come from: code revision, program and LibTorch versions, devices, CPU and
//! GPU names, seeds, and when the jobs behind the report ran.

use std::path::Path;
use std::process::Command;

use super::collect::Collection;

/// Provenance of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub generated_at: String,
    /// `git rev-parse HEAD` of the working directory, or `unknown`.
    pub git_commit: String,
    /// Uncommitted changes (`git status --porcelain`); `None` when git is unavailable.
    pub git_dirty: Option<bool>,
    pub crate_version: String,
    /// LibTorch this program was built against.
    pub libtorch: String,
    /// Programs and LibTorch versions recorded by the jobs.
    pub job_programs: Vec<String>,
    pub job_libtorch: Vec<String>,
    /// Devices recorded by the jobs (`cpu`, `cuda:0`) with their thread counts.
    pub devices: Vec<String>,
    /// GPU names of this machine (asked only when a job ran on CUDA).
    pub gpus: Vec<String>,
    pub cpu_model: String,
    pub seeds: Vec<u64>,
    /// Earliest start and latest end among the jobs' provenance records.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub store: String,
    /// How each Inception_v3 teacher started: trained from scratch, or from a weights file.
    pub teachers: Vec<String>,
}

/// Gathers provenance; never fails (unknown facts read `unknown`).
pub(crate) fn gather(col: &Collection, store_root: &Path, repo_dir: Option<&Path>, libtorch: &str) -> RunInfo {
    let provs: Vec<&fer_core::records::Provenance> = col
        .evaluations
        .iter()
        .flat_map(|e| e.provenance.iter().chain(e.train.iter().flat_map(|t| t.provenance.iter())))
        .collect();
    let distinct = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v
    };
    let devices = distinct(
        provs
            .iter()
            .map(|p| format!("{} ({} thread{})", p.device, p.threads, if p.threads == 1 { "" } else { "s" }))
            .collect(),
    );
    let gpus = if provs.iter().any(|p| p.device.starts_with("cuda")) { fer_core::gpus::names() } else { Vec::new() };
    let mut seeds: Vec<u64> = col.evaluations.iter().filter_map(|e| e.label.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let dir = repo_dir.map(Path::to_path_buf).or_else(|| std::env::current_dir().ok());
    let git = |args: &[&str]| -> Option<String> {
        let mut c = Command::new("git");
        if let Some(d) = &dir {
            c.arg("-C").arg(d);
        }
        let out = c.args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let git_commit = git(&["rev-parse", "HEAD"]);
    let git_dirty = git_commit.as_ref().and_then(|_| git(&["status", "--porcelain"])).map(|s| !s.is_empty());
    RunInfo {
        generated_at: fer_core::clock::now_rfc3339(),
        git_commit: git_commit.unwrap_or_else(|| "unknown".into()),
        git_dirty,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        libtorch: libtorch.to_string(),
        job_programs: distinct(provs.iter().map(|p| p.program.clone()).collect()),
        job_libtorch: distinct(provs.iter().map(|p| p.libtorch.clone()).collect()),
        devices,
        gpus,
        cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
        seeds,
        started_at: provs.iter().map(|p| p.started_at.clone()).min(),
        finished_at: provs.iter().map(|p| p.finished_at.clone()).max(),
        store: store_root.display().to_string(),
        teachers: teachers(col),
    }
}

/// One line per Inception_v3 model and data set: trained from scratch (the paper fine-tuned an
/// ImageNet-pretrained network), or initialised from a `weights:` file (its sha256).
pub(crate) fn teachers(col: &Collection) -> Vec<String> {
    let mut out: Vec<String> = col
        .evaluations
        .iter()
        .filter(|e| e.family == "inception-v3")
        .map(|e| {
            let init = e.train.as_ref().and_then(|t| t.hyper.iter().find(|(k, _)| k == "init"));
            let how = match init {
                Some((_, fer_core::plan::Hyper::Text(sha))) => {
                    format!("initialised from a weights file (sha256 {})", &sha[..sha.len().min(12)])
                }
                _ => "trained from scratch (the paper fine-tuned an ImageNet-pretrained Inception_v3)".to_string(),
            };
            format!("{} on {}: {how}", e.model(), e.label.dataset)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The CPU model name from `/proc/cpuinfo`.
pub(crate) fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Seeds as runs: `1-25, 201-225, 7`.
pub(crate) fn seed_ranges(seeds: &[u64]) -> String {
    let mut v = seeds.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j > i + 1 {
            format!("{}\u{2013}{}", v[i], v[j])
        } else if j == i + 1 {
            format!("{}, {}", v[i], v[j])
        } else {
            v[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_collapse_into_runs() {
        assert_eq!(seed_ranges(&[3, 1, 2, 7, 9, 10, 201, 202, 203]), "1\u{2013}3, 7, 9, 10, 201\u{2013}203");
        assert_eq!(seed_ranges(&[]), "");
    }
}
