//! FERG-DB: `FERG_DB_256/<char>/<char>_<expr>/<char>_<expr>_<n>.png`; the label is the `<expr>` of the folder.
//!
//! Subjects are the six characters (aia, bonnie, jules, malcolm, mery, ray). Empty files, which the
//! distribution contains, are skipped and counted ([`SkipKind::Empty`](super::SkipKind::Empty)).
//! Files other than `.png` are ignored.

use std::path::Path;

use super::files::{decode_all, finish, has_ext, rel, Candidate, Ctx, Pending};
use super::item::Loaded;
use crate::data::error::DataError;

/// Native class names (the `<expr>` folder suffixes), in alphabetical order.
pub const CLASS_NAMES: [&str; 7] = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"];

/// The folder below the root that holds the character folders.
pub const TOP_DIR: &str = "FERG_DB_256";

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let top = root.join(TOP_DIR);
    if !top.is_dir() {
        return Err(DataError::layout(root, format!("expected the folder `{TOP_DIR}` here")));
    }
    let mut pending = Vec::new();
    for ch in ctx.tree.list(&top)?.into_iter().filter(|e| e.is_dir) {
        for ex in ctx.tree.list(&ch.path)?.into_iter().filter(|e| e.is_dir) {
            let expr = ex.name.strip_prefix(&ch.name).and_then(|s| s.strip_prefix('_'));
            let Some(label) = expr.and_then(|x| CLASS_NAMES.iter().position(|c| *c == x)) else {
                pending.push(Pending::bad(
                    &ex.path,
                    root,
                    format!(
                        "expected a folder named `{}_<expression>` with an expression in `{}`, found `{}`",
                        ch.name,
                        CLASS_NAMES.join("`, `"),
                        ex.name
                    ),
                ));
                continue;
            };
            for f in ctx.tree.list(&ex.path)?.into_iter().filter(|e| !e.is_dir && has_ext(&e.name, &["png"])) {
                pending.push(Pending::Decode(Candidate {
                    source: rel(root, &f.path),
                    path: f.path,
                    label,
                    subject: ch.name.clone(),
                    empty_is_skip: true,
                    landmarks: None,
                }));
            }
        }
    }
    if pending.is_empty() {
        return Err(DataError::layout(&top, "expected `<char>/<char>_<expr>/*.png` below this folder; found no image"));
    }
    finish(decode_all(pending, ctx), CLASS_NAMES.iter().map(|s| s.to_string()).collect(), ctx.opts.skip_bad)
}
