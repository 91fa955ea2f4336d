//! Evaluation: classification metrics and inference latency.

mod latency;
mod metrics;
mod saliency;

pub use latency::{median_ms, sync};
pub use metrics::{classification, ClassMetrics, Classification};
pub use saliency::{heatmap_png, occlusion_maps};
