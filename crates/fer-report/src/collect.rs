//! Reads the store once: the finished evaluations in scope with their train jobs (hyperparameters,
//! learning curves, provenance), the sample grids of their data, images of other job kinds, and
//! what is missing. Damaged or unfinished entries never fail the report: they are listed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::error::ReportError;
use fer_core::records::Provenance;
use fer_core::records::{EvalResult, METRICS_FILE, PROVENANCE_FILE, RESULT_FILE};
use fer_core::plan::{JobHash, JobKind, JobLabel, JobSpec, Plan};
use fer_core::store::{read_json, DoneRecord, Entry, EntryState, JobRecord, Store, DONE_FILE, JOB_FILE};

/// The sample grid file of a prepare entry.
const SAMPLES_FILE: &str = "samples.png";

/// Label axes that are not part of a job's setting (they vary within a group).
const NOT_SETTING: [&str; 4] = ["seed", "fold", "model", "dataset"];

/// Train-spec keys that are not hyperparameters (inputs, or columns of their own).
const NOT_HYPER: [&str; 6] = ["kind", "model", "train", "seed", "classes", "data"];

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

/// A hyperparameter value from a train spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Hyper {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Hyper {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Hyper::Int(i) => Some(*i as f64),
            Hyper::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn display(&self) -> String {
        match self {
            Hyper::Int(i) => i.to_string(),
            Hyper::Float(f) => f.to_string(),
            Hyper::Bool(b) => b.to_string(),
            Hyper::Text(s) => s.clone(),
        }
    }
}

/// One row of a train job's `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochMetrics {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: f64,
    pub val_acc: f64,
}

/// A finished train job.
#[derive(Debug, Clone)]
pub struct TrainInfo {
    pub hash: JobHash,
    pub label: JobLabel,
    /// Flattened `train` and `model` spec fields (`adam.beta1` -> `adam_beta1`), in spec order;
    /// fields added later (e.g. `kd.temperature`) appear without code changes here.
    pub hyper: Vec<(String, Hyper)>,
    pub provenance: Option<Provenance>,
    pub curve: Vec<EpochMetrics>,
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
}

impl Evaluation {
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
}

/// The sample grid of a prepared data set.
#[derive(Debug, Clone)]
pub struct SampleGrid {
    pub dataset: String,
    pub size: u32,
    pub hash: JobHash,
    pub path: PathBuf,
    /// The prepare job's counts: images, protocol, items skipped (bad, empty, unlabelled, dropped).
    pub summary: Option<fer_core::data::Summary>,
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
}

/// How thoroughly `done` markers are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// The marker belongs to the entry and every file it lists has the listed size (fast).
    #[default]
    Sizes,
    /// Also the sha256 of every file (reads weights too; slow for large stores).
    Hashes,
}

/// What one entry turned out to be.
enum Found {
    Evaluate(Box<Evaluation>, Vec<StoreImage>),
    Train(Box<TrainInfo>, Vec<StoreImage>),
    Prepare(Option<SampleGrid>, Vec<StoreImage>),
    Other(Vec<StoreImage>),
    /// Not finished or damaged; the weights hash of an evaluation, when known.
    Unusable(Missing, Option<JobHash>),
}

