//! The teacher: Inception_v3 in torchvision's layout and parameter names (no auxiliary
//! classifier) on grayscale faces replicated to 3 channels; any input side from 75 (its minimum)
//! to 299. Built here rather than taken from `tch::vision::inception`, whose dropout before the
//! classifier is fixed at 0.5: this one honours the model's `dropout` (torchvision's `dropout`
//! argument, default 0.5). Parameters are created in tch's order with tch's initialisation, so at
//! 0.5 it draws the same weights and computes the same logits as tch's network.

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Convolution without bias, batch norm (eps 0.001), ReLU: torchvision's `BasicConv2d`.
#[derive(Debug)]
struct ConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl ConvBn {
    /// A square kernel `k` with `pad` and `stride`.
    fn new(p: nn::Path, cin: i64, cout: i64, k: i64, pad: i64, stride: i64) -> ConvBn {
        let cfg = nn::ConvConfig { stride, padding: pad, bias: false, ..Default::default() };
        let conv = nn::conv2d(&p / "conv", cin, cout, k, cfg);
        ConvBn { conv, bn: Self::bn(&p, cout) }
    }

    /// A rectangular kernel `[kh, kw]` with padding `[ph, pw]`, stride 1.
    fn rect(p: nn::Path, cin: i64, cout: i64, k: [i64; 2], pad: [i64; 2]) -> ConvBn {
        let cfg = nn::ConvConfigND::<[i64; 2]> { padding: pad, bias: false, ..Default::default() };
        let conv = nn::conv(&p / "conv", cin, cout, k, cfg);
        ConvBn { conv, bn: Self::bn(&p, cout) }
    }

    fn bn(p: &nn::Path, c: i64) -> nn::BatchNorm {
        nn::batch_norm2d(p / "bn", c, nn::BatchNormConfig { eps: 0.001, ..Default::default() })
    }

    fn f(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply(&self.conv).apply_t(&self.bn, train).relu()
    }
}

/// Applies a chain of `ConvBn`.
fn chain(x: &Tensor, layers: &[ConvBn], train: bool) -> Tensor {
    layers.iter().fold(x.shallow_clone(), |x, l| l.f(&x, train))
}

fn max_pool(x: &Tensor) -> Tensor {
    x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
}

fn avg_pool(x: &Tensor) -> Tensor {
    x.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, 9)
}

/// The mixed blocks of torchvision's Inception3 (InceptionA..E), each a few parallel branches
/// concatenated on channels.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // 11 blocks built once per model; boxing would only add noise
enum Block {
    /// 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg pool -> 1x1.
    A { b1: ConvBn, b5: [ConvBn; 2], b3: [ConvBn; 3], pool: ConvBn },
    /// Grid reduction: 3x3 stride 2; 1x1 -> 3x3 -> 3x3 stride 2; max pool.
    B { b3: ConvBn, b3dbl: [ConvBn; 3] },
    /// Factorised 7x7: 1x1; 1x1 -> 1x7 -> 7x1; 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7; avg pool -> 1x1.
    C { b1: ConvBn, b7: [ConvBn; 3], b7dbl: [ConvBn; 5], pool: ConvBn },
    /// Grid reduction: 1x1 -> 3x3 stride 2; 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2; max pool.
    D { b3: [ConvBn; 2], b7: [ConvBn; 4] },
    /// Expanded filter bank: 1x1; 1x1 -> (1x3, 3x1); 1x1 -> 3x3 -> (1x3, 3x1); avg pool -> 1x1.
    E { b1: ConvBn, b3: ConvBn, b3_split: [ConvBn; 2], b3dbl: [ConvBn; 2], b3dbl_split: [ConvBn; 2], pool: ConvBn },
}

impl Block {
    fn a(p: nn::Path, cin: i64, pool: i64) -> Block {
        let c = |n: &str, i, o, k, pad| ConvBn::new(&p / n, i, o, k, pad, 1);
        Block::A {
            b1: c("branch1x1", cin, 64, 1, 0),
            b5: [c("branch5x5_1", cin, 48, 1, 0), c("branch5x5_2", 48, 64, 5, 2)],
            b3: [
                c("branch3x3dbl_1", cin, 64, 1, 0),
                c("branch3x3dbl_2", 64, 96, 3, 1),
                c("branch3x3dbl_3", 96, 96, 3, 1),
            ],
            pool: c("branch_pool", cin, pool, 1, 0),
        }
    }

    fn b(p: nn::Path, cin: i64) -> Block {
        Block::B {
            b3: ConvBn::new(&p / "branch3x3", cin, 384, 3, 0, 2),
            b3dbl: [
                ConvBn::new(&p / "branch3x3dbl_1", cin, 64, 1, 0, 1),
                ConvBn::new(&p / "branch3x3dbl_2", 64, 96, 3, 1, 1),
                ConvBn::new(&p / "branch3x3dbl_3", 96, 96, 3, 0, 2),
            ],
        }
    }

