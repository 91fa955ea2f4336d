//! `plan` and `status`: the DAG with each job's state (a table, or JSON with `--json`);
//! `--explain` says why a job must run.

use std::collections::HashMap;

use serde_json::Value;

use super::context::{load, planned_state, store_for};
use super::json::{
    to_text, JobDoc, PipelineRef, PlanDoc, PlanJob, ResultDoc, SlurmDoc, StatusDoc, StatusJob, Totals, FORMAT_VERSION,
};
use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan::{self, Job, JobKind, Plan, PlannedJob, PlannedState};
use fer_core::records::{EvalResult, RESULT_FILE};
use fer_core::slurm::SlurmRecord;
use fer_core::store::{read_json, JobRecord, Store};

/// `fer-pipeline plan`.
pub(super) fn plan_cmd(
    store_flag: &Option<std::path::PathBuf>,
    args: &PipelineArgs,
    explain: bool,
    dot: bool,
    mermaid: bool,
    json: bool,
) -> Result<String, Error> {
    let pipeline = load(args)?;
    let plan = plan::build(&pipeline);
    if dot {
        return Ok(plan::render_dot(&plan));
    }
    if mermaid {
        return Ok(plan::render_mermaid(&plan));
    }
    let store = store_for(store_flag, Some(&pipeline));
    store.check()?;
    let similar = if explain { SimilarIndex::read(&store) } else { SimilarIndex::default() };
    let missing = plan::unavailable(&plan);
    let rows: Vec<PlannedJob<'_>> = plan
        .jobs
        .iter()
        .zip(&missing)
        .map(|(job, missing)| {
            let state = planned_state(&store, job, missing.as_ref());
            let notes = if explain { why(&state, job, &similar) } else { vec![] };
            PlannedJob { job, state, notes, result: None }
        })
        .collect();
    if json {
        let mut reasons: Vec<String> = missing.iter().flatten().cloned().collect();
        reasons.sort();
        reasons.dedup();
        let doc = PlanDoc {
            format_version: FORMAT_VERSION,
            pipeline: PipelineRef::new(&pipeline, &store),
            totals: Totals::new(rows.iter().map(|r| (r.job.kind(), &r.state))),
            jobs: rows
                .into_iter()
                .map(|r| PlanJob { job: JobDoc::new(&plan, r.job, &r.state), why: r.notes })
                .collect(),
            unavailable: reasons,
        };
        return Ok(to_text(&doc));
    }
    let mut out = format!(
        "pipeline `{}`{} from `{}`, store `{}`\n",
        pipeline.name,
        pipeline.profile.as_ref().map(|p| format!(" (profile `{p}`)")).unwrap_or_default(),
        pipeline.file,
        store.root().display()
    );
    out.push_str(&plan::render_table(&rows));
    out.push_str(&unavailable_footer(&missing));
    Ok(out)
}

/// What `status` knows about one job of a plan (same order as `plan.jobs`).
#[derive(Debug)]
pub(super) struct StatusRow {
    pub state: PlannedState,
    /// Lines printed under the job's row of the table.
    pub notes: Vec<String>,
    pub slurm: Option<SlurmDoc>,
    pub result: Option<ResultDoc>,
    /// The entry's log file (failed and damaged jobs).
    pub log: Option<String>,
}

/// One look at a plan's jobs: the store's states merged with Slurm's queue. `status`,
/// `status --json` and `status --watch` all read this.
#[derive(Debug)]
pub(super) struct StatusSnapshot {
    pub rows: Vec<StatusRow>,
    /// Whether `squeue` answered: `None` when no job was submitted to Slurm.
    pub slurm_reachable: Option<bool>,
    /// Why Slurm could not be asked, when it could not.
    pub slurm_note: Option<String>,
}

