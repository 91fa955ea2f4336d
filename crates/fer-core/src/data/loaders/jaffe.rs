//! JAFFE: a flat folder of `SUBJ.EXn.idx.tiff` files, e.g. `YM.FE4.70.tiff`.
//!
//! The subject is the first field (`YM`); the expression is the first two letters of the second
//! field (`FE`). Files that are not `.tiff`/`.tif` (the README) are ignored; a TIFF whose name does
//! not follow the pattern is a bad item.

use std::path::Path;

use super::files::{decode_all, finish, has_ext, rel, Candidate, Ctx, Pending};
use super::item::Loaded;
use crate::data::error::DataError;

/// Expression codes in file names, in label order.
pub const CODES: [&str; 7] = ["AN", "DI", "FE", "HA", "NE", "SA", "SU"];

/// Native class names, in the order of [`CODES`].
pub const CLASS_NAMES: [&str; 7] = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"];

/// Parses `SUBJ.EXn.idx.tiff` into (subject, label).
pub fn parse_name(name: &str) -> Result<(String, usize), String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() != 4 || parts[0].is_empty() || parts[2].is_empty() {
        return Err(format!("expected a file name like `YM.FE4.70.tiff`, found `{name}`"));
    }
    let code = parts[1].get(..2).unwrap_or("");
    match CODES.iter().position(|c| c.eq_ignore_ascii_case(code)) {
        Some(label) => Ok((parts[0].to_string(), label)),
        None => Err(format!("expression code `{}` is not one of `{}`", parts[1], CODES.join("`, `"))),
    }
}

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let mut pending = Vec::new();
    for f in ctx.tree.list(root)?.into_iter().filter(|e| !e.is_dir && has_ext(&e.name, &["tiff", "tif"])) {
        match parse_name(&f.name) {
            Ok((subject, label)) => pending.push(Pending::Decode(Candidate {
                source: rel(root, &f.path),
                path: f.path,
                label,
                subject,
                empty_is_skip: false,
                landmarks: None,
            })),
            Err(reason) => pending.push(Pending::bad(&f.path, root, reason)),
        }
    }
    if pending.is_empty() {
        return Err(DataError::layout(root, "expected JAFFE `.tiff` files named like `YM.FE4.70.tiff` here"));
    }
    finish(decode_all(pending, ctx), CLASS_NAMES.iter().map(|s| s.to_string()).collect(), ctx.opts.skip_bad)
}
