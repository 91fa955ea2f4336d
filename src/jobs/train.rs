//! The `train` job: trains a model (optionally distilled from a teacher's logits) with
//! checkpoints, then writes its weights (PyTorch names) and per-epoch metrics.

use std::collections::BTreeMap;

use super::artifacts::{METRICS_FILE, TARGETS_FILE, WEIGHTS_FILE};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, DATA_FILE};
use crate::exec::ExecError;
use crate::plan::{JobKind, TrainJobSpec};
use crate::spec::ModelSpec;
use crate::store::{tensor_file, write_atomic, CHECKPOINT_FILE};
use crate::train::{self, TrainEnd, TrainRun};

pub fn run(ctx: &mut JobContext<'_>, spec: &TrainJobSpec) -> JobResult {
    let id = ctx.entry.id();
    let data_entry = ctx.input(JobKind::Prepare, &spec.data)?;
    let data = data::read(&data_entry.file(DATA_FILE))?;
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
            if crate::plan::sha256_hex(&bytes) != *sha {
                return Err(ctx.fail(format!("`{}` does not match its sha256 `{sha}`", path.display())));
            }
            let f = tensor_file::decode(&bytes)
                .map_err(|m| ctx.fail(format!("failed to read `{}`: {m}", path.display())))?;
            Some(f.tensors)
        }
        None => None,
    };
    let ck_path = ctx.entry.file(CHECKPOINT_FILE);
    // CPU results depend on the thread count: a resumed run keeps the one it started with.
    let mut threads = ctx.threads;
    if let Some(t) = crate::store::checkpoint_threads(&ck_path) {
        if t != threads && !ctx.device.is_cuda() {
            ctx.log.line(&format!(
                "using {t} thread(s) as the interrupted run did (asked for {threads}), so results match"
            ));
            threads = t;
            tch::set_num_threads(t as i32);
        }
    }
    let run = TrainRun {
        spec,
        data: &data,
        teacher_logits: teacher.as_ref(),
        init: init.as_deref(),
        device: ctx.device,
        threads,
        checkpoint: &ck_path,
        stop: ctx.stop,
    };
    let log = ctx.log;
    let end = train::train(run, &mut *ctx.emit, &mut |s| log.line(&s))
        .map_err(|source| ExecError::Train { id: id.clone(), source })?;
    let TrainEnd::Finished { model, rows, steps } = end else {
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
    let _ = std::fs::remove_file(&ck_path);
    let last = rows.last().map(|r| format!("val accuracy {:.1} %", r.val_acc * 100.0)).unwrap_or_default();
    Ok(Some(JobOutput { summary: format!("{} epochs, {last}", rows.len()), files: vec![WEIGHTS_FILE, METRICS_FILE] }))
}
