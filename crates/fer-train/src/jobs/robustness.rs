//! The `robustness` job: a trained model on its test split, clean and under each corruption at
//! each severity (`eval::corrupt`; every image corrupted the same way for every model and run).

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use super::artifacts::load_trained;
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, Split, DATA_FILE};
use crate::eval::corrupt::corrupt;
use fer_core::plan::robustness::RobustnessSpec;
use fer_core::plan::JobKind;
use fer_core::records::{RobustnessRecord, RobustnessRow, ROBUSTNESS_FILE, ROBUSTNESS_FORMAT};
use fer_core::rng::derive;
use fer_core::store::write_json;

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &RobustnessSpec) -> JobResult {
    let prepare = ctx.input(JobKind::Prepare, &spec.data)?;
    let data = data::read(&prepare.file(DATA_FILE))?;
    let (model, _) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let tch_err = |e: tch::TchError| ctx.fail(e.to_string());
    let idx = data.indices(Split::Test, spec.fold).map_err(|e| ctx.fail(e))?;
    let images = data.images.index_select(0, &idx);
    let labels = data.labels.index_select(0, &idx);
    let positions: Vec<i64> = Vec::try_from(&idx).map_err(tch_err)?;
    let size = images.size();
    let (n, side) = (size[0] as usize, size[3] as usize);
    if n == 0 {
        return Err(ctx.fail("the test split is empty"));
    }
    let pixels: Vec<u8> = Vec::try_from(images.reshape([-1])).map_err(tch_err)?;
    let accuracy = |x: &Tensor| -> Result<f64, tch::TchError> {
        let pred = model.logits(&model.preprocess(x), 256).argmax(-1, false).to_device(Device::Cpu);
        f64::try_from(pred.eq_tensor(&labels).to_kind(Kind::Double).mean(Kind::Double))
    };
    let clean = accuracy(&images).map_err(tch_err)?;
    let mut rows = Vec::new();
    for (ci, &c) in spec.corruptions.iter().enumerate() {
        for s in 1..=spec.severities {
            // Each image's draws derive from (seed, corruption, severity, its index in the data set).
            let corrupted: Vec<u8> = (0..n)
                .into_par_iter()
                .flat_map_iter(|k| {
                    let img = &pixels[k * side * side..(k + 1) * side * side];
                    let seed = derive(spec.seed, &[ci as u64, s as u64, positions[k] as u64]);
                    corrupt(img, side, c, s, seed)
                })
                .collect();
            let x = Tensor::from_slice(&corrupted).reshape([n as i64, 1, side as i64, side as i64]);
            let acc = accuracy(&x).map_err(tch_err)?;
            rows.push(RobustnessRow { corruption: c.name().to_string(), severity: s, accuracy: acc });
        }
    }
    let mean = rows.iter().map(|r| r.accuracy).sum::<f64>() / rows.len().max(1) as f64;
    let record = RobustnessRecord {
        format_version: ROBUSTNESS_FORMAT,
        model: spec.model.display(),
        classes: spec.classes,
        n,
        clean_accuracy: clean,
        relative: if clean > 0.0 { mean / clean } else { 0.0 },
        rows,
    };
    write_json(&ctx.entry.file(ROBUSTNESS_FILE), &record)?;
    let summary = format!(
        "{n} test images: clean {:.1} %, corrupted {:.1} % on average ({:.2} of clean)",
        clean * 100.0,
        mean * 100.0,
        record.relative
    );
    Ok(Some(JobOutput { summary, files: vec![ROBUSTNESS_FILE.into()] }))
}
