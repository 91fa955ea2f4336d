//! Executes one job of the store in this process (`fer-pipeline exec <kind>/<hash16>`): takes
//! its lock, checks its inputs, runs it, writes artifacts atomically and the `done` marker last.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::device;
use super::events::JobEvent;
use crate::data::{self, DATA_FILE, SAMPLES_FILE, SUMMARY_FILE};
use crate::eval;
use crate::models::Model;
use crate::plan::{EvaluateSpec, JobHash, JobKind, JobSpec, PrepareSpec, TrainJobSpec};
use crate::spec::DeviceRequest;
use crate::store::{
    tensor_file, write_atomic, write_json, Entry, EntryState, Store, StoreError, CHECKPOINT_FILE, LOG_FILE,
};
use crate::train::{self, TrainEnd, TrainRun};

/// Artifact names.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const METRICS_FILE: &str = "metrics.csv";
pub const PROVENANCE_FILE: &str = "provenance.json";
pub const RESULT_FILE: &str = "result.json";
pub const PREDICTIONS_FILE: &str = "predictions.csv";

/// How to run a job here.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub device: DeviceRequest,
    pub threads: u32,
    pub deterministic: bool,
}

/// How `exec` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecOutcome {
    Done {
        summary: String,
    },
    /// Another process finished it while we waited for the lock.
    AlreadyDone,
    /// Stopped by a signal after a checkpoint.
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to find job `{0}` in the store (plan or run the pipeline first)")]
    UnknownEntry(String),
    #[error("failed to run `{id}`: input `{input}` is not finished ({why})")]
    Input { id: String, input: String, why: String },
    #[error("{0}")]
    Device(String),
    #[error("failed to run `{id}`: {source}")]
    Train {
        id: String,
        #[source]
        source: train::TrainError,
    },
    #[error("failed to run `{id}`: {message}")]
    Job { id: String, message: String },
}

/// Finds an entry by `<kind>/<hash16>`, `<hash16>` or a full hash.
pub fn find_entry(store: &Store, id: &str) -> Result<Entry, ExecError> {
    let (kinds, hash) = match id.split_once('/') {
        Some((k, h)) => (JobKind::parse(k).map(|k| vec![k]).unwrap_or_default(), h),
        None => (JobKind::ALL.to_vec(), id),
    };
    let short = &hash[..hash.len().min(16)];
    for kind in kinds {
        let dir = store.root().join(kind.name()).join(short);
        if dir.join(crate::store::JOB_FILE).exists() {
            let rec: crate::store::JobRecord = crate::store::read_json(&dir.join(crate::store::JOB_FILE))?
                .ok_or_else(|| ExecError::UnknownEntry(id.to_string()))?;
            let entry = store.entry(kind, &rec.hash);
            return Ok(entry);
        }
    }
    Err(ExecError::UnknownEntry(id.to_string()))
}

/// Appends timestamped lines to an entry's `log.txt` and to the tracing log.
pub struct JobLog {
    path: PathBuf,
    id: String,
}

impl JobLog {
    pub fn new(entry: &Entry) -> JobLog {
        JobLog { path: entry.file(LOG_FILE), id: entry.id() }
    }

    pub fn line(&self, text: &str) {
        tracing::info!("{}: {text}", self.id);
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&self.path) {
            let _ = writeln!(f, "{} {text}", crate::clock::now_rfc3339());
        }
    }
}

