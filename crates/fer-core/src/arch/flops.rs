//! FLOPs and parameters per image of each network, counted layer by layer from its shapes
//! (torch-free; `fer-train` checks every layer's parameters against the real model's).
//!
//! Convention: FLOPs = 2 x multiply-adds (1 multiply-add = 2 FLOPs), per image, at inference.
//! Counted: every convolution and linear layer (kh x kw x C_in multiply-adds per output value;
//! C_in per output of a linear layer) and Deep-Emotion's spatial transformer: the affine grid
//! (2 multiply-adds per coordinate, 2 coordinates per pixel) and bilinear sampling (4 per
//! output value: the weighted sum of 4 neighbours). Not counted: bias adds, batch norm (folded
//! into the convolution at inference), ReLU, pooling, padding, dropout, concatenation, the
//! interpolation weights and the input scaling. Batch-norm layers appear in the list for
//! their parameters (with 0 multiply-adds).

use serde::{Deserialize, Serialize};

use super::deep_emotion::DeepEmotionConfig;
use super::microexpnet::{MicroExpNetConfig, Variant};

/// A network's structure: what its FLOPs and parameters depend on (not dropout, input scaling
/// or training settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum Network {
    DeepEmotion,
    #[serde(rename = "microexpnet")]
    MicroExpNet {
        variant: Variant,
    },
    InceptionV3 {
        input_size: u32,
    },
}

impl Network {
    /// A short display name, e.g. `microexpnet-xxs`, `inception-v3@75`.
    pub fn display(&self) -> String {
        match self {
            Network::DeepEmotion => "deep-emotion".into(),
            Network::MicroExpNet { variant } => format!("microexpnet-{}", variant.name()),
            Network::InceptionV3 { input_size } => format!("inception-v3@{input_size}"),
        }
    }

    /// Side of its square grayscale input.
    pub fn input_size(&self) -> u32 {
        match self {
            Network::DeepEmotion => DeepEmotionConfig::INPUT,
            Network::MicroExpNet { .. } => MicroExpNetConfig::INPUT,
            Network::InceptionV3 { input_size } => *input_size,
        }
    }
}

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Conv,
    Linear,
    BatchNorm,
    /// The spatial transformer's sampling grid from its 2 x 3 warp.
    AffineGrid,
    /// Bilinear sampling of the input at the grid.
    GridSample,
}

/// Channels, height, width of one image's tensor (a flat vector is `[n, 1, 1]`).
pub type Shape = [u64; 3];

/// One layer: its parameters' name (as the models name them), shapes and multiply-adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    /// The parameter path, e.g. `Mixed_5b.branch1x1.conv`, `fc_loc.0`.
    pub name: String,
    pub op: Op,
    pub input: Shape,
    pub output: Shape,
    /// The weight's shape (`[out, in, kh, kw]`, `[out, in]`, `[c]`), empty when it has none.
    pub weight: Vec<u64>,
    pub bias: bool,
    /// Multiply-adds per image.
    pub macs: u64,
}

impl Layer {
    /// Trainable parameters: the weight, and the bias (one per output channel).
    pub fn params(&self) -> u64 {
        let w: u64 = if self.weight.is_empty() { 0 } else { self.weight.iter().product() };
        w + if self.bias { self.weight.first().copied().unwrap_or(0) } else { 0 }
    }
}

/// A network's layers, in forward order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub layers: Vec<Layer>,
}

impl Count {
    /// Multiply-adds per image.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }

    /// FLOPs per image (2 per multiply-add).
    pub fn flops(&self) -> u64 {
        2 * self.macs()
    }

    /// Trainable parameters.
    pub fn params(&self) -> u64 {
        self.layers.iter().map(Layer::params).sum()
    }

    /// The layer of this name.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }
}

/// One image's layers as the network computes them, in forward order.
pub fn count(net: Network, classes: u32) -> Count {
    let mut t = Trace::default();
    let side = net.input_size() as u64;
    match net {
        Network::DeepEmotion => deep_emotion(&mut t, side, classes as u64),
        Network::MicroExpNet { variant } => microexpnet(&mut t, side, variant.fc1() as u64, classes as u64),
        Network::InceptionV3 { .. } => inception(&mut t, side, classes as u64),
    }
    Count { layers: t.layers }
}