/// Reads the store (and Slurm's queue, once, when a job was submitted) for every job of `plan`.
pub(super) fn gather_status(plan: &Plan, store: &Store) -> StatusSnapshot {
    // Jobs submitted to Slurm: ask the queue once.
    let records: Vec<Option<SlurmRecord>> =
        plan.jobs.iter().map(|j| SlurmRecord::read(&store.entry(j.kind(), &j.hash))).collect();
    let queue = if records.iter().any(Option::is_some) { Some(fer_core::slurm::ctl::squeue()) } else { None };
    let slurm_note = match &queue {
        Some(Err(e)) => Some(format!("note: Slurm not reachable ({e}); showing the store only")),
        _ => None,
    };
    let missing = plan::unavailable(plan);
    let rows = plan
        .jobs
        .iter()
        .zip(&records)
        .zip(&missing)
        .map(|((job, record), missing)| {
            let mut state = planned_state(store, job, missing.as_ref());
            let entry = store.entry(job.kind(), &job.hash);
            let mut notes = Vec::new();
            let mut slurm = record.as_ref().map(|rec| SlurmDoc {
                task_id: rec.task_id(),
                state: None,
                node: None,
                reason: None,
                log: rec.log.display().to_string(),
            });
            if let (Some(rec), Some(Ok(q)), Some(doc)) = (record, &queue, slurm.as_mut()) {
                if state != PlannedState::Cached {
                    match q.get(&rec.task_id()) {
                        Some(t) if t.state == "RUNNING" => {
                            state = PlannedState::Running;
                            notes.push(format!("slurm {} running on {}", rec.task_id(), t.node));
                            doc.state = Some("running".into());
                            doc.node = Some(t.node.clone());
                        }
                        Some(t) => {
                            notes.push(format!("slurm {} {} ({})", rec.task_id(), t.state.to_lowercase(), t.reason));
                            doc.state = Some(t.state.to_lowercase());
                            doc.reason = Some(t.reason.clone());
                        }
                        None => {
                            doc.state = Some("gone".into());
                            if !matches!(state, PlannedState::Failed(_)) {
                                notes.push(format!(
                                    "slurm {} is no longer queued and did not finish; `submit` again (log: {})",
                                    rec.task_id(),
                                    rec.log.display()
                                ))
                            }
                        }
                    }
                }
            }
            let mut log = None;
            if let PlannedState::Failed(m) | PlannedState::Damaged(m) = &state {
                let path = entry.file(fer_core::store::LOG_FILE);
                notes.extend(m.lines().take(6).map(str::to_string));
                notes.push(format!("log: {}", path.display()));
                log = Some(path.display().to_string());
                if let Some(rec) = record {
                    let tail = std::fs::read_to_string(&rec.log).unwrap_or_default();
                    let lines: Vec<&str> = tail.lines().rev().take(5).collect();
                    notes.extend(lines.into_iter().rev().map(|l| format!("slurm log: {l}")));
                }
            }
            let result = (job.kind() == JobKind::Evaluate && state == PlannedState::Cached)
                .then(|| read_json::<EvalResult>(&entry.file(RESULT_FILE)).ok().flatten())
                .flatten()
                .map(|r| ResultDoc { accuracy: r.test.accuracy, macro_f1: r.test.macro_f1 });
            StatusRow { state, notes, slurm, result, log }
        })
        .collect();
    StatusSnapshot { rows, slurm_reachable: queue.as_ref().map(Result::is_ok), slurm_note }
}

/// `fer-pipeline status`: the table, or with `json` one JSON document.
pub(super) fn status_cmd(
    store_flag: &Option<std::path::PathBuf>,
    args: &PipelineArgs,
    json: bool,
) -> Result<String, Error> {
    let pipeline = load(args)?;
    let plan = plan::build(&pipeline);
    let store = store_for(store_flag, Some(&pipeline));
    store.check()?;
    let snap = gather_status(&plan, &store);
    let header = snap.slurm_note.map(|n| format!("{n}\n")).unwrap_or_default();
    if json {
        let doc = StatusDoc {
            format_version: FORMAT_VERSION,
            pipeline: PipelineRef::new(&pipeline, &store),
            slurm_reachable: snap.slurm_reachable,
            totals: Totals::new(plan.jobs.iter().zip(&snap.rows).map(|(j, r)| (j.kind(), &r.state))),
            jobs: plan
                .jobs
                .iter()
                .zip(snap.rows)
                .map(|(job, r)| StatusJob {
                    job: JobDoc::new(&plan, job, &r.state),
                    slurm: r.slurm,
                    result: r.result,
                    log: r.log,
                })
                .collect(),
        };
        // The note about an unreachable Slurm goes to stderr: stdout holds one document.
        eprint!("{header}");
        return Ok(to_text(&doc));
    }
    let rows: Vec<PlannedJob<'_>> = plan
        .jobs
        .iter()
        .zip(snap.rows)
        .map(|(job, r)| PlannedJob {
            job,
            result: r.result.as_ref().map(|r| format!("acc {:.1}% F1 {:.3}", r.accuracy * 100.0, r.macro_f1)),
            state: r.state,
            notes: r.notes,
        })
        .collect();
    Ok(format!("{header}{}", plan::render_table(&rows)))
}

