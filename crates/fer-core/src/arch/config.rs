//! The architectures, and one model's config whatever its architecture: which keys it accepts,
//! its defaults, its settings applied.

use serde::{Deserialize, Serialize};

use super::deep_emotion::DeepEmotionConfig;
use super::inception::InceptionV3Config;
use super::microexpnet::MicroExpNetConfig;
use super::setting::{Key, Setting};
use super::train::TrainConfig;

/// Model architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    DeepEmotion,
    MicroExpNet,
    InceptionV3,
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::DeepEmotion, Arch::MicroExpNet, Arch::InceptionV3];

    pub fn name(self) -> &'static str {
        match self {
            Arch::DeepEmotion => "deep-emotion",
            Arch::MicroExpNet => "microexpnet",
            Arch::InceptionV3 => "inception-v3",
        }
    }

    pub fn parse(s: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Its own keys, besides the training settings every architecture takes.
    pub fn keys(self) -> &'static [Key] {
        match self {
            Arch::DeepEmotion => &DeepEmotionConfig::KEYS,
            Arch::MicroExpNet => &MicroExpNetConfig::KEYS,
            Arch::InceptionV3 => &InceptionV3Config::KEYS,
        }
    }

    /// Whether a model of this architecture may be given `key`; why not, if not.
    pub fn accepts(self, key: Key) -> Result<(), String> {
        if RUN_KEYS.contains(&key) || TrainConfig::KEYS.contains(&key) || self.keys().contains(&key) {
            return Ok(());
        }
        Err(match key {
            Key::MultiCrop => format!(
                "`multi_crop` is MicroExpNet's published recipe (8 crops of a 256 px face); `{}` does not use it",
                self.name()
            ),
            _ => format!("`{key}` does not apply to `{}`", self.name()),
        })
    }
}

/// What every model takes besides its config: its data sets and seeds, initial weights, a
/// teacher and how to learn from it ([`Key::DISTILL`]).
const RUN_KEYS: [Key; 7] =
    [Key::Datasets, Key::Seeds, Key::Weights, Key::Teacher, Key::Temperature, Key::KdWeight, Key::KdT2];

/// One model's config, whatever its architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArchConfig {
    DeepEmotion(DeepEmotionConfig),
    MicroExpNet(MicroExpNetConfig),
    InceptionV3(InceptionV3Config),
}

impl ArchConfig {
    /// The architecture's defaults.
    pub fn new(arch: Arch) -> ArchConfig {
        match arch {
            Arch::DeepEmotion => ArchConfig::DeepEmotion(DeepEmotionConfig::default()),
            Arch::MicroExpNet => ArchConfig::MicroExpNet(MicroExpNetConfig::default()),
            Arch::InceptionV3 => ArchConfig::InceptionV3(InceptionV3Config::default()),
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            ArchConfig::DeepEmotion(_) => Arch::DeepEmotion,
            ArchConfig::MicroExpNet(_) => Arch::MicroExpNet,
            ArchConfig::InceptionV3(_) => Arch::InceptionV3,
        }
    }

    /// Applies a setting; false when the architecture has no such key (see [`Arch::accepts`]).
    pub fn set(&mut self, s: &Setting) -> bool {
        match self {
            ArchConfig::DeepEmotion(c) => c.set(s),
            ArchConfig::MicroExpNet(c) => c.set(s),
            ArchConfig::InceptionV3(c) => c.set(s),
        }
    }

    /// The value of one of its keys; `None` for a key the architecture does not have.
    pub fn value(&self, key: Key) -> Option<Setting> {
        match self {
            ArchConfig::DeepEmotion(c) => c.value(key),
            ArchConfig::MicroExpNet(c) => c.value(key),
            ArchConfig::InceptionV3(c) => c.value(key),
        }
    }

    pub fn train(&self) -> &TrainConfig {
        match self {
            ArchConfig::DeepEmotion(c) => &c.train,
            ArchConfig::MicroExpNet(c) => &c.train,
            ArchConfig::InceptionV3(c) => &c.train,
        }
    }

    /// Whether it trains on MicroExpNet's 8 crops (only MicroExpNet can).
    pub fn multi_crop(&self) -> bool {
        matches!(self, ArchConfig::MicroExpNet(c) if c.multi_crop)
    }

    /// The weight of the L2 penalty on the last two linear layers (only Deep-Emotion has one).
    pub fn l2(&self) -> f64 {
        match self {
            ArchConfig::DeepEmotion(c) => c.l2,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_accepted_by_some_architecture_and_set_where_accepted() {
        for key in Key::ALL {
            assert!(Arch::ALL.iter().any(|a| a.accepts(key).is_ok()), "{key}");
        }
        for arch in Arch::ALL {
            let c = ArchConfig::new(arch);
            assert_eq!(c.arch(), arch);
            for key in Key::ALL {
                // A config key is accepted exactly when the config has a value for it.
                if !RUN_KEYS.contains(&key) {
                    assert_eq!(arch.accepts(key).is_ok(), c.value(key).is_some(), "{arch:?} {key}");
                }
                if let Some(v) = c.value(key) {
                    let mut d = c;
                    assert!(d.set(&v), "{arch:?} {key}");
                    assert_eq!(d, c);
                }
            }
        }
    }

    #[test]
    fn settings_an_architecture_does_not_use_are_refused() {
        let no = |a: Arch, k: Key| a.accepts(k).unwrap_err();
        assert_eq!(no(Arch::DeepEmotion, Key::Variant), "`variant` does not apply to `deep-emotion`");
        assert_eq!(no(Arch::DeepEmotion, Key::InputSize), "`input_size` does not apply to `deep-emotion`");
        assert_eq!(no(Arch::MicroExpNet, Key::InputSize), "`input_size` does not apply to `microexpnet`");
        assert_eq!(no(Arch::MicroExpNet, Key::L2), "`l2` does not apply to `microexpnet`");
        assert_eq!(no(Arch::InceptionV3, Key::L2), "`l2` does not apply to `inception-v3`");
        assert_eq!(no(Arch::InceptionV3, Key::Variant), "`variant` does not apply to `inception-v3`");
        for a in [Arch::DeepEmotion, Arch::InceptionV3] {
            assert!(no(a, Key::MultiCrop).contains(&format!("`{}` does not use it", a.name())));
        }
        for k in [Key::Variant, Key::MultiCrop] {
            assert!(Arch::MicroExpNet.accepts(k).is_ok());
        }
        assert!(Arch::DeepEmotion.accepts(Key::L2).is_ok());
        assert!(Arch::InceptionV3.accepts(Key::InputSize).is_ok());
    }

    #[test]
    fn crops_and_the_penalty_belong_to_their_architecture() {
        let (de, men, inc) = (
            ArchConfig::new(Arch::DeepEmotion),
            ArchConfig::new(Arch::MicroExpNet),
            ArchConfig::new(Arch::InceptionV3),
        );
        assert_eq!((de.multi_crop(), men.multi_crop(), inc.multi_crop()), (false, true, false));
        assert_eq!((de.l2(), men.l2(), inc.l2()), (super::super::deep_emotion::DEFAULT_L2, 0.0, 0.0));
        assert_eq!(de.train().epochs, 500);
        assert_eq!(Arch::parse("microexpnet"), Some(Arch::MicroExpNet));
        assert_eq!(Arch::parse("resnet"), None);
    }
}
