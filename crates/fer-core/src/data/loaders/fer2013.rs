//! FER2013 from its CSV files: `fer2013.csv` (emotion,pixels,Usage) or Kaggle's `icml_face_data.csv` / `train.csv`.
//!
//! Picked in this order from the root folder (or the root itself when it is a CSV file):
//! `fer2013.csv`, `icml_face_data.csv` (headers `emotion`, ` Usage`, ` pixels`: names are trimmed),
//! `train.csv` (no `Usage`: items have `usage: None`). Kaggle's `test.csv` has no labels and is refused.
//! FER2013 has no identities, so every row is its own subject (its source, `fer2013.csv:17`).

use std::path::{Path, PathBuf};

use image::GrayImage;
use rayon::prelude::*;

use super::files::{finish, read_regular, BadItem, Ctx, Entry, Outcome, Tree};
use super::item::{Item, Loaded, Usage};
use crate::data::error::DataError;

/// Native class names, in label order (0 Angry ... 6 Neutral).
pub const CLASS_NAMES: [&str; 7] = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"];

/// The CSV files read, in order of preference.
pub const CSV_FILES: [&str; 3] = ["fer2013.csv", "icml_face_data.csv", "train.csv"];

/// Side of a FER2013 image.
pub const SIDE: u32 = 48;

const TEST_CSV_REFUSAL: &str = "it has no `emotion` column: Kaggle's `test.csv` is the unlabelled test set; \
     use `fer2013.csv`, `icml_face_data.csv` or `train.csv`";

/// Finds the CSV to read under `root` (a regular file directly in it, or a link inside it).
pub fn find_csv(root: &Path) -> Result<PathBuf, DataError> {
    find_csv_in(root, &Tree::new(root))
}

pub(crate) fn find_csv_in(root: &Path, tree: &Tree) -> Result<PathBuf, DataError> {
    if root.is_file() {
        return Ok(root.to_path_buf());
    }
    let files: Vec<Entry> = tree.list(root)?.into_iter().filter(|e| !e.is_dir).collect();
    let find = |name: &str| files.iter().find(|e| e.name == name).map(|e| e.path.clone());
    if let Some(p) = CSV_FILES.iter().find_map(|n| find(n)) {
        return Ok(p);
    }
    if let Some(test) = find("test.csv") {
        return Err(DataError::Refused { path: test, reason: TEST_CSV_REFUSAL.to_string() });
    }
    Err(DataError::layout(root, "expected `fer2013.csv`, `icml_face_data.csv` or `train.csv` in this folder"))
}

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let csv = find_csv_in(root, &ctx.tree)?;
    let source_name = csv.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = read_regular(&csv).map_err(|e| DataError::io(&csv, e))?;
    // Invalid UTF-8 becomes U+FFFD, which fails its own row (naming the line) rather than the file.
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let Some((header_line, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(DataError::Bad { file: csv, line: None, reason: "the file is empty".to_string() });
    };
    let cols = Columns::parse(header, &csv, header_line)?;
    let rows: Vec<(usize, &str)> = lines.filter(|(_, l)| !l.trim().is_empty()).collect();
    let outcomes: Vec<Outcome> = rows
        .into_par_iter()
        .map(|(line, row)| {
            let source = format!("{source_name}:{line}");
            match parse_row(row, &cols) {
                Ok((label, usage, img)) => match ctx.item(img, None, label, source.clone(), source) {
                    Outcome::Item(it) => Outcome::Item(Item { usage, ..it }),
                    other => other,
                },
                Err(reason) => Outcome::Bad(BadItem { file: csv.clone(), line: Some(line), source, reason }),
            }
        })
        .collect();
    finish(outcomes, CLASS_NAMES.iter().map(|s| s.to_string()).collect(), ctx.opts.skip_bad)
}

/// Column positions, from the header (names trimmed and compared case-insensitively).
struct Columns {
    count: usize,
    emotion: usize,
    pixels: usize,
    usage: Option<usize>,
}

impl Columns {
    fn parse(header: &str, csv: &Path, line: usize) -> Result<Columns, DataError> {
        let names: Vec<String> = header.split(',').map(|f| unquote(f).to_ascii_lowercase()).collect();
        let find = |n: &str| names.iter().position(|x| x == n);
        let Some(pixels) = find("pixels") else {
            let reason = format!("expected a header with columns `emotion` and `pixels`, found `{}`", header.trim());
            return Err(DataError::Bad { file: csv.to_path_buf(), line: Some(line), reason });
        };
        let Some(emotion) = find("emotion") else {
            return Err(DataError::Refused { path: csv.to_path_buf(), reason: TEST_CSV_REFUSAL.to_string() });
        };
        Ok(Columns { count: names.len(), emotion, pixels, usage: find("usage") })
    }
}

/// Trims spaces and one pair of surrounding double quotes.
fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"').and_then(|s| s.strip_suffix('"')).map(str::trim).unwrap_or(f)
}

fn parse_row(row: &str, cols: &Columns) -> Result<(usize, Option<Usage>, GrayImage), String> {
    let fields: Vec<&str> = row.split(',').map(unquote).collect();
    if fields.len() != cols.count {
        return Err(format!("expected `{}` comma-separated fields, found `{}`", cols.count, fields.len()));
    }
    let e = fields[cols.emotion];
    let label = match e.parse::<usize>() {
        Ok(l) if l < CLASS_NAMES.len() => l,
        Ok(l) => return Err(format!("emotion `{l}` is out of range 0..=6")),
        Err(_) => return Err(format!("emotion `{e}` is not an integer")),
    };
    let usage = match cols.usage {
        None => None,
        Some(i) => match Usage::parse(fields[i]) {
            Some(u) => Some(u),
            None => return Err(format!("usage `{}` is not one of `Training`, `PublicTest`, `PrivateTest`", fields[i])),
        },
    };
    let want = (SIDE * SIDE) as usize;
    let mut pixels = Vec::with_capacity(want);
    for (i, p) in fields[cols.pixels].split_ascii_whitespace().enumerate() {
        match p.parse::<u8>() {
            Ok(v) => pixels.push(v),
            Err(_) => return Err(format!("pixel {} is `{p}`, not an integer in 0..=255", i + 1)),
        }
    }
    if pixels.len() != want {
        return Err(format!("expected `{want}` pixel values, found `{}`", pixels.len()));
    }
    let img = GrayImage::from_raw(SIDE, SIDE, pixels).ok_or_else(|| "failed to make a 48x48 image".to_string())?;
    Ok((label, usage, img))
}
