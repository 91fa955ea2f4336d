//! Robustness (`analyses: {robustness: true}`): a `robustness` job tests a trained model on
//! corrupted copies of its test split: six corruptions, each at five severities, every corrupted
//! image a pure function of the image, its index, the corruption, the severity and the seed.

use serde::{Deserialize, Serialize};

use super::hash::JobHash;
use crate::spec::ModelSpec;

/// The corruptions, in the order the report shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corruption {
    /// Additive Gaussian noise.
    Noise,
    /// Gaussian blur.
    Blur,
    /// JPEG compression.
    Jpeg,
    /// Lower contrast and a brightness shift.
    Contrast,
    /// A grey square over part of the face.
    Occlusion,
    /// In-plane rotation with a zoom out (pose).
    Rotation,
}

impl Corruption {
    pub const ALL: [Corruption; 6] = [
        Corruption::Noise,
        Corruption::Blur,
        Corruption::Jpeg,
        Corruption::Contrast,
        Corruption::Occlusion,
        Corruption::Rotation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Corruption::Noise => "noise",
            Corruption::Blur => "blur",
            Corruption::Jpeg => "jpeg",
            Corruption::Contrast => "contrast",
            Corruption::Occlusion => "occlusion",
            Corruption::Rotation => "rotation",
        }
    }

    /// What severity `s` (1..=5) means, for people.
    pub fn describe(self, s: u32) -> String {
        let i = (s.clamp(1, SEVERITIES) - 1) as usize;
        match self {
            Corruption::Noise => format!("Gaussian noise, sigma {:.0} grey levels", NOISE_SIGMA[i] * 255.0),
            Corruption::Blur => format!("Gaussian blur, sigma {:.1} % of the side", BLUR_SIGMA[i] * 100.0),
            Corruption::Jpeg => format!("JPEG quality {}", JPEG_QUALITY[i]),
            Corruption::Contrast => {
                format!("contrast x{:.2}, brightness {:+.0} levels", CONTRAST[i], BRIGHTNESS[i])
            }
            Corruption::Occlusion => format!("grey square of {:.0} % of the side", OCCLUSION[i] * 100.0),
            Corruption::Rotation => format!("rotation {:.0} degrees, zoom x{:.2}", ROTATION_DEG[i], ZOOM[i]),
        }
    }
}

/// The seed of the corruptions' draws: the same for every model and run, so all are tested on
/// the same corrupted images.
pub const SEED: u64 = 2019;

/// Severities per corruption.
pub const SEVERITIES: u32 = 5;
/// Noise sigma, as a fraction of 255.
pub const NOISE_SIGMA: [f64; 5] = [0.04, 0.08, 0.12, 0.18, 0.26];
/// Blur sigma, as a fraction of the image side.
pub const BLUR_SIGMA: [f64; 5] = [0.01, 0.02, 0.03, 0.045, 0.06];
pub const JPEG_QUALITY: [u8; 5] = [75, 50, 30, 15, 8];
/// Contrast factor around mid-grey, and brightness shift in grey levels (its sign drawn per image).
pub const CONTRAST: [f64; 5] = [0.75, 0.55, 0.4, 0.28, 0.18];
pub const BRIGHTNESS: [f64; 5] = [10.0, 20.0, 30.0, 40.0, 50.0];
/// Side of the grey square, as a fraction of the image side (its place drawn per image).
pub const OCCLUSION: [f64; 5] = [0.15, 0.25, 0.35, 0.45, 0.55];
/// Rotation in degrees (its sign drawn per image) and zoom (below 1: the face shrinks).
pub const ROTATION_DEG: [f64; 5] = [8.0, 16.0, 24.0, 32.0, 40.0];
pub const ZOOM: [f64; 5] = [0.95, 0.9, 0.85, 0.8, 0.75];

/// A trained model tested on corrupted copies of its test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustnessSpec {
    pub model: ModelSpec,
    pub classes: usize,
    pub weights: JobHash,
    pub data: JobHash,
    pub fold: Option<u32>,
    pub corruptions: Vec<Corruption>,
    pub severities: u32,
    /// The corruptions' random draws (noise, signs, places) derive from it.
    pub seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions() {
        let names: Vec<&str> = Corruption::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["noise", "blur", "jpeg", "contrast", "occlusion", "rotation"]);
        for c in Corruption::ALL {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.name()));
        }
        assert_eq!(Corruption::Jpeg.describe(5), "JPEG quality 8");
        assert_eq!(Corruption::Rotation.describe(2), "rotation 16 degrees, zoom x0.90");
        assert_eq!(Corruption::Noise.describe(1), "Gaussian noise, sigma 10 grey levels");
    }
}
