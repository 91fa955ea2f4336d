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
        source: crate::store::StoreError,
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
}

impl ReportError {
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Write { path: path.into(), source }
    }

    pub fn table(table: &str, source: polars::error::PolarsError) -> Self {
        ReportError::Table { table: table.to_string(), source }
    }
}
