//! The settings a model may be given (`models.<name>`, `matrix` entries), each key with its typed value.

use std::fmt;

use super::input::InputNorm;
use super::microexpnet::Variant;
use super::train::{Optimizer, Select};

/// A setting's name. The order of [`Key::ALL`] (and of `Ord`) is the matrix's axis order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Datasets,
    Seeds,
    Variant,
    Epochs,
    Lr,
    BatchSize,
    Optimizer,
    WeightDecay,
    Beta1,
    Beta2,
    Eps,
    Dropout,
    InputNorm,
    InputSize,
    Weights,
    MultiCrop,
    Teacher,
    Temperature,
    KdWeight,
    KdT2,
    Select,
    L2,
    TrainFraction,
}

impl Key {
    /// Every key, in axis order.
    pub const ALL: [Key; 23] = [
        Key::Datasets,
        Key::Seeds,
        Key::Variant,
        Key::Epochs,
        Key::Lr,
        Key::BatchSize,
        Key::Optimizer,
        Key::WeightDecay,
        Key::Beta1,
        Key::Beta2,
        Key::Eps,
        Key::Dropout,
        Key::InputNorm,
        Key::InputSize,
        Key::Weights,
        Key::MultiCrop,
        Key::Teacher,
        Key::Temperature,
        Key::KdWeight,
        Key::KdT2,
        Key::Select,
        Key::L2,
        Key::TrainFraction,
    ];

    /// The keys that only mean something for a student (a model with a `teacher`).
    pub const DISTILL: [Key; 3] = [Key::Temperature, Key::KdWeight, Key::KdT2];

    /// The name written in `pipeline.yaml`.
    pub fn name(self) -> &'static str {
        match self {
            Key::Datasets => "datasets",
            Key::Seeds => "seeds",
            Key::Variant => "variant",
            Key::Epochs => "epochs",
            Key::Lr => "lr",
            Key::BatchSize => "batch_size",
            Key::Optimizer => "optimizer",
            Key::WeightDecay => "weight_decay",
            Key::Beta1 => "beta1",
            Key::Beta2 => "beta2",
            Key::Eps => "eps",
            Key::Dropout => "dropout",
            Key::InputNorm => "input_norm",
            Key::InputSize => "input_size",
            Key::Weights => "weights",
            Key::MultiCrop => "multi_crop",
            Key::Teacher => "teacher",
            Key::Temperature => "temperature",
            Key::KdWeight => "kd_weight",
            Key::KdT2 => "kd_t2",
            Key::Select => "select",
            Key::L2 => "l2",
            Key::TrainFraction => "train_fraction",
        }
    }

    /// A key by name; the singular spellings `seed` and `dataset` (used in `zip`, `include` and
    /// `exclude`) are accepted.
    pub fn parse(s: &str) -> Option<Key> {
        let s = match s {
            "seed" => "seeds",
            "dataset" => "datasets",
            other => other,
        };
        Key::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key set to one checked value.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Dataset(String),
    Seed(u64),
    Variant(Variant),
    Epochs(u32),
    Lr(f64),
    BatchSize(u32),
    Optimizer(Optimizer),
    WeightDecay(f64),
    Beta1(f64),
    Beta2(f64),
    Eps(f64),
    Dropout(f64),
    InputNorm(InputNorm),
    InputSize(u32),
    /// A weights file, relative to the pipeline file.
    Weights(String),
    MultiCrop(bool),
    /// Another model of the pipeline, by name.
    Teacher(String),
    Temperature(f64),
    KdWeight(f64),
    KdT2(bool),
    Select(Select),
    L2(f64),
    /// The fraction of the training split's subjects a run trains on (nested subsets).
    TrainFraction(f64),
}

