//! Errors of the report: every message names the file or table at fault.

use std::path::PathBuf;

/// Why a report could not be written. Bad or partial store entries are not errors: the
/// report lists them as missing and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to read the store `{path}`: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: fer_core::store::StoreError,
    },
    #[error("failed to write `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to build table `{table}`: {source}")]
    Table {
        table: String,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("failed to write table `{path}`: {source}")]
    TableFile {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("failed to draw chart `{path}`: {message}")]
    Chart { path: PathBuf, message: String },
    #[error("failed to read the published figures `{path}`: {message}")]
    Published { path: String, message: String },
    #[error("failed to register the chart font `{name}`")]
    Font { name: String },
    #[error(
        "failed to write the report into `{path}`: the folder is not empty and holds no report of fer-pipeline \
         (no `.fer-report.json`); choose a new or empty folder, or pass --force to write into it (files the \
         report did not write are never deleted)"
    )]
    NotReportFolder { path: PathBuf },
    #[error("failed to read the report manifest `{path}`: {message}; pass --force to write the report anyway (then no earlier file is deleted)")]
    Manifest { path: PathBuf, message: String },
}

impl ReportError {
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Write { path: path.into(), source }
    }

    /// True when the folder or its manifest needs the user's decision (`--force`), not a fix.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ReportError::NotReportFolder { .. } | ReportError::Manifest { .. })
    }

    pub fn table(table: &str, source: polars::error::PolarsError) -> Self {
        ReportError::Table { table: table.to_string(), source }
    }
}
