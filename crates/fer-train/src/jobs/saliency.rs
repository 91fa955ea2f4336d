//! The `saliency` job: per-emotion occlusion maps (tensor + PNG) of a trained model on test faces,
//! and for Deep-Emotion the learned STN warp of sample faces.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

use super::artifacts::{load_trained, SALIENCY_FILE, SALIENCY_PNG, STN_PNG};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, Split, DATA_FILE};
use crate::eval;
use crate::models::Net;
use crate::tensor_file;
use fer_core::plan::{JobKind, SaliencySpec};
use fer_core::store::StoreError;

/// Writes a PNG via a temporary name.
fn write_png(
    ctx: &JobContext<'_>,
    name: &str,
    f: impl FnOnce(&std::path::Path) -> Result<(), String>,
) -> Result<(), fer_core::exec::ExecError> {
    let path = ctx.entry.file(name);
    let tmp = path.with_file_name(format!(".{name}.tmp.png"));
    f(&tmp).map_err(|e| ctx.fail(format!("failed to write `{name}`: {e}")))?;
    std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
    Ok(())
}

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &SaliencySpec) -> JobResult {
    let data = data::read(&ctx.input(JobKind::Prepare, &spec.data)?.file(DATA_FILE))?;
    let (model, _) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let tch_err = |e: tch::TchError| ctx.fail(e.to_string());

    // The first `per_class` test images of each emotion.
    let idx: Vec<i64> =
        Vec::try_from(data.indices(Split::Test, spec.fold).map_err(|e| ctx.fail(e))?).map_err(tch_err)?;
    let labels_all: Vec<i64> = Vec::try_from(&data.labels).map_err(tch_err)?;
    let mut picked = Vec::new();
    for c in 0..spec.classes as i64 {
        picked.extend(idx.iter().copied().filter(|&i| labels_all[i as usize] == c).take(spec.per_class as usize));
    }
    let pick = Tensor::from_slice(&picked);
    let images = data.images.index_select(0, &pick);
    let labels: Vec<i64> = picked.iter().map(|&i| labels_all[i as usize]).collect();
    let side = images.size()[3];
    let window = ((spec.window * side as f64).round() as i64).max(1);
    let stride = ((spec.stride * side as f64).round() as i64).max(1);
    let maps = eval::occlusion_maps(&model, &images, &labels, spec.classes, window, stride);

    // Mean face per emotion, for the PNG's background.
    let faces = Tensor::zeros([spec.classes as i64, side, side], (Kind::Float, tch::Device::Cpu));
    for c in 0..spec.classes as i64 {
        let rows: Vec<i64> = (0..labels.len() as i64).filter(|&r| labels[r as usize] == c).collect();
        if !rows.is_empty() {
            let mean =
                images.index_select(0, &Tensor::from_slice(&rows)).to_kind(Kind::Float).mean_dim(0, false, Kind::Float);
            faces.get(c).copy_(&mean.squeeze_dim(0));
        }
    }
    let meta = BTreeMap::from([
        ("window_px".to_string(), window.to_string()),
        ("stride_px".to_string(), stride.to_string()),
        ("class_names".to_string(), data.class_names.join(",")),
        ("images".to_string(), picked.len().to_string()),
    ]);
    tensor_file::write(
        &ctx.entry.file(SALIENCY_FILE),
        &[("maps".into(), maps.shallow_clone()), ("mean_faces".into(), faces.shallow_clone())],
        &meta,
    )?;
    write_png(ctx, SALIENCY_PNG, |p| eval::heatmap_png(&maps, &faces, p))?;
    let mut files = vec![SALIENCY_FILE, SALIENCY_PNG];

    if let Net::DeepEmotion(net) = &model.net {
        let n = (picked.len() as i64).min(8);
        let x = model.preprocess(&images.narrow(0, 0, n));
        let warped = tch::no_grad(|| net.warp(&x));
        let to_u8 =
            |t: &Tensor| ((t * 0.5 + 0.5) * 255.0).clamp(0.0, 255.0).to_kind(Kind::Uint8).to_device(tch::Device::Cpu);
        let rows = Tensor::cat(&[to_u8(&x), to_u8(&warped)], 0); // 2n x 1 x S x S
        write_png(ctx, STN_PNG, |p| data::grid_png(&rows, n, p))?;
        files.push(STN_PNG);
    }
    Ok(Some(JobOutput {
        summary: format!("occlusion maps of {} faces ({window} px square, stride {stride} px)", picked.len()),
        files: files.into_iter().map(Into::into).collect(),
    }))
}
