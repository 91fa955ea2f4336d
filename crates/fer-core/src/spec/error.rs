//! Errors in a pipeline file: each names the file, line:column (or the `--set` at fault) and key.

use std::fmt;

use super::source_map::Pos;

/// Where a faulty value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A position in the pipeline file (or just the file when unknown).
    File { file: String, pos: Option<Pos> },
    /// A `--set key=value` on the command line.
    Set(String),
}

/// One problem found in a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub origin: Origin,
    /// Key path, e.g. `models.deep-emotion.lr`; empty for the whole document.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File { file, pos: Some(p) } => write!(f, "{file}:{}:{}: ", p.line, p.col)?,
            Origin::File { file, pos: None } => write!(f, "{file}: ")?,
            Origin::Set(arg) => write!(f, "--set `{arg}`: ")?,
        }
        if !self.key.is_empty() {
            write!(f, "key `{}`: ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Failure to load a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("failed to read pipeline `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read pipeline `{path}`: {why}")]
    Unusable { path: String, why: String },
    #[error("failed to load pipeline `{file}`:\n{}", render(.diagnostics))]
    Invalid { file: String, diagnostics: Vec<Diagnostic> },
}

impl SpecError {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SpecError::Read { .. } | SpecError::Unusable { .. } => &[],
            SpecError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
}
