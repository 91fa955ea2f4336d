//! Data sets for training: the core's description of them (`fer_core::data`) plus the prepared
//! tensor files and sample grids, which need LibTorch.

mod prepared;
mod samples;
mod training_items;

pub use fer_core::data::*;
pub use prepared::{build, read, write, Prepared};
pub use samples::{grid_png, write_samples};
