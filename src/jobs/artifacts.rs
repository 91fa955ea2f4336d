//! Names of the artifacts jobs write into their store entries, and loading trained weights.

use tch::Device;

use super::context::JobContext;
use crate::exec::ExecError;
use crate::models::Model;
use crate::plan::{JobHash, JobKind};
use crate::spec::ModelSpec;
use crate::store::tensor_file;

pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const METRICS_FILE: &str = "metrics.csv";
pub const PROVENANCE_FILE: &str = "provenance.json";
pub const RESULT_FILE: &str = "result.json";
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const TARGETS_FILE: &str = "targets.safetensors";
pub const SALIENCY_FILE: &str = "saliency.safetensors";
pub const SALIENCY_PNG: &str = "saliency.png";
pub const STN_PNG: &str = "stn.png";

/// Builds `model` on `device` and loads the weights of the finished train job `weights`.
pub fn load_trained(
    ctx: &JobContext<'_>,
    model: &ModelSpec,
    classes: usize,
    weights: &JobHash,
    device: Device,
) -> Result<(Model, u64), ExecError> {
    let entry = ctx.input(JobKind::Train, weights)?;
    let path = entry.file(WEIGHTS_FILE);
    let f = tensor_file::read(&path)?;
    let m = Model::new(model, classes, device);
    m.load(&f.tensors).map_err(|e| ctx.fail(format!("failed to load `{}`: {e}", path.display())))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok((m, bytes))
}
