//! Deep-Emotion (Minaee & Abdolrashidi 2019): a small CNN behind a spatial transformer (STN).
//!
//! Layout and parameter names follow the public PyTorch implementation (reference/models.md),
//! so saved weights load into that module unchanged. 66,877 trainable parameters with 7 classes.

use tch::nn::{self, ConvConfig, LinearConfig, ModuleT};
use tch::Tensor;

use super::init::torch_default;

/// Deep-Emotion with `classes` outputs.
#[derive(Debug)]
pub struct DeepEmotion {
    // Feature branch.
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    conv3: nn::Conv2D,
    conv4: nn::Conv2D,
    norm: nn::BatchNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    // Localization branch (`localization.0`, `localization.3`) and its regressor (`fc_loc.0`, `fc_loc.2`).
    loc_conv1: nn::Conv2D,
    loc_conv2: nn::Conv2D,
    fc_loc1: nn::Linear,
    fc_loc2: nn::Linear,
    dropout: f64,
}

fn conv(p: nn::Path, cin: i64, cout: i64, k: i64) -> nn::Conv2D {
    let fan_in = cin * k * k;
    let cfg = ConvConfig { ws_init: torch_default(fan_in), bs_init: torch_default(fan_in), ..Default::default() };
    nn::conv2d(p, cin, cout, k, cfg)
}

fn linear(p: nn::Path, cin: i64, cout: i64) -> nn::Linear {
    let cfg = LinearConfig { ws_init: torch_default(cin), bs_init: Some(torch_default(cin)), bias: true };
    nn::linear(p, cin, cout, cfg)
}

impl DeepEmotion {
    pub const INPUT: i64 = fer_core::arch::DeepEmotionConfig::INPUT as i64;

    pub fn new(p: &nn::Path, classes: i64, dropout: f64) -> DeepEmotion {
        let loc = p / "localization";
        let fc_loc = p / "fc_loc";
        // The last regressor starts at the identity warp: weight 0, bias [1, 0, 0, 0, 1, 0].
        let fc_loc2 = nn::linear(
            &fc_loc / "2",
            32,
            6,
            LinearConfig { ws_init: nn::Init::Const(0.0), bs_init: Some(nn::Init::Const(0.0)), bias: true },
        );
        tch::no_grad(|| {
            if let Some(b) = &fc_loc2.bs {
                b.shallow_clone().copy_(&Tensor::from_slice(&[1.0f32, 0., 0., 0., 1., 0.]).to_device(b.device()));
            }
        });
        let bn = nn::BatchNormConfig { ws_init: nn::Init::Const(1.0), ..Default::default() };
        DeepEmotion {
            conv1: conv(p / "conv1", 1, 10, 3),
            conv2: conv(p / "conv2", 10, 10, 3),
            conv3: conv(p / "conv3", 10, 10, 3),
            conv4: conv(p / "conv4", 10, 10, 3),
            norm: nn::batch_norm2d(p / "norm", 10, bn),
            fc1: linear(p / "fc1", 810, 50),
            fc2: linear(p / "fc2", 50, classes),
            loc_conv1: conv(&loc / "0", 1, 8, 7),
            loc_conv2: conv(&loc / "3", 8, 10, 5),
            fc_loc1: linear(&fc_loc / "0", 640, 32),
            fc_loc2,
            dropout,
        }
    }

    /// The affine warp `theta` (N x 2 x 3) the STN regresses from input `x` (N x 1 x 48 x 48).
    pub fn theta(&self, x: &Tensor) -> Tensor {
        let xs = x
            .apply(&self.loc_conv1) // 8 x 42 x 42
            .max_pool2d_default(2) // 8 x 21 x 21
            .relu()
            .apply(&self.loc_conv2) // 10 x 17 x 17
            .max_pool2d_default(2) // 10 x 8 x 8
            .relu()
            .view([-1, 640]);
        xs.apply(&self.fc_loc1).relu().apply(&self.fc_loc2).view([-1, 2, 3])
    }

    /// The input warped by the STN (bilinear, zero padding, align_corners = false).
    pub fn warp(&self, x: &Tensor) -> Tensor {
        let theta = self.theta(x);
        let grid = Tensor::affine_grid_generator(&theta, x.size(), false);
        x.grid_sampler(&grid, 0, 0, false)
    }
}

impl ModuleT for DeepEmotion {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.warp(x) // 1 x 48 x 48
            .apply(&self.conv1) // 10 x 46 x 46
            .relu()
            .apply(&self.conv2) // 10 x 44 x 44
            .max_pool2d_default(2) // 10 x 22 x 22
            .relu()
            .apply(&self.conv3) // 10 x 20 x 20
            .relu()
            .apply(&self.conv4) // 10 x 18 x 18
            .apply_t(&self.norm, train)
            .max_pool2d_default(2) // 10 x 9 x 9
            .relu()
            .dropout(self.dropout, train)
            .view([-1, 810])
            .apply(&self.fc1) // 50
            .relu()
            .apply(&self.fc2) // classes
    }
}
