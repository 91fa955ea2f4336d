//! Where a store entry was submitted (`<entry>/slurm.json`), so `status` can ask Slurm about it
//! and `submit` does not queue it twice.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::{read_json, write_json, Entry, StoreError};

pub const SLURM_FILE: &str = "slurm.json";

/// One entry's latest submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmRecord {
    pub format_version: u32,
    /// The array job id.
    pub array_job: String,
    pub task: usize,
    /// The sbatch script and the task's log file.
    pub script: PathBuf,
    pub log: PathBuf,
    pub submitted_at: String,
}

impl SlurmRecord {
    /// `123_4`: how squeue and scontrol name the task.
    pub fn task_id(&self) -> String {
        format!("{}_{}", self.array_job, self.task)
    }

    pub fn read(entry: &Entry) -> Option<SlurmRecord> {
        read_json(&entry.file(SLURM_FILE)).ok().flatten()
    }

    pub fn write(&self, entry: &Entry) -> Result<(), StoreError> {
        write_json(&entry.file(SLURM_FILE), self)
    }
}
