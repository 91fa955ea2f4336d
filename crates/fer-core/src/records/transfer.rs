//! `transfer.json` of a transfer job: a model trained on one data set tested on another's test
//! split (every image under k folds), over the classes both share (domain shift).

use serde::{Deserialize, Serialize};

use super::classification::Classification;

/// Version of `transfer.json`.
pub const TRANSFER_FORMAT: u32 = 1;

/// `transfer.json` of a transfer job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferRecord {
    pub format_version: u32,
    /// The architecture, as `EvalResult::model`.
    pub model: String,
    /// The shared classes, in the tested data set's order (the order of `test`'s classes).
    pub shared: Vec<String>,
    /// Which images: `test split` or `all images (k-fold data)`.
    pub images: String,
    /// Metrics over the tested images of shared classes, predictions restricted to them.
    pub test: Classification,
    /// Tested images left out because the model has no output for their class.
    pub dropped: usize,
}
