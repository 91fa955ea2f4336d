//! Model architectures: Deep-Emotion and the MicroExpNet family, built from their reference tables.

pub mod crops;
mod deep_emotion;
mod inception;
mod init;
mod microexpnet;
mod model;
mod shapes;

pub use deep_emotion::DeepEmotion;
pub use inception::InceptionV3;
pub use microexpnet::MicroExpNet;
pub use model::{Model, Net};
