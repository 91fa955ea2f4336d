//! Data set manifests (`data-manifests/<name>.yaml`): loader, location, file hashes, label map, protocol, preprocessing.
//!
//! ```yaml
//! format_version: 1
//! name: ckplus
//! loader: ckplus
//! # location: /datasets/CK+        # absolute, or relative to $FER_DATA_DIR; default <data dir>/<name>
//! options: {peak_frames: 3, neutral_first: false}
//! classes: [neutral, anger, contempt, disgust, fear, happy, sadness, surprise]
//! label_map: {neutral: neutral, anger: angry, contempt: drop, disgust: disgust, fear: fear,
//!             happy: happy, sadness: sad, surprise: surprise}
//! protocol: {kind: subject-kfold, folds: 10, seed: 0}
//! preprocessing: {grayscale: true, crop: landmarks, margin: 0.1, no_face: center}
//! files:                           # written by `fer-pipeline data hash ckplus`
//!   - path: Emotion/S005/001/S005_001_00000011_emotion.txt
//!     sha256: 3b1f...
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crop::{Crop, CropPolicy, NoFace, DEFAULT_MARGIN};
use super::error::DataError;
use super::loaders::{
    self, ckplus, fer2013, ferg, jaffe, open_regular, oulu, LoadOptions, Loaded, LoaderKind, ResizeTo, SkipKind,
    Skipped, Special, Tree,
};
use super::synthetic;

/// The folder holding the manifests, relative to the repository root.
pub const MANIFEST_DIR: &str = "data-manifests";

/// The manifest format this program reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The canonical label set every data set is mapped onto, in this order (FER2013's order, then contempt).
pub const CANONICAL_CLASSES: [&str; 8] = synthetic::CLASS_NAMES;

/// The `label_map` target that drops a class.
pub const DROP: &str = "drop";

/// A data set's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// The data set's name: its folder under the data dir and its manifest's file stem.
    pub name: String,
    pub loader: LoaderKind,
    /// Absolute, or relative to the data dir; default `<data dir>/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<PathBuf>,
    #[serde(default)]
    pub options: LoadOptions,
    /// The native class names in native order (checked against the loader's; free for `image-folder`).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Native class -> canonical class (one of [`CANONICAL_CLASSES`]) or `drop`; empty keeps the native labels.
    #[serde(default)]
    pub label_map: BTreeMap<String, String>,
    pub protocol: Protocol,
    #[serde(default)]
    pub preprocessing: Preprocessing,
    /// The files expected below the root, with their sha256 when known.
    #[serde(default)]
    pub files: Vec<FileHash>,
}

/// How items are split into train / validation / test. In YAML: `{kind: usage}`,
/// `{kind: subject-kfold, folds: 10, seed: 0, val: 0.1}`, `{kind: stratified, val: 0.1, test: 0.1, seed: 0}`
/// or `{kind: random, val: 0.1, test: 0.2, seed: 0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", try_from = "RawProtocol")]
pub enum Protocol {
    /// FER2013's `Usage` column: train on Training, validate on PublicTest, test on PrivateTest.
    Usage,
    /// Subject-independent k-fold cross-validation: fold `f` is the test set, the other folds train,
    /// except a fraction `val` of their subjects (at least one, drawn per fold), which validates.
    SubjectKfold { folds: usize, seed: u64, val: f64 },
    /// A fixed split stratified by class (subject-dependent).
    Stratified { val: f64, test: f64, seed: u64 },
    /// A random, subject-dependent split of the images, as the Deep-Emotion paper used.
    Random { val: f64, test: f64, seed: u64 },
}

/// The validation fraction of the training subjects under `subject-kfold` when `val` is not given.
pub const DEFAULT_KFOLD_VAL: f64 = 0.1;
/// The fractions of `random` when not given: Deep-Emotion's CK+ split (70 % / 10 % / 20 %).
pub const DEFAULT_RANDOM_VAL: f64 = 0.1;
pub const DEFAULT_RANDOM_TEST: f64 = 0.2;

