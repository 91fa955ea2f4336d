//! Deep-Emotion's config (Minaee & Abdolrashidi 2019): its settings, their defaults (the paper's
//! and the public code's) and their checks.

use super::input::InputNorm;
use super::setting::{Key, Setting};
use super::train::TrainConfig;

/// The weight of Deep-Emotion's L2 penalty by default: the paper adds the penalty but does not
/// publish its weight; 0.001 is our choice (a mild term: about 1 % of the initial loss).
pub const DEFAULT_L2: f64 = 0.001;

/// Deep-Emotion's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeepEmotionConfig {
    /// Before the first linear layer, in training only.
    pub dropout: f64,
    pub input_norm: InputNorm,
    /// Weight of the L2 penalty on the last two linear layers' weights (0: none).
    pub l2: f64,
    pub train: TrainConfig,
}

impl Default for DeepEmotionConfig {
    /// The public code's: dropout 0.5, inputs in [-1, 1], 500 epochs of Adam at 0.005 in batches
    /// of 128; the paper's L2 penalty at [`DEFAULT_L2`].
    fn default() -> DeepEmotionConfig {
        DeepEmotionConfig {
            dropout: 0.5,
            input_norm: InputNorm::Centered,
            l2: DEFAULT_L2,
            train: TrainConfig::new(500, 0.005, 128),
        }
    }
}

impl DeepEmotionConfig {
    /// Side of its square grayscale input.
    pub const INPUT: u32 = 48;

    /// Its own keys, besides [`TrainConfig::KEYS`].
    pub const KEYS: [Key; 3] = [Key::Dropout, Key::InputNorm, Key::L2];

    /// Applies a setting; false when it is not one of its keys.
    pub fn set(&mut self, s: &Setting) -> bool {
        match *s {
            Setting::Dropout(v) => self.dropout = v,
            Setting::InputNorm(v) => self.input_norm = v,
            Setting::L2(v) => self.l2 = v,
            _ => return self.train.set(s),
        }
        true
    }

    /// The value of one of its keys.
    pub fn value(&self, key: Key) -> Option<Setting> {
        match key {
            Key::Dropout => Some(Setting::Dropout(self.dropout)),
            Key::InputNorm => Some(Setting::InputNorm(self.input_norm)),
            Key::L2 => Some(Setting::L2(self.l2)),
            _ => self.train.value(key),
        }
    }
}

/// The `l2` setting, checked.
pub fn l2(v: f64) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("l2 must be >= 0, got `{v}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_public_code_s_with_the_paper_s_penalty() {
        let c = DeepEmotionConfig::default();
        assert_eq!((c.dropout, c.input_norm, c.l2), (0.5, InputNorm::Centered, 0.001));
        assert_eq!((c.train.epochs, c.train.lr, c.train.batch_size), (500, 0.005, 128));
        assert_eq!(DeepEmotionConfig::INPUT, 48);
    }

    #[test]
    fn its_keys_and_no_others() {
        let mut c = DeepEmotionConfig::default();
        for s in [Setting::Dropout(0.1), Setting::InputNorm(InputNorm::Raw), Setting::L2(0.0), Setting::Lr(0.1)] {
            assert!(c.set(&s));
            assert_eq!(c.value(s.key()), Some(s));
        }
        for s in [Setting::Variant(super::super::Variant::M), Setting::InputSize(80), Setting::MultiCrop(false)] {
            assert!(!c.set(&s), "{s:?}");
            assert_eq!(c.value(s.key()), None);
        }
        assert_eq!(l2(-1.0).unwrap_err(), "l2 must be >= 0, got `-1`");
        assert_eq!(l2(0.0), Ok(0.0));
    }
}