/// Output side of a convolution or pooling window: `(n + 2 pad - k) / stride + 1`, rounded down,
/// or up in ceil mode (where, as in PyTorch, the last window must start inside the input).
fn out_side(n: u64, k: u64, stride: u64, pad: u64, ceil: bool) -> u64 {
    let span = n + 2 * pad - k;
    let mut out = if ceil { span.div_ceil(stride) + 1 } else { span / stride + 1 };
    if ceil && (out - 1) * stride >= n + pad {
        out -= 1;
    }
    out
}

/// One `BasicConv2d` of a chain: name, output channels, kernel and padding (height, width).
type ChainConv<'a> = (&'a str, u64, (u64, u64), (u64, u64));

/// The layers so far.
#[derive(Default)]
struct Trace {
    layers: Vec<Layer>,
}

impl Trace {
    /// A convolution `k` (height, width) with `stride` and `pad` (height, width).
    #[allow(clippy::too_many_arguments)] // a convolution's shape is this many numbers
    fn conv(
        &mut self,
        name: &str,
        x: Shape,
        cout: u64,
        k: (u64, u64),
        stride: u64,
        pad: (u64, u64),
        bias: bool,
    ) -> Shape {
        let out = [cout, out_side(x[1], k.0, stride, pad.0, false), out_side(x[2], k.1, stride, pad.1, false)];
        let macs = out.iter().product::<u64>() * x[0] * k.0 * k.1;
        self.layers.push(Layer {
            name: name.into(),
            op: Op::Conv,
            input: x,
            output: out,
            weight: vec![cout, x[0], k.0, k.1],
            bias,
            macs,
        });
        out
    }

    /// Batch norm over `x`'s channels (parameters only).
    fn batch_norm(&mut self, name: &str, x: Shape) -> Shape {
        let layer = Layer {
            name: name.into(),
            op: Op::BatchNorm,
            input: x,
            output: x,
            weight: vec![x[0]],
            bias: true,
            macs: 0,
        };
        self.layers.push(layer);
        x
    }

    /// A linear layer on `x` flattened.
    fn linear(&mut self, name: &str, x: Shape, out: u64) -> Shape {
        let cin: u64 = x.iter().product();
        self.layers.push(Layer {
            name: name.into(),
            op: Op::Linear,
            input: [cin, 1, 1],
            output: [out, 1, 1],
            weight: vec![out, cin],
            bias: true,
            macs: cin * out,
        });
        [out, 1, 1]
    }

    /// torchvision's `BasicConv2d`: convolution without bias (`name.conv`), batch norm (`name.bn`).
    fn conv_bn(&mut self, name: &str, x: Shape, cout: u64, k: (u64, u64), stride: u64, pad: (u64, u64)) -> Shape {
        let y = self.conv(&format!("{name}.conv"), x, cout, k, stride, pad, false);
        self.batch_norm(&format!("{name}.bn"), y)
    }

