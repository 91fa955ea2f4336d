//! Weight initialisations of the reference implementations (PyTorch defaults, TF Xavier).

use tch::nn::Init;

/// PyTorch's default for Conv2d/Linear weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub(super) fn torch_default(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

/// Glorot/Xavier uniform, as TensorFlow's `xavier_initializer()`.
pub(super) fn xavier_uniform(fan_in: i64, fan_out: i64) -> Init {
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}
