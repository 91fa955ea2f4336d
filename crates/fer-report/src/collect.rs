//! Reads the store once: the finished evaluations in scope with their train jobs (hyperparameters,
//! learning curves, provenance), the sample grids of their data, images of other job kinds, and
//! what is missing. Damaged or unfinished entries never fail the report: they are listed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::error::ReportError;
use fer_core::data::{Summary, SAMPLES_FILE, SUMMARY_FILE};
use fer_core::plan::{EvaluateSpec, Hyper, JobHash, JobKind, JobLabel, JobSpec, Plan};
use fer_core::records::{
    read_curve, read_predictions, EpochRow, EvalResult, Prediction, Provenance, RobustnessRecord, ThroughputRecord,
    TransferRecord, METRICS_FILE, PREDICTIONS_FILE, PROVENANCE_FILE, RESULT_FILE, ROBUSTNESS_FILE, THROUGHPUT_FILE,
    TRANSFER_FILE,
};
use fer_core::spec::{Analyses, ModelSpec, Network};
use fer_core::store::{read_json, DoneRecord, Entry, JobRecord, Store, Verify};

/// Label axes that are not part of a job's setting (they vary within a group).
const NOT_SETTING: [&str; 5] = ["seed", "fold", "model", "dataset", "tested_on"];

/// One job a report covers: what the CLI passes for a pipeline's plan.
#[derive(Debug, Clone)]
pub struct ScopeJob {
    pub kind: JobKind,
    pub hash: JobHash,
    /// Shown when the job is not in the store yet.
    pub label: JobLabel,
}

/// Every job of a plan, as a report scope.
pub fn scope_of(plan: &Plan) -> Vec<ScopeJob> {
    plan.jobs.iter().map(|j| ScopeJob { kind: j.kind(), hash: j.hash, label: j.label.clone() }).collect()
}

/// A finished train job.
#[derive(Debug, Clone)]
pub struct TrainInfo {
    pub hash: JobHash,
    pub label: JobLabel,
    /// The spec's hyperparameters ([`fer_core::plan::TrainJobSpec::hyperparameters`]).
    pub hyper: Vec<(String, Hyper)>,
    pub provenance: Option<Provenance>,
    pub curve: Vec<EpochRow>,
    /// The distill-targets job a student learnt from (`None`: trained without a teacher).
    pub targets: Option<JobHash>,
    /// The teacher's train job behind [`TrainInfo::targets`], when its record is readable.
    pub teacher: Option<JobHash>,
}

/// A finished evaluation with what the report needs about it.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub hash: JobHash,
    pub label: JobLabel,
    /// Architecture family (`deep-emotion`, `microexpnet`).
    pub family: String,
    /// Size variant (`xxs`), when the architecture has one.
    pub variant: Option<String>,
    pub fold: Option<String>,
    /// The label's list axes other than seed and fold, e.g. `lr=0.01`: one configuration.
    pub setting: String,
    pub result: EvalResult,
    pub provenance: Option<Provenance>,
    pub weights: JobHash,
    pub data: JobHash,
    pub train: Option<TrainInfo>,
    /// The network's structure (what its FLOPs are counted from).
    pub network: Network,
    /// Each test image's label, prediction and confidence (`predictions.csv`), shared.
    pub predictions: Option<Arc<Vec<Prediction>>>,
    /// Why [`Evaluation::predictions`] is absent, if it is.
    pub predictions_note: Option<String>,
}

impl Evaluation {
    /// The fraction of the training subjects the run trained on (`train_fraction`; 1 when unset).
    pub fn train_fraction(&self) -> f64 {
        let hyper = self.train.as_ref().and_then(|t| t.hyper.iter().find(|(k, _)| k == "train_fraction"));
        hyper
            .and_then(|(_, v)| v.as_f64())
            .or_else(|| self.label.axes.iter().find(|(k, _)| k == "train_fraction").and_then(|(_, v)| v.parse().ok()))
            .unwrap_or(1.0)
    }

