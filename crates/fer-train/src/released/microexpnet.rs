//! The authors' released MicroExpNet models (github.com/cuguilke/microexpnet, `Models/`, MIT
//! licence, Copyright (c) 2017 Ilke Cugu, Eren Sener, Emre Akbas), compiled into the binary as
//! the TensorFlow checkpoints they ship, and imported into our MicroExpNet bit for bit.
//!
//! TensorFlow → PyTorch names and layouts: `wc1` [8, 8, 1, 16] (H, W, in, out) → `conv1.weight`
//! [16, 1, 8, 8]; `wc2` → `conv2.weight`; `wfc` [1152, fc1] → `fc1.weight` [fc1, 1152] (its rows
//! already in TensorFlow's H, W, C flattening, which our network reproduces); `wo` → `fc2.weight`;
//! `bc1`, `bc2`, `bfc`, `bo` → the biases. The Adam moments the checkpoints also hold are ignored.

use std::path::Path;

use tch::{Device, Tensor};

use super::tf_bundle::{self, Bundle, BundleError};
use crate::models::Model;
use fer_core::spec::{ModelSpec, Variant};

/// The labels of the released models' outputs, in order (`exampleUsage.py`; both models).
pub const LABELS: [&str; 8] = ["neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"];

/// The same labels as the project's canonical class names (`fer_core::data::manifest::CANONICAL_CLASSES`).
pub const CANONICAL: [&str; 8] = ["neutral", "angry", "contempt", "disgust", "fear", "happy", "sad", "surprise"];

/// Where the released checkpoints come from.
pub const SOURCE: &str = "github.com/cuguilke/microexpnet at 7dd0e53 (Models/), MIT licence, \
                          Copyright (c) 2017 Ilke Cugu, Eren Sener, Emre Akbas";

/// One released model.
#[derive(Debug)]
pub struct Released {
    /// Its name on our command line (`released:microexpnet-ck`).
    pub name: &'static str,
    /// The data set it was trained on.
    pub dataset: &'static str,
    /// The checkpoint's path in the authors' repository.
    pub path: &'static str,
    /// Distillation temperature it was trained with (`../shared/reference/models.md`).
    pub temperature: u32,
    index: &'static [u8],
    data: &'static [u8],
}

macro_rules! released_file {
    ($rel:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../released/microexpnet/", $rel))
    };
}

/// Both released models.
pub static ALL: [Released; 2] = [
    Released {
        name: "microexpnet-ck",
        dataset: "CK+",
        path: "Models/CK/MicroExpNet_CK",
        temperature: 8,
        index: released_file!("CK/MicroExpNet_CK.index"),
        data: released_file!("CK/MicroExpNet_CK.data-00000-of-00001"),
    },
    Released {
        name: "microexpnet-oulu-casia",
        dataset: "Oulu-CASIA",
        path: "Models/OuluCASIA/MicroExpNet_OuluCASIA",
        temperature: 4,
        index: released_file!("OuluCASIA/MicroExpNet_OuluCASIA.index"),
        data: released_file!("OuluCASIA/MicroExpNet_OuluCASIA.data-00000-of-00001"),
    },
];

/// A failure to import a MicroExpNet checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("failed to find the released model `{name}`; known: {known}")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("failed to import the checkpoint as MicroExpNet: {0}")]
    Shape(String),
}

/// The released model called `name` (`microexpnet-ck`, `microexpnet-oulu-casia`; `ck` and
/// `oulu-casia` too).
pub fn find(name: &str) -> Result<&'static Released, ImportError> {
    let want = name.to_ascii_lowercase();
    ALL.iter().find(|r| r.name == want || r.name.strip_prefix("microexpnet-") == Some(&want)).ok_or_else(|| {
        ImportError::Unknown {
            name: name.to_string(),
            known: ALL.iter().map(|r| format!("`{}`", r.name)).collect::<Vec<_>>().join(", "),
        }
    })
}

impl Released {
    /// The checkpoint's tensors, as TensorFlow names them.
    pub fn bundle(&self) -> Result<Bundle, BundleError> {
        tf_bundle::read(self.index, &[self.data])
    }