    /// A chain of `BasicConv2d`s of stride 1 in `block`.
    fn chain(&mut self, block: &str, x: Shape, convs: &[ChainConv<'_>]) -> Shape {
        convs.iter().fold(x, |x, &(n, c, k, p)| self.conv_bn(&format!("{block}.{n}"), x, c, k, 1, p))
    }
}

/// A pooling window `k` with `stride` (no parameters, not counted).
fn pool(x: Shape, k: u64, stride: u64, ceil: bool) -> Shape {
    [x[0], out_side(x[1], k, stride, 0, ceil), out_side(x[2], k, stride, 0, ceil)]
}

/// Padding: `before` and `after` pixels on both spatial axes.
fn pad(x: Shape, before: u64, after: u64) -> Shape {
    [x[0], x[1] + before + after, x[2] + before + after]
}

/// Deep-Emotion (`fer-train`'s models/deep_emotion.rs): the STN's localization branch and
/// regressor, the warp, then the feature branch.
fn deep_emotion(t: &mut Trace, side: u64, classes: u64) {
    let x = [1, side, side];
    let l = t.conv("localization.0", x, 8, (7, 7), 1, (0, 0), true);
    let l = t.conv("localization.3", pool(l, 2, 2, false), 10, (5, 5), 1, (0, 0), true);
    let l = t.linear("fc_loc.0", pool(l, 2, 2, false), 32);
    t.linear("fc_loc.2", l, 6);
    let pixels = side * side;
    t.layers.push(Layer {
        name: "stn.grid".into(),
        op: Op::AffineGrid,
        input: [6, 1, 1],
        output: [2, side, side],
        weight: vec![],
        bias: false,
        macs: 2 * 2 * pixels,
    });
    t.layers.push(Layer {
        name: "stn.sample".into(),
        op: Op::GridSample,
        input: x,
        output: x,
        weight: vec![],
        bias: false,
        macs: 4 * x[0] * pixels,
    });
    let y = t.conv("conv1", x, 10, (3, 3), 1, (0, 0), true);
    let y = t.conv("conv2", y, 10, (3, 3), 1, (0, 0), true);
    let y = t.conv("conv3", pool(y, 2, 2, false), 10, (3, 3), 1, (0, 0), true);
    let y = t.conv("conv4", y, 10, (3, 3), 1, (0, 0), true);
    let y = t.batch_norm("norm", y);
    let y = t.linear("fc1", pool(y, 2, 2, false), 50);
    t.linear("fc2", y, classes);
}

/// MicroExpNet (`fer-train`'s models/microexpnet.rs): TensorFlow SAME padding as explicit pads.
fn microexpnet(t: &mut Trace, side: u64, width: u64, classes: u64) {
    let y = t.conv("conv1", pad([1, side, side], 3, 3), 16, (8, 8), 2, (0, 0), true);
    let y = t.conv("conv2", pad(pool(y, 2, 2, false), 1, 2), 32, (4, 4), 2, (0, 0), true);
    let y = t.linear("fc1", pool(y, 2, 2, true), width);
    t.linear("fc2", y, classes);
}

/// Inception_v3 in torchvision's layout without the auxiliary classifier (`fer-train`'s
/// models/inception.rs), on grayscale replicated to 3 channels.
fn inception(t: &mut Trace, side: u64, classes: u64) {
    let x = [3, side, side];
    let max_pool = |x: Shape| pool(x, 3, 2, false);
    let x = t.conv_bn("Conv2d_1a_3x3", x, 32, (3, 3), 2, (0, 0));
    let x = t.conv_bn("Conv2d_2a_3x3", x, 32, (3, 3), 1, (0, 0));
    let x = t.conv_bn("Conv2d_2b_3x3", x, 64, (3, 3), 1, (1, 1));
    let x = t.conv_bn("Conv2d_3b_1x1", max_pool(x), 80, (1, 1), 1, (0, 0));
    let x = t.conv_bn("Conv2d_4a_3x3", x, 192, (3, 3), 1, (0, 0));
    let mut x = max_pool(x);
    for (name, pool_c) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
        x = block_a(t, name, x, pool_c);
    }
    x = block_b(t, "Mixed_6a", x);
    for (name, c7) in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)] {
        x = block_c(t, name, x, c7);
    }
    x = block_d(t, "Mixed_7a", x);
    for name in ["Mixed_7b", "Mixed_7c"] {
        x = block_e(t, name, x);
    }
    // Adaptive average pool to 1 x 1, dropout, the classifier.
    t.linear("fc", [x[0], 1, 1], classes);
}

const ONE: (u64, u64) = (1, 1);
const NONE: (u64, u64) = (0, 0);

