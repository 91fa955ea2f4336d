//! Shared types of the loaders: what to load (`LoaderKind`, `LoadOptions`) and what comes back (`Loaded`, `Item`).

use std::fmt;
use std::str::FromStr;

use image::GrayImage;
use serde::{Deserialize, Serialize};

use crate::data::crop::{Crop, Cropped};
use crate::data::error::DataError;
use crate::data::Split;

/// The on-disk layouts this program reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LoaderKind {
    /// `fer2013.csv` (emotion,pixels,Usage), Kaggle's `icml_face_data.csv` or `train.csv`.
    #[serde(rename = "fer2013")]
    Fer2013,
    /// `FERG_DB_256/<char>/<char>_<expr>/<char>_<expr>_<n>.png`.
    #[serde(rename = "ferg")]
    Ferg,
    /// Flat folder of `SUBJ.EXn.idx.tiff`.
    #[serde(rename = "jaffe")]
    Jaffe,
    /// `cohn-kanade-images/Sxxx/nnn/*.png` + `Emotion/Sxxx/nnn/*_emotion.txt`.
    #[serde(rename = "ckplus")]
    CkPlus,
    /// `{NI,VL}/{Dark,Strong,Weak}/Pnnn/<Expression>/NNN.jpeg`.
    #[serde(rename = "oulu-casia")]
    OuluCasia,
    /// `<root>/<class>/*.{png,jpg,jpeg,tif,tiff}`: a user's own data.
    #[serde(rename = "image-folder")]
    ImageFolder,
}

impl LoaderKind {
    pub const ALL: [LoaderKind; 6] = [
        LoaderKind::Fer2013,
        LoaderKind::Ferg,
        LoaderKind::Jaffe,
        LoaderKind::CkPlus,
        LoaderKind::OuluCasia,
        LoaderKind::ImageFolder,
    ];

    /// The name used on the command line, in manifests and as the default folder under the data dir.
    pub fn name(self) -> &'static str {
        match self {
            LoaderKind::Fer2013 => "fer2013",
            LoaderKind::Ferg => "ferg",
            LoaderKind::Jaffe => "jaffe",
            LoaderKind::CkPlus => "ckplus",
            LoaderKind::OuluCasia => "oulu-casia",
            LoaderKind::ImageFolder => "image-folder",
        }
    }

    /// One line describing what the folder must hold (used in "absent" and layout errors).
    pub fn layout(self) -> &'static str {
        match self {
            LoaderKind::Fer2013 => "`fer2013.csv` (emotion,pixels,Usage), or Kaggle's `icml_face_data.csv` or `train.csv`",
            LoaderKind::Ferg => "`FERG_DB_256/<char>/<char>_<expr>/<char>_<expr>_<n>.png`",
            LoaderKind::Jaffe => "the JAFFE `.tiff` files, named like `YM.FE4.70.tiff`, directly in the folder",
            LoaderKind::CkPlus => {
                "`cohn-kanade-images/S005/001/S005_001_00000011.png` and `Emotion/S005/001/S005_001_00000011_emotion.txt`"
            }
            LoaderKind::OuluCasia => "`{NI,VL}/{Dark,Strong,Weak}/P001..P080/{Anger,...,Surprise}/NNN.jpeg`",
            LoaderKind::ImageFolder => "one folder per class holding `.png`, `.jpg`, `.jpeg`, `.tif` or `.tiff` images",
        }
    }
}

impl fmt::Display for LoaderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LoaderKind {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, DataError> {
        LoaderKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| DataError::UnknownLoader(s.to_string()))
    }
}

/// Oulu-CASIA camera: visible light (`VL`) or near infrared (`NI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OuluModality {
    #[default]
    #[serde(alias = "VL")]
    Vis,
    #[serde(alias = "NI")]
    Nir,
}

impl OuluModality {
    /// The folder name on disk.
    pub fn dir(self) -> &'static str {
        match self {
            OuluModality::Vis => "VL",
            OuluModality::Nir => "NI",
        }
    }
}

/// Oulu-CASIA illumination condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OuluIllumination {
    #[default]
    #[serde(alias = "Strong")]
    Strong,
    #[serde(alias = "Weak")]
    Weak,
    #[serde(alias = "Dark")]
    Dark,
}