    /// A run on part of the training subjects: it exists for the learning curves only.
    pub fn is_curve_run(&self) -> bool {
        self.train_fraction() < 1.0
    }

    /// The model's name in the pipeline (falls back to the architecture).
    pub fn model(&self) -> &str {
        if self.label.model.is_empty() {
            &self.result.model
        } else {
            &self.label.model
        }
    }

    pub fn arch(&self) -> &str {
        if self.label.arch.is_empty() {
            &self.result.model
        } else {
            &self.label.arch
        }
    }

    pub fn dataset(&self) -> &str {
        &self.label.dataset
    }

    /// Whether the model learnt from a teacher (knowledge distillation).
    pub fn distilled(&self) -> bool {
        self.train.as_ref().is_some_and(|t| t.targets.is_some())
    }
}

/// The sample grid of a prepared data set.
#[derive(Debug, Clone)]
pub struct SampleGrid {
    pub dataset: String,
    pub size: u32,
    pub hash: JobHash,
    pub path: PathBuf,
    /// The prepare job's counts: images, protocol, items skipped (bad, empty, unlabelled, dropped).
    pub summary: Option<Summary>,
}

/// A PNG image listed by a finished entry (saliency maps, STN warps, ...).
#[derive(Debug, Clone)]
pub struct StoreImage {
    pub kind: JobKind,
    pub hash: JobHash,
    pub label: JobLabel,
    pub name: String,
    pub path: PathBuf,
    /// The trained weights the image is about (a saliency job's input), when it names them.
    pub weights: Option<JobHash>,
}

/// A job of the scope that the report could not use, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// `<kind>/<hash16>`.
    pub id: String,
    /// The job's label, e.g. `deep-emotion on common seed=2`.
    pub what: String,
    pub why: String,
}

/// Everything read from the store.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub evaluations: Vec<Evaluation>,
    pub samples: Vec<SampleGrid>,
    pub images: Vec<StoreImage>,
    pub missing: Vec<Missing>,
    /// Finished throughput jobs (the efficiency analysis).
    pub throughputs: Vec<ThroughputRecord>,
    /// Whether the report shows the efficiency analysis: a store-wide report, or a pipeline with
    /// throughput jobs (`analyses: {efficiency: true}`).
    pub efficiency: bool,
    /// Finished transfer jobs (the domain-shift analysis).
    pub transfers: Vec<TransferRun>,
    /// Whether the report shows the domain-shift analysis: a pipeline with transfer jobs, or a
    /// store-wide report that found some.
    pub domain_shift: bool,
    /// Finished robustness jobs.
    pub robustness: Vec<RobustnessRun>,
    /// Whether the report shows the robustness analysis (a pipeline with robustness jobs, or a
    /// store-wide report that found some).
    pub robustness_on: bool,
}

/// A finished robustness job: its label and record.
#[derive(Debug, Clone)]
pub struct RobustnessRun {
    pub label: JobLabel,
    pub record: RobustnessRecord,
}

/// A finished transfer job: its label (`tested_on` among its axes) and record.
#[derive(Debug, Clone)]
pub struct TransferRun {
    pub label: JobLabel,
    pub record: TransferRecord,
}

/// What one entry turned out to be.
enum Found {
    Evaluate(Box<Evaluation>, Vec<StoreImage>),
    Train(Box<TrainInfo>, Vec<StoreImage>),
    Prepare(Option<SampleGrid>, Vec<StoreImage>),
    Throughput(ThroughputRecord),
    Transfer(Box<TransferRun>),
    Robustness(Box<RobustnessRun>),
    Other(Vec<StoreImage>),
    /// Not finished or damaged; the weights hash of an evaluation, when known.
    Unusable(Missing, Option<JobHash>),
}

