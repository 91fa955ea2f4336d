//! The rendering style of the built-in synthetic data set (`style:`): how posed or "in the wild"
//! its faces are, so that a pipeline can hold two synthetic sets of different distributions and
//! measure domain shift between them out of the box.
//!
//! * `mixed` (the default, and the only style before `style:` existed: its images are unchanged):
//!   everything scales with `difficulty`.
//! * `posed`, like CK+ or JAFFE: frontal faces, even light, full-intensity expressions, no
//!   occlusion, little noise.
//! * `wild`, like FER2013: in-plane rotation and shifts, strong directional light and contrast
//!   changes, many subtle expressions, frequent hand occlusion, more noise.

use serde::{Deserialize, Serialize};

/// The rendering style of a synthetic data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    #[default]
    Mixed,
    Posed,
    Wild,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Mixed, Style::Posed, Style::Wild];

    pub fn name(self) -> &'static str {
        match self {
            Style::Mixed => "mixed",
            Style::Posed => "posed",
            Style::Wild => "wild",
        }
    }

    /// The `style` setting, checked.
    pub fn parse(s: &str) -> Result<Style, String> {
        Style::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown synthetic style `{s}`; known: mixed, posed, wild"))
    }

    /// Serde's `skip_serializing_if`: the default is not written, so older hashes stand.
    pub fn is_mixed(&self) -> bool {
        *self == Style::Mixed
    }
}

/// The rendering's random ranges for a style at difficulty `d` (0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Knobs {
    /// Share of subtle (low-intensity) expressions.
    pub subtle_rate: f32,
    /// Largest in-plane rotation (radians) and shift (fraction of the image).
    pub rotation: f32,
    pub shift: f32,
    /// Range of the face's scale.
    pub scale: (f32, f32),
    /// Largest strength of the directional light gradient.
    pub light: f32,
    /// Range of the global contrast, largest brightness offset, pixel noise.
    pub contrast: (f32, f32),
    pub bright: f32,
    pub sigma: f32,
    /// Chance of a hand over the face.
    pub hand: f32,
    /// Largest horizontal shift of the face's features (head turn).
    pub turn: f32,
}

impl Knobs {
    pub(crate) fn of(style: Style, d: f32) -> Knobs {
        match style {
            // The original expressions, unchanged (the images of `mixed` must not change).
            Style::Mixed => Knobs {
                subtle_rate: 0.1 + 0.4 * d,
                rotation: 0.08 + 0.25 * d,
                shift: 0.03 + 0.08 * d,
                scale: (0.9 - 0.1 * d, 1.08),
                light: 0.15 + 0.35 * d,
                contrast: (0.95 - 0.35 * d, 1.15),
                bright: 0.04 + 0.1 * d,
                sigma: 0.01 + 0.05 * d,
                hand: 0.02 + 0.1 * d,
                turn: 0.02 + 0.05 * d,
            },
            Style::Posed => Knobs {
                subtle_rate: 0.0,
                rotation: 0.02,
                shift: 0.01,
                scale: (0.98, 1.04),
                light: 0.03,
                contrast: (0.97, 1.05),
                bright: 0.015,
                sigma: 0.01,
                hand: 0.0,
                turn: 0.01,
            },
            Style::Wild => Knobs {
                subtle_rate: 0.3 + 0.3 * d,
                rotation: 0.15 + 0.2 * d,
                shift: 0.05 + 0.08 * d,
                scale: (0.8, 1.1),
                light: 0.25 + 0.25 * d,
                contrast: (0.6, 1.15),
                bright: 0.06 + 0.1 * d,
                sigma: 0.02 + 0.05 * d,
                hand: 0.1 + 0.15 * d,
                turn: 0.03 + 0.06 * d,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_match_serde() {
        for s in Style::ALL {
            assert_eq!(Style::parse(s.name()), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
        }
        assert_eq!(Style::parse("studio").unwrap_err(), "unknown synthetic style `studio`; known: mixed, posed, wild");
        assert!(Style::default().is_mixed());
    }

    #[test]
    fn posed_is_calmer_than_mixed_and_wild_wilder_at_every_difficulty() {
        for d in [0.0f32, 0.5, 1.0] {
            let (p, m, w) = (Knobs::of(Style::Posed, d), Knobs::of(Style::Mixed, d), Knobs::of(Style::Wild, d));
            for (a, b, c) in [
                (p.subtle_rate, m.subtle_rate, w.subtle_rate),
                (p.rotation, m.rotation, w.rotation),
                (p.shift, m.shift, w.shift),
                (p.light, m.light, w.light),
                (p.sigma, m.sigma, w.sigma),
                (p.hand, m.hand, w.hand),
            ] {
                assert!(a <= b && b <= c, "d={d}: {a} {b} {c}");
            }
        }
    }
}
