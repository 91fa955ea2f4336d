//! MicroExpNet's config (Cugu, Sener, Akbas 2019): its sizes, settings, their defaults (the
//! released models' and the public code's) and their checks.

use serde::{Deserialize, Serialize};

use super::input::InputNorm;
use super::setting::{Key, Setting};
use super::train::TrainConfig;

/// MicroExpNet sizes (width of its hidden layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    M,
    S,
    Xs,
    Xxs,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::M, Variant::S, Variant::Xs, Variant::Xxs];

    pub fn name(self) -> &'static str {
        match self {
            Variant::M => "m",
            Variant::S => "s",
            Variant::Xs => "xs",
            Variant::Xxs => "xxs",
        }
    }

    /// A size by name, in any case.
    pub fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s.to_ascii_lowercase())
    }

    /// The `variant` setting, checked.
    pub fn setting(s: &str) -> Result<Variant, String> {
        Variant::parse(s).ok_or_else(|| format!("unknown MicroExpNet variant `{s}`; known: m, s, xs, xxs"))
    }

    /// Width of the hidden fully connected layer.
    pub fn fc1(self) -> i64 {
        match self {
            Variant::M => 768,
            Variant::S => 192,
            Variant::Xs => 96,
            Variant::Xxs => 48,
        }
    }
}

/// MicroExpNet's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MicroExpNetConfig {
    pub variant: Variant,
    /// After the hidden layer, in training only.
    pub dropout: f64,
    pub input_norm: InputNorm,
    /// The published 8 crops of a 256 px face in training, the (32, 32) one at test.
    pub multi_crop: bool,
    pub train: TrainConfig,
}

impl Default for MicroExpNetConfig {
    /// The public code's: XXS, dropout 0.5, raw 0..255 inputs, the 8 crops, 3000 epochs of Adam
    /// at 1e-4 in batches of 64.
    fn default() -> MicroExpNetConfig {
        MicroExpNetConfig {
            variant: Variant::Xxs,
            dropout: 0.5,
            input_norm: InputNorm::Raw,
            multi_crop: true,
            train: TrainConfig::new(3000, 1e-4, 64),
        }
    }
}

impl MicroExpNetConfig {
    /// Side of its square grayscale input.
    pub const INPUT: u32 = 84;

    /// Its own keys, besides [`TrainConfig::KEYS`].
    pub const KEYS: [Key; 4] = [Key::Variant, Key::Dropout, Key::InputNorm, Key::MultiCrop];

    /// Applies a setting; false when it is not one of its keys.
    pub fn set(&mut self, s: &Setting) -> bool {
        match *s {
            Setting::Variant(v) => self.variant = v,
            Setting::Dropout(v) => self.dropout = v,
            Setting::InputNorm(v) => self.input_norm = v,
            Setting::MultiCrop(v) => self.multi_crop = v,
            _ => return self.train.set(s),
        }
        true
    }

    /// The value of one of its keys.
    pub fn value(&self, key: Key) -> Option<Setting> {
        match key {
            Key::Variant => Some(Setting::Variant(self.variant)),
            Key::Dropout => Some(Setting::Dropout(self.dropout)),
            Key::InputNorm => Some(Setting::InputNorm(self.input_norm)),
            Key::MultiCrop => Some(Setting::MultiCrop(self.multi_crop)),
            _ => self.train.value(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_released_recipe() {
        let c = MicroExpNetConfig::default();
        assert_eq!((c.variant, c.dropout, c.input_norm, c.multi_crop), (Variant::Xxs, 0.5, InputNorm::Raw, true));
        assert_eq!((c.train.epochs, c.train.lr, c.train.batch_size), (3000, 1e-4, 64));
        assert_eq!(MicroExpNetConfig::INPUT, 84);
    }

    #[test]
    fn its_keys_and_no_others() {
        let mut c = MicroExpNetConfig::default();
        for s in [
            Setting::Variant(Variant::M),
            Setting::Dropout(0.0),
            Setting::InputNorm(InputNorm::Standardize),
            Setting::MultiCrop(false),
            Setting::BatchSize(8),
        ] {
            assert!(c.set(&s));
            assert_eq!(c.value(s.key()), Some(s));
        }
        for s in [Setting::L2(0.1), Setting::InputSize(80)] {
            assert!(!c.set(&s), "{s:?}");
            assert_eq!(c.value(s.key()), None);
        }
    }

    #[test]
    fn variants_by_name_in_any_case() {
        assert_eq!(Variant::setting("XS"), Ok(Variant::Xs));
        assert_eq!(Variant::setting("xl").unwrap_err(), "unknown MicroExpNet variant `xl`; known: m, s, xs, xxs");
        assert_eq!(Variant::ALL.map(Variant::fc1), [768, 192, 96, 48]);
    }
}