/// InceptionA: 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg pool (3, stride 1, pad 1) -> 1x1.
fn block_a(t: &mut Trace, b: &str, x: Shape, pool_c: u64) -> Shape {
    let b1 = t.chain(b, x, &[("branch1x1", 64, ONE, NONE)]);
    t.chain(b, x, &[("branch5x5_1", 48, ONE, NONE), ("branch5x5_2", 64, (5, 5), (2, 2))]);
    let dbl =
        [("branch3x3dbl_1", 64, ONE, NONE), ("branch3x3dbl_2", 96, (3, 3), ONE), ("branch3x3dbl_3", 96, (3, 3), ONE)];
    t.chain(b, x, &dbl);
    t.chain(b, x, &[("branch_pool", pool_c, ONE, NONE)]);
    [64 + 64 + 96 + pool_c, b1[1], b1[2]]
}

/// InceptionB: 3x3 stride 2; 1x1 -> 3x3 -> 3x3 stride 2; max pool (3, stride 2).
fn block_b(t: &mut Trace, b: &str, x: Shape) -> Shape {
    let y = t.conv_bn(&format!("{b}.branch3x3"), x, 384, (3, 3), 2, NONE);
    let d = t.chain(b, x, &[("branch3x3dbl_1", 64, ONE, NONE), ("branch3x3dbl_2", 96, (3, 3), ONE)]);
    t.conv_bn(&format!("{b}.branch3x3dbl_3"), d, 96, (3, 3), 2, NONE);
    [384 + 96 + x[0], y[1], y[2]]
}

/// InceptionC: 1x1; 1x1 -> 1x7 -> 7x1; 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7; avg pool -> 1x1.
fn block_c(t: &mut Trace, b: &str, x: Shape, c7: u64) -> Shape {
    let (row, col) = (((1, 7), (0, 3)), ((7, 1), (3, 0)));
    t.chain(b, x, &[("branch1x1", 192, ONE, NONE)]);
    t.chain(
        b,
        x,
        &[("branch7x7_1", c7, ONE, NONE), ("branch7x7_2", c7, row.0, row.1), ("branch7x7_3", 192, col.0, col.1)],
    );
    t.chain(
        b,
        x,
        &[
            ("branch7x7dbl_1", c7, ONE, NONE),
            ("branch7x7dbl_2", c7, col.0, col.1),
            ("branch7x7dbl_3", c7, row.0, row.1),
            ("branch7x7dbl_4", c7, col.0, col.1),
            ("branch7x7dbl_5", 192, row.0, row.1),
        ],
    );
    t.chain(b, x, &[("branch_pool", 192, ONE, NONE)]);
    [768, x[1], x[2]]
}

/// InceptionD: 1x1 -> 3x3 stride 2; 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2; max pool (3, stride 2).
fn block_d(t: &mut Trace, b: &str, x: Shape) -> Shape {
    let y = t.chain(b, x, &[("branch3x3_1", 192, ONE, NONE)]);
    let y = t.conv_bn(&format!("{b}.branch3x3_2"), y, 320, (3, 3), 2, NONE);
    let s = [
        ("branch7x7x3_1", 192, ONE, NONE),
        ("branch7x7x3_2", 192, (1, 7), (0, 3)),
        ("branch7x7x3_3", 192, (7, 1), (3, 0)),
    ];
    let z = t.chain(b, x, &s);
    t.conv_bn(&format!("{b}.branch7x7x3_4"), z, 192, (3, 3), 2, NONE);
    [320 + 192 + x[0], y[1], y[2]]
}

