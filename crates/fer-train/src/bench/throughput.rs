//! This program's side of the throughput benchmark: the trainer's own step (`train::step`) on
//! random data held on the device, and inference latency, timed with a sync at the end only.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::eval::sync;
use crate::models::Model;
use crate::train::{self, Adam, Batch};
use fer_core::spec::{AdamSpec, ModelSpec};

/// Training images per second of `spec` at `batch`, over `steps` steps after `warmup`.
pub fn train_images_per_s(
    spec: &ModelSpec,
    classes: usize,
    batch: i64,
    steps: usize,
    warmup: usize,
    images: i64,
    device: Device,
) -> f64 {
    tch::manual_seed(0);
    let model = Model::new(spec, classes, device);
    let adam_cfg = AdamSpec { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let mut adam = Adam::new(model.trainable(), 1e-4, adam_cfg);
    let side = spec.input_size() as i64;
    let images = images.max(batch);
    let x_all = model.preprocess(&(Tensor::rand([images, 1, side, side], (Kind::Float, device)) * 255.0));
    let y_all = Tensor::randint(classes as i64, [images], (Kind::Int64, device));
    let perm = Tensor::randperm(images, (Kind::Int64, device));
    let nb = images / batch;
    let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
    let mut run = |i: usize, loss_sum: &mut Tensor| {
        let idx = perm.narrow(0, (i as i64 % nb) * batch, batch);
        let b = Batch { x: &x_all.index_select(0, &idx), y: &y_all.index_select(0, &idx), teacher: None, l2: 0.0 };
        let loss = train::step(&model, &mut adam, &b).loss;
        tch::no_grad(|| *loss_sum += loss.to_kind(Kind::Double) * batch as f64);
    };
    for i in 0..warmup {
        run(i, &mut loss_sum);
    }
    sync(device);
    let t0 = Instant::now();
    for i in 0..steps {
        run(i, &mut loss_sum);
    }
    let _ = loss_sum.double_value(&[]);
    sync(device);
    (steps as i64 * batch) as f64 / t0.elapsed().as_secs_f64()
}

/// Median inference latency in ms at batch 1 and 64.
pub fn latency_ms(spec: &ModelSpec, classes: usize, device: Device, repeats: usize) -> (f64, f64) {
    let model = Model::new(spec, classes, device);
    (crate::eval::median_ms(&model, 1, 5, repeats), crate::eval::median_ms(&model, 64, 2, repeats.div_ceil(3)))
}
