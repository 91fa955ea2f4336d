//! The report folder and its manifest `.fer-report.json` (versioned): the files a report wrote,
//! with size and sha256, so the next report deletes only those (and only while unchanged); a
//! non-empty folder without a manifest is not the report's and is refused unless forced.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ReportError;

/// The manifest's file name inside the report folder.
pub const MANIFEST_FILE: &str = ".fer-report.json";

/// Version of the manifest.
pub const MANIFEST_FORMAT: u32 = 1;

/// One file a report wrote, relative to the report folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrittenFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format_version: u32,
    written_at: String,
    files: Vec<WrittenFile>,
}

/// A folder claimed for a report, with what the previous report there wrote.
#[derive(Debug)]
pub(crate) struct OutDir {
    dir: PathBuf,
    previous: Vec<WrittenFile>,
}

/// What finishing a report did to the earlier one's files.
#[derive(Debug, Default, Clone)]
pub struct Cleanup {
    /// Files of the earlier report that this one did not write again: removed.
    pub removed: Vec<PathBuf>,
    /// Files of the earlier report changed since it wrote them: kept (no longer the report's).
    pub kept_changed: Vec<PathBuf>,
}

/// A relative path of plain names only (no `..`, no root): a manifest can never name a file
/// outside its folder.
fn is_plain_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let bytes = fs::read(path)?;
    Ok((bytes.len() as u64, fer_core::digest::sha256_hex(&bytes)))
}

fn read_manifest(path: &Path) -> Result<Option<Vec<WrittenFile>>, String> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let raw: serde_json::Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    match raw.get("format_version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(MANIFEST_FORMAT) => {}
        Some(v) => return Err(format!("format version `{v}`, this program reads version `{MANIFEST_FORMAT}`")),
        None => return Err("no `format_version`".into()),
    }
    let m: Manifest = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    if let Some(bad) = m.files.iter().find(|f| !is_plain_relative(&f.path)) {
        return Err(format!("`{}` is not a path inside the report folder", bad.path));
    }
    Ok(Some(m.files))
}

/// True when `dir` is missing or holds nothing.
fn is_empty_dir(dir: &Path) -> Result<bool, ReportError> {
    match fs::read_dir(dir) {
        Ok(mut rd) => Ok(rd.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(ReportError::write(dir, e)),
    }
}

impl OutDir {
    /// Claims `dir`: a new or empty folder, or one holding an earlier report's manifest. A
    /// non-empty folder without a manifest (or with a damaged one) is refused unless `force`;
    /// forced, nothing in it is deleted.
    pub(crate) fn claim(dir: &Path, force: bool) -> Result<OutDir, ReportError> {
        if dir.exists() && !dir.is_dir() {
            return Err(ReportError::write(dir, std::io::Error::other("it is not a folder")));
        }
        let manifest = dir.join(MANIFEST_FILE);
        let previous = match read_manifest(&manifest) {
            Ok(Some(files)) => files,
            Ok(None) if force || is_empty_dir(dir)? => Vec::new(),
            Ok(None) => return Err(ReportError::NotReportFolder { path: dir.to_path_buf() }),
            Err(_) if force => Vec::new(),
            Err(message) => return Err(ReportError::Manifest { path: manifest, message }),
        };
        Ok(OutDir { dir: dir.to_path_buf(), previous })
    }

    /// Records `written` (paths relative to the folder) in the manifest, then removes the files
    /// of the earlier report that were not written again, unless changed since.
    pub(crate) fn finish(self, written: &[String]) -> Result<Cleanup, ReportError> {
        let mut files = Vec::with_capacity(written.len());
        let mut seen = BTreeSet::new();
        for rel in written {
            if !seen.insert(rel.clone()) {
                continue;
            }
            debug_assert!(is_plain_relative(rel), "{rel}");
            let path = self.dir.join(rel);
            let (bytes, sha256) = sha256_file(&path).map_err(|e| ReportError::write(&path, e))?;
            files.push(WrittenFile { path: rel.clone(), bytes, sha256 });
        }
        let mut cleanup = Cleanup::default();
        for old in self.previous.iter().filter(|f| !seen.contains(&f.path)) {
            let path = self.dir.join(&old.path);
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(_) => continue, // gone already
            };
            let unchanged =
                meta.is_file() && meta.len() == old.bytes && sha256_file(&path).is_ok_and(|(_, sha)| sha == old.sha256);
            if unchanged {
                fs::remove_file(&path).map_err(|e| ReportError::write(&path, e))?;
                cleanup.removed.push(path);
            } else {
                cleanup.kept_changed.push(path);
            }
        }
        let manifest = Manifest { format_version: MANIFEST_FORMAT, written_at: fer_core::clock::now_rfc3339(), files };
        let path = self.dir.join(MANIFEST_FILE);
        fer_core::store::write_json(&path, &manifest)
            .map_err(|e| ReportError::write(&path, std::io::Error::other(e.to_string())))?;
        Ok(cleanup)
    }
}

/// The path of `p` relative to `base`, with `/` separators.
pub(crate) fn relative(base: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_folders_are_refused_and_only_unchanged_own_files_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        // New folder: claimed.
        let out = OutDir::claim(&dir, false).unwrap();
        fs::create_dir_all(dir.join("charts")).unwrap();
        for name in ["index.html", "charts/a.png", "charts/b.png"] {
            fs::write(dir.join(name), name).unwrap();
        }
        out.finish(&["index.html".into(), "charts/a.png".into(), "charts/b.png".into()]).unwrap();
        fs::write(dir.join("mine.txt"), b"user").unwrap();
        // Second report: writes a.png only; b.png goes, unless the user changed it.
        fs::write(dir.join("charts/b.png"), b"edited").unwrap();
        let out = OutDir::claim(&dir, false).unwrap();
        let c = out.finish(&["index.html".into(), "charts/a.png".into()]).unwrap();
        assert_eq!(c.kept_changed, [dir.join("charts/b.png")]);
        assert!(c.removed.is_empty());
        let out = OutDir::claim(&dir, false).unwrap();
        let c = out.finish(&["index.html".into()]).unwrap();
        assert_eq!(c.removed, [dir.join("charts/a.png")]);
        assert!(dir.join("mine.txt").exists() && dir.join("charts/b.png").exists());

        // A folder with files of its own and no manifest.
        let foreign = tmp.path().join("f");
        fs::create_dir_all(&foreign).unwrap();
        OutDir::claim(&foreign, false).unwrap(); // empty: fine
        fs::write(foreign.join("paper.tex"), b"x").unwrap();
        let e = OutDir::claim(&foreign, false).unwrap_err();
        assert!(matches!(e, ReportError::NotReportFolder { .. }), "{e}");
        assert!(e.to_string().contains("--force"), "{e}");
        OutDir::claim(&foreign, true).unwrap();

        // A manifest naming a file outside its folder is damaged, never followed.
        fs::write(
            dir.join(MANIFEST_FILE),
            r#"{"format_version": 1, "written_at": "x", "files": [{"path": "../f/paper.tex", "bytes": 1, "sha256": "x"}]}"#,
        )
        .unwrap();
        let e = OutDir::claim(&dir, false).unwrap_err();
        assert!(matches!(e, ReportError::Manifest { .. }), "{e}");
        OutDir::claim(&dir, true).unwrap().finish(&[]).unwrap();
        assert!(foreign.join("paper.tex").exists());
    }
}
