//! The architectures' typed configs: each one's settings, defaults and checks, in one place each.

mod config;
pub mod deep_emotion;
pub mod flops;
pub mod inception;
mod input;
pub mod microexpnet;
mod setting;
pub mod train;

pub use config::{Arch, ArchConfig};
pub use deep_emotion::DeepEmotionConfig;
pub use flops::Network;
pub use inception::InceptionV3Config;
pub use input::InputNorm;
pub use microexpnet::{MicroExpNetConfig, Variant};
pub use setting::{Key, Setting};
pub use train::{AdamSpec, DistillConfig, Optimizer, Select, TrainConfig};