/// Reads the scope (or, with `None`, every entry of the store).
pub fn collect(store: &Store, scope: Option<&[ScopeJob]>, verify: Verify) -> Result<Collection, ReportError> {
    store.check().map_err(|source| ReportError::Store { path: store.root().to_path_buf(), source })?;
    let mut unreadable = Vec::new();
    let candidates: Vec<(Entry, Option<JobLabel>)> = match scope {
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
    let found: Vec<Found> =
        candidates.par_iter().map(|(entry, label)| inspect(entry, label.as_ref(), verify)).collect();

    let mut col = Collection { missing: unreadable, ..Default::default() };
    let mut trains: HashMap<JobHash, TrainInfo> = HashMap::new();
    let mut prepares: HashMap<JobHash, Option<SampleGrid>> = HashMap::new();
    let mut pending_weights: HashSet<JobHash> = HashSet::new();
    for f in found {
        match f {
            Found::Evaluate(e, imgs) => {
                col.evaluations.push(*e);
                col.images.extend(imgs);
            }
            Found::Train(t, imgs) => {
                trains.insert(t.hash, *t);
                col.images.extend(imgs);
            }
            Found::Prepare(grid, imgs) => {
                if let Some(g) = &grid {
                    prepares.insert(g.hash, grid.clone());
                }
                col.images.extend(imgs);
            }
            Found::Other(imgs) => col.images.extend(imgs),
            Found::Unusable(m, weights) => {
                col.missing.push(m);
                pending_weights.extend(weights);
            }
        }
    }

    // Train and prepare inputs of the evaluations that the scope did not list.
    let extra_trains: Vec<JobHash> =
        unique(col.evaluations.iter().map(|e| e.weights).filter(|h| !trains.contains_key(h)));
    let loaded: Vec<(JobHash, Found)> =
        extra_trains.par_iter().map(|h| (*h, inspect(&store.entry(JobKind::Train, h), None, verify))).collect();
    let mut unreadable_trains: HashMap<JobHash, String> = HashMap::new();
    for (h, f) in loaded {
        match f {
            Found::Train(t, _) => {
                trains.insert(t.hash, *t);
            }
            Found::Unusable(m, _) => {
                unreadable_trains.insert(h, m.why);
            }
            _ => {}
        }
    }
    let extra_prepares: Vec<JobHash> =
        unique(col.evaluations.iter().map(|e| e.data).filter(|h| !prepares.contains_key(h)));
    let loaded: Vec<Found> =
        extra_prepares.par_iter().map(|h| inspect(&store.entry(JobKind::Prepare, h), None, verify)).collect();
    for f in loaded {
        if let Found::Prepare(Some(g), _) = f {
            prepares.insert(g.hash, Some(g));
        }
    }

    // Join evaluations with their train jobs; note trained-but-not-evaluated jobs.
    let evaluated: HashSet<JobHash> = col.evaluations.iter().map(|e| e.weights).collect();
    let mut not_evaluated: Vec<&TrainInfo> =
        trains.values().filter(|t| !evaluated.contains(&t.hash) && !pending_weights.contains(&t.hash)).collect();
    not_evaluated.sort_by_key(|t| t.hash);
    for t in not_evaluated {
        col.missing.push(Missing {
            id: format!("train/{}", t.hash.short()),
            what: t.label.describe(),
            why: "trained, but no finished evaluation".into(),
        });
    }
    for e in &mut col.evaluations {
        e.train = trains.get(&e.weights).cloned();
        if e.train.is_none() {
            let why = unreadable_trains.get(&e.weights).cloned().unwrap_or_else(|| "not in the store".into());
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
    col.evaluations.sort_by(|a, b| {
        (a.dataset(), a.model(), &a.setting, a.label.seed, a.hash).cmp(&(
            b.dataset(),
            b.model(),
            &b.setting,
            b.label.seed,
            b.hash,
        ))
    });

    // One sample grid per data set: the largest image size.
    let used: HashSet<JobHash> = col.evaluations.iter().map(|e| e.data).collect();
    let mut best: BTreeMap<String, SampleGrid> = BTreeMap::new();
    for g in prepares.into_values().flatten().filter(|g| used.contains(&g.hash)) {
        match best.get(&g.dataset) {
            Some(b) if (b.size, b.hash) >= (g.size, g.hash) => {}
            _ => {
                best.insert(g.dataset.clone(), g);
            }
        }
    }
    col.samples = best.into_values().collect();
    col.images
        .sort_by(|a, b| (a.kind, &a.label.dataset, a.hash, &a.name).cmp(&(b.kind, &b.label.dataset, b.hash, &b.name)));
    col.missing.sort_by(|a, b| (&a.id, &a.why).cmp(&(&b.id, &b.why)));
    col.missing.dedup();
    Ok(col)
}

fn unique(it: impl Iterator<Item = JobHash>) -> Vec<JobHash> {
    let mut seen = HashSet::new();
    it.filter(|h| seen.insert(*h)).collect()
}

/// An entry handle from a store folder, its full hash read from `job.json`.
fn entry_from_dir(kind: JobKind, dir: &Path) -> Result<Entry, Missing> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let missing = |why: String| Missing { id: format!("{}/{name}", kind.name()), what: String::new(), why };
    let rec: Value = match read_json(&dir.join(JOB_FILE)) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(missing("no job record (`job.json`)".into())),
        Err(e) => return Err(missing(format!("damaged: {e}"))),
    };
    let hash = rec.get("hash").and_then(Value::as_str).and_then(JobHash::parse);
    match hash {
        Some(hash) => Ok(Entry { dir: dir.to_path_buf(), kind, hash }),
        None => Err(missing(format!("damaged: `{}` has no valid hash", dir.join(JOB_FILE).display()))),
    }
}

/// Reads one entry fully; never fails: problems become [`Found::Unusable`].
///
/// Names and settings come from the pipeline being reported (`scope_label`) when there is one: an
/// entry shared with another pipeline keeps in its `job.json` the labels of whichever pipeline ran
/// it first (labels are not hashed). Only a store-wide report falls back to `job.json`.
fn inspect(entry: &Entry, scope_label: Option<&JobLabel>, verify: Verify) -> Found {
    let describe = |label: Option<&JobLabel>| scope_label.or(label).map(|l| l.describe()).unwrap_or_default();
    let unusable = |label: Option<&JobLabel>, why: String| {
        Found::Unusable(Missing { id: entry.id(), what: describe(label), why }, None)
    };
    let (record, raw) = match read_record(entry) {
        Ok(r) => r,
        Err(why) => return unusable(None, state_or(entry, why)),
    };
    let shown: JobLabel = scope_label.cloned().unwrap_or_else(|| record.label.clone());
    let label = Some(&shown);
    let done = match check_done(entry, verify) {
        Ok(d) => d,
        Err(why) => {
            let weights = match &record.spec {
                JobSpec::Evaluate(e) => Some(e.weights),
                _ => None,
            };
            return Found::Unusable(
                Missing { id: entry.id(), what: describe(label), why: state_or(entry, why) },
                weights,
            );
        }
    };
    let images: Vec<StoreImage> = done
        .files
        .iter()
        .filter(|f| f.name.ends_with(".png") && !(record.kind == JobKind::Prepare && f.name == SAMPLES_FILE))
        .map(|f| StoreImage {
            kind: record.kind,
            hash: record.hash,
            label: shown.clone(),
            name: f.name.clone(),
            path: entry.file(&f.name),
            weights: raw.pointer("/spec/weights").and_then(Value::as_str).and_then(JobHash::parse),
        })
        .collect();
    match &record.spec {
        JobSpec::Evaluate(spec) => {
            let result: EvalResult = match read_json(&entry.file(RESULT_FILE)) {
                Ok(Some(r)) => r,
                Ok(None) => return unusable(label, format!("finished, but `{RESULT_FILE}` is missing")),
                Err(e) => return unusable(label, e.to_string()),
            };
            let variant = raw.pointer("/spec/model/variant").and_then(Value::as_str).map(str::to_string);
            let e = Evaluation {
                hash: record.hash,
                family: spec.model.arch().name().to_string(),
                variant,
                fold: shown.fold.map(|f| f.to_string()).or_else(|| axis(&shown, "fold")),
                setting: setting(&shown),
                label: shown.clone(),
                result,
                provenance: read_json(&entry.file(PROVENANCE_FILE)).ok().flatten(),
                weights: spec.weights,
                data: spec.data,
                train: None,
            };
            Found::Evaluate(Box::new(e), images)
        }
        JobSpec::Train(_) => {
            let spec = raw.get("spec").cloned().unwrap_or(Value::Null);
            let t = TrainInfo {
                hash: record.hash,
                label: shown.clone(),
                hyper: hyperparameters(&spec),
                provenance: read_json(&entry.file(PROVENANCE_FILE)).ok().flatten(),
                curve: read_curve(&entry.file(METRICS_FILE)),
            };
            Found::Train(Box::new(t), images)
        }
        JobSpec::Prepare(p) => {
            let grid = done.files.iter().any(|f| f.name == SAMPLES_FILE).then(|| SampleGrid {
                dataset: shown.dataset.clone(),
                size: p.size,
                hash: record.hash,
                path: entry.file(SAMPLES_FILE),
                summary: read_json(&entry.file(fer_core::data::SUMMARY_FILE)).ok().flatten(),
            });
            Found::Prepare(grid, images)
        }
        #[allow(unreachable_patterns)]
        _ => Found::Other(images),
    }
}

/// `job.json` as the typed record (hash checked) and as raw JSON (for fields this code does
/// not know yet).
fn read_record(entry: &Entry) -> Result<(JobRecord, Value), String> {
    let path = entry.file(JOB_FILE);
    let raw: Value = match read_json(&path) {
        Ok(Some(v)) => v,
        Ok(None) => return Err("not started (no job record)".into()),
        Err(e) => return Err(e.to_string()),
    };
    let record: JobRecord =
        serde_json::from_value(raw.clone()).map_err(|e| format!("`{}` is unreadable: {e}", path.display()))?;
    if record.hash != entry.hash || record.spec.hash() != entry.hash {
        return Err(format!("`{}` does not hash to its entry", path.display()));
    }
    Ok((record, raw))
}

/// The `done` marker, checked as `verify` asks.
fn check_done(entry: &Entry, verify: Verify) -> Result<DoneRecord, String> {
    if verify == Verify::Hashes {
        return entry.verify();
    }
    let done: DoneRecord = match read_json(&entry.file(DONE_FILE)) {
        Ok(Some(d)) => d,
        Ok(None) => return Err("no done marker".into()),
        Err(e) => return Err(e.to_string()),
    };
    if done.hash != entry.hash {
        return Err("done marker belongs to another job".into());
    }
    for f in &done.files {
        match fs::metadata(entry.file(&f.name)) {
            Ok(m) if m.len() == f.bytes => {}
            Ok(m) => return Err(format!("`{}` has {} bytes, expected {}", f.name, m.len(), f.bytes)),
            Err(e) => return Err(format!("`{}` is unreadable: {e}", f.name)),
        }
    }
    Ok(done)
}

/// Why an entry is not usable: its state when it has no `done` marker, else `why`.
fn state_or(entry: &Entry, why: String) -> String {
    if entry.is_done_marked() {
        return format!("damaged: {why}");
    }
    match entry.state() {
        EntryState::Absent => "not started".into(),
        EntryState::Running => "running".into(),
        EntryState::Failed(m) => format!("failed: {m}"),
        EntryState::Partial { epoch } => format!("interrupted after epoch {epoch}"),
        EntryState::Pending => "pending".into(),
        EntryState::Corrupt(m) => format!("damaged: {m}"),
        EntryState::Done(_) => why,
    }
}

fn axis(label: &JobLabel, key: &str) -> Option<String> {
    label.axes.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The label's list axes that define a configuration (not seed or fold), e.g. `lr=0.01`.
pub fn setting(label: &JobLabel) -> String {
    let parts: Vec<String> = label
        .axes
        .iter()
        .filter(|(k, _)| !NOT_SETTING.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(", ")
}

/// Flattens a train spec's `train` and `model` objects (and any further non-input fields) into
/// named scalar hyperparameters.
pub fn hyperparameters(spec: &Value) -> Vec<(String, Hyper)> {
    let mut out = Vec::new();
    if let Some(train) = spec.get("train") {
        flatten("", train, &mut out);
    }
    if let Some(Value::Object(model)) = spec.get("model") {
        for (k, v) in model.iter().filter(|(k, _)| k.as_str() != "arch") {
            flatten(k, v, &mut out);
        }
    }
    if let Value::Object(top) = spec {
        for (k, v) in top.iter().filter(|(k, _)| !NOT_HYPER.contains(&k.as_str())) {
            flatten(k, v, &mut out);
        }
    }
    let mut seen = HashSet::new();
    out.retain(|(k, _)| seen.insert(k.clone()));
    // The usual ones first, in reading order; anything else after them as found.
    out.sort_by_key(|(k, _)| HYPER_ORDER.iter().position(|o| o == k).unwrap_or(HYPER_ORDER.len()));
    out
}

/// Column order of the common hyperparameters.
const HYPER_ORDER: [&str; 17] = [
    "epochs",
    "lr",
    "batch_size",
    "adam_beta1",
    "adam_beta2",
    "adam_eps",
    "adam_weight_decay",
    "dropout",
    "variant",
    "input_size",
    "input_norm",
    "multi_crop",
    "select",
    "distill_temperature",
    "distill_weight",
    "distill_t2",
    "distill_targets",
];

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Hyper)>) {
    let name = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}_{k}") };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                // A nested `spec` adds nothing to a name: `distill.spec.temperature` -> `distill_temperature`.
                let next = if k == "spec" { prefix.to_string() } else { name(k) };
                flatten(&next, v, out);
            }
        }
        Value::Number(n) => {
            let h = match n.as_i64() {
                Some(i) => Hyper::Int(i),
                None => Hyper::Float(n.as_f64().unwrap_or(f64::NAN)),
            };
            out.push((prefix.to_string(), h));
        }
        Value::Bool(b) => out.push((prefix.to_string(), Hyper::Bool(*b))),
        Value::String(s) => out.push((prefix.to_string(), Hyper::Text(s.clone()))),
        Value::Null | Value::Array(_) => {}
    }
}

