//! A built model: its parameters (a `VarStore` with reference names) and its network.

use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use super::deep_emotion::DeepEmotion;
use super::inception::InceptionV3;
use super::microexpnet::MicroExpNet;
use fer_core::spec::{InputNorm, ModelSpec};

/// The network of a model.
#[derive(Debug)]
pub enum Net {
    DeepEmotion(Box<DeepEmotion>),
    MicroExpNet(Box<MicroExpNet>),
    InceptionV3(Box<InceptionV3>),
}

/// A model with its parameters.
pub struct Model {
    pub spec: ModelSpec,
    pub classes: i64,
    pub vs: nn::VarStore,
    pub net: Net,
}

impl Model {
    /// Builds a model with fresh weights drawn from LibTorch's current RNG.
    pub fn new(spec: &ModelSpec, classes: usize, device: Device) -> Model {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let classes = classes as i64;
        let net = match *spec {
            ModelSpec::DeepEmotion { dropout, .. } => {
                Net::DeepEmotion(Box::new(DeepEmotion::new(&root, classes, dropout)))
            }
            ModelSpec::MicroExpNet { variant, dropout, .. } => {
                Net::MicroExpNet(Box::new(MicroExpNet::new(&root, variant, classes, dropout)))
            }
            ModelSpec::InceptionV3 { dropout, .. } => {
                Net::InceptionV3(Box::new(InceptionV3::new(&root, classes, dropout)))
            }
        };
        Model { spec: *spec, classes, vs, net }
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Logits for a batch of preprocessed images.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.net {
            Net::DeepEmotion(n) => n.forward_t(x, train),
            Net::MicroExpNet(n) => n.forward_t(x, train),
            Net::InceptionV3(n) => n.forward_t(x, train),
        }
    }

    /// Logits in evaluation mode, `batch` images at a time, without gradients.
    pub fn logits(&self, x: &Tensor, batch: i64) -> Tensor {
        tch::no_grad(|| {
            let n = x.size()[0];
            let parts: Vec<Tensor> = (0..n)
                .step_by(batch.max(1) as usize)
                .map(|lo| self.forward_t(&x.narrow(0, lo, batch.min(n - lo)), false))
                .collect();
            if parts.is_empty() {
                Tensor::zeros([0, self.classes], (Kind::Float, self.device()))
            } else {
                Tensor::cat(&parts, 0)
            }
        })
    }

    /// Turns `u8` images (N x 1 x S x S) into the model's input, as its `input_norm` says
    /// (by default: Deep-Emotion and Inception_v3 in [-1, 1], MicroExpNet raw 0..255 floats).
    /// MicroExpNet given 256 px faces (its published recipe's prepared data) reads the test-time
    /// window of exampleUsage.py, `img[32:256, 32:256]` resized to 84.
    pub fn preprocess(&self, images: &Tensor) -> Tensor {
        let x = images.to_device(self.device()).to_kind(Kind::Float);
        let x = match self.spec {
            ModelSpec::MicroExpNet { .. } if x.size().get(3) == Some(&super::crops::FACE) => {
                super::crops::test_crop(&x, MicroExpNet::INPUT)
            }
            _ => x,
        };
        match self.spec.input_norm() {
            InputNorm::Centered => (x / 255.0 - 0.5) / 0.5,
            InputNorm::Raw => x,
            InputNorm::Standardize => {
                let mean = x.mean_dim([1i64, 2, 3].as_slice(), true, Kind::Float);
                let std = x.std_dim([1i64, 2, 3].as_slice(), true, true);
                (x - mean) / (std + 1e-5)
            }
        }
    }

    /// Every parameter and buffer by name, sorted.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Trainable parameters by name, sorted.
    pub fn trainable(&self) -> Vec<(String, Tensor)> {
        self.named_tensors().into_iter().filter(|(_, t)| t.requires_grad()).collect()
    }

    pub fn trainable_count(&self) -> i64 {
        self.trainable().iter().map(|(_, t)| t.numel() as i64).sum()
    }

    /// Copies the tensors whose name and shape match (e.g. an ImageNet Inception_v3 whose
    /// classifier has another size); returns how many were copied.
    pub fn load_matching(&self, named: &[(String, Tensor)]) -> usize {
        let own = self.named_tensors();
        tch::no_grad(|| {
            let mut n = 0;
            for (name, t) in own {
                if let Some((_, src)) = named.iter().find(|(k, s)| *k == name && s.size() == t.size()) {
                    t.shallow_clone().copy_(&src.to_device(t.device()).to_kind(t.kind()));
                    n += 1;
                }
            }
            n
        })
    }

    /// Copies values into the model's parameters and buffers; every name must be present.
    pub fn load(&self, named: &[(String, Tensor)]) -> Result<(), String> {
        for (name, t) in self.named_tensors() {
            match named.iter().find(|(n, _)| *n == name) {
                None => return Err(format!("missing tensor `{name}`")),
                Some((_, src)) if src.size() != t.size() => {
                    return Err(format!("tensor `{name}` has shape {:?}, expected {:?}", src.size(), t.size()))
                }
                Some(_) => {}
            }
        }
        self.load_matching(named);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer_core::spec::Variant;

    fn count(spec: ModelSpec, classes: usize) -> i64 {
        Model::new(&spec, classes, Device::Cpu).trainable_count()
    }

    #[test]
    fn parameter_counts_match_the_reference() {
        assert_eq!(count(ModelSpec::deep_emotion(), 7), 66_877);
        let m = ModelSpec::microexpnet;
        assert_eq!(count(m(Variant::M), 8), 900_920);
        assert_eq!(count(m(Variant::S), 8), 232_184);
        assert_eq!(count(m(Variant::Xs), 8), 120_728);
        assert_eq!(count(m(Variant::Xxs), 8), 65_000);
    }

    #[test]
    fn forward_shapes() {
        let de = Model::new(&ModelSpec::deep_emotion(), 7, Device::Cpu);
        let x = Tensor::zeros([3, 1, 48, 48], (Kind::Float, Device::Cpu));
        assert_eq!(de.forward_t(&x, false).size(), vec![3, 7]);
        assert_eq!(de.forward_t(&x, true).size(), vec![3, 7]);
        let me = Model::new(&ModelSpec::microexpnet(Variant::Xxs), 8, Device::Cpu);
        let x = Tensor::zeros([2, 1, 84, 84], (Kind::Float, Device::Cpu));
        assert_eq!(me.forward_t(&x, false).size(), vec![2, 8]);
    }

    #[test]
    fn names_match_the_pytorch_reference() {
        let de = Model::new(&ModelSpec::deep_emotion(), 7, Device::Cpu);
        let names: Vec<String> = de.named_tensors().into_iter().map(|(n, _)| n).collect();
        for n in [
            "conv1.weight",
            "norm.running_mean",
            "norm.running_var",
            "localization.0.weight",
            "localization.3.bias",
            "fc_loc.0.weight",
            "fc_loc.2.bias",
            "fc2.weight",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
    }

    #[test]
    fn stn_starts_at_identity() {
        let Net::DeepEmotion(n) = &Model::new(&ModelSpec::deep_emotion(), 7, Device::Cpu).net else { unreachable!() };
        let x = Tensor::rand([2, 1, 48, 48], (Kind::Float, Device::Cpu));
        let warped = n.warp(&x);
        assert!(f64::try_from((warped - &x).abs().max()).unwrap() < 1e-4);
    }
}
