//! The JSON documents of `plan --json`, `status --json` and `models --json`: stable, documented
//! fields (README, "Machine-readable output") under a top-level `format_version`.

use std::collections::BTreeMap;

use serde::Serialize;

use fer_core::plan::{Job, JobKind, Plan, PlannedState};
use fer_core::spec::Pipeline;
use fer_core::store::Store;

/// Version of every document here; bumped when a field changes meaning or goes away (new fields
/// may appear without a bump).
pub const FORMAT_VERSION: u32 = 1;

/// Which pipeline a document describes.
#[derive(Debug, Serialize)]
pub struct PipelineRef {
    pub name: String,
    pub profile: Option<String>,
    pub file: String,
    pub store: String,
}

impl PipelineRef {
    pub fn new(p: &Pipeline, store: &Store) -> PipelineRef {
        PipelineRef {
            name: p.name.clone(),
            profile: p.profile.clone(),
            file: p.file.to_string(),
            store: store.root().display().to_string(),
        }
    }
}

/// One job of a plan: what it is, what it needs, and what the store says about it.
#[derive(Debug, Serialize)]
pub struct JobDoc {
    /// `<kind>/<hash16>`: the store entry and the argument of `exec`.
    pub id: String,
    pub kind: &'static str,
    /// The full sha256 (64 hex digits).
    pub hash: String,
    /// The model's name in the pipeline (null for `prepare`).
    pub model: Option<String>,
    pub arch: Option<String>,
    pub dataset: String,
    pub seed: Option<u64>,
    pub fold: Option<u32>,
    /// Values along the pipeline's list axes, e.g. `{"lr": "0.005"}`.
    pub settings: BTreeMap<String, String>,
    /// Ids of the jobs whose outputs this one reads.
    pub needs: Vec<String>,
    /// `cached`, `pending`, `partial`, `running`, `failed`, `damaged` or `unavailable`.
    pub state: &'static str,
    /// Epochs done before an interruption (`partial` only).
    pub epoch: Option<u32>,
    /// Why it failed, is damaged or is unavailable.
    pub message: Option<String>,
}

/// The word of a state in the documents.
pub fn state_word(s: &PlannedState) -> &'static str {
    match s {
        PlannedState::Cached => "cached",
        PlannedState::Pending => "pending",
        PlannedState::Partial(_) => "partial",
        PlannedState::Running => "running",
        PlannedState::Failed(_) => "failed",
        PlannedState::Damaged(_) => "damaged",
        PlannedState::Unavailable(_) => "unavailable",
    }
}

/// `<kind>/<hash16>` of a job.
pub fn job_id(job: &Job) -> String {
    format!("{}/{}", job.kind().name(), job.hash.short())
}

impl JobDoc {
    pub fn new(plan: &Plan, job: &Job, state: &PlannedState) -> JobDoc {
        let l = &job.label;
        let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
        let (epoch, message) = match state {
            PlannedState::Partial(e) => (Some(*e), None),
            PlannedState::Failed(m) | PlannedState::Damaged(m) | PlannedState::Unavailable(m) => {
                (None, Some(m.clone()))
            }
            _ => (None, None),
        };
        JobDoc {
            id: job_id(job),
            kind: job.kind().name(),
            hash: job.hash.hex(),
            model: non_empty(&l.model),
            arch: non_empty(&l.arch),
            dataset: l.dataset.clone(),
            seed: l.seed,
            fold: l.fold,
            settings: l.axes.iter().cloned().collect(),
            needs: job.deps.iter().map(|&d| job_id(&plan.jobs[d])).collect(),
            state: state_word(state),
            epoch,
            message,
        }
    }
}

/// Counts over a document's jobs (the table's summary line).
#[derive(Debug, Serialize)]
pub struct Totals {
    pub jobs: usize,
    /// Jobs per kind, e.g. `{"train": 2}`.
    pub kinds: BTreeMap<&'static str, usize>,
    pub cached: usize,
    /// Neither cached, running nor unavailable: what a `run` would do.
    pub to_run: usize,
    pub running: usize,
    pub failed: usize,
    pub unavailable: usize,
}

impl Totals {
    pub fn new<'a>(jobs: impl Iterator<Item = (JobKind, &'a PlannedState)>) -> Totals {
        let mut t =
            Totals { jobs: 0, kinds: BTreeMap::new(), cached: 0, to_run: 0, running: 0, failed: 0, unavailable: 0 };
        for (kind, s) in jobs {
            t.jobs += 1;
            *t.kinds.entry(kind.name()).or_default() += 1;
            match s {
                PlannedState::Cached => t.cached += 1,
                PlannedState::Running => t.running += 1,
                PlannedState::Unavailable(_) => t.unavailable += 1,
                PlannedState::Failed(_) => {
                    t.failed += 1;
                    t.to_run += 1
                }
                _ => t.to_run += 1,
            }
        }
        t
    }
}

/// `plan --json`.
#[derive(Debug, Serialize)]
pub struct PlanDoc {
    pub format_version: u32,
    pub pipeline: PipelineRef,
    pub jobs: Vec<PlanJob>,
    pub totals: Totals,
    /// Why data sets are absent here (one line each, where to put them).
    pub unavailable: Vec<String>,
}

/// A job of `plan --json`.
#[derive(Debug, Serialize)]
pub struct PlanJob {
    #[serde(flatten)]
    pub job: JobDoc,
    /// Why it must run, and what changed since the closest entry (`--explain` only; else empty).
    pub why: Vec<String>,
}

/// `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusDoc {
    pub format_version: u32,
    pub pipeline: PipelineRef,
    /// Whether `squeue` answered: null when no job was submitted to Slurm.
    pub slurm_reachable: Option<bool>,
    pub jobs: Vec<StatusJob>,
    pub totals: Totals,
}

/// A job of `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJob {
    #[serde(flatten)]
    pub job: JobDoc,
    /// Its latest Slurm submission (null when never submitted).
    pub slurm: Option<SlurmDoc>,
    /// The test metrics of a finished evaluation (null otherwise).
    pub result: Option<ResultDoc>,
    /// The entry's log file (failed and damaged jobs).
    pub log: Option<String>,
}

/// Where a job stands on Slurm.
#[derive(Debug, Serialize)]
pub struct SlurmDoc {
    /// `<array job>_<task>`.
    pub task_id: String,
    /// squeue's state in lower case (`pending`, `running`, ...), `gone` when no longer queued,
    /// null when Slurm was not asked (the job is cached) or did not answer.
    pub state: Option<String>,
    pub node: Option<String>,
    pub reason: Option<String>,
    /// The task's log file.
    pub log: String,
}

/// Test metrics of an evaluation.
#[derive(Debug, Serialize)]
pub struct ResultDoc {
    /// Fraction of test images classified right (0..1).
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// `models --json`.
#[derive(Debug, Serialize)]
pub struct ModelsDoc {
    pub format_version: u32,
    pub models: Vec<ModelDoc>,
}

/// One architecture of `models --json`.
#[derive(Debug, Serialize)]
pub struct ModelDoc {
    /// E.g. `microexpnet-xxs`.
    pub name: String,
    /// `deep-emotion`, `microexpnet` or `inception-v3`.
    pub arch: &'static str,
    /// MicroExpNet's size (`m`, `s`, `xs`, `xxs`); null for the others.
    pub variant: Option<&'static str>,
    /// `[channels, height, width]` of one input image.
    pub input: [u32; 3],
    pub classes: usize,
    pub trainable_params: i64,
    pub notes: String,
}

/// One document as text: pretty JSON and a newline.
pub fn to_text<T: Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}