/// One line per absent data set, saying where to put it.
pub fn unavailable_footer(missing: &[Option<String>]) -> String {
    let mut reasons: Vec<&String> = missing.iter().flatten().collect();
    reasons.sort();
    reasons.dedup();
    reasons.iter().map(|r| format!("unavailable: {r}\n")).collect()
}

/// Store entries by (kind, model, dataset, seed), to say what changed since one of them.
#[derive(Default)]
struct SimilarIndex {
    by_label: HashMap<(JobKind, String, String, Option<u64>), Vec<JobRecord>>,
}

impl SimilarIndex {
    fn read(store: &Store) -> SimilarIndex {
        let mut idx = SimilarIndex::default();
        for (kind, dir) in store.list().unwrap_or_default() {
            if let Ok(Some(rec)) = read_json::<JobRecord>(&dir.join(fer_core::store::JOB_FILE)) {
                let key = (kind, rec.label.model.clone(), rec.label.dataset.clone(), rec.label.seed);
                idx.by_label.entry(key).or_default().push(rec);
            }
        }
        idx
    }
}

fn why(state: &PlannedState, job: &Job, similar: &SimilarIndex) -> Vec<String> {
    let mut notes = Vec::new();
    match state {
        PlannedState::Cached => return notes,
        PlannedState::Pending => notes.push("why: no finished entry with this hash".into()),
        PlannedState::Partial(e) => {
            notes.push(format!("why: interrupted after epoch {e}; a run resumes from that checkpoint"))
        }
        PlannedState::Running => notes.push("why: another process is running it now".into()),
        PlannedState::Failed(m) => {
            notes.push(format!("why: the last attempt failed: {}", m.lines().next().unwrap_or_default()))
        }
        PlannedState::Damaged(m) => notes.push(format!("why: its entry is damaged ({m}); it runs again")),
        PlannedState::Unavailable(m) => notes.push(format!("why: {m}")),
    }
    let key = (job.kind(), job.label.model.clone(), job.label.dataset.clone(), job.label.seed);
    let mine = serde_json::to_value(&job.spec).unwrap_or(Value::Null);
    let mut best: Option<Vec<String>> = None;
    for rec in similar.by_label.get(&key).into_iter().flatten().filter(|r| r.hash != job.hash) {
        let theirs = serde_json::to_value(&rec.spec).unwrap_or(Value::Null);
        let mut d = Vec::new();
        diff("", &theirs, &mine, &mut d);
        if rec.revision != job.kind().revision() {
            d.push(format!("code revision of `{}` {} -> {}", job.kind().name(), rec.revision, job.kind().revision()));
        }
        if best.as_ref().is_none_or(|b| d.len() < b.len()) {
            best = Some(d);
        }
    }
    if let Some(d) = best {
        notes.push(format!("changed since the closest entry in the store: {}", d.join("; ")));
    }
    notes
}

/// Leaf-by-leaf differences between two JSON values.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                diff(&p, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        _ if a != b => {
            let short = |v: &Value| {
                let s = v.to_string();
                if s.len() == 66 && s.starts_with('"') {
                    format!("{}…", &s[1..13])
                } else {
                    s
                }
            };
            out.push(format!("{path}: {} -> {}", short(a), short(b)));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_leaves() {
        let a: Value = serde_json::json!({"train": {"lr": 0.005, "epochs": 3}, "seed": 1});
        let b: Value = serde_json::json!({"train": {"lr": 0.01, "epochs": 3}, "seed": 1});
        let mut d = Vec::new();
        diff("", &a, &b, &mut d);
        assert_eq!(d, vec!["train.lr: 0.005 -> 0.01".to_string()]);
    }
}