    fn c(p: nn::Path, cin: i64, c7: i64) -> Block {
        let one = |n: &str, i, o| ConvBn::new(&p / n, i, o, 1, 0, 1);
        let row = |n: &str, i, o| ConvBn::rect(&p / n, i, o, [1, 7], [0, 3]);
        let col = |n: &str, i, o| ConvBn::rect(&p / n, i, o, [7, 1], [3, 0]);
        Block::C {
            b1: one("branch1x1", cin, 192),
            b7: [one("branch7x7_1", cin, c7), row("branch7x7_2", c7, c7), col("branch7x7_3", c7, 192)],
            b7dbl: [
                one("branch7x7dbl_1", cin, c7),
                col("branch7x7dbl_2", c7, c7),
                row("branch7x7dbl_3", c7, c7),
                col("branch7x7dbl_4", c7, c7),
                row("branch7x7dbl_5", c7, 192),
            ],
            pool: one("branch_pool", cin, 192),
        }
    }

    fn d(p: nn::Path, cin: i64) -> Block {
        Block::D {
            b3: [
                ConvBn::new(&p / "branch3x3_1", cin, 192, 1, 0, 1),
                ConvBn::new(&p / "branch3x3_2", 192, 320, 3, 0, 2),
            ],
            b7: [
                ConvBn::new(&p / "branch7x7x3_1", cin, 192, 1, 0, 1),
                ConvBn::rect(&p / "branch7x7x3_2", 192, 192, [1, 7], [0, 3]),
                ConvBn::rect(&p / "branch7x7x3_3", 192, 192, [7, 1], [3, 0]),
                ConvBn::new(&p / "branch7x7x3_4", 192, 192, 3, 0, 2),
            ],
        }
    }

    fn e(p: nn::Path, cin: i64) -> Block {
        let one = |n: &str, i, o| ConvBn::new(&p / n, i, o, 1, 0, 1);
        let split = |a: &str, b: &str| {
            [ConvBn::rect(&p / a, 384, 384, [1, 3], [0, 1]), ConvBn::rect(&p / b, 384, 384, [3, 1], [1, 0])]
        };
        Block::E {
            b1: one("branch1x1", cin, 320),
            b3: one("branch3x3_1", cin, 384),
            b3_split: split("branch3x3_2a", "branch3x3_2b"),
            b3dbl: [one("branch3x3dbl_1", cin, 448), ConvBn::new(&p / "branch3x3dbl_2", 448, 384, 3, 1, 1)],
            b3dbl_split: split("branch3x3dbl_3a", "branch3x3dbl_3b"),
            pool: one("branch_pool", cin, 192),
        }
    }

    fn f(&self, x: &Tensor, t: bool) -> Tensor {
        let parts = match self {
            Block::A { b1, b5, b3, pool } => {
                vec![b1.f(x, t), chain(x, b5, t), chain(x, b3, t), pool.f(&avg_pool(x), t)]
            }
            Block::B { b3, b3dbl } => vec![b3.f(x, t), chain(x, b3dbl, t), max_pool(x)],
            Block::C { b1, b7, b7dbl, pool } => {
                vec![b1.f(x, t), chain(x, b7, t), chain(x, b7dbl, t), pool.f(&avg_pool(x), t)]
            }
            Block::D { b3, b7 } => vec![chain(x, b3, t), chain(x, b7, t), max_pool(x)],
            Block::E { b1, b3, b3_split, b3dbl, b3dbl_split, pool } => {
                let s = b3.f(x, t);
                let d = chain(x, b3dbl, t);
                vec![
                    b1.f(x, t),
                    Tensor::cat(&[b3_split[0].f(&s, t), b3_split[1].f(&s, t)], 1),
                    Tensor::cat(&[b3dbl_split[0].f(&d, t), b3dbl_split[1].f(&d, t)], 1),
                    pool.f(&avg_pool(x), t),
                ]
            }
        };
        Tensor::cat(&parts, 1)
    }
}

/// Inception_v3 with `classes` outputs.
#[derive(Debug)]
pub struct InceptionV3 {
    stem: [ConvBn; 5],
    blocks: Vec<Block>,
    fc: nn::Linear,
    dropout: f64,
}

impl InceptionV3 {
    /// The smallest input side the network accepts.
    pub const MIN_INPUT: i64 = fer_core::arch::InceptionV3Config::MIN_INPUT as i64;

