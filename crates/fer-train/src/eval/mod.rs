//! Evaluation: classification metrics and inference latency.

pub mod corrupt;
mod latency;
mod saliency;

pub use fer_core::records::{classification, ClassMetrics, Classification};
pub use latency::{median_ms, sync};
pub use saliency::{heatmap_png, occlusion_maps};
