//! The `transfer` job (domain shift): a model trained on one data set, tested on another data
//! set's test split (every image when that set has k folds), over the classes both share: images
//! of other classes are left out, and the prediction is the most probable shared class.

use super::artifacts::load_trained;
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, Split, DATA_FILE};
use crate::eval;
use fer_core::plan::{JobKind, TransferSpec};
use fer_core::records::{TransferRecord, TRANSFER_FILE, TRANSFER_FORMAT};
use fer_core::store::write_json;
use tch::{Device, Kind, Tensor};

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &TransferSpec) -> JobResult {
    let prepare = ctx.input(JobKind::Prepare, &spec.data)?;
    let data = data::read(&prepare.file(DATA_FILE))?;
    let (model, _) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let tch_err = |e: tch::TchError| ctx.fail(e.to_string());
    if spec.labels.iter().any(|&l| l as usize >= data.classes())
        || spec.outputs.iter().any(|&o| o as usize >= spec.classes)
    {
        return Err(ctx.fail("the shared classes do not fit the model or the data set"));
    }
    let (idx, images) = match data.folds {
        Some(_) => (Tensor::arange(data.len() as i64, (Kind::Int64, Device::Cpu)), "all images (k-fold data)"),
        None => (data.indices(Split::Test, None).map_err(|e| ctx.fail(e))?, "test split"),
    };
    // Keep the images of shared classes; their labels become positions in `shared`.
    let labels: Vec<i64> = Vec::try_from(data.labels.index_select(0, &idx)).map_err(tch_err)?;
    let positions: Vec<i64> = Vec::try_from(&idx).map_err(tch_err)?;
    let mut keep = Vec::new();
    let mut shared_labels = Vec::new();
    for (&i, &y) in positions.iter().zip(&labels) {
        if let Some(k) = spec.labels.iter().position(|&l| l as i64 == y) {
            keep.push(i);
            shared_labels.push(k as i64);
        }
    }
    let dropped = positions.len() - keep.len();
    let outputs = Tensor::from_slice(&spec.outputs.iter().map(|&o| o as i64).collect::<Vec<_>>());
    let preds: Vec<i64> = if keep.is_empty() {
        Vec::new()
    } else {
        let x = model.preprocess(&data.images.index_select(0, &Tensor::from_slice(&keep)));
        let logits = model.logits(&x, 256).to_device(Device::Cpu).index_select(1, &outputs);
        Vec::try_from(logits.argmax(-1, false)).map_err(tch_err)?
    };
    let test = eval::classification(&shared_labels, &preds, &spec.shared);
    let record = TransferRecord {
        format_version: TRANSFER_FORMAT,
        model: spec.model.display(),
        shared: spec.shared.clone(),
        images: images.to_string(),
        test,
        dropped,
    };
    write_json(&ctx.entry.file(TRANSFER_FILE), &record)?;
    let summary = format!(
        "{} images of {} shared classes: accuracy {:.1} %, macro-F1 {:.3}{}",
        record.test.n,
        record.shared.len(),
        record.test.accuracy * 100.0,
        record.test.macro_f1,
        if dropped > 0 { format!(" ({dropped} of other classes left out)") } else { String::new() }
    );
    Ok(Some(JobOutput { summary, files: vec![TRANSFER_FILE.into()] }))
}