impl OuluIllumination {
    /// The folder name on disk.
    pub fn dir(self) -> &'static str {
        match self {
            OuluIllumination::Strong => "Strong",
            OuluIllumination::Weak => "Weak",
            OuluIllumination::Dark => "Dark",
        }
    }
}

/// Crop and resize every image while decoding (keeps memory small for large data sets such as FERG).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResizeTo {
    pub size: u32,
    #[serde(default)]
    pub crop: Crop,
}

/// How to load a data set. Every field has a default, so a manifest's `options:` may omit any of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// Skip bad items (listing them in [`Loaded::skipped`]) instead of failing on the first one.
    pub skip_bad: bool,
    /// CK+ and Oulu-CASIA: the last `k` (peak) frames of each sequence (CK+: 1 to 3). Default 3.
    pub peak_frames: u32,
    /// CK+ and Oulu-CASIA: also take the first frame of each sequence as neutral.
    pub neutral_first: bool,
    /// Oulu-CASIA camera. Default `vis`.
    pub oulu_modality: OuluModality,
    /// Oulu-CASIA illumination. Default `strong`.
    pub oulu_illumination: OuluIllumination,
    /// Resize while decoding; `None` keeps every image at its original size.
    pub resize: Option<ResizeTo>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            skip_bad: false,
            peak_frames: 3,
            neutral_first: false,
            oulu_modality: OuluModality::Vis,
            oulu_illumination: OuluIllumination::Strong,
            resize: None,
        }
    }
}

/// FER2013's `Usage` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Usage {
    Training,
    PublicTest,
    PrivateTest,
}

impl Usage {
    pub const ALL: [Usage; 3] = [Usage::Training, Usage::PublicTest, Usage::PrivateTest];

    /// The spelling in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Usage::Training => "Training",
            Usage::PublicTest => "PublicTest",
            Usage::PrivateTest => "PrivateTest",
        }
    }

    /// The standard protocol: train on Training, validate on PublicTest, test on PrivateTest.
    pub fn split(self) -> Split {
        match self {
            Usage::Training => Split::Train,
            Usage::PublicTest => Split::Val,
            Usage::PrivateTest => Split::Test,
        }
    }

    pub fn parse(s: &str) -> Option<Usage> {
        Usage::ALL.into_iter().find(|u| u.name() == s)
    }
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Decoded, grayscale, original size (or the size of [`LoadOptions::resize`]).
    pub image: GrayImage,
    /// Index into [`Loaded::class_names`].
    pub label: usize,
    /// Identity for subject-independent folds (FER2013 has none: each row is its own subject).
    pub subject: String,
    /// FER2013's `Usage` column, when the file has one.
    pub usage: Option<Usage>,
    /// Where it came from, relative to the data root: `S005/001/...png`, or `fer2013.csv:17` for a CSV row.
    pub source: String,
    /// How it was cropped ([`Cropped::Whole`] when it was not resized).
    pub crop: Cropped,
}

/// Why an item was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipKind {
    /// An empty file (FERG-DB ships some); always skipped.
    Empty,
    /// A CK+ sequence without an emotion file; always skipped.
    Unlabelled,
    /// A bad item skipped because of [`LoadOptions::skip_bad`].
    Bad,
    /// An item whose class the manifest's label map drops.
    Dropped,
    /// An image where no face was found, under `no_face: skip`.
    NoFace,
}

/// An item (or sequence) left out, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub source: String,
    pub kind: SkipKind,
    pub reason: String,
}

/// A loaded data set: items in a deterministic order (sorted paths, file order), whatever the thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub items: Vec<Item>,
    /// The data set's native class names, in its native order.
    pub class_names: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Loaded {
    /// Number of skipped entries of one kind.
    pub fn skipped_count(&self, kind: SkipKind) -> usize {
        self.skipped.iter().filter(|s| s.kind == kind).count()
    }

    /// Items per class, indexed like `class_names`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.class_names.len()];
        for it in &self.items {
            c[it.label] += 1;
        }
        c
    }

    /// The labels of all items, in item order.
    pub fn labels(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.label).collect()
    }

    /// The subjects of all items, in item order.
    pub fn subjects(&self) -> Vec<String> {
        self.items.iter().map(|i| i.subject.clone()).collect()
    }
}