/// `protocol:` as written (a plain struct, so that serde_yaml reports unknown keys with their line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProtocol {
    kind: String,
    folds: Option<usize>,
    seed: Option<u64>,
    val: Option<f64>,
    test: Option<f64>,
}

impl TryFrom<RawProtocol> for Protocol {
    type Error = String;

    fn try_from(r: RawProtocol) -> Result<Protocol, String> {
        let seed = r.seed.unwrap_or(0);
        let unused = |keys: &[(&str, bool)]| match keys.iter().find(|(_, set)| *set) {
            Some((k, _)) => Err(format!("protocol `{}` takes no `{k}`", r.kind)),
            None => Ok(()),
        };
        match r.kind.as_str() {
            "usage" => {
                unused(&[("folds", r.folds.is_some()), ("seed", r.seed.is_some()), ("val", r.val.is_some())])?;
                unused(&[("test", r.test.is_some())])?;
                Ok(Protocol::Usage)
            }
            "subject-kfold" => {
                unused(&[("test", r.test.is_some())])?;
                let folds = r.folds.ok_or("protocol `subject-kfold` needs `folds`")?;
                Ok(Protocol::SubjectKfold { folds, seed, val: r.val.unwrap_or(DEFAULT_KFOLD_VAL) })
            }
            "random" => {
                unused(&[("folds", r.folds.is_some())])?;
                let (val, test) = (r.val.unwrap_or(DEFAULT_RANDOM_VAL), r.test.unwrap_or(DEFAULT_RANDOM_TEST));
                Ok(Protocol::Random { val, test, seed })
            }
            "stratified" => {
                unused(&[("folds", r.folds.is_some())])?;
                match (r.val, r.test) {
                    (Some(val), Some(test)) => Ok(Protocol::Stratified { val, test, seed }),
                    _ => Err("protocol `stratified` needs `val` and `test` fractions".to_string()),
                }
            }
            k => Err(format!("unknown protocol `{k}`; expected `usage`, `subject-kfold`, `stratified` or `random`")),
        }
    }
}

/// A fraction as a percentage with at most one decimal (`0.108` -> `10.8`).
fn percent(v: f64) -> f64 {
    (v * 1000.0).round() / 10.0
}

impl Protocol {
    /// The protocol in words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Protocol::Usage => "FER2013 usage: train on Training, validate on PublicTest, test on PrivateTest".into(),
            Protocol::SubjectKfold { folds, seed, val } => format!(
                "subject-independent {folds}-fold cross-validation (seed {seed}): each fold tests once, the other \
                 folds train, {} % of their subjects (at least one) validate",
                percent(*val)
            ),
            // Unchanged text: it is in prepared summaries, whose bytes must not change for the same spec.
            Protocol::Stratified { val, test, seed } => {
                format!("stratified split: {:.0} % validation, {:.0} % test (seed {seed})", val * 100.0, test * 100.0)
            }
            Protocol::Random { val, test, seed } => format!(
                "random, subject-dependent split of the images: {} % validation, {} % test (seed {seed})",
                percent(*val),
                percent(*test)
            ),
        }
    }

    /// The protocol's kind as written in a manifest (`subject-kfold`, `random`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Protocol::Usage => "usage",
            Protocol::SubjectKfold { .. } => "subject-kfold",
            Protocol::Stratified { .. } => "stratified",
            Protocol::Random { .. } => "random",
        }
    }

    /// Whether no subject is in two splits (`None`: FER2013's usage split does not say).
    pub fn subject_independent(&self) -> Option<bool> {
        match self {
            Protocol::Usage => None,
            Protocol::SubjectKfold { .. } => Some(true),
            Protocol::Stratified { .. } | Protocol::Random { .. } => Some(false),
        }
    }

    /// Number of folds (1 unless subject k-fold).
    pub fn folds(&self) -> usize {
        match self {
            Protocol::SubjectKfold { folds, .. } => *folds,
            _ => 1,
        }
    }
}

