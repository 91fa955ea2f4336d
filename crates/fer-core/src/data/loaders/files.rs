//! Listing data set folders in sorted order and decoding the listed images in parallel, keeping that order.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use image::GrayImage;
use rayon::prelude::*;

use super::item::{Item, LoadOptions, Loaded, LoaderKind, SkipKind, Skipped};
use crate::data::crop::{self, parse_landmarks, Cropped, Point};
use crate::data::decode::{decode_gray, resize_square};
use crate::data::error::DataError;

/// What a loader needs besides the root: the options and whether decoded pixels are kept
/// (`verify` decodes every image to check it but keeps none).
pub(crate) struct Ctx<'a> {
    pub opts: &'a LoadOptions,
    pub keep_images: bool,
    /// The walk below the data folder.
    pub tree: Tree,
}

impl Ctx<'_> {
    /// Applies the crop and resize option (`landmarks`: the image's points, when it has a file), or
    /// drops the pixels when they are not kept. `None` when no face is found and the crop says `skip`.
    pub(crate) fn finish_image(&self, img: GrayImage, landmarks: Option<&[Point]>) -> Option<(GrayImage, Cropped)> {
        if !self.keep_images {
            return Some((GrayImage::new(0, 0), Cropped::Whole));
        }
        let Some(r) = self.opts.resize else { return Some((img, Cropped::Whole)) };
        let (square, how) = crop::choose(&img, &r.crop, landmarks)?;
        Some((resize_square(crop::cut(img, square), r.size), how))
    }

    /// The outcome for a decoded image: an item, cropped and resized, or skipped for want of a face.
    pub(crate) fn item(
        &self,
        img: GrayImage,
        landmarks: Option<&[Point]>,
        label: usize,
        subject: String,
        source: String,
    ) -> Outcome {
        match self.finish_image(img, landmarks) {
            Some((image, crop)) => Outcome::Item(Item { image, label, subject, usage: None, source, crop }),
            None => Outcome::Skip(Skipped { source, kind: SkipKind::NoFace, reason: "no face found".to_string() }),
        }
    }
}

/// A directory entry.
pub(crate) struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub is_dir: bool,
}

/// An entry the walk neither follows nor opens, with why: named in a warning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Special {
    /// `/`-separated, relative to the data folder.
    pub path: String,
    pub reason: String,
}

/// True for names every loader ignores: hidden files (`.DS_Store`) and macOS archive folders (`__MACOSX`).
pub(crate) fn ignored(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX" || name.eq_ignore_ascii_case("Thumbs.db")
}

/// A walk below one data folder. Only regular files and folders are listed. A symbolic link is
/// followed when its target lies inside the data folder (and is not a folder holding the link: a
/// loop); links out of the folder, broken links, FIFOs, sockets and devices are skipped, never
/// opened, and remembered (see [`Tree::skipped`]).
pub(crate) struct Tree {
    root: PathBuf,
    /// The data folder with every link resolved; `None` when it cannot be resolved (absent).
    canon: Option<PathBuf>,
    skipped: Mutex<BTreeSet<Special>>,
}

impl Tree {
    pub(crate) fn new(root: &Path) -> Tree {
        Tree { root: root.to_path_buf(), canon: fs::canonicalize(root).ok(), skipped: Mutex::new(BTreeSet::new()) }
    }

    fn skip(&self, path: &Path, reason: String) {
        let s = Special { path: rel(&self.root, path), reason };
        self.skipped.lock().unwrap_or_else(|e| e.into_inner()).insert(s);
    }

