//! The `train` job: trains a model (optionally distilled from a teacher's logits) with
//! checkpoints, then writes its weights (PyTorch names) and per-epoch metrics.

use std::collections::BTreeMap;

use super::artifacts::{METRICS_FILE, TARGETS_FILE, WEIGHTS_FILE};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, DATA_FILE};
use crate::tensor_file;
use crate::train::{self, Checkpoint, TrainEnd, TrainError, TrainRun};
use crate::train::{EpochEnd, TrainObserver, TrainStart};
use fer_core::exec::{ExecError, JobEvent, JobLog};
use fer_core::plan::{JobKind, TrainJobSpec};
use fer_core::spec::ModelSpec;
use fer_core::store::{write_atomic, CHECKPOINT_FILE};

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &TrainJobSpec) -> JobResult {
    let id = ctx.entry.id();
    let data_entry = ctx.input(JobKind::Prepare, &spec.data)?;
    let data = data::read(&data_entry.file(DATA_FILE))?;
    let (subset_seed, subset) = super::subset::plan(ctx, spec, &data_entry, &data)?;
    let teacher = match &spec.distill {
        Some(d) => {
            let e = ctx.input(JobKind::DistillTargets, &d.targets)?;
            let f = tensor_file::read(&e.file(TARGETS_FILE))?;
            let logits = f.get("logits").ok_or_else(|| ctx.fail("teacher targets have no `logits`"))?.shallow_clone();
            if logits.size()[0] as usize != data.len() {
                return Err(ctx.fail(format!(
                    "teacher targets cover {} images, the data set has {}",
                    logits.size()[0],
                    data.len()
                )));
            }
            Some(logits)
        }
        None => None,
    };
    let init = match &spec.init {
        Some(sha) => {
            let path = ctx.store.blob_path(sha);
            let bytes =
                std::fs::read(&path).map_err(|e| ctx.fail(format!("failed to read `{}`: {e}", path.display())))?;
            if fer_core::digest::sha256_hex(&bytes) != *sha {
                return Err(ctx.fail(format!("`{}` does not match its sha256 `{sha}`", path.display())));
            }
            let f = tensor_file::decode(&bytes)
                .map_err(|m| ctx.fail(format!("failed to read `{}`: {m}", path.display())))?;
            let tensors = crate::released::outputs::align(f.tensors, &f.metadata, &data.class_names)
                .map_err(|m| ctx.fail(format!("failed to use the weights file `{}`: {m}", path.display())))?;
            Some(tensors)
        }
        None => None,
    };
    let ck_path = ctx.entry.file(CHECKPOINT_FILE);
    let resume = match Checkpoint::read(&ck_path, &ctx.entry.hash) {
        Ok(ck) => ck,
        Err(e) => {
            discard_checkpoint(ctx, &ck_path, &e.to_string());
            None
        }
    };
    // CPU results depend on the thread count: a resumed run keeps the one it started with.
    let threads_for = |ctx: &JobContext<'_>, resume: &Option<Checkpoint>| {
        let t = match resume {
            Some(ck) if ck.threads != ctx.threads && !ctx.device.is_cuda() => {
                ctx.log.line(&format!(
                    "using {} thread(s) as the interrupted run did (asked for {}), so results match",
                    ck.threads, ctx.threads
                ));
                ck.threads
            }
            _ => ctx.threads,
        };
        tch::set_num_threads(t as i32);
        t
    };
    let threads = threads_for(ctx, &resume);
    let (device, job, stop) = (ctx.device, ctx.entry.hash, ctx.stop);
    let make_run = |threads: u32, resume: Option<Checkpoint>| TrainRun {
        spec,
        data: &data,
        teacher_logits: teacher.as_ref(),
        init: init.as_deref(),
        device,
        threads,
        job,
        checkpoint: &ck_path,
        resume,
        stop,
        subset_seed,
    };
    let run = make_run(threads, resume);
    let mut obs = JobObserver { emit: &mut *ctx.emit, log: ctx.log };
    let end = match train::train(run, &mut obs) {
        Err(TrainError::Restore { message, .. }) => {
            // A checkpoint that passed its checks but does not fit the model: never fail forever.
            discard_checkpoint(ctx, &ck_path, &message);
            let threads = threads_for(ctx, &None);
            train::train(make_run(threads, None), &mut JobObserver { emit: &mut *ctx.emit, log: ctx.log })
        }
        other => other,
    }
    .map_err(|source| ExecError::Body { id: id.clone(), source: Box::new(source) })?;
    let TrainEnd::Finished { model, rows, steps, kd } = end else {
        return Ok(None);
    };
    let mut tensors = model.named_tensors();
    if matches!(spec.model, ModelSpec::DeepEmotion { .. }) {
        // PyTorch's BatchNorm keeps this counter; with it the file loads with strict=True.
        tensors.push(("norm.num_batches_tracked".into(), tch::Tensor::from_slice(&[steps]).reshape([])));
    }
    let meta = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("arch".to_string(), spec.model.display()),
        ("classes".to_string(), spec.classes.to_string()),
    ]);
    tensor_file::write(&ctx.entry.file(WEIGHTS_FILE), &tensors, &meta)?;
    write_atomic(&ctx.entry.file(METRICS_FILE), train::to_csv(&rows).as_bytes())?;
    let mut files = vec![WEIGHTS_FILE.to_string(), METRICS_FILE.to_string()];
    files.extend(super::subset::write(ctx, subset.as_ref())?);
    let tb = tensorboard_artifact(ctx);
    train::tensorboard::write(&ctx.entry.dir, &tb, &train::tensorboard::events(&rows, spec.train.lr, &kd))?;
    // The checkpoint stays until the `done` marker is durable (the executor removes it then).
    let last = match spec.train.select {
        fer_core::spec::Select::BestVal => train::best_epoch(&rows)
            .map(|(e, acc)| format!("kept epoch {e}, val accuracy {:.1} %", acc * 100.0))
            .unwrap_or_default(),
        fer_core::spec::Select::Last => {
            rows.last().map(|r| format!("val accuracy {:.1} %", r.val_acc * 100.0)).unwrap_or_default()
        }
    };
    Ok(Some(JobOutput {
        summary: format!("{} epochs, {last}", rows.len()),
        files: files.into_iter().chain([tb]).map(Into::into).collect(),
    }))
}

