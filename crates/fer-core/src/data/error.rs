//! The error of every data operation: loading, manifests, hashing, folds; each names the file and line at fault.

use std::path::PathBuf;

/// Formats an optional 1-based line number as ` line N` (empty when unknown).
fn at_line(line: &Option<usize>) -> String {
    match line {
        Some(n) => format!(" line {n}"),
        None => String::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data set is not on this machine (missing or empty folder): jobs that need it are unavailable.
    #[error(
        "failed to find data set `{name}` at `{}`: obtain it under its licence and put it there ({layout}), \
         or set FER_DATA_DIR, or point the manifest's `location:` at it",
        .expected_path.display()
    )]
    Absent { name: String, expected_path: PathBuf, layout: &'static str },

    /// A file or folder could not be read at all.
    #[error("failed to read `{}`: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// One item is bad: a corrupt image, a malformed CSV row, a label out of range, a garbled label file.
    #[error("failed to load `{}`{}: {reason}", .file.display(), at_line(.line))]
    Bad { file: PathBuf, line: Option<usize>, reason: String },

    /// The folder is there but does not look like the data set's layout.
    #[error("failed to read the layout of `{}`: {reason}", .path.display())]
    Layout { path: PathBuf, reason: String },

    /// A file that must not be used (Kaggle's unlabelled `test.csv`).
    #[error("failed to use `{}`: {reason}", .path.display())]
    Refused { path: PathBuf, reason: String },

    /// A manifest that cannot be parsed or is inconsistent.
    #[error("failed to read manifest `{}`{}: {reason}", .path.display(), at_line(.line))]
    Manifest { path: PathBuf, line: Option<usize>, reason: String },

    /// Loader options out of range.
    #[error("failed to use loader option `{option}`: {reason}")]
    Options { option: &'static str, reason: String },

    /// A loader kind that does not exist.
    #[error(
        "failed to parse loader `{0}`: expected one of `fer2013`, `ferg`, `jaffe`, `ckplus`, `oulu-casia`, `image-folder`"
    )]
    UnknownLoader(String),

    /// Labels that cannot be mapped onto the canonical set.
    #[error("failed to map the labels of `{name}`: {reason}")]
    Labels { name: String, reason: String },

    /// Folds or splits that cannot be made.
    #[error("failed to split the data: {0}")]
    Split(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }

    pub(crate) fn layout(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::Layout { path: path.into(), reason: reason.into() }
    }

    /// True when the data set is simply not on this machine (the planner marks its jobs unavailable).
    pub fn is_absent(&self) -> bool {
        matches!(self, DataError::Absent { .. })
    }
}
