//! The settings every architecture shares: the training schedule, Adam, which weights a run keeps,
//! dropout's range and distillation from a teacher; their defaults and checks.

use serde::{Deserialize, Serialize};

use super::setting::{Key, Setting};

/// The optimizers (Adam, as both papers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Optimizer {
    #[default]
    Adam,
}

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Adam => "adam",
        }
    }

    /// The `optimizer` setting, checked.
    pub fn setting(s: &str) -> Result<Optimizer, String> {
        match s {
            "adam" => Ok(Optimizer::Adam),
            _ => Err(format!("unknown optimizer `{s}`; known: adam")),
        }
    }
}

/// Adam's settings (PyTorch's defaults unless set).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamSpec {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamSpec {
    /// PyTorch's defaults.
    fn default() -> AdamSpec {
        AdamSpec { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// Which weights a training run keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Select {
    /// The last epoch's (both papers).
    #[default]
    Last,
    /// The epoch with the best validation accuracy (ties: the earliest).
    BestVal,
}

impl Select {
    pub fn parse(s: &str) -> Option<Select> {
        match s {
            "last" => Some(Select::Last),
            "best-val" => Some(Select::BestVal),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Select::Last => "last",
            Select::BestVal => "best-val",
        }
    }

    pub fn is_last(&self) -> bool {
        *self == Select::Last
    }

    /// The `select` setting, checked.
    pub fn setting(s: &str) -> Result<Select, String> {
        Select::parse(s).ok_or_else(|| format!("unknown select `{s}`; known: last, best-val"))
    }
}

/// The training settings of a model; each architecture gives its own schedule ([`TrainConfig::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub epochs: u32,
    pub lr: f64,
    pub batch_size: u32,
    pub optimizer: Optimizer,
    pub adam: AdamSpec,
    pub select: Select,
    /// The fraction of the training split's subjects trained on (1: all of them).
    pub train_fraction: f64,
}

impl TrainConfig {
    /// The keys it reads.
    pub const KEYS: [Key; 10] = [
        Key::Epochs,
        Key::Lr,
        Key::BatchSize,
        Key::Optimizer,
        Key::WeightDecay,
        Key::Beta1,
        Key::Beta2,
        Key::Eps,
        Key::Select,
        Key::TrainFraction,
    ];

    /// A schedule, with Adam at PyTorch's defaults and the last epoch's weights kept.
    pub fn new(epochs: u32, lr: f64, batch_size: u32) -> TrainConfig {
        TrainConfig {
            epochs,
            lr,
            batch_size,
            optimizer: Optimizer::default(),
            adam: AdamSpec::default(),
            select: Select::default(),
            train_fraction: 1.0,
        }
    }

    /// Applies one of its settings; false when the setting is not one of [`TrainConfig::KEYS`].
    pub fn set(&mut self, s: &Setting) -> bool {
        match *s {
            Setting::Epochs(v) => self.epochs = v,
            Setting::Lr(v) => self.lr = v,
            Setting::BatchSize(v) => self.batch_size = v,
            Setting::Optimizer(v) => self.optimizer = v,
            Setting::WeightDecay(v) => self.adam.weight_decay = v,
            Setting::Beta1(v) => self.adam.beta1 = v,
            Setting::Beta2(v) => self.adam.beta2 = v,
            Setting::Eps(v) => self.adam.eps = v,
            Setting::Select(v) => self.select = v,
            Setting::TrainFraction(v) => self.train_fraction = v,
            _ => return false,
        }
        true
    }

    /// The value of one of its keys.
    pub fn value(&self, key: Key) -> Option<Setting> {
        Some(match key {
            Key::Epochs => Setting::Epochs(self.epochs),
            Key::Lr => Setting::Lr(self.lr),
            Key::BatchSize => Setting::BatchSize(self.batch_size),
            Key::Optimizer => Setting::Optimizer(self.optimizer),
            Key::WeightDecay => Setting::WeightDecay(self.adam.weight_decay),
            Key::Beta1 => Setting::Beta1(self.adam.beta1),
            Key::Beta2 => Setting::Beta2(self.adam.beta2),
            Key::Eps => Setting::Eps(self.adam.eps),
            Key::Select => Setting::Select(self.select),
            Key::TrainFraction => Setting::TrainFraction(self.train_fraction),
            _ => return None,
        })
    }
}

/// How a student learns from its teacher's logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistillConfig {
    /// Temperature T; `None`: its data set's (CK+ 8, Oulu-CASIA 4, others 8), chosen by the spec.
    pub temperature: Option<f64>,
    /// Weight w of the soft term.
    pub weight: f64,
    /// Multiply the soft term by T^2 (Hinton's form).
    pub t2: bool,
}

impl Default for DistillConfig {
    /// The released MicroExpNet models': w = 0.5, no T^2.
    fn default() -> DistillConfig {
        DistillConfig { temperature: None, weight: 0.5, t2: false }
    }
}

impl DistillConfig {
    /// Applies one of its settings ([`Key::DISTILL`]); false for any other.
    pub fn set(&mut self, s: &Setting) -> bool {
        match *s {
            Setting::Temperature(v) => self.temperature = Some(v),
            Setting::KdWeight(v) => self.weight = v,
            Setting::KdT2(v) => self.t2 = v,
            _ => return false,
        }
        true
    }

    /// The value of one of its keys (the temperature once chosen).
    pub fn value(&self, key: Key) -> Option<Setting> {
        match key {
            Key::Temperature => self.temperature.map(Setting::Temperature),
            Key::KdWeight => Some(Setting::KdWeight(self.weight)),
            Key::KdT2 => Some(Setting::KdT2(self.t2)),
            _ => None,
        }
    }
}

// The checks of the shared settings, one per key.

