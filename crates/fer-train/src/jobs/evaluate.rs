//! The `evaluate` job: trained weights on the test split: accuracy, macro-F1, per-class
//! precision/recall, confusion, parameters, weights size and latency at batch 1 and 64; the same
//! metrics on the validation split (what settings are chosen by), and the protocol of the split;
//! `predictions.csv` holds each test image's label, prediction and confidence.

use super::artifacts::{load_trained, PREDICTIONS_FILE, RESULT_FILE};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, Split, DATA_FILE};
use crate::device;
use crate::eval;
use fer_core::plan::{EvaluateSpec, JobKind, JobSpec};
use fer_core::records::{
    predictions_csv, EvalResult, Prediction, ProtocolRecord, SplitCount, PREDICTIONS_FORMAT, RESULT_FORMAT,
};
use fer_core::spec::DatasetSpec;
use fer_core::store::{read_json, write_atomic, write_json, JobRecord, JOB_FILE};

/// The protocol of a prepared data set (from its prepare job's record) with this fold's counts.
fn protocol_record(dataset: &DatasetSpec, data: &data::Prepared, fold: Option<u32>) -> Result<ProtocolRecord, String> {
    let (kind, subject_independent, description) = match dataset {
        DatasetSpec::Real(r) => {
            let p = &r.manifest.protocol;
            (p.kind_name().to_string(), p.subject_independent(), p.describe())
        }
        DatasetSpec::Synthetic(s) => (
            "subject-holdout".to_string(),
            Some(true),
            format!(
                "subject-independent hold-out: {} % of subjects for validation, {} % for test (seed {})",
                s.val_fraction * 100.0,
                s.test_fraction * 100.0,
                s.seed
            ),
        ),
    };
    let subjects: Vec<i64> = Vec::try_from(&data.subjects).map_err(|e: tch::TchError| e.to_string())?;
    let count = |split: Split| -> Result<SplitCount, String> {
        let idx: Vec<i64> = Vec::try_from(data.indices(split, fold)?).map_err(|e: tch::TchError| e.to_string())?;
        let who: std::collections::BTreeSet<i64> = idx.iter().map(|&i| subjects[i as usize]).collect();
        Ok(SplitCount { images: idx.len(), subjects: who.len() })
    };
    Ok(ProtocolRecord {
        kind,
        subject_independent,
        description,
        fold,
        train: count(Split::Train)?,
        val: count(Split::Val)?,
        test: count(Split::Test)?,
    })
}

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &EvaluateSpec) -> JobResult {
    let prepare = ctx.input(JobKind::Prepare, &spec.data)?;
    let data = data::read(&prepare.file(DATA_FILE))?;
    let record: Option<JobRecord> = read_json(&prepare.file(JOB_FILE)).map_err(|e| ctx.fail(e.to_string()))?;
    let Some(JobRecord { spec: JobSpec::Prepare(prepared), .. }) = record else {
        return Err(ctx.fail(format!("the input `{}` has no prepare job record", prepare.id())));
    };
    let protocol = protocol_record(&prepared.dataset, &data, spec.fold).map_err(|e| ctx.fail(e))?;
    let protocol = super::subset::trained_on(ctx, &spec.weights, &prepared.dataset, &data, protocol)?;
    let (model, weights_bytes) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let tch_err = |e: tch::TchError| ctx.fail(e.to_string());

    let idx = data.indices(Split::Test, spec.fold).map_err(|e| ctx.fail(e))?;
    let x = model.preprocess(&data.images.index_select(0, &idx));
    let labels: Vec<i64> = Vec::try_from(data.labels.index_select(0, &idx)).map_err(tch_err)?;
    let logits = model.logits(&x, 256).to_device(tch::Device::Cpu);
    let preds: Vec<i64> = Vec::try_from(logits.argmax(-1, false)).map_err(tch_err)?;
    // The softmax probability of the predicted class (calibration; the class is the argmax).
    let (top, _) = logits.to_kind(tch::Kind::Double).softmax(-1, tch::Kind::Double).max_dim(-1, false);
    let confidence: Vec<f64> = Vec::try_from(top).map_err(tch_err)?;
    let test = eval::classification(&labels, &preds, &data.class_names);

    let positions: Vec<i64> = Vec::try_from(&idx).map_err(tch_err)?;
    let rows: Vec<Prediction> = positions
        .iter()
        .zip(&labels)
        .zip(&preds)
        .zip(&confidence)
        .map(|(((&i, &label), &prediction), &c)| Prediction { index: i as u64, label, prediction, confidence: Some(c) })
        .collect();
    write_atomic(&ctx.entry.file(PREDICTIONS_FILE), predictions_csv(&rows).as_bytes())?;

    // Validation: what the report chooses settings by (never the test split).
    let vidx = data.indices(Split::Val, spec.fold).map_err(|e| ctx.fail(e))?;
    let val = if vidx.size()[0] == 0 {
        None
    } else {
        let vx = model.preprocess(&data.images.index_select(0, &vidx));
        let vlabels: Vec<i64> = Vec::try_from(data.labels.index_select(0, &vidx)).map_err(tch_err)?;
        let vpreds: Vec<i64> =
            Vec::try_from(model.logits(&vx, 256).argmax(-1, false).to_device(tch::Device::Cpu)).map_err(tch_err)?;
        Some(eval::classification(&vlabels, &vpreds, &data.class_names))
    };

    let result = EvalResult {
        format_version: RESULT_FORMAT,
        model: spec.model.display(),
        classes: spec.classes,
        trainable_params: model.trainable_count(),
        weights_bytes,
        latency_ms_batch1: eval::median_ms(&model, 1, 5, 30),
        latency_ms_batch64: eval::median_ms(&model, 64, 2, 10),
        device: device::name(ctx.device),
        threads: ctx.threads,
        test,
        val,
        protocol: Some(protocol),
        predictions_format: Some(PREDICTIONS_FORMAT),
    };
    write_json(&ctx.entry.file(RESULT_FILE), &result)?;
    let summary = format!("test accuracy {:.1} %, macro-F1 {:.3}", result.test.accuracy * 100.0, result.test.macro_f1);
    Ok(Some(JobOutput { summary, files: vec![RESULT_FILE.into(), PREDICTIONS_FILE.into()] }))
}