/// Runs the job `id` from `store`.
pub fn exec(
    store: &Store,
    id: &str,
    opts: &ExecOptions,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
) -> Result<ExecOutcome, ExecError> {
    store.check()?;
    let entry = find_entry(store, id)?;
    let record = entry.read_record()?;
    let lock = match entry.try_lock()? {
        Some(l) => l,
        None => {
            emit(JobEvent::Waiting);
            entry.lock()?
        }
    };
    let log = JobLog::new(&entry);
    match entry.state() {
        EntryState::Done(_) => return Ok(ExecOutcome::AlreadyDone),
        EntryState::Corrupt(why) => {
            log.line(&format!("entry is damaged ({why}); running it again"));
            entry.invalidate()?;
        }
        _ => {}
    }
    let dev = device::resolve(opts.device).map_err(ExecError::Device)?;
    device::configure(dev, opts.deterministic);
    tch::set_num_threads(opts.threads as i32);

    let started = crate::clock::now_rfc3339();
    let t0 = Instant::now();
    log.line(&format!(
        "start {} on {} with {} thread(s): {}",
        record.kind.name(),
        device::name(dev),
        opts.threads,
        record.label.describe()
    ));
    let result = match &record.spec {
        JobSpec::Prepare(p) => run_prepare(&entry, p, opts.threads, emit),
        JobSpec::Train(t) => run_train(store, &entry, t, dev, opts, stop, emit, &log),
        JobSpec::Evaluate(e) => run_evaluate(store, &entry, e, dev, opts.threads),
    };
    match result {
        Ok(Some((summary, files))) => {
            let prov = Provenance {
                format_version: 1,
                program: concat!("fer-pipeline ", env!("CARGO_PKG_VERSION")).to_string(),
                libtorch: crate::LIBTORCH_VERSION.to_string(),
                device: device::name(dev),
                threads: opts.threads,
                deterministic: opts.deterministic,
                started_at: started,
                finished_at: crate::clock::now_rfc3339(),
                seconds: t0.elapsed().as_secs_f64(),
            };
            write_json(&entry.file(PROVENANCE_FILE), &prov)?;
            let mut all: Vec<&str> = files;
            all.push(PROVENANCE_FILE);
            entry.finish(&all)?;
            log.line(&format!("done in {:.1} s: {summary}", t0.elapsed().as_secs_f64()));
            emit(JobEvent::Finished { summary: summary.clone() });
            drop(lock);
            Ok(ExecOutcome::Done { summary })
        }
        Ok(None) => Ok(ExecOutcome::Stopped),
        Err(e) => {
            log.line(&format!("failed: {e}"));
            let _ = entry.mark_failed(&e.to_string());
            Err(e)
        }
    }
}

/// Where and how a job ran (not part of its hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub format_version: u32,
    pub program: String,
    pub libtorch: String,
    pub device: String,
    pub threads: u32,
    pub deterministic: bool,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
}

type JobResult = Result<Option<(String, Vec<&'static str>)>, ExecError>;

/// The finished input `hash` of `kind`, or an error naming it.
fn input(store: &Store, id: &str, kind: JobKind, hash: &JobHash) -> Result<Entry, ExecError> {
    let e = store.entry(kind, hash);
    match e.verify() {
        Ok(_) => Ok(e),
        Err(why) => Err(ExecError::Input { id: id.to_string(), input: e.id(), why }),
    }
}

fn run_prepare(entry: &Entry, spec: &PrepareSpec, threads: u32, emit: &mut dyn FnMut(JobEvent)) -> JobResult {
    let id = entry.id();
    let job_err = |message: String| ExecError::Job { id: id.clone(), message };
    emit(JobEvent::Note { text: format!("rendering images at {} px", spec.size) });
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads as usize).build().map_err(|e| job_err(e.to_string()))?;
    let (prepared, summary) = pool.install(|| data::build(&spec.dataset, spec.size));
    data::write(&entry.file(DATA_FILE), &prepared)?;
    write_json(&entry.file(SUMMARY_FILE), &summary)?;
    let grid = entry.file(SAMPLES_FILE);
    let tmp = grid.with_file_name(".samples.tmp.png");
    data::write_samples(&prepared, &tmp).map_err(|e| job_err(format!("failed to write sample grid: {e}")))?;
    std::fs::rename(&tmp, &grid).map_err(|e| StoreError::io(&grid, e))?;
    let text = format!("{} images at {} px, {} classes", summary.images, summary.size, summary.class_names.len());
    Ok(Some((text, vec![DATA_FILE, SUMMARY_FILE, SAMPLES_FILE])))
}

