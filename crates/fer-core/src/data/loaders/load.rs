//! The entry point: dispatch a [`LoaderKind`] to its loader, after checking that the data set is there.

use std::path::Path;

use super::files::{check_present, Ctx, Tree};
use super::item::{LoadOptions, Loaded, LoaderKind};
use super::{ckplus, fer2013, ferg, image_folder, jaffe, oulu};
use crate::data::error::DataError;

/// Loads the data set of layout `kind` found at `root`.
///
/// A missing or empty `root` is [`DataError::Absent`]; a bad item is [`DataError::Bad`] naming the
/// file and line, unless `opts.skip_bad`. The items' order is deterministic (sorted paths, file order).
pub fn load(kind: LoaderKind, root: &Path, opts: &LoadOptions) -> Result<Loaded, DataError> {
    load_named(kind, kind.name(), root, opts)
}

/// Like [`load`], with the data set's name (as in its manifest) for the messages.
pub fn load_named(kind: LoaderKind, name: &str, root: &Path, opts: &LoadOptions) -> Result<Loaded, DataError> {
    load_inner(kind, name, root, opts, true)
}

/// With `keep_images: false`, every image is decoded (and so checked) but dropped (0x0) to save memory.
pub(crate) fn load_inner(
    kind: LoaderKind,
    name: &str,
    root: &Path,
    opts: &LoadOptions,
    keep_images: bool,
) -> Result<Loaded, DataError> {
    check_present(kind, name, root)?;
    if let Some(r) = opts.resize {
        if r.size == 0 {
            return Err(DataError::Options { option: "resize", reason: "the size must be at least 1".to_string() });
        }
    }
    let ctx = Ctx { opts, keep_images, tree: Tree::new(root) };
    if root.is_file() && kind != LoaderKind::Fer2013 {
        return Err(DataError::layout(root, format!("expected a folder holding {}", kind.layout())));
    }
    match kind {
        LoaderKind::Fer2013 => fer2013::load(root, &ctx),
        LoaderKind::Ferg => ferg::load(root, &ctx),
        LoaderKind::Jaffe => jaffe::load(root, &ctx),
        LoaderKind::CkPlus => ckplus::load(root, &ctx),
        LoaderKind::OuluCasia => oulu::load(root, &ctx),
        LoaderKind::ImageFolder => image_folder::load(root, &ctx),
    }
}