/// Parses `metrics.csv` by its header names; unreadable lines are skipped.
pub fn read_curve(path: &Path) -> Vec<EpochMetrics> {
    let Ok(text) = fs::read_to_string(path) else { return Vec::new() };
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(ep), Some(tl), Some(ta), Some(vl), Some(va)) =
        (find("epoch"), find("train_loss"), find("train_acc"), find("val_loss"), find("val_acc"))
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
            Some(EpochMetrics {
                epoch: f.get(ep)?.parse().ok()?,
                train_loss: num(tl)?,
                train_acc: num(ta)?,
                val_loss: num(vl)?,
                val_acc: num(va)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperparameters_flatten_nested_and_distillation_fields() {
        let spec: Value = serde_json::json!({
            "kind": "train",
            "model": {"arch": "microexpnet", "variant": "xxs", "dropout": 0.5},
            "train": {"epochs": 4, "lr": 0.001, "batch_size": 32,
                      "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}},
            "distill": {"targets": "cd", "spec": {"temperature": 8, "weight": 0.5, "t2": false}},
            "init": null,
            "seed": 1, "classes": 7, "data": "ab"
        });
        let h = hyperparameters(&spec);
        let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "epochs",
                "lr",
                "batch_size",
                "adam_beta1",
                "adam_beta2",
                "adam_eps",
                "adam_weight_decay",
                "dropout",
                "variant",
                "distill_temperature",
                "distill_weight",
                "distill_t2",
                "distill_targets"
            ]
        );
        assert_eq!(h[0].1, Hyper::Int(4));
        assert_eq!(h[1].1, Hyper::Float(0.001));
        assert_eq!(h[8].1, Hyper::Text("xxs".into()));
    }

    #[test]
    fn curve_skips_bad_lines_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.csv");
        fs::write(&p, "epoch,train_loss,train_acc,val_loss,val_acc\n1,2.0,0.1,1.9,0.2\nbroken\n2,1.5,0.3,1.6,0.4\n")
            .unwrap();
        let c = read_curve(&p);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].val_acc, 0.4);
        assert!(read_curve(&dir.path().join("absent.csv")).is_empty());
    }

    #[test]
    fn setting_leaves_out_seed_and_fold() {
        let label = JobLabel {
            axes: vec![("lr".into(), "0.01".into()), ("seed".into(), "2".into()), ("fold".into(), "1".into())],
            ..Default::default()
        };
        assert_eq!(setting(&label), "lr=0.01");
        assert_eq!(axis(&label, "fold").as_deref(), Some("1"));
    }
}
