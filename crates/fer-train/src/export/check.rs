//! What an export is checked against: fixed raw faces with our logits on them, and our own
//! latency at batch 1 on one thread (LibTorch, evaluation mode, scaling included).

use std::time::Instant;

use serde::Serialize;
use tch::{Kind, Tensor};

use crate::models::Model;

/// Version of the reference file format.
pub const REFERENCE_FORMAT: u32 = 1;

/// `--reference FILE`: inputs (raw 0..255 grey levels, N x 1 x S x S, row-major) and our logits.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub format_version: u32,
    pub shape: Vec<i64>,
    pub inputs: Vec<f32>,
    pub logits: Vec<Vec<f32>>,
    /// Our median latency at batch 1 on one thread, in milliseconds.
    pub ours_ms: f64,
}

/// `n` fixed faces at the model's input size: a smooth gradient with a per-image pattern, whole
/// grey levels 0..255 (deterministic, no random state).
pub fn inputs(model: &Model, n: i64) -> Tensor {
    let s = model.spec.input_size() as i64;
    let mut v = Vec::with_capacity((n * s * s) as usize);
    for k in 0..n {
        for i in 0..s {
            for j in 0..s {
                let x = (i * 7 + j * 3 + k * 31) as f64
                    + 40.0 * ((i as f64 * 0.3 + k as f64).sin() * (j as f64 * 0.2).cos());
                v.push((x.rem_euclid(256.0)).floor() as f32);
            }
        }
    }
    Tensor::from_slice(&v).view([n, 1, s, s])
}

/// Our logits on raw faces `x` (scaling included, evaluation mode).
pub fn logits(model: &Model, x: &Tensor) -> Tensor {
    tch::no_grad(|| model.forward_t(&model.preprocess(x), false))
}

/// Median milliseconds of one forward at batch 1 on one intra-op thread (restored after).
pub fn latency_ms(model: &Model, runs: usize) -> f64 {
    let before = tch::get_num_threads();
    tch::set_num_threads(1);
    let x = inputs(model, 1);
    for _ in 0..3 {
        let _ = logits(model, &x);
    }
    let mut t: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            let y = logits(model, &x);
            let _ = y.sum(Kind::Float).double_value(&[]);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    tch::set_num_threads(before);
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// The reference of `model` on `n` fixed faces.
pub fn reference(model: &Model, n: i64, ours_ms: f64) -> Result<Reference, String> {
    let x = inputs(model, n);
    let y = logits(model, &x).to_kind(Kind::Float).contiguous();
    let inputs = Vec::<f32>::try_from(x.view([-1])).map_err(|e| e.to_string())?;
    let logits = Vec::<Vec<f32>>::try_from(y).map_err(|e| e.to_string())?;
    Ok(Reference { format_version: REFERENCE_FORMAT, shape: x.size(), inputs, logits, ours_ms })
}