    /// The weights as a safetensors file with PyTorch's names, for a pipeline's `weights:`
    /// (`released/microexpnet/<name>.safetensors`); its metadata names the outputs
    /// ([`super::outputs`]), so on a data set with fewer classes the matching outputs are kept.
    pub fn weights_file(&self) -> Result<Vec<u8>, ImportError> {
        let tensors = pytorch_tensors(&self.bundle()?)?;
        let meta = std::collections::BTreeMap::from([
            ("format".to_string(), "pt".to_string()),
            ("arch".to_string(), "microexpnet-xxs".to_string()),
            (super::outputs::OUTPUT_LABELS.to_string(), CANONICAL.join(",")),
            (super::outputs::OUTPUT_LAYER.to_string(), "fc2".to_string()),
            ("source".to_string(), format!("{} {}", SOURCE, self.path)),
        ]);
        crate::tensor_file::encode(&tensors, &meta).map_err(ImportError::Shape)
    }

    /// Our MicroExpNet with this model's weights, in evaluation mode on `device`.
    pub fn model(&self, device: Device) -> Result<Model, ImportError> {
        import(&self.bundle()?, device)
    }
}

/// A MicroExpNet trained with the authors' code, from its checkpoint `prefix` (the path without
/// `.index`).
pub fn import_prefix(prefix: &Path, device: Device) -> Result<Model, ImportError> {
    import(&tf_bundle::read_prefix(prefix)?, device)
}

/// Builds our MicroExpNet (variant and classes from the checkpoint's shapes) with `bundle`'s
/// weights.
pub fn import(bundle: &Bundle, device: Device) -> Result<Model, ImportError> {
    let named = pytorch_tensors(bundle)?;
    let fc1 = named.iter().find(|(n, _)| n == "fc1.weight").map(|(_, t)| t.size()[0]).unwrap_or(0);
    let classes = named.iter().find(|(n, _)| n == "fc2.weight").map(|(_, t)| t.size()[0]).unwrap_or(0);
    let variant = Variant::ALL.into_iter().find(|v| v.fc1() == fc1).ok_or_else(|| {
        ImportError::Shape(format!("a hidden layer of `{fc1}` units is no MicroExpNet size (768, 192, 96, 48)"))
    })?;
    let model = Model::new(&ModelSpec::microexpnet(variant), classes as usize, device);
    model.load(&named).map_err(ImportError::Shape)?;
    Ok(model)
}