/// Preprocessing shared by every model; the size is the model's and chosen by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// Must be true: both models read grayscale.
    #[serde(default = "yes")]
    pub grayscale: bool,
    /// `none`, `center`, `detect` or `landmarks` (see [`CropPolicy`]); when omitted, the loader's
    /// default ([`default_crop`]), filled in by [`Manifest::parse`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<CropPolicy>,
    /// `detect` and `landmarks`: the margin around the face, a fraction of its box's side added on
    /// every side (0 to 1; default 0.1).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// `detect` and `landmarks`: an image where no face is found is centre-cropped (`center`,
    /// the default) or left out (`skip`).
    #[serde(default)]
    pub no_face: NoFace,
}

fn yes() -> bool {
    true
}

fn default_margin() -> f64 {
    DEFAULT_MARGIN
}

impl Default for Preprocessing {
    fn default() -> Self {
        Preprocessing { grayscale: true, crop: None, margin: DEFAULT_MARGIN, no_face: NoFace::Center }
    }
}

/// The crop policy of a loader when its manifest names none: CK+ from its landmarks (else the
/// detected face), JAFFE and Oulu-CASIA the detected face, FER2013 and FERG-DB (faces already) the
/// whole image, an image folder its centred square.
pub fn default_crop(loader: LoaderKind) -> CropPolicy {
    match loader {
        LoaderKind::CkPlus => CropPolicy::Landmarks,
        LoaderKind::Jaffe | LoaderKind::OuluCasia => CropPolicy::Detect,
        LoaderKind::Fer2013 | LoaderKind::Ferg => CropPolicy::None,
        LoaderKind::ImageFolder => CropPolicy::Center,
    }
}

/// A file below the data root (`/`-separated relative path) and its sha256 (lowercase hex) when known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHash {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// How native labels become canonical ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMapping {
    /// The classes after mapping: canonical names in canonical order (or the native names when the map is empty).
    pub class_names: Vec<String>,
    /// Native label -> new label, `None` when dropped.
    pub map: Vec<Option<usize>>,
}

impl Manifest {
    /// Reads and validates `path`.
    pub fn read(path: &Path) -> Result<Manifest, DataError> {
        let text = fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        Manifest::parse(&text, path)
    }

    /// Reads `data-manifests/<name>.yaml` below `repo`.
    pub fn read_named(repo: &Path, name: &str) -> Result<Manifest, DataError> {
        Manifest::read(&repo.join(MANIFEST_DIR).join(format!("{name}.yaml")))
    }

