//! Data sets as described and read without LibTorch: the built-in synthetic common set, the real
//! data sets' manifests, loaders, content hashes, face crops and splits, and a prepare entry's summary.

pub mod assemble;
pub mod content;
pub mod crop;
pub mod decode;
pub mod error;
pub mod face;
pub mod loaders;
pub mod location;
pub mod manifest;
pub mod splits;
pub mod style;
pub mod subset;
mod summary;
pub mod synthetic;
#[cfg(test)]
mod testdata;
pub mod verify;

pub use splits::{subject_split, Split};
pub use summary::{CropSummary, Summary, DATA_FILE, SAMPLES_FILE, SUMMARY_FILE};