/// InceptionE: 1x1; 1x1 -> (1x3, 3x1); 1x1 -> 3x3 -> (1x3, 3x1); avg pool -> 1x1.
fn block_e(t: &mut Trace, b: &str, x: Shape) -> Shape {
    t.chain(b, x, &[("branch1x1", 320, ONE, NONE)]);
    let s = t.chain(b, x, &[("branch3x3_1", 384, ONE, NONE)]);
    t.chain(b, s, &[("branch3x3_2a", 384, (1, 3), (0, 1))]);
    t.chain(b, s, &[("branch3x3_2b", 384, (3, 1), (1, 0))]);
    let d = t.chain(b, x, &[("branch3x3dbl_1", 448, ONE, NONE), ("branch3x3dbl_2", 384, (3, 3), ONE)]);
    t.chain(b, d, &[("branch3x3dbl_3a", 384, (1, 3), (0, 1))]);
    t.chain(b, d, &[("branch3x3dbl_3b", 384, (3, 1), (1, 0))]);
    t.chain(b, x, &[("branch_pool", 192, ONE, NONE)]);
    [320 + 768 + 768 + 192, x[1], x[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macs_of(c: &Count) -> Vec<(&str, u64)> {
        c.layers.iter().filter(|l| l.macs > 0).map(|l| (l.name.as_str(), l.macs)).collect()
    }

    #[test]
    fn microexpnet_xxs_by_hand() {
        // 84 x 84 input, padded 3 on every side: 1 x 90 x 90.
        // conv1 (16 filters 8x8, stride 2): (90 - 8) / 2 + 1 = 42 -> 16 x 42 x 42;
        //   16 * 42 * 42 * (1 * 8 * 8) = 16 * 1764 * 64 = 1,806,336 multiply-adds.
        // max pool 2 -> 16 x 21 x 21; pad 1 before, 2 after -> 16 x 24 x 24.
        // conv2 (32 filters 4x4, stride 2): (24 - 4) / 2 + 1 = 11 -> 32 x 11 x 11;
        //   32 * 121 * (16 * 4 * 4) = 32 * 121 * 256 = 991,232.
        // max pool 2, ceil mode: ceil(9 / 2) + 1 = 6 -> 32 x 6 x 6 = 1152 features.
        // fc1 1152 -> 48: 55,296.  fc2 48 -> 8: 384.
        // Total 1,806,336 + 991,232 + 55,296 + 384 = 2,853,248 multiply-adds = 5,706,496 FLOPs.
        let c = count(Network::MicroExpNet { variant: Variant::Xxs }, 8);
        assert_eq!(macs_of(&c), [("conv1", 1_806_336), ("conv2", 991_232), ("fc1", 55_296), ("fc2", 384)]);
        assert_eq!(c.layer("conv2").unwrap().output, [32, 11, 11]);
        assert_eq!(c.layer("fc1").unwrap().input, [1152, 1, 1]);
        assert_eq!((c.macs(), c.flops()), (2_853_248, 5_706_496));
        // Parameters: 16*64 + 16 = 1,040; 32*16*16 + 32 = 8,224; 1152*48 + 48 = 55,344;
        // 48*8 + 8 = 392: 65,000 (the model's documented count).
        assert_eq!(c.params(), 65_000);
    }

    #[test]
    fn microexpnet_sizes_differ_only_in_their_hidden_layer() {
        let params = Variant::ALL.map(|v| count(Network::MicroExpNet { variant: v }, 8).params());
        assert_eq!(params, [900_920, 232_184, 120_728, 65_000]);
        // M: fc1 1152 * 768 = 884,736, fc2 768 * 8 = 6,144 on top of the convolutions' 2,797,568.
        let m = count(Network::MicroExpNet { variant: Variant::M }, 8);
        assert_eq!(m.macs(), 1_806_336 + 991_232 + 884_736 + 6_144);
    }

    #[test]
    fn deep_emotion_by_hand() {
        // Localization branch on the 1 x 48 x 48 input:
        //   localization.0 (8 filters 7x7): 42 x 42; 8 * 1764 * 49 = 691,488.
        //   max pool 2 -> 8 x 21 x 21; localization.3 (10 filters 5x5): 17 x 17;
        //   10 * 289 * (8 * 25) = 578,000.  max pool 2 -> 10 x 8 x 8 = 640.
        //   fc_loc.0 640 -> 32: 20,480.  fc_loc.2 32 -> 6: 192.
        // Warp: the grid, 2 coordinates x 2 multiply-adds per pixel: 4 * 2304 = 9,216; bilinear
        //   sampling, 4 per output value: 4 * 2304 = 9,216.
        // Feature branch: conv1 (10 filters 3x3): 46 x 46; 10 * 2116 * 9 = 190,440.
        //   conv2: 44 x 44; 10 * 1936 * 90 = 1,742,400.  max pool -> 22; conv3: 20 x 20;
        //   10 * 400 * 90 = 360,000.  conv4: 18 x 18; 10 * 324 * 90 = 291,600.
        //   max pool -> 10 x 9 x 9 = 810; fc1 810 -> 50: 40,500; fc2 50 -> 7: 350.
        // Total 3,933,882 multiply-adds = 7,867,764 FLOPs.
        let c = count(Network::DeepEmotion, 7);
        assert_eq!(
            macs_of(&c),
            [
                ("localization.0", 691_488),
                ("localization.3", 578_000),
                ("fc_loc.0", 20_480),
                ("fc_loc.2", 192),
                ("stn.grid", 9_216),
                ("stn.sample", 9_216),
                ("conv1", 190_440),
                ("conv2", 1_742_400),
                ("conv3", 360_000),
                ("conv4", 291_600),
                ("fc1", 40_500),
                ("fc2", 350),
            ]
        );
        assert_eq!((c.macs(), c.flops()), (3_933_882, 7_867_764));
        // The documented 66,877 trainable parameters (batch norm's 20 included).
        assert_eq!(c.params(), 66_877);
        assert_eq!(c.layer("norm").map(|l| (l.params(), l.macs)), Some((20, 0)));
    }

    #[test]
    fn inception_v3_at_299_is_torchvision_s() {
        // torchvision's Inception_v3 without the auxiliary classifier, 1000 classes: 23,834,568
        // parameters (27,161,264 with the auxiliary classifier's 3,326,696), and 5.71 G
        // multiply-adds per 299 px image (torchvision's model table, "GFLOPS 5.71").
        let c = count(Network::InceptionV3 { input_size: 299 }, 1000);
        assert_eq!(c.params(), 23_834_568);
        let g = c.macs() as f64 / 1e9;
        assert!((g - 5.71).abs() < 0.01, "{g}");
        // Spatial sizes: 149, 147, 147, pool 73, 73, 71, pool 35; Mixed_6a 17; Mixed_7a 8.
        assert_eq!(c.layer("Conv2d_1a_3x3.conv").unwrap().output, [32, 149, 149]);
        assert_eq!(c.layer("Conv2d_4a_3x3.conv").unwrap().output, [192, 71, 71]);
        assert_eq!(c.layer("Mixed_5b.branch1x1.conv").unwrap().input, [192, 35, 35]);
        assert_eq!(c.layer("Mixed_6b.branch1x1.conv").unwrap().input, [768, 17, 17]);
        assert_eq!(c.layer("Mixed_7b.branch1x1.conv").unwrap().input, [1280, 8, 8]);
        assert_eq!(c.layer("fc").unwrap().input, [2048, 1, 1]);
        // At its smallest input, 75 px, the last grid is 1 x 1.
        let small = count(Network::InceptionV3 { input_size: 75 }, 7);
        assert_eq!(small.layer("Mixed_7c.branch1x1.conv").unwrap().input, [2048, 1, 1]);
        assert!(small.macs() < c.macs() / 10);
    }

    #[test]
    fn output_sides_follow_pytorch() {
        assert_eq!(out_side(90, 8, 2, 0, false), 42);
        assert_eq!(out_side(11, 2, 2, 0, true), 6);
        assert_eq!(out_side(11, 2, 2, 0, false), 5);
        assert_eq!(out_side(35, 3, 1, 1, false), 35);
        // Ceil mode never starts a window in the padding: 4 with k 2, stride 2, pad 1 -> 3.
        assert_eq!(out_side(4, 2, 2, 1, true), 3);
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(Network::MicroExpNet { variant: Variant::Xxs }.display(), "microexpnet-xxs");
        assert_eq!(Network::InceptionV3 { input_size: 75 }.display(), "inception-v3@75");
        assert_eq!(Network::DeepEmotion.input_size(), 48);
        let json = serde_json::to_string(&Network::MicroExpNet { variant: Variant::Xs }).unwrap();
        assert_eq!(json, r#"{"arch":"microexpnet","variant":"xs"}"#);
    }
}