/// The train and prepare jobs found, by hash, and what is known of those that are not usable.
#[derive(Default)]
struct Inputs {
    trains: HashMap<JobHash, TrainInfo>,
    prepares: HashMap<JobHash, Option<SampleGrid>>,
    /// The weights of evaluations that are unfinished or damaged (so not "trained, but not evaluated").
    pending_weights: HashSet<JobHash>,
    /// Why the train input of an evaluation could not be used, by its hash.
    unreadable_trains: HashMap<JobHash, String>,
}

impl Collection {
    /// The collection less the runs on part of their training subjects: what the analyses that
    /// compare models (calibration, efficiency) read; the learning curves read every run.
    pub(crate) fn without_curve_runs(&self) -> std::borrow::Cow<'_, Collection> {
        if !self.evaluations.iter().any(Evaluation::is_curve_run) {
            return std::borrow::Cow::Borrowed(self);
        }
        std::borrow::Cow::Owned(Collection {
            evaluations: self.evaluations.iter().filter(|e| !e.is_curve_run()).cloned().collect(),
            ..self.clone()
        })
    }
}

/// Reads the scope (or, with `None`, every entry of the store), less the records of the analyses
/// switched off.
pub(crate) fn collect(
    store: &Store,
    scope: Option<&[ScopeJob]>,
    verify: Verify,
    analyses: &Analyses,
) -> Result<Collection, ReportError> {
    store.check().map_err(|source| ReportError::Store { path: store.root().to_path_buf(), source })?;
    let (mut candidates, unreadable) = candidates(store, scope)?;
    candidates.retain(|(entry, _)| match entry.kind {
        JobKind::Throughput => analyses.efficiency,
        JobKind::Transfer => analyses.domain_shift,
        JobKind::Robustness => analyses.robustness,
        _ => true,
    });
    let found: Vec<Found> =
        candidates.par_iter().map(|(entry, label)| inspect(entry, label.as_ref(), verify)).collect();
    let efficiency = scope.is_none_or(|jobs| jobs.iter().any(|j| j.kind == JobKind::Throughput));
    let mut col = Collection { missing: unreadable, efficiency, ..Default::default() };
    let mut inputs = sort_found(found, &mut col);
    load_missing_inputs(store, verify, &col.evaluations, &mut inputs);
    resolve_teachers(store, &mut inputs);
    join_trains(&mut col, &inputs);
    col.evaluations.sort_by(|a, b| {
        (a.dataset(), a.model(), &a.setting, a.label.seed, a.hash).cmp(&(
            b.dataset(),
            b.model(),
            &b.setting,
            b.label.seed,
            b.hash,
        ))
    });
    col.samples = pick_sample_grids(&col.evaluations, inputs.prepares);
    col.images
        .sort_by(|a, b| (a.kind, &a.label.dataset, a.hash, &a.name).cmp(&(b.kind, &b.label.dataset, b.hash, &b.name)));
    col.throughputs.sort_by(|a, b| (&a.network, a.classes).cmp(&(&b.network, b.classes)));
    col.transfers.sort_by(|a, b| {
        (&a.label.model, &a.label.dataset, &a.label.axes, a.label.seed, a.label.fold).cmp(&(
            &b.label.model,
            &b.label.dataset,
            &b.label.axes,
            b.label.seed,
            b.label.fold,
        ))
    });
    col.robustness.sort_by(|a, b| {
        (&a.label.dataset, &a.label.model, &a.label.axes, a.label.seed, a.label.fold).cmp(&(
            &b.label.dataset,
            &b.label.model,
            &b.label.axes,
            b.label.seed,
            b.label.fold,
        ))
    });
    col.robustness_on = match scope {
        Some(jobs) => jobs.iter().any(|j| j.kind == JobKind::Robustness),
        None => !col.robustness.is_empty(),
    };
    col.domain_shift = match scope {
        Some(jobs) => jobs.iter().any(|j| j.kind == JobKind::Transfer),
        None => !col.transfers.is_empty(),
    };
    col.missing.sort_by(|a, b| (&a.id, &a.why).cmp(&(&b.id, &b.why)));
    col.missing.dedup();
    Ok(col)
}

