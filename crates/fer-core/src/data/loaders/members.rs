//! The files that belong to a data set: those its loader reads (images with known extensions in the
//! expected layout, label files, the CSV), found by the loader's own walk without reading them.
//!
//! A data set's content hash covers exactly these files, so a README or `NOTES.txt` beside the data
//! changes nothing. Every frame of a CK+ or Oulu-CASIA sequence belongs (which frames are the peak
//! ones depends on how many there are), and so do CK+'s landmarks files, TIFFs whose names a JAFFE
//! loader cannot parse and images outside a class folder (the loader reports them as bad items).

use std::path::Path;

use super::ckplus::{EMOTION_DIR, IMAGES_DIR, LABEL_SUFFIX, LANDMARKS_DIR, LANDMARKS_SUFFIX};
use super::fer2013::find_csv_in;
use super::ferg::TOP_DIR;
use super::files::{has_ext, rel, Special, Tree};
use super::image_folder::EXTENSIONS;
use super::item::{LoadOptions, LoaderKind};
use super::{ferg, oulu};
use crate::data::error::DataError;

/// What the walk of a data folder found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// The files the loader reads: `/`-separated paths relative to the root, sorted.
    pub files: Vec<String>,
    /// What the walk skipped without opening it (links out of the folder, FIFOs, devices).
    pub skipped: Vec<Special>,
}

/// The files of the data set of layout `kind` at `root` (a folder, or FER2013's CSV file). A layout
/// the loader would reject gives the files found so far (the loader names the fault when it runs);
/// only an unreadable folder is an error.
pub fn members(kind: LoaderKind, root: &Path, opts: &LoadOptions) -> Result<Members, DataError> {
    let tree = Tree::new(root);
    if root.is_file() {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let files = if kind == LoaderKind::Fer2013 { vec![name] } else { Vec::new() };
        return Ok(Members { files, skipped: Vec::new() });
    }
    let mut found = Vec::new();
    let mut add = |p: &Path| found.push(rel(root, p));
    let files_in = |dir: &Path, exts: &[&str]| -> Result<Vec<std::path::PathBuf>, DataError> {
        Ok(tree.list(dir)?.into_iter().filter(|e| !e.is_dir && has_ext(&e.name, exts)).map(|e| e.path).collect())
    };
    let dirs_in = |dir: &Path| -> Result<Vec<super::files::Entry>, DataError> {
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        Ok(tree.list(dir)?.into_iter().filter(|e| e.is_dir).collect())
    };
    match kind {
        LoaderKind::Fer2013 => {
            if let Ok(csv) = find_csv_in(root, &tree) {
                add(&csv);
            }
        }
        LoaderKind::Jaffe => files_in(root, &["tiff", "tif"])?.iter().for_each(|p| add(p)),
        LoaderKind::Ferg => {
            for ch in dirs_in(&root.join(TOP_DIR))? {
                for ex in dirs_in(&ch.path)? {
                    let expr = ex.name.strip_prefix(&ch.name).and_then(|s| s.strip_prefix('_'));
                    if expr.is_some_and(|x| ferg::CLASS_NAMES.contains(&x)) {
                        files_in(&ex.path, &["png"])?.iter().for_each(|p| add(p));
                    }
                }
            }
        }
        LoaderKind::CkPlus => {
            let emotions = root.join(EMOTION_DIR);
            for subj in dirs_in(&root.join(IMAGES_DIR))? {
                for seq in dirs_in(&subj.path)? {
                    files_in(&seq.path, &["png"])?.iter().for_each(|p| add(p));
                    let labels = emotions.join(&subj.name).join(&seq.name);
                    if labels.is_dir() && emotions.is_dir() {
                        for l in tree.list(&labels)?.into_iter().filter(|e| !e.is_dir && e.name.ends_with(LABEL_SUFFIX))
                        {
                            add(&l.path);
                        }
                    }
                    // The landmarks the `landmarks` crop reads.
                    let marks = root.join(LANDMARKS_DIR).join(&subj.name).join(&seq.name);
                    if marks.is_dir() {
                        for l in
                            tree.list(&marks)?.into_iter().filter(|e| !e.is_dir && e.name.ends_with(LANDMARKS_SUFFIX))
                        {
                            add(&l.path);
                        }
                    }
                }
            }
        }
        LoaderKind::OuluCasia => {
            let base = root.join(opts.oulu_modality.dir()).join(opts.oulu_illumination.dir());
            for subj in dirs_in(&base)? {
                for ex in dirs_in(&subj.path)?.into_iter().filter(|e| oulu::CLASS_NAMES.contains(&e.name.as_str())) {
                    files_in(&ex.path, &["jpeg", "jpg"])?.iter().for_each(|p| add(p));
                }
            }
        }
        LoaderKind::ImageFolder => {
            for e in tree.list(root)? {
                if e.is_dir {
                    let mut exts = EXTENSIONS.to_vec();
                    exts.push("bmp");
                    files_in(&e.path, &exts)?.iter().for_each(|p| add(p));
                } else if has_ext(&e.name, &EXTENSIONS) || has_ext(&e.name, &["bmp"]) {
                    add(&e.path);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(Members { files: found, skipped: tree.skipped() })
}
