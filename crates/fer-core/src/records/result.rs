//! `result.json` of an evaluate job: its metrics on the test (and validation) split, the
//! protocol the data was split under, size and latency.

use serde::{Deserialize, Serialize};

use super::classification::Classification;

/// Version of `result.json` (2: validation metrics and the protocol; 3: `predictions_format`).
pub const RESULT_FORMAT: u32 = 3;

/// `result.json` of an evaluate job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalResult {
    pub format_version: u32,
    pub model: String,
    pub classes: usize,
    pub test: Classification,
    /// The same metrics on the validation split (absent in format 1 and when it is empty).
    #[serde(default)]
    pub val: Option<Classification>,
    /// How the data was split (absent in format 1).
    #[serde(default)]
    pub protocol: Option<ProtocolRecord>,
    /// The format of the entry's `predictions.csv` (absent before format 3: predictions format 1,
    /// without the confidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions_format: Option<u32>,
    pub trainable_params: i64,
    pub weights_bytes: u64,
    pub latency_ms_batch1: f64,
    pub latency_ms_batch64: f64,
    pub device: String,
    pub threads: u32,
}

/// Images and distinct subjects of one split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitCount {
    pub images: usize,
    pub subjects: usize,
}

/// The protocol a result was obtained under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolRecord {
    /// `subject-kfold`, `random`, `stratified`, `usage` (real data) or `subject-holdout` (synthetic).
    pub kind: String,
    /// Whether no subject is in two splits (`None`: not known, e.g. FER2013's usage split).
    pub subject_independent: Option<bool>,
    /// The protocol in words.
    pub description: String,
    /// The test fold under k-fold.
    pub fold: Option<u32>,
    pub train: SplitCount,
    pub val: SplitCount,
    pub test: SplitCount,
}
