//! What a prepare job writes beside its tensors: the file names of a prepare entry and
//! `summary.json` (counts per split and class, subjects, the protocol, skipped images, crops).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// File names in a prepare entry.
pub const DATA_FILE: &str = "data.safetensors";
pub const SUMMARY_FILE: &str = "summary.json";
pub const SAMPLES_FILE: &str = "samples.png";

/// Counts written beside the data (`summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub images: usize,
    pub size: u32,
    pub class_names: Vec<String>,
    /// split -> class -> count.
    pub counts: BTreeMap<String, Vec<usize>>,
    /// split -> number of subjects.
    pub subjects: BTreeMap<String, usize>,
    pub protocol: String,
    /// Items left out, by kind (`empty`, `unlabelled`, `bad`, `dropped`, `noface`).
    #[serde(default)]
    pub skipped: BTreeMap<String, usize>,
    /// How a real data set's images were cropped (boxed: most summaries are read in bulk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faces: Option<Box<CropSummary>>,
}

/// The crop policy of a prepared real data set and what it did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CropSummary {
    /// The policy in words.
    pub policy: String,
    /// How the images were cropped, by count: `landmarks`, `face`, `no-face` (centre-cropped for
    /// want of a face), `center`, `whole`.
    pub counts: BTreeMap<String, usize>,
    /// The images where no face was found, with what was done (`<source>: centre-cropped` or
    /// `<source>: skipped`), sorted by source.
    pub no_face: Vec<String>,
}

impl Summary {
    /// How many images had no face found (centre-cropped or skipped).
    pub fn no_face_count(&self) -> usize {
        self.faces.as_ref().map_or(0, |f| f.no_face.len())
    }
}
