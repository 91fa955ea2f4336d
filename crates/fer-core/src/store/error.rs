//! Errors of the artifact store.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to access `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to use store `{path}`: it is not writable ({source})")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read `{path}`: {message}")]
    Format { path: PathBuf, message: String },
    #[error("failed to use store `{path}`: it has format version `{found}`, this program reads version `{expected}`")]
    Version { path: PathBuf, found: u32, expected: u32 },
}

impl StoreError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io { path: path.into(), source }
    }

    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        StoreError::Format { path: path.into(), message: message.into() }
    }
}
