//! `subset.json` of a train job that trains on a fraction of its training subjects
//! (`train_fraction` < 1): how many subjects and images it used, of how many, and which subjects.

use serde::{Deserialize, Serialize};

/// Version of `subset.json`.
pub const SUBSET_FORMAT: u32 = 1;

/// The file a train job writes when its `train_fraction` is below 1.
pub const SUBSET_FILE: &str = "subset.json";

/// The training subset of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSubset {
    pub format_version: u32,
    /// The `train_fraction` setting.
    pub fraction: f64,
    /// Subjects trained on, and in the whole training split.
    pub subjects: usize,
    pub of_subjects: usize,
    /// Images trained on, and in the whole training split.
    pub images: usize,
    pub of_images: usize,
    /// The ids of the subjects trained on (the prepared data's subject ids), ascending.
    pub subject_ids: Vec<i64>,
}

impl TrainSubset {
    /// One line for the job's log.
    pub fn describe(&self) -> String {
        format!(
            "train_fraction {}: training on {} of {} training subjects ({} of {} images)",
            self.fraction, self.subjects, self.of_subjects, self.images, self.of_images
        )
    }
}
