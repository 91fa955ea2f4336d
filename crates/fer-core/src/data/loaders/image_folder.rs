//! A user's own data: `<root>/<class>/<image>`, one folder per class, images `.png`, `.jpg`, `.jpeg`, `.tif`, `.tiff`.
//!
//! Classes are the folder names in sorted (byte) order; a class folder may be empty. Only files
//! directly in a class folder are read; other files there are ignored, and an image lying directly in
//! the root is a bad item. The subject of an image is its file stem up to the first `_`
//! (`alice_001.png` -> `alice`), or the whole stem when it has no `_` (then every image is its own
//! subject); name files `<subject>_<anything>` to get subject-independent folds.
//! BMP is not read: this build's `image` crate has no BMP decoder; `.bmp` files are bad items.

use std::path::Path;

use super::files::{decode_all, finish, has_ext, rel, Candidate, Ctx, Pending};
use super::item::Loaded;
use crate::data::error::DataError;

/// Image extensions read (case-insensitive).
pub const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// The subject of a file name: the stem up to the first `_`, or the whole stem.
pub fn subject_of(file_name: &str) -> String {
    let stem = match file_name.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => file_name,
    };
    match stem.split_once('_') {
        Some((prefix, _)) if !prefix.is_empty() => prefix.to_string(),
        _ => stem.to_string(),
    }
}

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let mut class_names = Vec::new();
    let mut pending = Vec::new();
    for e in ctx.tree.list(root)? {
        if !e.is_dir {
            if has_ext(&e.name, &EXTENSIONS) || has_ext(&e.name, &["bmp"]) {
                pending.push(Pending::bad(&e.path, root, "an image outside a class folder"));
            }
            continue;
        }
        let label = class_names.len();
        class_names.push(e.name.clone());
        for f in ctx.tree.list(&e.path)?.into_iter().filter(|f| !f.is_dir) {
            if has_ext(&f.name, &["bmp"]) {
                pending.push(Pending::bad(&f.path, root, "BMP images are not supported; convert them to PNG"));
            } else if has_ext(&f.name, &EXTENSIONS) {
                pending.push(Pending::Decode(Candidate {
                    source: rel(root, &f.path),
                    subject: subject_of(&f.name),
                    path: f.path,
                    label,
                    empty_is_skip: false,
                    landmarks: None,
                }));
            }
        }
    }
    if class_names.is_empty() {
        return Err(DataError::layout(root, "expected one folder per class here"));
    }
    finish(decode_all(pending, ctx), class_names, ctx.opts.skip_bad)
}
