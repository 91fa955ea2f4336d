//! What a `prepare` job needs from a real data set, as plain arrays: loaded, relabelled, resized and split.

use std::collections::BTreeMap;
use std::path::Path;

use super::crop::Cropped;
use super::error::DataError;
use super::loaders::{ResizeTo, Skipped};
use super::manifest::Manifest;
use super::splits::assign_splits;
use super::Split;

/// A data set ready to become tensors (N images of `size x size`).
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    pub size: u32,
    /// `N * size * size` bytes, row-major, image after image.
    pub pixels: Vec<u8>,
    /// Canonical labels, indices into `class_names`.
    pub labels: Vec<i64>,
    pub class_names: Vec<String>,
    /// Subject ids, indices into `subject_names` (sorted names).
    pub subjects: Vec<i64>,
    pub subject_names: Vec<String>,
    pub split: Vec<Split>,
    /// Each image's source (`S005/001/...png`, `fer2013.csv:17`), in order.
    pub sources: Vec<String>,
    /// How each image was cropped, in order.
    pub crops: Vec<Cropped>,
    /// The crop policy in words.
    pub crop: String,
    /// Empty files, unlabelled sequences, dropped classes, and bad items when `skip_bad`.
    pub skipped: Vec<Skipped>,
    /// The protocol in words, with the fold when there is one.
    pub protocol: String,
}

impl Assembled {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Loads the data set at `root` with `manifest`'s loader and options, resizes every image to `size`
/// with the manifest's crop policy while decoding, maps the labels onto the canonical set and splits
/// it by the manifest's protocol (`fold`, 0-based, is required for subject k-fold).
pub fn assemble(
    manifest: &Manifest,
    root: &Path,
    size: u32,
    fold: Option<usize>,
    skip_bad: bool,
) -> Result<Assembled, DataError> {
    let resize = ResizeTo { size, crop: manifest.crop() };
    let loaded = manifest.map_labels(manifest.load(root, skip_bad, Some(resize))?)?;
    if loaded.items.is_empty() {
        return Err(DataError::layout(root, "no item is left to use"));
    }
    let split = assign_splits(&manifest.protocol, &loaded, fold)?;
    let names: BTreeMap<&str, i64> = {
        let mut m: BTreeMap<&str, i64> = loaded.items.iter().map(|i| (i.subject.as_str(), 0)).collect();
        for (i, v) in m.values_mut().enumerate() {
            *v = i as i64;
        }
        m
    };
    let per = (size as usize) * (size as usize);
    let mut pixels = Vec::with_capacity(loaded.items.len() * per);
    for it in &loaded.items {
        pixels.extend_from_slice(it.image.as_raw());
    }
    let protocol = match fold {
        Some(f) if manifest.protocol.folds() > 1 => format!("{}; fold {f}", manifest.protocol.describe()),
        _ => manifest.protocol.describe(),
    };
    Ok(Assembled {
        size,
        labels: loaded.items.iter().map(|i| i.label as i64).collect(),
        subjects: loaded.items.iter().map(|i| names[i.subject.as_str()]).collect(),
        subject_names: names.keys().map(|s| s.to_string()).collect(),
        sources: loaded.items.iter().map(|i| i.source.clone()).collect(),
        crops: loaded.items.iter().map(|i| i.crop).collect(),
        crop: resize.crop.describe(),
        pixels,
        split,
        class_names: loaded.class_names,
        skipped: loaded.skipped,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::manifest::Manifest;
    use crate::data::testdata::*;

    #[test]
    fn ckplus_assembled_for_a_fold() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (i, s) in ["S005", "S010", "S011", "S014"].iter().enumerate() {
            write_ck_sequence(root, s, "001", 5, Some(&format!("{}.0000000e+00", i + 1)));
        }
        let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut m = Manifest::read_named(repo, "ckplus").unwrap();
        m.protocol = crate::data::manifest::Protocol::SubjectKfold { folds: 4, seed: 0, val: 0.1 };
        let a = assemble(&m, root, 12, Some(0), false).unwrap();
        assert_eq!(a.len(), 16, "3 peak frames + 1 neutral per sequence");
        assert_eq!(a.pixels.len(), 16 * 144);
        assert_eq!(a.class_names, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"]);
        // S005 is anger (1) -> angry (0); its first frame is neutral (6).
        assert_eq!(a.labels[..4], [6, 0, 0, 0]);
        assert_eq!(a.subject_names, ["S005", "S010", "S011", "S014"]);
        assert_eq!(a.subjects[4..8], [1, 1, 1, 1]);
        let count = |s: Split| a.split.iter().filter(|x| **x == s).count();
        assert_eq!((count(Split::Train), count(Split::Val), count(Split::Test)), (8, 4, 4));
        assert!(a.protocol.ends_with("fold 0"), "{}", a.protocol);
        assert!(assemble(&m, root, 12, None, false).unwrap_err().to_string().contains("needs a fold"));
        assert!(assemble(&m, &root.join("absent"), 12, Some(0), false).unwrap_err().is_absent());
    }
}