    /// Parses and validates manifest text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, DataError> {
        let mut m: Manifest = serde_yaml::from_str(text).map_err(|e| {
            let reason = without_location(&e.to_string());
            // Errors raised while converting `protocol:` carry no position (serde_yaml says 1:1).
            let line = match e.location() {
                Some(l) if l.line() == 1 && l.column() == 1 && reason.contains("protocol") => line_of(text, "protocol"),
                l => l.map(|l| l.line()),
            };
            DataError::Manifest { path: path.to_path_buf(), line, reason }
        })?;
        m.preprocessing.crop.get_or_insert(default_crop(m.loader));
        m.validate(text, path)?;
        Ok(m)
    }

    /// Checks every value the types do not: the first refused one is reported at its line.
    fn validate(&self, text: &str, path: &Path) -> Result<(), DataError> {
        self.check().map_err(|Refusal { key, reason }| DataError::Manifest {
            path: path.to_path_buf(),
            line: line_of(text, &key),
            reason: format!("`{key}`: {reason}"),
        })
    }

    /// The checks of [`Manifest::validate`], in order.
    fn check(&self) -> Result<(), Refusal> {
        self.check_header()?;
        self.check_classes()?;
        self.check_protocol()?;
        self.check_preprocessing()?;
        self.check_files()
    }

    /// The format version, the name and the loader options.
    fn check_header(&self) -> Result<(), Refusal> {
        if self.format_version != FORMAT_VERSION {
            return refuse(
                "format_version",
                format!("version `{}` is not supported; this program reads `{FORMAT_VERSION}`", self.format_version),
            );
        }
        let name_ok = !self.name.is_empty()
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
            && !self.name.starts_with('.');
        if !name_ok {
            return refuse("name", format!("`{}` must be letters, digits, `-`, `_`, `.`, `+`", self.name));
        }
        if self.options.peak_frames == 0 || (self.loader == LoaderKind::CkPlus && self.options.peak_frames > 3) {
            return refuse("peak_frames", format!("`{}` is out of range (CK+: 1 to 3)", self.options.peak_frames));
        }
        if self.options.resize.is_some() {
            return refuse("resize", "the image size is the model's: set it in the pipeline, not here");
        }
        Ok(())
    }

    /// `classes` against the loader's own, and `label_map`: known classes to canonical ones,
    /// every class mapped.
    fn check_classes(&self) -> Result<(), Refusal> {
        if let Some(native) = native_classes(self.loader, &self.options) {
            if !self.classes.is_empty() && self.classes != native {
                return refuse(
                    "classes",
                    format!("the `{}` loader's classes are `[{}]`", self.loader, native.join(", ")),
                );
            }
        }
        let known: Option<Vec<String>> = native_classes(self.loader, &self.options)
            .or_else(|| (!self.classes.is_empty()).then(|| self.classes.clone()));
        // Keys may also name classes that exist only with other options (Oulu-CASIA's `Neutral`).
        let possible = native_classes(self.loader, &LoadOptions { neutral_first: true, ..self.options.clone() })
            .or_else(|| known.clone());
        for (native, target) in &self.label_map {
            if let Some(k) = &possible {
                if !k.contains(native) {
                    return refuse(native, format!("`{native}` is not a class of this data set: `[{}]`", k.join(", ")));
                }
            }
            if target != DROP && !CANONICAL_CLASSES.contains(&target.as_str()) {
                return refuse(
                    native,
                    format!("`{target}` is not a canonical class (`{}`) or `{DROP}`", CANONICAL_CLASSES.join("`, `")),
                );
            }
        }
        if let (Some(k), false) = (&known, self.label_map.is_empty()) {
            if let Some(missing) = k.iter().find(|c| !self.label_map.contains_key(*c)) {
                return refuse("label_map", format!("class `{missing}` is not mapped (map it or `{DROP}` it)"));
            }
        }
        Ok(())
    }

    /// The protocol's loader and its folds or fractions.
    fn check_protocol(&self) -> Result<(), Refusal> {
        let fractions_ok = |val: f64, test: f64| {
            (0.0..1.0).contains(&val) && (0.0..1.0).contains(&test) && val + test < 1.0 && test > 0.0
        };
        match self.protocol {
            Protocol::Usage if self.loader != LoaderKind::Fer2013 => {
                refuse("protocol", "`usage` is FER2013's protocol only")
            }
            Protocol::SubjectKfold { folds, .. } if folds < 2 => {
                refuse("folds", format!("`{folds}` folds: at least 2 are needed"))
            }
            Protocol::SubjectKfold { val, .. } if !(val > 0.0 && val < 1.0) => {
                refuse("protocol", format!("validation fraction val `{val}` must be in (0, 1)"))
            }
            Protocol::Random { val, test, .. } | Protocol::Stratified { val, test, .. } if !fractions_ok(val, test) => {
                refuse("protocol", format!("fractions val `{val}` and test `{test}` must be >= 0, test > 0, sum < 1"))
            }
            _ => Ok(()),
        }
    }

    /// Grayscale, the margin, and a crop the loader can do.
    fn check_preprocessing(&self) -> Result<(), Refusal> {
        if !self.preprocessing.grayscale {
            return refuse("grayscale", "`false` is not supported: both models read grayscale images");
        }
        let margin = self.preprocessing.margin;
        if !(0.0..=1.0).contains(&margin) {
            return refuse("margin", format!("`{margin}` is out of range (0 to 1, a fraction of the face's side)"));
        }
        if self.preprocessing.crop == Some(CropPolicy::Landmarks) && self.loader != LoaderKind::CkPlus {
            return refuse(
                "crop",
                format!(
                    "`landmarks` needs CK+'s `Landmarks/` folder; the `{}` loader has none (use `detect`)",
                    self.loader
                ),
            );
        }
        Ok(())
    }

    /// The listed files: relative paths, each once, well-formed hashes.
    fn check_files(&self) -> Result<(), Refusal> {
        let mut seen = BTreeSet::new();
        for f in &self.files {
            let p = Path::new(&f.path);
            if f.path.is_empty() || p.is_absolute() || f.path.split('/').any(|c| c == ".." || c.is_empty()) {
                return refuse(
                    &f.path,
                    format!("file path `{}` must be relative, `/`-separated, without `..`", f.path),
                );
            }
            if !seen.insert(&f.path) {
                return refuse(&f.path, format!("file `{}` is listed twice", f.path));
            }
            if let Some(h) = &f.sha256 {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return refuse(&f.path, format!("sha256 `{h}` of `{}` is not 64 lowercase hex digits", f.path));
                }
            }
        }
        Ok(())
    }

    /// The crop applied while preparing this data set.
    pub fn crop(&self) -> Crop {
        Crop {
            policy: self.preprocessing.crop.unwrap_or_else(|| default_crop(self.loader)),
            margin: self.preprocessing.margin,
            no_face: self.preprocessing.no_face,
        }
    }

    /// The loader options of this manifest, with the caller's `skip_bad` and `resize`.
    pub fn load_options(&self, skip_bad: bool, resize: Option<ResizeTo>) -> LoadOptions {
        LoadOptions { skip_bad: skip_bad || self.options.skip_bad, resize, ..self.options.clone() }
    }

    /// Loads the data set from `root` with this manifest's loader and options (labels still native).
    pub fn load(&self, root: &Path, skip_bad: bool, resize: Option<ResizeTo>) -> Result<Loaded, DataError> {
        loaders::load_named(self.loader, &self.name, root, &self.load_options(skip_bad, resize))
    }

    /// The mapping of `native` class names onto the canonical set.
    pub fn label_mapping(&self, native: &[String]) -> Result<LabelMapping, DataError> {
        if self.label_map.is_empty() {
            return Ok(LabelMapping { class_names: native.to_vec(), map: (0..native.len()).map(Some).collect() });
        }
        let labels_err = |reason: String| DataError::Labels { name: self.name.clone(), reason };
        let mut targets = Vec::with_capacity(native.len());
        for n in native {
            match self.label_map.get(n) {
                Some(t) => targets.push(t.as_str()),
                None => return Err(labels_err(format!("class `{n}` has no entry in `label_map`"))),
            }
        }
        let class_names: Vec<String> =
            CANONICAL_CLASSES.iter().filter(|c| targets.contains(c)).map(|c| c.to_string()).collect();
        let map = targets.iter().map(|t| class_names.iter().position(|c| c == t)).collect();
        Ok(LabelMapping { class_names, map })
    }

    /// Relabels `loaded` onto the canonical set; dropped items are listed as [`SkipKind::Dropped`].
    pub fn map_labels(&self, loaded: Loaded) -> Result<Loaded, DataError> {
        let m = self.label_mapping(&loaded.class_names)?;
        let Loaded { items, mut skipped, class_names } = loaded;
        let mut out = Vec::with_capacity(items.len());
        for mut it in items {
            match m.map[it.label] {
                Some(l) => {
                    it.label = l;
                    out.push(it);
                }
                None => skipped.push(Skipped {
                    source: it.source,
                    kind: SkipKind::Dropped,
                    reason: format!("class `{}` is dropped by the label map", class_names[it.label]),
                }),
            }
        }
        Ok(Loaded { items: out, class_names: m.class_names, skipped })
    }
}