/// `tb/<model>_<dataset>_seed<k>/events.out.tfevents.fer-pipeline`, named from the entry's
/// `job.json` label (written before the job runs, so a resumed job names it the same way).
fn tensorboard_artifact(ctx: &JobContext<'_>) -> String {
    let name = match ctx.entry.read_record() {
        Ok(r) => train::tensorboard::run_name(&r.label.model, &r.label.dataset, r.label.seed, r.label.fold),
        Err(_) => "run".to_string(),
    };
    train::tensorboard::artifact_name(&name)
}

/// Warns (log, stderr and the run's display) and removes a checkpoint that cannot be used; the
/// job then trains from the start.
fn discard_checkpoint(ctx: &mut JobContext<'_>, path: &std::path::Path, why: &str) {
    let text = format!("discarding damaged checkpoint ({why}); training from the start");
    ctx.log.warn(&text);
    (ctx.emit)(JobEvent::Warning { text });
    if let Err(e) = ctx.entry.remove(CHECKPOINT_FILE) {
        ctx.log.warn(&format!("failed to remove `{}`: {e}", path.display()));
    }
}

/// The trainer's progress as the executor's job events and the entry's log.
struct JobObserver<'a> {
    emit: &'a mut dyn FnMut(JobEvent),
    log: &'a JobLog,
}

impl TrainObserver for JobObserver<'_> {
    fn started(&mut self, s: &TrainStart) {
        (self.emit)(JobEvent::Started {
            epochs: s.epochs,
            resumed_from: s.resumed_from,
            device: s.device.clone(),
            threads: s.threads,
        });
    }

    fn epoch(&mut self, e: &EpochEnd) {
        (self.emit)(JobEvent::Epoch {
            epoch: e.epoch,
            epochs: e.epochs,
            train_loss: e.train_loss,
            train_acc: e.train_acc,
            val_acc: e.val_acc,
            seconds: e.seconds,
        });
    }

    fn log(&mut self, line: String) {
        self.log.line(&line);
    }
}
