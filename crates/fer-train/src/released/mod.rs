//! The authors' released models, and the checkpoint format they come in.

pub mod microexpnet;
pub mod outputs;
pub mod tf_bundle;
