//! Evaluation: classification metrics and inference latency.

mod latency;
mod metrics;

pub use latency::median_ms;
pub use metrics::{classification, ClassMetrics, Classification};
