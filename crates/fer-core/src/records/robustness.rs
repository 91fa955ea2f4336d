//! `robustness.json` of a robustness job: a model's test accuracy on clean and corrupted copies of
//! its test split.

use serde::{Deserialize, Serialize};

/// Version of `robustness.json`.
pub const ROBUSTNESS_FORMAT: u32 = 1;

/// `robustness.json` of a robustness job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RobustnessRecord {
    pub format_version: u32,
    /// The architecture, as `EvalResult::model`.
    pub model: String,
    /// The model's classes (chance is one in this many).
    pub classes: usize,
    /// Test images.
    pub n: usize,
    pub clean_accuracy: f64,
    /// One row per corruption and severity.
    pub rows: Vec<RobustnessRow>,
    /// Mean corrupted accuracy over every corruption and severity, divided by the clean accuracy
    /// (in the manner of ImageNet-C's relative scores; 1 is as good as clean).
    pub relative: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustnessRow {
    /// `noise`, `blur`, `jpeg`, `contrast`, `occlusion`, `rotation`.
    pub corruption: String,
    pub severity: u32,
    pub accuracy: f64,
}
