//! The names of the artifacts jobs write into their store entries.

pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const METRICS_FILE: &str = "metrics.csv";
pub const PROVENANCE_FILE: &str = "provenance.json";
pub const RESULT_FILE: &str = "result.json";
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const TARGETS_FILE: &str = "targets.safetensors";
pub const SALIENCY_FILE: &str = "saliency.safetensors";
pub const SALIENCY_PNG: &str = "saliency.png";
pub const STN_PNG: &str = "stn.png";
pub const THROUGHPUT_FILE: &str = "throughput.json";
pub const TRANSFER_FILE: &str = "transfer.json";
pub const ROBUSTNESS_FILE: &str = "robustness.json";
