//! Inference latency: median wall time of repeated forward passes at a batch size, on the
//! model's device (synchronised on CUDA).

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::models::Model;

/// Waits for the device's queued work (a no-op on the CPU).
pub fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Median milliseconds per forward pass of `batch` images, after `warmup` passes.
pub fn median_ms(model: &Model, batch: i64, warmup: usize, repeats: usize) -> f64 {
    let side = model.spec.input_size() as i64;
    let x = Tensor::rand([batch, 1, side, side], (Kind::Float, model.device())) * 255.0;
    let x = model.preprocess(&x);
    tch::no_grad(|| {
        for _ in 0..warmup {
            let _ = model.forward_t(&x, false);
        }
        sync(model.device());
        let mut times: Vec<f64> = (0..repeats.max(1))
            .map(|_| {
                let t = Instant::now();
                let _ = model.forward_t(&x, false);
                sync(model.device());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    })
}