pub fn epochs(v: i64) -> Result<u32, String> {
    match v {
        0..=1_000_000 => Ok(v as u32),
        _ => Err(format!("epochs must be between 0 and 1000000, got `{v}`")),
    }
}

pub fn batch_size(v: i64) -> Result<u32, String> {
    match v {
        1..=0x10_0000 => Ok(v as u32),
        _ => Err(format!("batch_size must be >= 1, got `{v}`")),
    }
}

pub fn lr(v: f64) -> Result<f64, String> {
    positive("lr", v)
}

pub fn weight_decay(v: f64) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("weight_decay must be >= 0, got `{v}`"))
    }
}

/// `beta1` or `beta2`: in [0, 1).
pub fn beta(key: Key, v: f64) -> Result<f64, String> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{key} must be in [0, 1), got `{v}`"))
    }
}

pub fn eps(v: f64) -> Result<f64, String> {
    positive("eps", v)
}

pub fn dropout(v: f64) -> Result<f64, String> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("dropout must be in [0, 1), got `{v}`"))
    }
}

/// `train_fraction`: in (0, 1].
pub fn train_fraction(v: f64) -> Result<f64, String> {
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("train_fraction must be in (0, 1], got `{v}`"))
    }
}

pub fn temperature(v: f64) -> Result<f64, String> {
    positive("temperature", v)
}

pub fn kd_weight(v: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("kd_weight must be in [0, 1], got `{v}`"))
    }
}

fn positive(key: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{key} must be > 0, got `{v}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pytorch_s_adam_the_last_epoch_and_the_released_distillation() {
        let t = TrainConfig::new(7, 0.1, 3);
        assert_eq!((t.epochs, t.lr, t.batch_size), (7, 0.1, 3));
        assert_eq!(t.adam, AdamSpec { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 });
        assert_eq!((t.optimizer, t.select), (Optimizer::Adam, Select::Last));
        assert_eq!(DistillConfig::default(), DistillConfig { temperature: None, weight: 0.5, t2: false });
    }

    #[test]
    fn every_key_it_reads_it_sets_and_reports() {
        let mut t = TrainConfig::new(1, 1.0, 1);
        let all = [
            Setting::Epochs(9),
            Setting::Lr(0.5),
            Setting::BatchSize(4),
            Setting::Optimizer(Optimizer::Adam),
            Setting::WeightDecay(0.1),
            Setting::Beta1(0.8),
            Setting::Beta2(0.9),
            Setting::Eps(1e-6),
            Setting::Select(Select::BestVal),
            Setting::TrainFraction(0.25),
        ];
        assert_eq!(all.iter().map(Setting::key).collect::<Vec<_>>(), TrainConfig::KEYS);
        for s in &all {
            assert!(t.set(s), "{s:?}");
            assert_eq!(t.value(s.key()).as_ref(), Some(s));
        }
        assert!(!t.set(&Setting::Dropout(0.1)));
        assert_eq!(t.value(Key::Dropout), None);
        let mut d = DistillConfig::default();
        assert_eq!(d.value(Key::Temperature), None);
        for s in [Setting::Temperature(4.0), Setting::KdWeight(0.1), Setting::KdT2(true)] {
            assert!(d.set(&s));
            assert_eq!(d.value(s.key()), Some(s));
        }
        assert!(!d.set(&Setting::Lr(1.0)));
    }

    #[test]
    fn checks_name_the_key_and_the_value() {
        assert_eq!(epochs(-1).unwrap_err(), "epochs must be between 0 and 1000000, got `-1`");
        assert_eq!(epochs(0), Ok(0), "0 evaluates given weights as they are (compile checks `weights:`)");
        assert!(epochs(1_000_001).is_err());
        assert_eq!(batch_size(-1).unwrap_err(), "batch_size must be >= 1, got `-1`");
        assert!(batch_size(1 << 21).is_err());
        assert_eq!(lr(0.0).unwrap_err(), "lr must be > 0, got `0`");
        assert!(lr(f64::INFINITY).is_err());
        assert_eq!(weight_decay(-0.5).unwrap_err(), "weight_decay must be >= 0, got `-0.5`");
        assert_eq!(beta(Key::Beta2, 1.0).unwrap_err(), "beta2 must be in [0, 1), got `1`");
        assert!(beta(Key::Beta1, f64::NAN).is_err());
        assert_eq!(eps(-1.0).unwrap_err(), "eps must be > 0, got `-1`");
        assert_eq!(dropout(1.0).unwrap_err(), "dropout must be in [0, 1), got `1`");
        assert_eq!(temperature(0.0).unwrap_err(), "temperature must be > 0, got `0`");
        assert_eq!(train_fraction(0.0).unwrap_err(), "train_fraction must be in (0, 1], got `0`");
        assert_eq!(train_fraction(1.5).unwrap_err(), "train_fraction must be in (0, 1], got `1.5`");
        assert!(train_fraction(f64::NAN).is_err() && train_fraction(-0.1).is_err());
        assert_eq!((train_fraction(1.0), train_fraction(0.1)), (Ok(1.0), Ok(0.1)));
        assert_eq!(TrainConfig::new(1, 1.0, 1).train_fraction, 1.0, "all the training subjects by default");
        assert_eq!(kd_weight(1.5).unwrap_err(), "kd_weight must be in [0, 1], got `1.5`");
        assert_eq!(Optimizer::setting("sgd").unwrap_err(), "unknown optimizer `sgd`; known: adam");
        assert_eq!(Select::setting("best").unwrap_err(), "unknown select `best`; known: last, best-val");
        assert_eq!((epochs(3), lr(0.1), kd_weight(1.0)), (Ok(3), Ok(0.1), Ok(1.0)));
    }
}
