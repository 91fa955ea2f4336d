//! Loading trained weights (and the names of the artifacts jobs write, from the core's records).

use tch::Device;

pub use fer_core::records::{
    METRICS_FILE, PREDICTIONS_FILE, PROVENANCE_FILE, RESULT_FILE, SALIENCY_FILE, SALIENCY_PNG, STN_PNG, TARGETS_FILE,
    WEIGHTS_FILE,
};

use super::context::JobContext;
use crate::models::Model;
use crate::tensor_file;
use fer_core::exec::ExecError;
use fer_core::plan::{JobHash, JobKind};
use fer_core::spec::ModelSpec;

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