/// An entry to inspect, with the label the scope gives it.
type Candidate = (Entry, Option<JobLabel>);

/// The entries to inspect with the label the scope gives them (each job once), or every entry of
/// the store with the folders that are no readable entry.
fn candidates(store: &Store, scope: Option<&[ScopeJob]>) -> Result<(Vec<Candidate>, Vec<Missing>), ReportError> {
    let mut unreadable = Vec::new();
    let candidates = match scope {
        Some(jobs) => {
            let mut seen = HashSet::new();
            jobs.iter()
                .filter(|j| seen.insert((j.kind, j.hash)))
                .map(|j| (store.entry(j.kind, &j.hash), Some(j.label.clone())))
                .collect()
        }
        None => {
            let listed =
                store.list().map_err(|source| ReportError::Store { path: store.root().to_path_buf(), source })?;
            let read: Vec<Result<Entry, Missing>> =
                listed.into_par_iter().map(|(kind, dir)| entry_from_dir(kind, &dir)).collect();
            let mut ok = Vec::new();
            for r in read {
                match r {
                    Ok(e) => ok.push((e, None)),
                    Err(m) => unreadable.push(m),
                }
            }
            ok
        }
    };
    Ok((candidates, unreadable))
}

/// Puts evaluations, images and unusable entries into `col`; returns the train and prepare jobs.
fn sort_found(found: Vec<Found>, col: &mut Collection) -> Inputs {
    let mut inputs = Inputs::default();
    for f in found {
        match f {
            Found::Evaluate(e, imgs) => {
                col.evaluations.push(*e);
                col.images.extend(imgs);
            }
            Found::Train(t, imgs) => {
                inputs.trains.insert(t.hash, *t);
                col.images.extend(imgs);
            }
            Found::Prepare(grid, imgs) => {
                if let Some(g) = &grid {
                    inputs.prepares.insert(g.hash, grid.clone());
                }
                col.images.extend(imgs);
            }
            Found::Throughput(t) => col.throughputs.push(t),
            Found::Transfer(t) => col.transfers.push(*t),
            Found::Robustness(r) => col.robustness.push(*r),
            Found::Other(imgs) => col.images.extend(imgs),
            Found::Unusable(m, weights) => {
                col.missing.push(m);
                inputs.pending_weights.extend(weights);
            }
        }
    }
    inputs
}

/// Reads the train and prepare inputs of the evaluations that the scope did not list, noting why
/// a train input is unusable.
fn load_missing_inputs(store: &Store, verify: Verify, evaluations: &[Evaluation], inputs: &mut Inputs) {
    let extra_trains: Vec<JobHash> =
        unique(evaluations.iter().map(|e| e.weights).filter(|h| !inputs.trains.contains_key(h)));
    let loaded: Vec<(JobHash, Found)> =
        extra_trains.par_iter().map(|h| (*h, inspect(&store.entry(JobKind::Train, h), None, verify))).collect();
    for (h, f) in loaded {
        match f {
            Found::Train(t, _) => {
                inputs.trains.insert(t.hash, *t);
            }
            Found::Unusable(m, _) => {
                inputs.unreadable_trains.insert(h, m.why);
            }
            _ => {}
        }
    }
    let extra_prepares: Vec<JobHash> =
        unique(evaluations.iter().map(|e| e.data).filter(|h| !inputs.prepares.contains_key(h)));
    let loaded: Vec<Found> =
        extra_prepares.par_iter().map(|h| inspect(&store.entry(JobKind::Prepare, h), None, verify)).collect();
    for f in loaded {
        if let Found::Prepare(Some(g), _) = f {
            inputs.prepares.insert(g.hash, Some(g));
        }
    }
}