/// The MicroExpNet tensors of `bundle`, renamed and laid out as PyTorch's (see the module's text).
pub fn pytorch_tensors(bundle: &Bundle) -> Result<Vec<(String, Tensor)>, ImportError> {
    let get = |name: &str, rank: usize| -> Result<Tensor, ImportError> {
        let t = bundle.get(name).ok_or_else(|| ImportError::Shape(format!("the checkpoint has no `{name}`")))?;
        if t.shape.len() != rank {
            return Err(ImportError::Shape(format!("`{name}` has shape {:?}, expected rank {rank}", t.shape)));
        }
        Ok(Tensor::from_slice(&t.values).reshape(t.shape.as_slice()))
    };
    let conv = |name: &str| get(name, 4).map(|w| w.permute([3, 2, 0, 1]).contiguous()); // [out, in, kh, kw]
    let linear = |name: &str| get(name, 2).map(|w| w.transpose(0, 1).contiguous()); // [out, in]
    Ok(vec![
        ("conv1.weight".into(), conv("wc1")?),
        ("conv1.bias".into(), get("bc1", 1)?),
        ("conv2.weight".into(), conv("wc2")?),
        ("conv2.bias".into(), get("bc2", 1)?),
        ("fc1.weight".into(), linear("wfc")?),
        ("fc1.bias".into(), get("bfc", 1)?),
        ("fc2.weight".into(), linear("wo")?),
        ("fc2.bias".into(), get("bo", 1)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    /// The golden set: inputs and TensorFlow's logits, from `scripts/microexpnet-golden.py`.
    fn golden(file: &str) -> Tensor {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../released/microexpnet/golden/");
        Tensor::read_npy(format!("{dir}{file}")).unwrap_or_else(|e| panic!("{dir}{file}: {e}"))
    }

    #[test]
    fn both_released_models_reproduce_tensorflows_logits() {
        let inputs = golden("inputs.npy"); // N x 84 x 84, u8
        assert_eq!(inputs.kind(), Kind::Uint8);
        let n = inputs.size()[0];
        assert!(n >= 16, "{n} golden inputs");
        let x = inputs.to_kind(Kind::Float).reshape([n, 1, 84, 84]);
        for (r, file) in ALL.iter().zip(["logits-ck.npy", "logits-oulu-casia.npy"]) {
            let model = r.model(Device::Cpu).unwrap();
            assert_eq!((model.classes, model.trainable_count()), (8, 65_000), "{}", r.name);
            let ours = model.logits(&model.preprocess(&x), 64);
            let tf = golden(file);
            assert_eq!(ours.size(), tf.size());
            // Within 1e-4 of TensorFlow's logit, relative to the logit's size where it exceeds 1.
            let scale = tf.abs().clamp_min(1.0);
            let worst = f64::try_from(((&ours - &tf).abs() / scale).max()).unwrap();
            eprintln!("{}: worst relative difference from TensorFlow {worst:e}", r.name);
            assert!(worst <= 1e-4, "{}: worst relative difference {worst:e}", r.name);
            // Not vacuous: the logits differ between inputs and between the two models.
            assert!(f64::try_from(tf.std(true)).unwrap() > 0.1);
            assert_eq!(ours.argmax(1, false), tf.argmax(1, false), "{}: same predicted classes", r.name);
        }
        let ck = golden("logits-ck.npy");
        assert!(f64::try_from((ck - golden("logits-oulu-casia.npy")).abs().max()).unwrap() > 0.1);
    }

    /// The committed `released/microexpnet/<name>.safetensors` are exactly the import of the
    /// bundles (`FER_BLESS=1` rewrites them).
    #[test]
    fn committed_weights_files_are_the_import_of_the_bundles() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../released/microexpnet/");
        for r in &ALL {
            let bytes = r.weights_file().unwrap();
            let path = format!("{dir}{}.safetensors", r.name);
            if std::env::var("FER_BLESS").is_ok_and(|v| v == "1") {
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(committed == bytes, "{path} is not the import of its bundle (FER_BLESS=1 rewrites it)");
            let f = crate::tensor_file::decode(&committed).unwrap();
            let m = Model::new(&ModelSpec::microexpnet(Variant::Xxs), 8, Device::Cpu);
            m.load(&f.tensors).unwrap();
        }
        let canonical = fer_core::data::manifest::CANONICAL_CLASSES;
        assert!(CANONICAL.iter().all(|c| canonical.contains(c)));
    }

    #[test]
    fn names_resolve_and_unknown_names_list_the_known() {
        assert_eq!(find("microexpnet-ck").unwrap().dataset, "CK+");
        assert_eq!(find("OULU-CASIA").unwrap().name, "microexpnet-oulu-casia");
        let e = find("fer2013").unwrap_err().to_string();
        assert!(e.contains("`fer2013`") && e.contains("`microexpnet-ck`, `microexpnet-oulu-casia`"), "{e}");
    }

    #[test]
    fn the_bundles_hold_the_papers_weights_and_their_adam_moments() {
        let b = ALL[0].bundle().unwrap();
        let params: usize =
            ["wc1", "bc1", "wc2", "bc2", "wfc", "bfc", "wo", "bo"].iter().map(|n| b[*n].values.len()).sum();
        assert_eq!(params, 65_000);
        assert!(b.contains_key("wc1/Adam") && b.contains_key("wc1/Adam_1"));
    }

    #[test]
    fn a_damaged_data_file_is_refused_by_its_crc() {
        let mut data = ALL[0].data.to_vec();
        data[1000] ^= 0x01;
        let e = tf_bundle::read(ALL[0].index, &[&data]).unwrap_err().to_string();
        assert!(e.contains("CRC32C") && e.contains("damaged data file"), "{e}");
        let e = tf_bundle::read(ALL[0].index, &[&data[..1000]]).unwrap_err().to_string();
        assert!(e.contains("past the data file"), "{e}");
    }

    #[test]
    fn a_checkpoint_prefix_on_disk_imports_and_a_missing_one_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.index"), ALL[1].index).unwrap();
        std::fs::write(dir.path().join("m.data-00000-of-00001"), ALL[1].data).unwrap();
        let m = import_prefix(&dir.path().join("m"), Device::Cpu).unwrap();
        assert_eq!(m.classes, 8);
        let e = import_prefix(&dir.path().join("nope"), Device::Cpu).err().unwrap().to_string();
        assert!(e.contains("nope.index"), "{e}");
    }
}
