//! Data sets: the built-in synthetic common set and prepared tensor files with splits.

mod prepared;
mod samples;
pub mod synthetic;

pub use prepared::{
    build, read, subject_split, write, Prepared, Split, Summary, DATA_FILE, SAMPLES_FILE, SUMMARY_FILE,
};
pub use samples::write_samples;