#[allow(clippy::too_many_arguments)]
fn run_train(
    store: &Store,
    entry: &Entry,
    spec: &TrainJobSpec,
    dev: tch::Device,
    opts: &ExecOptions,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(JobEvent),
    log: &JobLog,
) -> JobResult {
    let id = entry.id();
    let data_entry = input(store, &id, JobKind::Prepare, &spec.data)?;
    let data = data::read(&data_entry.file(DATA_FILE))?;
    let ck_path = entry.file(CHECKPOINT_FILE);
    // CPU results depend on the thread count: a resumed run keeps the one it started with.
    let mut threads = opts.threads;
    if let Some(t) = crate::store::checkpoint_threads(&ck_path) {
        if t != threads && !dev.is_cuda() {
            log.line(&format!(
                "using {t} thread(s) as the interrupted run did (asked for {threads}), so results match"
            ));
            threads = t;
            tch::set_num_threads(t as i32);
        }
    }
    let run = TrainRun { spec, data: &data, device: dev, threads, checkpoint: &ck_path, stop };
    let end =
        train::train(run, emit, &mut |s| log.line(&s)).map_err(|source| ExecError::Train { id: id.clone(), source })?;
    match end {
        TrainEnd::Stopped { .. } => Ok(None),
        TrainEnd::Finished { model, rows, steps } => {
            let mut tensors = model.named_tensors();
            if matches!(spec.model, crate::spec::ModelSpec::DeepEmotion { .. }) {
                // PyTorch's BatchNorm keeps this counter; with it the file loads with strict=True.
                tensors.push(("norm.num_batches_tracked".into(), tch::Tensor::from_slice(&[steps]).reshape([])));
            }
            let meta = std::collections::BTreeMap::from([
                ("format".to_string(), "pt".to_string()),
                ("arch".to_string(), spec.model.display()),
                ("classes".to_string(), spec.classes.to_string()),
            ]);
            tensor_file::write(&entry.file(WEIGHTS_FILE), &tensors, &meta)?;
            write_atomic(&entry.file(METRICS_FILE), train::to_csv(&rows).as_bytes())?;
            let _ = std::fs::remove_file(&ck_path);
            let last = rows.last().map(|r| format!("val accuracy {:.1} %", r.val_acc * 100.0)).unwrap_or_default();
            Ok(Some((format!("{} epochs, {last}", rows.len()), vec![WEIGHTS_FILE, METRICS_FILE])))
        }
    }
}

/// `result.json` of an evaluate job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalResult {
    pub format_version: u32,
    pub model: String,
    pub classes: usize,
    pub test: eval::Classification,
    pub trainable_params: i64,
    pub weights_bytes: u64,
    pub latency_ms_batch1: f64,
    pub latency_ms_batch64: f64,
    pub device: String,
    pub threads: u32,
}

fn run_evaluate(store: &Store, entry: &Entry, spec: &EvaluateSpec, dev: tch::Device, threads: u32) -> JobResult {
    let id = entry.id();
    let job_err = |message: String| ExecError::Job { id: id.clone(), message };
    let weights_entry = input(store, &id, JobKind::Train, &spec.weights)?;
    let data_entry = input(store, &id, JobKind::Prepare, &spec.data)?;
    let data = data::read(&data_entry.file(DATA_FILE))?;
    let weights_path = weights_entry.file(WEIGHTS_FILE);
    let weights = tensor_file::read(&weights_path)?;
    let model = Model::new(&spec.model, spec.classes, dev);
    model.load(&weights.tensors).map_err(|m| job_err(format!("failed to load `{}`: {m}", weights_path.display())))?;

    let idx = data.indices(data::Split::Test);
    let x = model.preprocess(&data.images.index_select(0, &idx));
    let labels: Vec<i64> =
        Vec::try_from(data.labels.index_select(0, &idx)).map_err(|e: tch::TchError| job_err(e.to_string()))?;
    let preds: Vec<i64> = Vec::try_from(model.logits(&x, 256).argmax(-1, false).to_device(tch::Device::Cpu))
        .map_err(|e: tch::TchError| job_err(e.to_string()))?;
    let test = eval::classification(&labels, &preds, &data.class_names);

    let mut csv = String::from("index,label,prediction\n");
    let positions: Vec<i64> = Vec::try_from(&idx).map_err(|e: tch::TchError| job_err(e.to_string()))?;
    for ((i, y), p) in positions.iter().zip(&labels).zip(&preds) {
        csv.push_str(&format!("{i},{y},{p}\n"));
    }
    write_atomic(&entry.file(PREDICTIONS_FILE), csv.as_bytes())?;

    let result = EvalResult {
        format_version: 1,
        model: spec.model.display(),
        classes: spec.classes,
        trainable_params: model.trainable_count(),
        weights_bytes: std::fs::metadata(&weights_path).map(|m| m.len()).unwrap_or(0),
        latency_ms_batch1: eval::median_ms(&model, 1, 5, 30),
        latency_ms_batch64: eval::median_ms(&model, 64, 2, 10),
        device: device::name(dev),
        threads,
        test,
    };
    write_json(&entry.file(RESULT_FILE), &result)?;
    let summary = format!("test accuracy {:.1} %, macro-F1 {:.3}", result.test.accuracy * 100.0, result.test.macro_f1);
    Ok(Some((summary, vec![RESULT_FILE, PREDICTIONS_FILE])))
}