    pub fn new(p: &nn::Path, classes: i64, dropout: f64) -> InceptionV3 {
        let stem = [
            ConvBn::new(p / "Conv2d_1a_3x3", 3, 32, 3, 0, 2),
            ConvBn::new(p / "Conv2d_2a_3x3", 32, 32, 3, 0, 1),
            ConvBn::new(p / "Conv2d_2b_3x3", 32, 64, 3, 1, 1),
            ConvBn::new(p / "Conv2d_3b_1x1", 64, 80, 1, 0, 1),
            ConvBn::new(p / "Conv2d_4a_3x3", 80, 192, 3, 0, 1),
        ];
        let blocks = vec![
            Block::a(p / "Mixed_5b", 192, 32),
            Block::a(p / "Mixed_5c", 256, 64),
            Block::a(p / "Mixed_5d", 288, 64),
            Block::b(p / "Mixed_6a", 288),
            Block::c(p / "Mixed_6b", 768, 128),
            Block::c(p / "Mixed_6c", 768, 160),
            Block::c(p / "Mixed_6d", 768, 160),
            Block::c(p / "Mixed_6e", 768, 192),
            Block::d(p / "Mixed_7a", 768),
            Block::e(p / "Mixed_7b", 1280),
            Block::e(p / "Mixed_7c", 2048),
        ];
        let fc = nn::linear(p / "fc", 2048, classes, Default::default());
        InceptionV3 { stem, blocks, fc, dropout }
    }
}

impl ModuleT for InceptionV3 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        // N x 1 x S x S -> N x 3 x S x S.
        let x = x.expand([-1, 3, -1, -1], false);
        let x = max_pool(&chain(&x, &self.stem[..3], train));
        let x = max_pool(&chain(&x, &self.stem[3..], train));
        let x = self.blocks.iter().fold(x, |x, b| b.f(&x, train));
        // `flatten`, not `flat_view`: a traced (TorchScript) module then keeps any batch size.
        x.adaptive_avg_pool2d([1, 1]).dropout(self.dropout, train).flatten(1, -1).apply(&self.fc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn build(seed: i64, dropout: Option<f64>) -> (nn::VarStore, Box<dyn ModuleT>) {
        tch::manual_seed(seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let net: Box<dyn ModuleT> = match dropout {
            Some(p) => Box::new(InceptionV3::new(&vs.root(), 5, p)),
            None => Box::new(tch::vision::inception::v3(&vs.root(), 5)),
        };
        (vs, net)
    }

    fn train_logits(net: &dyn ModuleT, x: &Tensor, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        let x3 = x.expand([-1, 3, -1, -1], false);
        net.forward_t(&x3, true)
    }

    /// Set in the child process that runs [`child_dropout_checks`] alone.
    const CHILD: &str = "FER_INCEPTION_TEST_CHILD";

    #[test]
    fn dropout_is_honoured_and_0_5_is_tch_s_network() {
        // LibTorch's random state is process-wide and tests run in parallel threads: the checks
        // that compare random draws run in a process of their own.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "models::inception::tests::child_dropout_checks", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
    }

    /// The checks, when run by [`dropout_is_honoured_and_0_5_is_tch_s_network`] (a no-op otherwise).
    #[test]
    fn child_dropout_checks() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let x = Tensor::rand([2, 1, 75, 75], (Kind::Float, Device::Cpu));
        let (tvs, tch_net) = build(3, None);
        let (vs, ours) = build(3, Some(0.5));
        // Same names, shapes and values: the same draws in the same order.
        let theirs = tvs.variables();
        let mine = vs.variables();
        assert_eq!(theirs.len(), mine.len());
        for (name, t) in &theirs {
            assert!(mine.get(name).is_some_and(|m| m.equal(t)), "{name}");
        }
        // At 0.5 the training-mode logits are tch's, dropout mask included.
        let a = train_logits(tch_net.as_ref(), &x, 11);
        let b = train_logits(ours.as_ref(), &x, 11);
        assert!(a.allclose(&b, 1e-5, 1e-5, false));
        // Without dropout, training mode no longer depends on the random state; at 0.9 it does,
        // and more than at 0.5.
        let (_, none) = build(3, Some(0.0));
        assert!(train_logits(none.as_ref(), &x, 1).equal(&train_logits(none.as_ref(), &x, 2)));
        let (_, heavy) = build(3, Some(0.9));
        let spread = |net: &dyn ModuleT| {
            (train_logits(net, &x, 1) - train_logits(net, &x, 2)).abs().sum(Kind::Double).double_value(&[])
        };
        assert!(spread(heavy.as_ref()) > 0.0);
        // Evaluation mode ignores dropout.
        tch::no_grad(|| {
            let (_, fresh) = build(3, Some(0.5));
            let e1 = fresh.forward_t(&x.expand([-1, 3, -1, -1], false), false);
            let (_, other) = build(3, Some(0.9));
            let e2 = other.forward_t(&x.expand([-1, 3, -1, -1], false), false);
            assert!(e1.allclose(&e2, 1e-6, 1e-6, false));
        });
    }
}
