//! How 0..255 pixels become a model's input (`input_norm`): a setting of every architecture.

use serde::{Deserialize, Serialize};

/// How 0..255 pixels become a model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputNorm {
    /// Raw 0..255 floats (MicroExpNet's public code).
    Raw,
    /// (x / 255 - 0.5) / 0.5, in [-1, 1] (Deep-Emotion's public code).
    Centered,
    /// Per image: zero mean, unit variance.
    Standardize,
}

impl InputNorm {
    pub const ALL: [InputNorm; 3] = [InputNorm::Raw, InputNorm::Centered, InputNorm::Standardize];

    pub fn name(self) -> &'static str {
        match self {
            InputNorm::Raw => "raw",
            InputNorm::Centered => "centered",
            InputNorm::Standardize => "standardize",
        }
    }

    pub fn parse(s: &str) -> Option<InputNorm> {
        InputNorm::ALL.into_iter().find(|n| n.name() == s)
    }

    /// The `input_norm` setting, checked.
    pub fn setting(s: &str) -> Result<InputNorm, String> {
        InputNorm::parse(s).ok_or_else(|| format!("unknown input_norm `{s}`; known: raw, centered, standardize"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for n in InputNorm::ALL {
            assert_eq!(InputNorm::parse(n.name()), Some(n));
            assert_eq!(serde_json::to_string(&n).unwrap(), format!("\"{}\"", n.name()));
        }
        assert!(InputNorm::setting("zscore").unwrap_err().contains("known: raw, centered, standardize"));
    }
}