    /// What was skipped so far, sorted by path.
    pub(crate) fn skipped(&self) -> Vec<Special> {
        self.skipped.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    fn inside(&self, p: &Path) -> bool {
        self.canon.as_deref().is_some_and(|c| p.starts_with(c))
    }

    /// The entries of `dir` (the data folder or a folder below it), sorted by name, without ignored
    /// names and without what [`Tree`] skips. A folder that resolves outside the data folder lists empty.
    pub(crate) fn list(&self, dir: &Path) -> Result<Vec<Entry>, DataError> {
        match fs::canonicalize(dir) {
            Ok(c) if self.inside(&c) => {}
            Ok(c) => {
                self.skip(dir, format!("a folder at `{}`, out of the data folder", c.display()));
                return Ok(Vec::new());
            }
            Err(e) => return Err(DataError::io(dir, e)),
        }
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
            let is_dir = if ft.is_symlink() {
                match self.follow(&path) {
                    Ok(d) => d,
                    Err(reason) => {
                        self.skip(&path, reason);
                        continue;
                    }
                }
            } else if ft.is_dir() || ft.is_file() {
                ft.is_dir()
            } else {
                self.skip(&path, format!("{}, not a regular file", special_kind(&ft)));
                continue;
            };
            out.push(Entry { name, path, is_dir });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Whether the link at `path` leads to a folder (`Ok(true)`) or a regular file (`Ok(false)`)
    /// inside the data folder; otherwise why it is skipped.
    fn follow(&self, path: &Path) -> Result<bool, String> {
        let target = fs::canonicalize(path).map_err(|e| format!("a broken symbolic link ({e})"))?;
        if !self.inside(&target) {
            return Err(format!("a symbolic link to `{}`, out of the data folder", target.display()));
        }
        let meta = fs::metadata(&target).map_err(|e| format!("a symbolic link to an unreadable file ({e})"))?;
        let ft = meta.file_type();
        if ft.is_file() {
            return Ok(false);
        }
        if !ft.is_dir() {
            return Err(format!("a symbolic link to {}, not to a regular file", special_kind(&ft)));
        }
        let parent = path.parent().and_then(|p| fs::canonicalize(p).ok());
        if parent.is_some_and(|p| p.starts_with(&target)) {
            return Err("a symbolic link to a folder holding it (a loop)".to_string());
        }
        Ok(true)
    }
}

/// `a FIFO`, `a socket`, `a device`, ... for a file type that is neither a file nor a folder.
fn special_kind(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Reads a regular file whole. The file is opened without blocking and checked to be a regular
/// file before anything is read, so a FIFO or a device swapped in after the listing fails at once.
pub(crate) fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_regular(path)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// Opens a regular file for reading (see [`read_regular`]); anything else is an error.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let ft = f.metadata()?.file_type();
    if !ft.is_file() {
        return Err(std::io::Error::other(format!("{}, not a regular file", special_kind(&ft))));
    }
    Ok(f)
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
    if Tree::new(root).list(root)?.is_empty() {
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
    /// CK+: the frame's landmarks file, when there is one (read only under the `landmarks` crop).
    pub landmarks: Option<PathBuf>,
}

/// One step of a loader's listing: an image to decode, or an outcome already known.
pub(crate) enum Pending {
    Decode(Candidate),
    Done(Outcome),
}

impl Pending {
    pub(super) fn bad(file: &Path, root: &Path, reason: impl Into<String>) -> Pending {
        Pending::Done(Outcome::Bad(BadItem {
            file: file.to_path_buf(),
            line: None,
            source: rel(root, file),
            reason: reason.into(),
        }))
    }

    pub(super) fn skip(source: String, kind: SkipKind, reason: impl Into<String>) -> Pending {
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
    let bytes = match read_regular(&c.path) {
        Ok(b) => b,
        Err(e) => return bad(format!("failed to read the file: {e}"), c),
    };
    if bytes.is_empty() && c.empty_is_skip {
        return Outcome::Skip(Skipped { source: c.source, kind: SkipKind::Empty, reason: "empty file".to_string() });
    }
    let img = match decode_gray(&bytes, &c.path) {
        Ok(img) => img,
        Err(reason) => return bad(reason, c),
    };
    let wants_landmarks =
        ctx.keep_images && ctx.opts.resize.is_some_and(|r| r.crop.policy == crop::CropPolicy::Landmarks);
    let points = match (&c.landmarks, wants_landmarks) {
        (Some(file), true) => match read_landmarks(file) {
            Ok(p) => Some(p),
            Err((line, reason)) => return Outcome::Bad(BadItem { source: c.source, file: file.clone(), line, reason }),
        },
        _ => None,
    };
    ctx.item(img, points.as_deref(), c.label, c.subject, c.source)
}

/// Reads and parses a landmarks file; the error has the line (when it is about one) and the reason.
fn read_landmarks(file: &Path) -> Result<Vec<Point>, (Option<usize>, String)> {
    let bytes = read_regular(file).map_err(|e| (None, format!("failed to read the landmarks file: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| (None, "the landmarks file is not UTF-8 text".to_string()))?;
    parse_landmarks(text).map_err(|(line, reason)| (Some(line), reason))
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