impl Setting {
    pub fn key(&self) -> Key {
        match self {
            Setting::Dataset(_) => Key::Datasets,
            Setting::Seed(_) => Key::Seeds,
            Setting::Variant(_) => Key::Variant,
            Setting::Epochs(_) => Key::Epochs,
            Setting::Lr(_) => Key::Lr,
            Setting::BatchSize(_) => Key::BatchSize,
            Setting::Optimizer(_) => Key::Optimizer,
            Setting::WeightDecay(_) => Key::WeightDecay,
            Setting::Beta1(_) => Key::Beta1,
            Setting::Beta2(_) => Key::Beta2,
            Setting::Eps(_) => Key::Eps,
            Setting::Dropout(_) => Key::Dropout,
            Setting::InputNorm(_) => Key::InputNorm,
            Setting::InputSize(_) => Key::InputSize,
            Setting::Weights(_) => Key::Weights,
            Setting::MultiCrop(_) => Key::MultiCrop,
            Setting::Teacher(_) => Key::Teacher,
            Setting::Temperature(_) => Key::Temperature,
            Setting::KdWeight(_) => Key::KdWeight,
            Setting::KdT2(_) => Key::KdT2,
            Setting::Select(_) => Key::Select,
            Setting::L2(_) => Key::L2,
            Setting::TrainFraction(_) => Key::TrainFraction,
        }
    }
}

/// Hashes what `==` compares (`-0.0` as `0.0`, which `==` equates), so equal settings hash alike.
impl std::hash::Hash for Setting {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Setting::Dataset(s) | Setting::Weights(s) | Setting::Teacher(s) => s.hash(h),
            Setting::Seed(i) => i.hash(h),
            Setting::Epochs(i) | Setting::BatchSize(i) | Setting::InputSize(i) => i.hash(h),
            Setting::Variant(v) => v.hash(h),
            Setting::Optimizer(o) => o.hash(h),
            Setting::InputNorm(n) => n.hash(h),
            Setting::Select(s) => s.hash(h),
            Setting::MultiCrop(b) | Setting::KdT2(b) => b.hash(h),
            Setting::Lr(x)
            | Setting::WeightDecay(x)
            | Setting::Beta1(x)
            | Setting::Beta2(x)
            | Setting::Eps(x)
            | Setting::Dropout(x)
            | Setting::Temperature(x)
            | Setting::KdWeight(x)
            | Setting::L2(x)
            | Setting::TrainFraction(x) => (x + 0.0).to_bits().hash(h),
        }
    }
}

/// The value as `pipeline.yaml` writes it (`0.001`, `xxs`, `true`).
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Dataset(s) | Setting::Weights(s) | Setting::Teacher(s) => write!(f, "{s}"),
            Setting::Seed(i) => write!(f, "{i}"),
            Setting::Epochs(i) | Setting::BatchSize(i) | Setting::InputSize(i) => write!(f, "{i}"),
            Setting::Variant(v) => write!(f, "{}", v.name()),
            Setting::Optimizer(o) => write!(f, "{}", o.name()),
            Setting::InputNorm(n) => write!(f, "{}", n.name()),
            Setting::Select(s) => write!(f, "{}", s.name()),
            Setting::MultiCrop(b) | Setting::KdT2(b) => write!(f, "{b}"),
            Setting::Lr(x)
            | Setting::WeightDecay(x)
            | Setting::Beta1(x)
            | Setting::Beta2(x)
            | Setting::Eps(x)
            | Setting::Dropout(x)
            | Setting::Temperature(x)
            | Setting::KdWeight(x)
            | Setting::L2(x)
            | Setting::TrainFraction(x) => write!(f, "{x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_their_names_and_the_singular_spellings() {
        for k in Key::ALL {
            assert_eq!(Key::parse(k.name()), Some(k));
        }
        assert_eq!(Key::parse("seed"), Some(Key::Seeds));
        assert_eq!(Key::parse("dataset"), Some(Key::Datasets));
        assert_eq!(Key::parse("arch"), None);
        // `Ord` is the axis order.
        let mut sorted = Key::ALL;
        sorted.sort();
        assert_eq!(sorted, Key::ALL);
    }

    #[test]
    fn settings_print_as_written_and_hash_as_they_compare() {
        use std::hash::{BuildHasher, RandomState};
        assert_eq!(Setting::Lr(0.001).to_string(), "0.001");
        assert_eq!(Setting::Variant(Variant::Xxs).to_string(), "xxs");
        assert_eq!(Setting::Select(Select::BestVal).to_string(), "best-val");
        assert_eq!(Setting::InputNorm(InputNorm::Standardize).to_string(), "standardize");
        let s = RandomState::new();
        assert_eq!(Setting::WeightDecay(0.0), Setting::WeightDecay(-0.0));
        assert_eq!(s.hash_one(Setting::WeightDecay(0.0)), s.hash_one(Setting::WeightDecay(-0.0)));
        assert_ne!(s.hash_one(Setting::Lr(1.0)), s.hash_one(Setting::Eps(1.0)));
    }
}
