//! Listing data set folders in sorted order and decoding the listed images in parallel, keeping that order.

use std::fs;
use std::path::{Path, PathBuf};

use image::GrayImage;
use rayon::prelude::*;

use super::item::{Item, LoadOptions, Loaded, LoaderKind, SkipKind, Skipped};
use crate::data::decode::{decode_gray, resize_image};
use crate::data::error::DataError;

/// What a loader needs besides the root: the options and whether decoded pixels are kept
/// (`verify` decodes every image to check it but keeps none).
pub(crate) struct Ctx<'a> {
    pub opts: &'a LoadOptions,
    pub keep_images: bool,
}

impl Ctx<'_> {
    /// Applies the resize option, or drops the pixels when they are not kept.
    pub fn finish_image(&self, img: GrayImage) -> GrayImage {
        if !self.keep_images {
            return GrayImage::new(0, 0);
        }
        match self.opts.resize {
            Some(r) => resize_image(&img, r.size, r.crop),
            None => img,
        }
    }
}

/// A directory entry.
pub(crate) struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub is_dir: bool,
}

/// True for names every loader ignores: hidden files (`.DS_Store`) and macOS archive folders (`__MACOSX`).
pub(crate) fn ignored(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX" || name.eq_ignore_ascii_case("Thumbs.db")
}

/// The entries of `dir`, sorted by name, without ignored ones. Symbolic links are followed.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<Entry>, DataError> {
    let rd = fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|err| DataError::io(dir, err))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        let path = e.path();
        let ft = e.file_type().map_err(|err| DataError::io(&path, err))?;
        let is_dir = if ft.is_symlink() { path.is_dir() } else { ft.is_dir() };
        out.push(Entry { name, path, is_dir });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Fails with [`DataError::Absent`] when `root` is missing or holds nothing (but ignored names).
pub(crate) fn check_present(kind: LoaderKind, name: &str, root: &Path) -> Result<(), DataError> {
    let absent =
        || DataError::Absent { name: name.to_string(), expected_path: root.to_path_buf(), layout: kind.layout() };
    if root.is_file() {
        return Ok(());
    }
    if !root.is_dir() {
        return Err(absent());
    }
    if list_dir(root)?.is_empty() {
        return Err(absent());
    }
    Ok(())
}

/// `path` relative to `root`, with `/` separators (the item's `source`).
pub(crate) fn rel(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = r.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    parts.join("/")
}

/// A bad item, before the caller decides to fail or to skip it.
#[derive(Debug)]
pub(crate) struct BadItem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub source: String,
    pub reason: String,
}

/// The result for one item, in item order.
pub(crate) enum Outcome {
    Item(Item),
    Skip(Skipped),
    Bad(BadItem),
}

/// An image file to decode, with its label known from the layout.
pub(crate) struct Candidate {
    pub path: PathBuf,
    pub source: String,
    pub label: usize,
    pub subject: String,
    /// Empty files are skipped (counted) instead of being bad (FERG-DB).
    pub empty_is_skip: bool,
}

/// One step of a loader's listing: an image to decode, or an outcome already known.
pub(crate) enum Pending {
    Decode(Candidate),
    Done(Outcome),
}

impl Pending {
    pub fn bad(file: &Path, root: &Path, reason: impl Into<String>) -> Pending {
        Pending::Done(Outcome::Bad(BadItem {
            file: file.to_path_buf(),
            line: None,
            source: rel(root, file),
            reason: reason.into(),
        }))
    }

    pub fn skip(source: String, kind: SkipKind, reason: impl Into<String>) -> Pending {
        Pending::Done(Outcome::Skip(Skipped { source, kind, reason: reason.into() }))
    }
}

/// Reads and decodes the pending images in parallel; the output keeps the input order.
pub(crate) fn decode_all(pending: Vec<Pending>, ctx: &Ctx<'_>) -> Vec<Outcome> {
    pending
        .into_par_iter()
        .map(|p| match p {
            Pending::Done(o) => o,
            Pending::Decode(c) => decode_one(c, ctx),
        })
        .collect()
}

fn decode_one(c: Candidate, ctx: &Ctx<'_>) -> Outcome {
    let bad =
        |reason: String, c: Candidate| Outcome::Bad(BadItem { file: c.path, line: None, source: c.source, reason });
    let bytes = match fs::read(&c.path) {
        Ok(b) => b,
        Err(e) => return bad(format!("failed to read the file: {e}"), c),
    };
    if bytes.is_empty() && c.empty_is_skip {
        return Outcome::Skip(Skipped { source: c.source, kind: SkipKind::Empty, reason: "empty file".to_string() });
    }
    match decode_gray(&bytes, &c.path) {
        Ok(img) => Outcome::Item(Item {
            image: ctx.finish_image(img),
            label: c.label,
            subject: c.subject,
            usage: None,
            source: c.source,
        }),
        Err(reason) => bad(reason, c),
    }
}

/// Collects outcomes into a [`Loaded`]: the first bad item (in item order) is the error, unless
/// `skip_bad`, in which case every bad item is listed in `skipped`.
pub(crate) fn finish(outcomes: Vec<Outcome>, class_names: Vec<String>, skip_bad: bool) -> Result<Loaded, DataError> {
    let mut items = Vec::with_capacity(outcomes.len());
    let mut skipped = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Item(i) => items.push(i),
            Outcome::Skip(s) => skipped.push(s),
            Outcome::Bad(b) if skip_bad => {
                skipped.push(Skipped { source: b.source, kind: SkipKind::Bad, reason: b.reason })
            }
            Outcome::Bad(b) => return Err(DataError::Bad { file: b.file, line: b.line, reason: b.reason }),
        }
    }
    Ok(Loaded { items, class_names, skipped })
}

/// True when `name` has one of the image extensions (case-insensitive).
pub(crate) fn has_ext(name: &str, exts: &[&str]) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => exts.iter().any(|e| ext.eq_ignore_ascii_case(e)),
        _ => false,
    }
}
