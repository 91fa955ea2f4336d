//! `provenance.json` of every finished job: where and how it ran (never part of its hash).

use serde::{Deserialize, Serialize};

/// Where and how a job ran (not part of its hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub format_version: u32,
    pub program: String,
    pub libtorch: String,
    pub device: String,
    pub threads: u32,
    pub deterministic: bool,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
}
