//! TorchScript: our model's evaluation-mode forward, input scaling included, traced by LibTorch
//! and saved as a module that `torch.jit.load` and LibTorch C++ (`torch::jit::load`) read.

use std::path::Path;

use tch::{CModule, Kind, Tensor};

use crate::models::Model;

/// Traces `model` (its parameters frozen: they become constants of the module) on a batch of
/// `batch` raw faces and saves the module at `path`.
pub fn export(model: &mut Model, batch: i64, path: &Path) -> Result<(), String> {
    model.vs.freeze();
    let side = model.spec.input_size() as i64;
    let example = Tensor::zeros([batch, 1, side, side], (Kind::Float, model.device()));
    // The module's class name must be a Python identifier.
    let name: String = model.spec.display().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let m: &Model = model;
    let module = tch::no_grad(|| {
        CModule::create_by_tracing(&name, "forward", &[example], &mut |inputs| {
            vec![m.forward_t(&m.preprocess(&inputs[0]), false)]
        })
    })
    .map_err(|e| format!("failed to trace the model: {e}"))?;
    module.save(path).map_err(|e| format!("failed to save `{}`: {e}", path.display()))
}
