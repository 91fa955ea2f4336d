//! Inception_v3's config (the teacher, torchvision's layout): its settings, their defaults
//! (torchvision's) and their checks.

use super::input::InputNorm;
use super::setting::{Key, Setting};
use super::train::TrainConfig;

/// Inception_v3's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InceptionV3Config {
    /// Side of the square input, [`InceptionV3Config::MIN_INPUT`] to [`InceptionV3Config::MAX_INPUT`].
    pub input_size: u32,
    /// Before the classifier, in training only (torchvision's `dropout`).
    pub dropout: f64,
    pub input_norm: InputNorm,
    pub train: TrainConfig,
}

impl Default for InceptionV3Config {
    /// torchvision's: 299 px inputs in [-1, 1], dropout 0.5; 30 epochs of Adam at 0.001 in batches of 32.
    fn default() -> InceptionV3Config {
        InceptionV3Config {
            input_size: 299,
            dropout: 0.5,
            input_norm: InputNorm::Centered,
            train: TrainConfig::new(30, 1e-3, 32),
        }
    }
}

impl InceptionV3Config {
    /// The smallest input side the network accepts.
    pub const MIN_INPUT: u32 = 75;
    /// The largest input side we accept.
    pub const MAX_INPUT: u32 = 1024;

    /// Its own keys, besides [`TrainConfig::KEYS`].
    pub const KEYS: [Key; 3] = [Key::InputSize, Key::Dropout, Key::InputNorm];

    /// Applies a setting; false when it is not one of its keys.
    pub fn set(&mut self, s: &Setting) -> bool {
        match *s {
            Setting::InputSize(v) => self.input_size = v,
            Setting::Dropout(v) => self.dropout = v,
            Setting::InputNorm(v) => self.input_norm = v,
            _ => return self.train.set(s),
        }
        true
    }

    /// The value of one of its keys.
    pub fn value(&self, key: Key) -> Option<Setting> {
        match key {
            Key::InputSize => Some(Setting::InputSize(self.input_size)),
            Key::Dropout => Some(Setting::Dropout(self.dropout)),
            Key::InputNorm => Some(Setting::InputNorm(self.input_norm)),
            _ => self.train.value(key),
        }
    }
}

/// The `input_size` setting, checked.
pub fn input_size(v: i64) -> Result<u32, String> {
    let (lo, hi) = (InceptionV3Config::MIN_INPUT, InceptionV3Config::MAX_INPUT);
    if (lo as i64..=hi as i64).contains(&v) {
        Ok(v as u32)
    } else {
        Err(format!("input_size must be in {lo}..={hi} (Inception_v3 needs at least {lo}), got `{v}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_torchvision_s() {
        let c = InceptionV3Config::default();
        assert_eq!((c.input_size, c.dropout, c.input_norm), (299, 0.5, InputNorm::Centered));
        assert_eq!((c.train.epochs, c.train.lr, c.train.batch_size), (30, 1e-3, 32));
    }

    #[test]
    fn its_keys_and_no_others() {
        let mut c = InceptionV3Config::default();
        for s in [Setting::InputSize(75), Setting::Dropout(0.2), Setting::InputNorm(InputNorm::Raw), Setting::Eps(1.0)]
        {
            assert!(c.set(&s));
            assert_eq!(c.value(s.key()), Some(s));
        }
        for s in [Setting::L2(0.1), Setting::MultiCrop(false), Setting::Variant(super::super::Variant::S)] {
            assert!(!c.set(&s), "{s:?}");
            assert_eq!(c.value(s.key()), None);
        }
        assert_eq!(
            input_size(74).unwrap_err(),
            "input_size must be in 75..=1024 (Inception_v3 needs at least 75), got `74`"
        );
        assert_eq!((input_size(75), input_size(1024)), (Ok(75), Ok(1024)));
        assert!(input_size(1025).is_err());
    }
}