/// The loader's native class names for these options (`None` for `image-folder`, whose classes are its folders).
pub fn native_classes(kind: LoaderKind, opts: &LoadOptions) -> Option<Vec<String>> {
    let v = |a: &[&str]| Some(a.iter().map(|s| s.to_string()).collect());
    match kind {
        LoaderKind::Fer2013 => v(&fer2013::CLASS_NAMES),
        LoaderKind::Ferg => v(&ferg::CLASS_NAMES),
        LoaderKind::Jaffe => v(&jaffe::CLASS_NAMES),
        LoaderKind::CkPlus => v(&ckplus::CLASS_NAMES),
        LoaderKind::OuluCasia => Some(oulu::class_names(opts.neutral_first)),
        LoaderKind::ImageFolder => None,
    }
}

/// Drops serde_yaml's trailing ` at line L column C` (the line is reported separately).
fn without_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// A refused manifest value: the key whose line is reported, and why.
struct Refusal {
    key: String,
    reason: String,
}

/// Refuses the value at `key` for `reason`.
fn refuse(key: &str, reason: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal { key: key.to_string(), reason: reason.into() })
}

/// The 1-based line of the first `key:` (also `- key:`, `{key:`, `, key:`) or `path: key` in `text`, for messages.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let k = format!("{key}:");
    let p = format!("path: {key}");
    let inline = [format!("{{{k}"), format!("{{ {k}"), format!(", {k}")];
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&k) || t.starts_with(&p) || inline.iter().any(|i| l.contains(i.as_str()))
        })
        .map(|i| i + 1)
}

