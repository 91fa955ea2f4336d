//! The `evaluate` job: trained weights on the test split: accuracy, macro-F1, per-class
//! precision/recall, confusion, parameters, weights size and latency at batch 1 and 64.

use serde::{Deserialize, Serialize};

use super::artifacts::{load_trained, PREDICTIONS_FILE, RESULT_FILE};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, Split, DATA_FILE};
use crate::eval;
use crate::exec::device;
use crate::plan::{EvaluateSpec, JobKind};
use crate::store::{write_atomic, write_json};

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

pub fn run(ctx: &mut JobContext<'_>, spec: &EvaluateSpec) -> JobResult {
    let data = data::read(&ctx.input(JobKind::Prepare, &spec.data)?.file(DATA_FILE))?;
    let (model, weights_bytes) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let tch_err = |e: tch::TchError| ctx.fail(e.to_string());

    let idx = data.indices(Split::Test, spec.fold).map_err(|e| ctx.fail(e))?;
    let x = model.preprocess(&data.images.index_select(0, &idx));
    let labels: Vec<i64> = Vec::try_from(data.labels.index_select(0, &idx)).map_err(tch_err)?;
    let preds: Vec<i64> =
        Vec::try_from(model.logits(&x, 256).argmax(-1, false).to_device(tch::Device::Cpu)).map_err(tch_err)?;
    let test = eval::classification(&labels, &preds, &data.class_names);

    let positions: Vec<i64> = Vec::try_from(&idx).map_err(tch_err)?;
    let mut csv = String::from("index,label,prediction\n");
    for ((i, y), p) in positions.iter().zip(&labels).zip(&preds) {
        csv.push_str(&format!("{i},{y},{p}\n"));
    }
    write_atomic(&ctx.entry.file(PREDICTIONS_FILE), csv.as_bytes())?;

    let result = EvalResult {
        format_version: 1,
        model: spec.model.display(),
        classes: spec.classes,
        trainable_params: model.trainable_count(),
        weights_bytes,
        latency_ms_batch1: eval::median_ms(&model, 1, 5, 30),
        latency_ms_batch64: eval::median_ms(&model, 64, 2, 10),
        device: device::name(ctx.device),
        threads: ctx.threads,
        test,
    };
    write_json(&ctx.entry.file(RESULT_FILE), &result)?;
    let summary = format!("test accuracy {:.1} %, macro-F1 {:.3}", result.test.accuracy * 100.0, result.test.macro_f1);
    Ok(Some(JobOutput { summary, files: vec![RESULT_FILE, PREDICTIONS_FILE] }))
}