/// The teacher (train job) behind each student's distill-targets input, from the targets job's
/// record; a targets job that is not in the store or unreadable leaves the teacher unknown.
fn resolve_teachers(store: &Store, inputs: &mut Inputs) {
    let targets: Vec<JobHash> = unique(inputs.trains.values().filter_map(|t| t.targets));
    let teachers: HashMap<JobHash, JobHash> = targets
        .par_iter()
        .filter_map(|h| match store.entry(JobKind::DistillTargets, h).read_record() {
            Ok(JobRecord { spec: JobSpec::DistillTargets(t), .. }) => Some((*h, t.weights)),
            _ => None,
        })
        .collect();
    for t in inputs.trains.values_mut() {
        t.teacher = t.targets.and_then(|h| teachers.get(&h).copied());
    }
}

/// Joins the evaluations with their train jobs; notes trained-but-not-evaluated jobs and
/// evaluations whose train job is unusable as missing.
fn join_trains(col: &mut Collection, inputs: &Inputs) {
    let evaluated: HashSet<JobHash> = col.evaluations.iter().map(|e| e.weights).collect();
    let mut not_evaluated: Vec<&TrainInfo> = inputs
        .trains
        .values()
        .filter(|t| !evaluated.contains(&t.hash) && !inputs.pending_weights.contains(&t.hash))
        .collect();
    not_evaluated.sort_by_key(|t| t.hash);
    for t in not_evaluated {
        col.missing.push(Missing {
            id: format!("train/{}", t.hash.short()),
            what: t.label.describe(),
            why: "trained, but no finished evaluation".into(),
        });
    }
    for e in &mut col.evaluations {
        e.train = inputs.trains.get(&e.weights).cloned();
        if e.train.is_none() {
            let why = inputs.unreadable_trains.get(&e.weights).cloned().unwrap_or_else(|| "not in the store".into());
            col.missing.push(Missing {
                id: format!("train/{}", e.weights.short()),
                what: e.label.describe(),
                why: format!(
                    "input of evaluate/{} is unusable ({why}): no hyperparameters or learning curve",
                    e.hash.short()
                ),
            });
        }
    }
}

/// One sample grid per data set the evaluations use: the largest image size (then hash).
fn pick_sample_grids(evaluations: &[Evaluation], prepares: HashMap<JobHash, Option<SampleGrid>>) -> Vec<SampleGrid> {
    let used: HashSet<JobHash> = evaluations.iter().map(|e| e.data).collect();
    let mut best: BTreeMap<String, SampleGrid> = BTreeMap::new();
    for g in prepares.into_values().flatten().filter(|g| used.contains(&g.hash)) {
        match best.get(&g.dataset) {
            Some(b) if (b.size, b.hash) >= (g.size, g.hash) => {}
            _ => {
                best.insert(g.dataset.clone(), g);
            }
        }
    }
    best.into_values().collect()
}

/// The distinct hashes of `it`, first seen first.
fn unique(it: impl Iterator<Item = JobHash>) -> Vec<JobHash> {
    let mut seen = HashSet::new();
    it.filter(|h| seen.insert(*h)).collect()
}

/// The entry in a store folder, opened from its checked `job.json`.
fn entry_from_dir(kind: JobKind, dir: &Path) -> Result<Entry, Missing> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let missing = |why: String| Missing { id: format!("{}/{name}", kind.name()), what: String::new(), why };
    match Entry::open(dir, kind) {
        Ok(Some((entry, _))) => Ok(entry),
        Ok(None) => Err(missing("no job record (`job.json`)".into())),
        Err(e) => Err(missing(format!("damaged: {e}"))),
    }
}