/// sha256 of one regular file, streamed (lowercase hex); a FIFO or a device is an error, never read.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut f = open_regular(path).map_err(|e| DataError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every regular file below `root` (sorted `/`-separated relative paths; hidden files and
/// `__MACOSX` skipped), or `root` itself when it is a file (its name as the path), and what the walk
/// skipped: links out of the folder, FIFOs, sockets, devices (see [`Tree`]).
pub fn list_files(root: &Path) -> Result<(Vec<String>, Vec<Special>), DataError> {
    if root.is_file() {
        return Ok((vec![root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()], vec![]));
    }
    if !root.is_dir() {
        return Err(DataError::io(root, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let tree = Tree::new(root);
    let mut out = Vec::new();
    walk(&tree, root, "", 0, &mut out)?;
    out.sort();
    Ok((out, tree.skipped()))
}

fn walk(tree: &Tree, dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) -> Result<(), DataError> {
    if depth > 32 {
        return Err(DataError::layout(dir, "folders nested deeper than 32 levels"));
    }
    for e in tree.list(dir)? {
        let rel = if prefix.is_empty() { e.name.clone() } else { format!("{prefix}/{}", e.name) };
        if e.is_dir {
            walk(tree, &e.path, &rel, depth + 1, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// The path of a listed file: `root/<path>`, or `root` itself when `root` is that file.
pub fn file_path(root: &Path, rel: &str) -> PathBuf {
    if root.is_file() && root.file_name().is_some_and(|n| n.to_string_lossy() == rel) {
        return root.to_path_buf();
    }
    rel.split('/').fold(root.to_path_buf(), |p, c| p.join(c))
}

/// Hashes the files `paths` below `root` in parallel; sorted by path.
pub fn hash_paths(root: &Path, paths: &[String]) -> Result<Vec<FileHash>, DataError> {
    let mut v: Vec<FileHash> = paths
        .par_iter()
        .map(|p| Ok(FileHash { sha256: Some(sha256_file(&file_path(root, p))?), path: p.clone() }))
        .collect::<Result<_, DataError>>()?;
    v.sort();
    Ok(v)
}

/// sha256 over `path\0sha256\n` of every file, sorted by path (lowercase hex).
pub fn content_hash(files: &[FileHash]) -> String {
    let mut sorted: Vec<&FileHash> = files.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.sha256.as_deref().unwrap_or("").as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// The `files:` block of a manifest listing `files`.
pub fn files_block(files: &[FileHash]) -> String {
    if files.is_empty() {
        return "files: []\n".to_string();
    }
    let body = serde_yaml::to_string(files).unwrap_or_default();
    let mut out = String::from("files:\n");
    for l in body.lines() {
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Replaces the top-level `files:` block of manifest `text` (appending one if absent), keeping
/// everything else, comments included. `fer-pipeline data hash <name>` writes its result with this.
pub fn replace_files_block(text: &str, files: &[FileHash]) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("files:")) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&files_block(files));
        return out;
    };
    let mut end = lines[start + 1..]
        .iter()
        .position(|l| {
            let first = l.chars().next().unwrap_or('\n');
            !matches!(first, ' ' | '\t' | '-' | '\n' | '\r')
        })
        .map_or(lines.len(), |p| start + 1 + p);
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut out: String = lines[..start].concat();
    out.push_str(&files_block(files));
    out.push_str(&lines[end..].concat());
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid manifest for tests.
    pub(crate) fn minimal(name: &str) -> Manifest {
        Manifest {
            format_version: 1,
            name: name.to_string(),
            loader: name.parse().unwrap_or(LoaderKind::ImageFolder),
            location: None,
            options: LoadOptions::default(),
            classes: Vec::new(),
            label_map: BTreeMap::new(),
            protocol: Protocol::SubjectKfold { folds: 10, seed: 0, val: DEFAULT_KFOLD_VAL },
            preprocessing: Preprocessing::default(),
            files: Vec::new(),
        }
    }

    const CKPLUS: &str = "\
format_version: 1
name: ckplus
loader: ckplus
options:
  peak_frames: 3
  neutral_first: true
classes: [neutral, anger, contempt, disgust, fear, happy, sadness, surprise]
label_map:
  neutral: neutral
  anger: angry
  contempt: drop
  disgust: disgust
  fear: fear
  happy: happy
  sadness: sad
  surprise: surprise
protocol:
  kind: subject-kfold
  folds: 10
preprocessing:
  crop: landmarks
files: []
";

    fn parse(text: &str) -> Result<Manifest, DataError> {
        Manifest::parse(text, Path::new("data-manifests/x.yaml"))
    }

    #[test]
    fn parses_a_full_manifest() {
        let m = parse(CKPLUS).unwrap();
        assert_eq!(m.loader, LoaderKind::CkPlus);
        assert!(m.options.neutral_first);
        assert_eq!(m.protocol, Protocol::SubjectKfold { folds: 10, seed: 0, val: DEFAULT_KFOLD_VAL });
        let native: Vec<String> = ckplus::CLASS_NAMES.iter().map(|s| s.to_string()).collect();
        let lm = m.label_mapping(&native).unwrap();
        assert_eq!(lm.class_names, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]);
        assert_eq!(lm.map, [Some(6), Some(0), None, Some(1), Some(2), Some(3), Some(4), Some(5)]);
    }

    #[test]
    fn the_repository_manifests_parse() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(MANIFEST_DIR);
        let mut n = 0;
        for name in ["fer2013", "ferg", "jaffe", "ckplus", "oulu-casia"] {
            let m = Manifest::read_named(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")), name).unwrap();
            assert_eq!(m.name, name);
            assert_eq!(m.loader.name(), name);
            let native = native_classes(m.loader, &m.options).unwrap();
            let lm = m.label_mapping(&native).unwrap();
            assert!(lm.class_names.iter().all(|c| CANONICAL_CLASSES.contains(&c.as_str())));
            // The shipped manifests spell out their loader's default crop.
            assert_eq!(m.crop().policy, default_crop(m.loader), "{name}");
            n += 1;
        }
        let yaml =
            fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "yaml"));
        assert_eq!(n, yaml.count());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(&CKPLUS.replace("folds: 10", "folds: 10\n  extra: 1")).unwrap_err().to_string();
        assert!(e.contains("x.yaml` line 20: protocol: unknown field `extra`, expected one of"), "{e}");
        assert!(!e.contains("column"), "{e}");
        let e = parse(&CKPLUS.replace("kind: subject-kfold", "kind: kfold")).unwrap_err().to_string();
        assert!(e.contains("line 17") && e.contains("unknown protocol `kfold`"), "{e}");
        let e = parse(&CKPLUS.replace("  folds: 10\n", "")).unwrap_err().to_string();
        assert!(e.contains("line 17") && e.contains("needs `folds`"), "{e}");
        let e = parse(&CKPLUS.replace("anger: angry", "anger: angri")).unwrap_err().to_string();
        assert!(e.starts_with("failed to read manifest `data-manifests/x.yaml` line 10:"), "{e}");
        assert!(e.contains("`angri` is not a canonical class"), "{e}");
        let e = parse(&CKPLUS.replace("  fear: fear\n", "")).unwrap_err().to_string();
        assert!(e.contains("class `fear` is not mapped"), "{e}");
        let e = parse(&CKPLUS.replace("peak_frames: 3", "peak_frames: 4")).unwrap_err().to_string();
        assert!(e.contains("line 5") && e.contains("`4` is out of range"), "{e}");
        let e = parse(&CKPLUS.replace("loader: ckplus", "loader: ck")).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = parse(&CKPLUS.replace("kind: subject-kfold", "kind: usage")).unwrap_err().to_string();
        assert!(e.contains("line 17: protocol `usage` takes no `folds`"), "{e}");
        let e = parse(&CKPLUS.replace("kind: subject-kfold\n  folds: 10", "kind: usage")).unwrap_err().to_string();
        assert!(e.contains("line 17: `protocol`: `usage` is FER2013's protocol only"), "{e}");
        let e = parse(&CKPLUS.replace("classes: [neutral,", "classes: [calm,")).unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("`ckplus` loader's classes"), "{e}");
    }

    #[test]
    fn crop_defaults_to_the_loaders_and_is_checked() {
        let without = CKPLUS.replace("preprocessing:\n  crop: landmarks\n", "");
        let m = parse(&without).unwrap();
        assert_eq!(m.preprocessing.crop, Some(CropPolicy::Landmarks), "filled in, so it is hashed");
        assert_eq!(m.crop(), Crop { policy: CropPolicy::Landmarks, margin: 0.1, no_face: NoFace::Center });
        let m = parse(&CKPLUS.replace("crop: landmarks", "crop: detect\n  margin: 0.25\n  no_face: skip")).unwrap();
        assert_eq!(m.crop(), Crop { policy: CropPolicy::Detect, margin: 0.25, no_face: NoFace::Skip });
        assert_eq!(default_crop(LoaderKind::Fer2013), CropPolicy::None);
        assert_eq!(default_crop(LoaderKind::OuluCasia), CropPolicy::Detect);
        let e = parse(&CKPLUS.replace("crop: landmarks", "crop: center-crop")).unwrap_err().to_string();
        assert!(e.contains("line 21") && e.contains("unknown variant `center-crop`"), "{e}");
        let e = parse(&CKPLUS.replace("crop: landmarks", "crop: none\n  margin: -1")).unwrap_err().to_string();
        assert!(e.contains("line 22") && e.contains("`-1` is out of range"), "{e}");
    }

    #[test]
    fn files_block_round_trips() {
        let files = vec![
            FileHash { path: "a b/x: y.png".into(), sha256: Some("ab".repeat(32)) },
            FileHash { path: "z.png".into(), sha256: None },
        ];
        let text = replace_files_block(CKPLUS, &files);
        let m = parse(&text).unwrap();
        assert_eq!(m.files, files);
        assert!(text.contains("label_map:\n  neutral: neutral"));
        // Replacing again (with a following section) keeps the rest.
        let with_tail = format!("{text}\n# tail\nlocation: elsewhere\n");
        let again = replace_files_block(&with_tail, &files[..1]);
        let m2 = parse(&again).unwrap();
        assert_eq!(m2.files, files[..1]);
        assert_eq!(m2.location, Some(PathBuf::from("elsewhere")));
        assert!(again.contains("# tail"));
        assert_eq!(content_hash(&files), content_hash(&[files[1].clone(), files[0].clone()]));
    }
}
