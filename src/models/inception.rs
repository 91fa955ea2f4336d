//! The teacher: Inception_v3 (tch's torchvision-compatible layout and parameter names) on
//! grayscale faces replicated to 3 channels; any input side from 75 (its minimum) to 299.

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Inception_v3 with `classes` outputs.
#[derive(Debug)]
pub struct InceptionV3 {
    net: Box<dyn ModuleT>,
}

impl InceptionV3 {
    /// The smallest input side the network accepts.
    pub const MIN_INPUT: i64 = 75;

    pub fn new(p: &nn::Path, classes: i64) -> InceptionV3 {
        InceptionV3 { net: Box::new(tch::vision::inception::v3(p, classes)) }
    }
}

impl ModuleT for InceptionV3 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        // N x 1 x S x S -> N x 3 x S x S -> logits.
        self.net.forward_t(&x.expand([-1, 3, -1, -1], false), train)
    }
}