/// Reads one entry fully; never fails: problems become [`Found::Unusable`].
///
/// Names and settings come from the pipeline being reported (`scope_label`) when there is one: an
/// entry shared with another pipeline keeps in its `job.json` the labels of whichever pipeline ran
/// it first (labels are not hashed). Only a store-wide report falls back to `job.json`.
fn inspect(entry: &Entry, scope_label: Option<&JobLabel>, verify: Verify) -> Found {
    let describe = |label: Option<&JobLabel>| scope_label.or(label).map(|l| l.describe()).unwrap_or_default();
    let record = match read_record(entry) {
        Ok(r) => r,
        Err(why) => {
            return Found::Unusable(
                Missing { id: entry.id(), what: describe(None), why: entry.unusable_because(why) },
                None,
            )
        }
    };
    let shown: JobLabel = scope_label.cloned().unwrap_or_else(|| record.label.clone());
    let done = match entry.check_done(verify) {
        Ok(d) => d,
        Err(why) => {
            let weights = match &record.spec {
                JobSpec::Evaluate(e) => Some(e.weights),
                _ => None,
            };
            return Found::Unusable(
                Missing { id: entry.id(), what: describe(Some(&shown)), why: entry.unusable_because(why) },
                weights,
            );
        }
    };
    let images = images_of(entry, &record, &done, &shown);
    match &record.spec {
        JobSpec::Evaluate(spec) => match evaluation(entry, record.hash, spec, &shown) {
            Ok(e) => Found::Evaluate(Box::new(e), images),
            Err(why) => Found::Unusable(Missing { id: entry.id(), what: describe(Some(&shown)), why }, None),
        },
        JobSpec::Train(spec) => {
            let t = TrainInfo {
                hash: record.hash,
                label: shown.clone(),
                hyper: spec.hyperparameters(),
                provenance: read_json(&entry.file(PROVENANCE_FILE)).ok().flatten(),
                curve: read_curve(&entry.file(METRICS_FILE)),
                targets: spec.distill.as_ref().map(|d| d.targets),
                teacher: None,
            };
            Found::Train(Box::new(t), images)
        }
        JobSpec::Prepare(p) => {
            let grid = done.files.iter().any(|f| f.name == SAMPLES_FILE).then(|| SampleGrid {
                dataset: shown.dataset.clone(),
                size: p.size,
                hash: record.hash,
                path: entry.file(SAMPLES_FILE),
                summary: read_json(&entry.file(SUMMARY_FILE)).ok().flatten(),
            });
            Found::Prepare(grid, images)
        }
        JobSpec::Throughput(_) => analysis_record(entry, describe(Some(&shown)), THROUGHPUT_FILE, Found::Throughput),
        JobSpec::Robustness(_) => analysis_record(entry, describe(Some(&shown)), ROBUSTNESS_FILE, |record| {
            Found::Robustness(Box::new(RobustnessRun { label: shown.clone(), record }))
        }),
        JobSpec::Transfer(_) => analysis_record(entry, describe(Some(&shown)), TRANSFER_FILE, |record| {
            Found::Transfer(Box::new(TransferRun { label: shown.clone(), record }))
        }),
        #[allow(unreachable_patterns)]
        _ => Found::Other(images),
    }
}

/// The record `file` an analysis job (throughput, transfer, robustness) leaves, as `found` makes
/// it; a finished entry (described by `what`) without it, or with a damaged one, is unusable and
/// says why.
fn analysis_record<T: serde::de::DeserializeOwned>(
    entry: &Entry,
    what: String,
    file: &str,
    found: impl FnOnce(T) -> Found,
) -> Found {
    let why = match read_json::<T>(&entry.file(file)) {
        Ok(Some(record)) => return found(record),
        Ok(None) => format!("finished, but `{file}` is missing"),
        Err(e) => e.to_string(),
    };
    Found::Unusable(Missing { id: entry.id(), what, why }, None)
}

