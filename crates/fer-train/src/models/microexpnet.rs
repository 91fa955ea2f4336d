//! MicroExpNet p12 (Cugu, Sener, Akbas 2019): a tiny CNN for 84 x 84 faces, sizes M/S/XS/XXS.
//!
//! TensorFlow SAME padding is reproduced: symmetric pad 3 for conv1, pad 1 top/left and
//! 2 bottom/right for conv2, a ceil-mode second pool; features flatten in H, W, C order.
//! Trainable parameters with 8 classes: M 900,920; S 232,184; XS 120,728; XXS 65,000.

use tch::nn::{self, ConvConfig, LinearConfig, ModuleT};
use tch::Tensor;

use super::init::xavier_uniform;
use fer_core::arch::{MicroExpNetConfig, Variant};

/// MicroExpNet with `classes` outputs.
#[derive(Debug)]
pub struct MicroExpNet {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    dropout: f64,
}

/// Biases are N(0, 0.5) in the public code.
const BIAS: nn::Init = nn::Init::Randn { mean: 0.0, stdev: 0.5 };

impl MicroExpNet {
    pub const INPUT: i64 = MicroExpNetConfig::INPUT as i64;
    const FLAT: i64 = 32 * 6 * 6;

    pub fn new(p: &nn::Path, variant: Variant, classes: i64, dropout: f64) -> MicroExpNet {
        let conv = |name: &str, cin: i64, cout: i64, k: i64| {
            let cfg = ConvConfig {
                stride: 2,
                ws_init: xavier_uniform(cin * k * k, cout * k * k),
                bs_init: BIAS,
                ..Default::default()
            };
            nn::conv2d(p / name, cin, cout, k, cfg)
        };
        let linear = |name: &str, cin: i64, cout: i64| {
            let cfg = LinearConfig { ws_init: xavier_uniform(cin, cout), bs_init: Some(BIAS), bias: true };
            nn::linear(p / name, cin, cout, cfg)
        };
        let width = variant.fc1();
        MicroExpNet {
            conv1: conv("conv1", 1, 16, 8),
            conv2: conv("conv2", 16, 32, 4),
            fc1: linear("fc1", Self::FLAT, width),
            fc2: linear("fc2", width, classes),
            dropout,
        }
    }
}

impl ModuleT for MicroExpNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.constant_pad_nd([3, 3, 3, 3]) // 1 x 90 x 90
            .apply(&self.conv1) // 16 x 42 x 42
            .relu()
            .max_pool2d_default(2) // 16 x 21 x 21
            .constant_pad_nd([1, 2, 1, 2]) // 16 x 24 x 24
            .apply(&self.conv2) // 32 x 11 x 11
            .relu()
            .max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], true) // 32 x 6 x 6 (ceil mode)
            .permute([0, 2, 3, 1]) // H, W, C as TensorFlow flattens
            .reshape([-1, Self::FLAT])
            .apply(&self.fc1)
            .relu()
            .dropout(self.dropout, train)
            .apply(&self.fc2)
    }
}
