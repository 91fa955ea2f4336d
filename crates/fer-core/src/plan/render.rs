//! Renders a plan: a table (one row per job, with its state), Graphviz dot and Mermaid.

use std::fmt::Write;

use super::dag::{Job, Plan};
use super::job::{JobKind, JobSpec};

/// What the store says about a planned job.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedState {
    Cached,
    Pending,
    /// Interrupted after this many epochs; a run resumes it.
    Partial(u32),
    Running,
    Failed(String),
    /// Its entry is damaged and will be re-run.
    Damaged(String),
    /// Its data is not available here.
    Unavailable(String),
}

impl PlannedState {
    pub fn word(&self) -> String {
        match self {
            PlannedState::Cached => "cached".into(),
            PlannedState::Pending => "pending".into(),
            PlannedState::Partial(e) => format!("partial@{e}"),
            PlannedState::Running => "running".into(),
            PlannedState::Failed(_) => "failed".into(),
            PlannedState::Damaged(_) => "damaged".into(),
            PlannedState::Unavailable(_) => "unavailable".into(),
        }
    }
}

/// A job with its state and optional notes (`--explain`, results).
pub struct PlannedJob<'a> {
    pub job: &'a Job,
    pub state: PlannedState,
    /// Extra lines printed under the row.
    pub notes: Vec<String>,
    /// A short result, e.g. `acc 61.2 %`.
    pub result: Option<String>,
}

fn settings(job: &Job) -> String {
    match &job.spec {
        JobSpec::Prepare(p) => format!("{}px", p.size),
        JobSpec::DistillTargets(_) => format!("{} logits", job.label.arch),
        JobSpec::Train(t) => {
            let mut s: Vec<String> = vec![job.label.arch.clone()];
            s.extend(job.label.axes.iter().map(|(k, v)| format!("{k}={v}")));
            if let Some(d) = &t.distill {
                s.push(format!(
                    "kd(T={}, w={}{})",
                    d.spec.temperature,
                    d.spec.weight,
                    if d.spec.t2 { ", T^2" } else { "" }
                ));
            }
            s.join(" ")
        }
        JobSpec::Evaluate(_) | JobSpec::Saliency(_) | JobSpec::Transfer(_) | JobSpec::Robustness(_) => {
            let mut s: Vec<String> = vec![job.label.arch.clone()];
            s.extend(job.label.axes.iter().map(|(k, v)| format!("{k}={v}")));
            s.join(" ")
        }
        JobSpec::Throughput(t) => {
            let batches: Vec<String> = t.batches.iter().map(u32::to_string).collect();
            let threads: Vec<&str> = t.threads.iter().map(|x| x.name()).collect();
            format!("cpu batch={} threads={}", batches.join(","), threads.join(","))
        }
    }
}

/// The table of `plan` and `status`, with a summary line.
pub fn render_table(rows: &[PlannedJob<'_>]) -> String {
    let header = ["KIND", "MODEL", "DATASET", "SETTINGS", "SEED", "HASH", "STATE"];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let j = r.job;
            let model = if j.label.model.is_empty() { "-".to_string() } else { j.label.model.clone() };
            let seed = j.label.seed.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            let state = match &r.result {
                Some(res) => format!("{} {res}", r.state.word()),
                None => r.state.word(),
            };
            [
                j.kind().name().to_string(),
                model,
                j.label.dataset.clone(),
                settings(j),
                seed,
                j.hash.short()[..12].to_string(),
                state,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for c in &cells {
        for (w, s) in widths.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, c: &[String]| {
        let parts: Vec<String> = c.iter().zip(widths).map(|(s, w)| format!("{s:<w$}")).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header.map(String::from));
    for (r, c) in rows.iter().zip(&cells) {
        line(&mut out, c);
        for n in &r.notes {
            let _ = writeln!(out, "    {n}");
        }
    }
    let count = |f: fn(&PlannedState) -> bool| rows.iter().filter(|r| f(&r.state)).count();
    let cached = count(|s| *s == PlannedState::Cached);
    let unavailable = count(|s| matches!(s, PlannedState::Unavailable(_)));
    let running = count(|s| *s == PlannedState::Running);
    let failed = count(|s| matches!(s, PlannedState::Failed(_)));
    let mut kinds = Vec::new();
    for k in JobKind::ALL {
        let n = rows.iter().filter(|r| r.job.kind() == k).count();
        if n > 0 {
            kinds.push(format!("{n} {}", k.name()));
        }
    }
    let _ = writeln!(
        out,
        "{} jobs ({}): {cached} cached, {} to run, {running} running, {failed} failed, {unavailable} unavailable",
        rows.len(),
        kinds.join(", "),
        rows.len() - cached - unavailable - running,
    );
    out
}

fn node_label(j: &Job) -> String {
    let mut s = format!("{} {}", j.kind().name(), j.hash.short()[..8].to_owned());
    let d = j.label.describe();
    if !d.is_empty() {
        s.push_str("\\n");
        s.push_str(&d);
    }
    s
}

/// Graphviz dot.
pub fn render_dot(plan: &Plan) -> String {
    let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for (i, j) in plan.jobs.iter().enumerate() {
        let _ = writeln!(out, "  j{i} [label=\"{}\"];", node_label(j).replace('"', "'"));
    }
    for (i, j) in plan.jobs.iter().enumerate() {
        for d in &j.deps {
            let _ = writeln!(out, "  j{d} -> j{i};");
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart.
pub fn render_mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, j) in plan.jobs.iter().enumerate() {
        let _ = writeln!(out, "  j{i}[\"{}\"]", node_label(j).replace("\\n", "<br/>").replace('"', "'"));
    }
    for (i, j) in plan.jobs.iter().enumerate() {
        for d in &j.deps {
            let _ = writeln!(out, "  j{d} --> j{i}");
        }
    }
    out
}
