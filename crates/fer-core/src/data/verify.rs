//! Checking a data set on disk against its manifest: presence, per-file sha256, and counts per class, split and subject.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::content::{first_few, name_list, scan};
use super::loaders::{self, SkipKind, Skipped, Special};
use super::manifest::{file_path, sha256_file, Manifest, Protocol};
use super::splits::{random_split, stratified_split, subject_folds};

/// The state of one file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// The hash matches.
    Ok,
    /// Present, but the manifest has no hash for it.
    NotHashed,
    /// Present, but the loader does not read it: not part of the data, not checked.
    NotRead,
    Missing,
    Differs {
        expected: String,
        actual: String,
    },
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
    /// Files the loader reads that the manifest does not list (only when it lists some): new
    /// content, hashed from disk by `plan`.
    pub unlisted: Vec<String>,
    /// Files in the folder the loader does not read (not part of the data or its hash).
    pub ignored: Vec<String>,
    /// Entries skipped without being opened: links out of the folder, FIFOs, sockets, devices.
    pub special: Vec<Special>,
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
                FileStatus::Ok | FileStatus::NotHashed | FileStatus::NotRead => {}
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
        writeln!(
            f,
            "  files: {} listed, {} match their sha256, {} unlisted, {} ignored",
            self.files.len(),
            hashed,
            self.unlisted.len(),
            self.ignored.len()
        )?;
        if !self.unlisted.is_empty() {
            writeln!(f, "  note: read but not in the manifest (new content): {}", name_list(&self.unlisted))?;
        }
        let not_read: Vec<String> =
            self.files.iter().filter(|c| c.status == FileStatus::NotRead).map(|c| c.path.clone()).collect();
        if !not_read.is_empty() {
            writeln!(f, "  note: listed in the manifest but not read by the loader: {}", name_list(&not_read))?;
        }
        if !self.ignored.is_empty() {
            writeln!(f, "  warning: ignoring files the loader does not read: {}", name_list(&self.ignored))?;
        }
        if !self.special.is_empty() {
            let named: Vec<String> = self.special.iter().map(|s| format!("`{}` ({})", s.path, s.reason)).collect();
            writeln!(f, "  warning: skipped without opening: {}", first_few(&named))?;
        }
        let total: usize = self.class_counts.iter().sum();
        writeln!(f, "  items: {total} from {} subjects", self.subject_counts.len())?;
        for (name, n) in self.class_names.iter().zip(&self.class_counts) {
            writeln!(f, "    {name:<12} {n}")?;
        }
        // train, val, test, then folds by number.
        let mut splits: Vec<(&String, &Vec<usize>)> = self.split_counts.iter().collect();
        splits.sort_by_key(|(name, _)| {
            let rank = ["train", "val", "test"].iter().position(|s| s == name).unwrap_or(3);
            (rank, name.strip_prefix("fold-").and_then(|n| n.parse::<usize>().ok()), name.to_string())
        });
        for (split, counts) in splits {
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
        ignored: Vec::new(),
        special: Vec::new(),
        load_error: None,
        class_names: Vec::new(),
        class_counts: Vec::new(),
        split_counts: BTreeMap::new(),
        subject_counts: BTreeMap::new(),
        skipped: Vec::new(),
    };
    let scan = match scan(manifest, root) {
        Ok(v) if !(v.members.is_empty() && v.ignored.is_empty()) => v,
        _ => return report,
    };
    report.present = true;
    let read: BTreeSet<&str> = scan.members.iter().map(String::as_str).collect();
    report.files = manifest
        .files
        .par_iter()
        .map(|f| {
            let path = file_path(root, &f.path);
            let status = if !path.is_file() {
                FileStatus::Missing
            } else if !read.contains(f.path.as_str()) {
                FileStatus::NotRead
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
        report.unlisted = scan.members.iter().filter(|p| !listed.contains(p.as_str())).cloned().collect();
    }
    report.ignored = scan.ignored;
    report.special = scan.skipped;
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
    let mut add =
        |split: String, label: usize| report.split_counts.entry(split).or_insert_with(|| vec![0; classes])[label] += 1;
    match manifest.protocol {
        Protocol::Usage => {
            for it in &loaded.items {
                add(it.usage.map_or("no-usage", |u| u.split().name()).to_string(), it.label);
            }
        }
        Protocol::SubjectKfold { folds, seed, .. } => match subject_folds(&loaded.subjects(), folds, seed) {
            Ok(fs) => {
                for (it, f) in loaded.items.iter().zip(fs) {
                    add(format!("fold-{f}"), it.label);
                }
            }
            Err(e) => report.load_error = Some(e.to_string()),
        },
        Protocol::Random { val, test, seed } => match random_split(loaded.items.len(), val, test, seed) {
            Ok(ss) => {
                for (it, s) in loaded.items.iter().zip(ss) {
                    add(s.name().to_string(), it.label);
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::data::manifest::{tests::minimal, Protocol};
    use crate::data::testdata::*;

    fn jaffe_manifest(root: &Path) -> Manifest {
        write_jaffe(root, &["KA.AN1.39.tiff", "KA.HA2.40.tiff", "KL.AN1.1.tiff", "KL.SU1.2.tiff", "YM.NE1.3.tiff"]);
        let mut m = minimal("jaffe");
        m.protocol = Protocol::SubjectKfold { folds: 3, seed: 1, val: 0.1 };
        m.label_map = [("angry", "angry"), ("disgust", "disgust"), ("fear", "fear"), ("happy", "happy")]
            .into_iter()
            .chain([("neutral", "neutral"), ("sad", "sad"), ("surprise", DROP_)])
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        m.files = crate::data::content::on_disk(&m, root).unwrap().1;
        m
    }

    const DROP_: &str = crate::data::manifest::DROP;

    #[test]
    fn verify_counts_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let m = jaffe_manifest(root);
        assert_eq!(m.files.len(), 5, "5 images, not the README");
        assert_eq!(m.files[0].path, "KA.AN1.39.tiff");
        let r = verify(&m, root);
        assert!(r.ok(), "{r}");
        assert!(r.present);
        assert!(r.files.iter().all(|f| f.status == FileStatus::Ok));
        assert_eq!(r.class_names, ["angry", "disgust", "fear", "happy", "sad", "neutral"]);
        assert_eq!(r.class_counts, [2, 0, 0, 1, 0, 1]);
        assert_eq!(r.skipped_count(SkipKind::Dropped), 1);
        assert_eq!(r.subject_counts.len(), 3);
        assert_eq!(r.subject_counts["KA"], 2);
        assert_eq!(r.split_counts.len(), 3);
        assert_eq!(r.split_counts.values().map(|c| c.iter().sum::<usize>()).sum::<usize>(), 4);
        let text = r.to_string();
        assert!(text.contains("1 items dropped by the label map") && text.ends_with("ok\n"), "{text}");
    }

    #[test]
    fn verify_names_a_tampered_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let m = jaffe_manifest(root);
        // Same size, different content: still a valid image.
        write_image(&root.join("KL.AN1.1.tiff"), &img(16, 16, 99));
        fs::remove_file(root.join("KA.HA2.40.tiff")).unwrap();
        write_file(&root.join("extra.txt"), "x");
        write_image(&root.join("YM.SA1.4.tiff"), &img(16, 16, 5));
        let r = verify(&m, root);
        assert!(!r.ok());
        let p = r.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0], "`KA.HA2.40.tiff` is missing");
        assert!(p[1].starts_with("`KL.AN1.1.tiff` differs: sha256 `"), "{p:?}");
        assert_eq!(r.unlisted, ["YM.SA1.4.tiff"]);
        assert_eq!(r.ignored, ["README", "extra.txt"]);
        let text = r.to_string();
        assert!(text.contains("problem: `KL.AN1.1.tiff` differs"), "{text}");
        assert!(text.contains("warning: ignoring files the loader does not read: `README`, `extra.txt`"), "{text}");
        assert!(text.contains("new content): `YM.SA1.4.tiff`"), "{text}");
    }

    #[test]
    fn verify_skips_fifos_and_links_out_and_does_not_check_files_it_does_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("jaffe");
        let mut m = jaffe_manifest(&root);
        m.files.push(crate::data::manifest::FileHash { path: "README".into(), sha256: Some("0".repeat(64)) });
        let fifo = std::ffi::CString::new(root.join("pipe.tiff").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.tiff")).unwrap();
        write_image(&dir.path().join("out.tiff"), &img(16, 16, 1));
        std::os::unix::fs::symlink(dir.path().join("out.tiff"), root.join("YM.SA1.9.tiff")).unwrap();
        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        let r = verify(&m, &root);
        assert!(r.ok(), "{r}");
        let special: Vec<&str> = r.special.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(special, ["YM.SA1.9.tiff", "loop", "pipe.tiff", "zero.tiff"], "{r}");
        assert!(r.special[2].reason.contains("FIFO"), "{:?}", r.special);
        assert!(r.special[1].reason.contains("loop"), "{:?}", r.special);
        assert_eq!(r.files.iter().find(|f| f.path == "README").unwrap().status, FileStatus::NotRead);
        assert_eq!(r.class_counts.iter().sum::<usize>(), 4, "{r}");
    }

    #[test]
    fn verify_reports_bad_items_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut m = jaffe_manifest(root);
        m.files.clear();
        m.protocol = Protocol::SubjectKfold { folds: 2, seed: 1, val: 0.1 };
        fs::write(root.join("YM.NE1.3.tiff"), b"II*\0garbage").unwrap();
        let r = verify(&m, root);
        assert_eq!(r.class_counts.iter().sum::<usize>(), 3);
        assert_eq!(r.problems().len(), 1, "{:?}", r.problems());
        assert!(r.problems()[0].starts_with("`YM.NE1.3.tiff` is bad: "), "{:?}", r.problems());

        let r = verify(&m, &root.join("nope"));
        assert!(!r.present && !r.ok());
        assert!(r.problems()[0].contains("is not at"));
    }

    #[test]
    fn verify_fer2013_usage_splits() {
        let dir = tempfile::tempdir().unwrap();
        write_file(
            &dir.path().join("fer2013.csv"),
            fer_csv(&[(0, "Training"), (0, "Training"), (3, "PublicTest"), (6, "PrivateTest")]),
        );
        let mut m = minimal("fer2013");
        m.protocol = Protocol::Usage;
        let r = verify(&m, dir.path());
        assert!(r.ok(), "{r}");
        assert_eq!(r.split_counts["train"], [2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r.split_counts["val"], [0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(r.split_counts["test"], [0, 0, 0, 0, 0, 0, 1]);
    }
}
