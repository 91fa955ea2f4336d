//! Data sets: the built-in synthetic common set and prepared tensor files with splits.

pub mod assemble;
pub mod content;
pub mod crop;
pub mod decode;
pub mod error;
pub mod face;
pub mod loaders;
pub mod location;
pub mod manifest;
mod prepared;
mod samples;
pub mod splits;
pub mod synthetic;
#[cfg(test)]
mod testdata;
pub mod verify;

pub use prepared::{
    build, read, subject_split, write, CropSummary, Prepared, Split, Summary, DATA_FILE, SAMPLES_FILE, SUMMARY_FILE,
};
pub use samples::{grid_png, write_samples};