/// The PNG images a finished entry lists (a prepare job's sample grid is not one of them).
fn images_of(entry: &Entry, record: &JobRecord, done: &DoneRecord, shown: &JobLabel) -> Vec<StoreImage> {
    done.files
        .iter()
        .filter(|f| f.name.ends_with(".png") && !(record.kind == JobKind::Prepare && f.name == SAMPLES_FILE))
        .map(|f| StoreImage {
            kind: record.kind,
            hash: record.hash,
            label: shown.clone(),
            name: f.name.clone(),
            path: entry.file(&f.name),
            weights: record.spec.weights(),
        })
        .collect()
}

/// A finished evaluation `hash` with its result; the error says why it cannot be used.
fn evaluation(entry: &Entry, hash: JobHash, spec: &EvaluateSpec, shown: &JobLabel) -> Result<Evaluation, String> {
    let result: EvalResult = match read_json(&entry.file(RESULT_FILE)) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(format!("finished, but `{RESULT_FILE}` is missing")),
        Err(e) => return Err(e.to_string()),
    };
    let variant = match spec.model {
        ModelSpec::MicroExpNet { variant, .. } => Some(variant.name().to_string()),
        _ => None,
    };
    let (predictions, predictions_note) = match read_predictions(&entry.file(PREDICTIONS_FILE)) {
        Ok(p) => (Some(Arc::new(p)), None),
        Err(e) => (None, Some(e)),
    };
    Ok(Evaluation {
        predictions,
        predictions_note,
        hash,
        family: spec.model.arch().name().to_string(),
        variant,
        fold: shown.fold.map(|f| f.to_string()).or_else(|| axis(shown, "fold")),
        setting: setting(shown),
        label: shown.clone(),
        result,
        provenance: read_json(&entry.file(PROVENANCE_FILE)).ok().flatten(),
        weights: spec.weights,
        data: spec.data,
        train: None,
        network: spec.model.network(),
    })
}

/// `job.json` as the typed record, checked to hash to its entry.
fn read_record(entry: &Entry) -> Result<JobRecord, String> {
    if !entry.file(fer_core::store::JOB_FILE).exists() {
        return Err("not started (no job record)".into());
    }
    entry.read_record().map_err(|e| e.to_string())
}

/// The value of list axis `key` in `label`.
fn axis(label: &JobLabel, key: &str) -> Option<String> {
    label.axes.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The label's list axes that define a configuration (not seed or fold), e.g. `lr=0.01`.
///
/// `train_fraction=1` is left out: a run on all its training subjects is the model itself.
pub(crate) fn setting(label: &JobLabel) -> String {
    setting_of(&label.axes)
}

/// `model` with the setting of `axes`, as the analyses' sections name it (`de lr=0.01`).
pub(crate) fn named(model: &str, axes: &[(String, String)]) -> String {
    let s = setting_of(axes);
    if s.is_empty() {
        model.to_string()
    } else {
        format!("{model} {}", s.replace(", ", " "))
    }
}

fn setting_of(axes: &[(String, String)]) -> String {
    let parts: Vec<String> = axes
        .iter()
        .filter(|(k, _)| !NOT_SETTING.contains(&k.as_str()))
        .filter(|(k, v)| !(k == "train_fraction" && v.parse::<f64>() == Ok(1.0)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_leaves_out_seed_and_fold() {
        let label = JobLabel {
            axes: vec![("lr".into(), "0.01".into()), ("seed".into(), "2".into()), ("fold".into(), "1".into())],
            ..Default::default()
        };
        assert_eq!(setting(&label), "lr=0.01");
        assert_eq!(axis(&label, "fold").as_deref(), Some("1"));
        // A run on all its training subjects is the model itself; a curve run says its fraction.
        for (v, want) in [("1", "lr=0.01"), ("1.0", "lr=0.01"), ("0.25", "lr=0.01, train_fraction=0.25")] {
            let mut l = label.clone();
            l.axes.push(("train_fraction".into(), v.into()));
            assert_eq!(setting(&l), want);
        }
    }
}
