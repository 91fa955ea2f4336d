//! Checking a data set on disk against its manifest: presence, per-file sha256, and counts per class, split and subject.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::loaders::{self, SkipKind, Skipped};
use super::manifest::{file_path, list_files, sha256_file, Manifest, Protocol};
use super::splits::{stratified_split, subject_folds};

/// The state of one file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// The hash matches.
    Ok,
    /// Present, but the manifest has no hash for it.
    NotHashed,
    Missing,
    Differs { expected: String, actual: String },
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub path: String,
    pub status: FileStatus,
}

/// What `fer-pipeline data verify` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub name: String,
    pub root: PathBuf,
    /// The root exists and is not empty.
    pub present: bool,
    /// One per file listed in the manifest, in its order.
    pub files: Vec<FileCheck>,
    /// Files on disk the manifest does not list (only when it lists some).
    pub unlisted: Vec<String>,
    /// Why the data could not be loaded (layout error, absent), if so.
    pub load_error: Option<String>,
    /// Class names after the manifest's label map.
    pub class_names: Vec<String>,
    pub class_counts: Vec<usize>,
    /// Split (`train`/`val`/`test`, or `fold-0`.. for subject k-fold) -> counts per class.
    pub split_counts: BTreeMap<String, Vec<usize>>,
    /// Subject -> number of items.
    pub subject_counts: BTreeMap<String, usize>,
    /// Items left out: empty files, unlabelled sequences, dropped classes, bad items.
    pub skipped: Vec<Skipped>,
}

impl VerifyReport {
    /// Items per skip kind.
    pub fn skipped_count(&self, kind: SkipKind) -> usize {
        self.skipped.iter().filter(|s| s.kind == kind).count()
    }

    /// Everything that is wrong, one line each (empty when the data set is usable and matches).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.present {
            out.push(format!("data set `{}` is not at `{}`", self.name, self.root.display()));
            return out;
        }
        for f in &self.files {
            match &f.status {
                FileStatus::Ok | FileStatus::NotHashed => {}
                FileStatus::Missing => out.push(format!("`{}` is missing", f.path)),
                FileStatus::Differs { expected, actual } => {
                    out.push(format!("`{}` differs: sha256 `{actual}`, manifest `{expected}`", f.path))
                }
                FileStatus::Unreadable(e) => out.push(format!("`{}` cannot be read: {e}", f.path)),
            }
        }
        if let Some(e) = &self.load_error {
            out.push(e.clone());
        }
        for s in self.skipped.iter().filter(|s| s.kind == SkipKind::Bad) {
            out.push(format!("`{}` is bad: {}", s.source, s.reason));
        }
        out
    }

    /// True when [`problems`](Self::problems) is empty.
    pub fn ok(&self) -> bool {
        self.problems().is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "data set `{}` at `{}`", self.name, self.root.display())?;
        if !self.present {
            return writeln!(f, "  absent");
        }
        let hashed = self.files.iter().filter(|c| c.status == FileStatus::Ok).count();
        writeln!(f, "  files: {} listed, {} match their sha256, {} unlisted", self.files.len(), hashed, self.unlisted.len())?;
        let total: usize = self.class_counts.iter().sum();
        writeln!(f, "  items: {total} from {} subjects", self.subject_counts.len())?;
        for (name, n) in self.class_names.iter().zip(&self.class_counts) {
            writeln!(f, "    {name:<12} {n}")?;
        }
        for (split, counts) in &self.split_counts {
            let parts: Vec<String> = self.class_names.iter().zip(counts).map(|(c, n)| format!("{c} {n}")).collect();
            writeln!(f, "  {split:<8} {:>6}: {}", counts.iter().sum::<usize>(), parts.join(", "))?;
        }
        for (kind, what) in [
            (SkipKind::Empty, "empty files skipped"),
            (SkipKind::Unlabelled, "unlabelled sequences skipped"),
            (SkipKind::Dropped, "items dropped by the label map"),
            (SkipKind::Bad, "bad items"),
        ] {
            let n = self.skipped_count(kind);
            if n > 0 {
                writeln!(f, "  {n} {what}")?;
            }
        }
        let problems = self.problems();
        if problems.is_empty() {
            writeln!(f, "  ok")
        } else {
            for p in problems {
                writeln!(f, "  problem: {p}")?;
            }
            Ok(())
        }
    }
}

/// Checks the data set at `root` against `manifest`: hashes of the listed files (in parallel), then
/// loads every item (decoding each image, keeping none) and counts classes, splits and subjects.
/// Bad items are reported, not fatal.
pub fn verify(manifest: &Manifest, root: &Path) -> VerifyReport {
    let mut report = VerifyReport {
        name: manifest.name.clone(),
        root: root.to_path_buf(),
        present: false,
        files: Vec::new(),
        unlisted: Vec::new(),
        load_error: None,
        class_names: Vec::new(),
        class_counts: Vec::new(),
        split_counts: BTreeMap::new(),
        subject_counts: BTreeMap::new(),
        skipped: Vec::new(),
    };
    let on_disk = match list_files(root) {
        Ok(v) if !v.is_empty() => v,
        _ => return report,
    };
    report.present = true;
    report.files = manifest
        .files
        .par_iter()
        .map(|f| {
            let path = file_path(root, &f.path);
            let status = if !path.is_file() {
                FileStatus::Missing
            } else {
                match (&f.sha256, sha256_file(&path)) {
                    (_, Err(e)) => FileStatus::Unreadable(e.to_string()),
                    (None, Ok(_)) => FileStatus::NotHashed,
                    (Some(want), Ok(got)) if *want == got => FileStatus::Ok,
                    (Some(want), Ok(got)) => FileStatus::Differs { expected: want.clone(), actual: got },
                }
            };
            FileCheck { path: f.path.clone(), status }
        })
        .collect();
    if !manifest.files.is_empty() {
        let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        report.unlisted = on_disk.into_iter().filter(|p| !listed.contains(p.as_str())).collect();
    }
    let loaded = loaders::load_inner(manifest.loader, &manifest.name, root, &manifest.load_options(true, None), false)
        .and_then(|l| manifest.map_labels(l));
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            report.load_error = Some(e.to_string());
            return report;
        }
    };
    report.class_names = loaded.class_names.clone();
    report.class_counts = loaded.class_counts();
    for it in &loaded.items {
        *report.subject_counts.entry(it.subject.clone()).or_default() += 1;
    }
    let classes = loaded.class_names.len();
    let mut add = |split: String, label: usize| report.split_counts.entry(split).or_insert_with(|| vec![0; classes])[label] += 1;
    match manifest.protocol {
        Protocol::Usage => {
            for it in &loaded.items {
                add(it.usage.map_or("no-usage", |u| u.split().name()).to_string(), it.label);
            }
        }
        Protocol::SubjectKfold { folds, seed } => match subject_folds(&loaded.subjects(), folds, seed) {
            Ok(fs) => {
                for (it, f) in loaded.items.iter().zip(fs) {
                    add(format!("fold-{f}"), it.label);
                }
            }
            Err(e) => report.load_error = Some(e.to_string()),
        },
        Protocol::Stratified { val, test, seed } => match stratified_split(&loaded.labels(), val, test, seed) {
            Ok(ss) => {
                for (it, s) in loaded.items.iter().zip(ss) {
                    add(s.name().to_string(), it.label);
                }
            }
            Err(e) => report.load_error = Some(e.to_string()),
        },
    }
    report.skipped = loaded.skipped;
    report
}
