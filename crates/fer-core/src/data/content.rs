//! What a real data set is: the files its loader reads, their content hash, and the files it leaves aside.
//!
//! One rule for `plan`, `data verify`, `data hash` and the prepare job: the content hash is sha256
//! over `path\0sha256\n` of exactly the files the loader reads ([`loaders::members`]), sorted by
//! path. Other files in the data folder (a README, `NOTES.txt`) are ignored and named in a warning;
//! links out of the folder, FIFOs, sockets and devices are skipped, never opened, and named too.
//!
//! `plan` takes each file's sha256 from the manifest when it lists one (so planning does not read
//! the data) and hashes the others; the prepare job hashes every file from disk and fails, naming
//! the files that differ from the manifest, when the result is not what was planned.
//!
//! A file the manifest lists that is not in the folder (an interrupted copy) makes the data set
//! incomplete: `data verify` reports it missing, `plan` marks the jobs unavailable, and prepare
//! refuses, until the file is restored or `data hash` accepts the data as it is now.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::error::DataError;
use super::loaders::{self, Special};
use super::manifest::{content_hash, file_path, hash_paths, list_files, FileHash, Manifest};

/// How many names a warning lists before `and N more`.
const NAMED: usize = 10;

/// The files of a data folder, sorted by the loader's rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The files the loader reads (`/`-separated, relative to the root, sorted).
    pub members: Vec<String>,
    /// Regular files the loader does not read.
    pub ignored: Vec<String>,
    /// Entries skipped without being opened: links out of the folder, FIFOs, sockets, devices.
    pub skipped: Vec<Special>,
}

/// Walks the data folder `root` of `m` (names only; nothing is read).
pub fn scan(m: &Manifest, root: &Path) -> Result<Scan, DataError> {
    let members = loaders::members(m.loader, root, &m.load_options(false, None))?;
    let (all, skipped) = list_files(root)?;
    let read: BTreeSet<&str> = members.files.iter().map(String::as_str).collect();
    let ignored = all.iter().filter(|p| !read.contains(p.as_str())).cloned().collect();
    let skipped: BTreeSet<Special> = members.skipped.into_iter().chain(skipped).collect();
    Ok(Scan { members: members.files, ignored, skipped: skipped.into_iter().collect() })
}

/// The planned content of a data set: its hash and what the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub sha256: String,
    pub scan: Scan,
    /// Files the manifest lists that are not in the data folder (sorted).
    pub missing: Vec<String>,
}

/// The content hash `plan` records: each file's sha256 from the manifest when listed, else from
/// disk (remembered for the process while the file's size, mtime and inode stay the same: a
/// pipeline is compiled once per profile).
pub fn planned(m: &Manifest, root: &Path) -> Result<Planned, DataError> {
    let scan = scan(m, root)?;
    let listed: HashMap<&str, &str> =
        m.files.iter().filter_map(|f| f.sha256.as_deref().map(|h| (f.path.as_str(), h))).collect();
    let unlisted: Vec<String> = scan.members.iter().filter(|p| !listed.contains_key(p.as_str())).cloned().collect();
    let mut files = hash_remembered(root, &unlisted)?;
    files.extend(
        scan.members
            .iter()
            .filter_map(|p| listed.get(p.as_str()).map(|h| FileHash { path: p.clone(), sha256: Some(h.to_string()) })),
    );
    let missing = missing(m, &scan);
    Ok(Planned { sha256: content_hash(&files), scan, missing })
}

/// The files `m` lists that the walk did not find in the folder, sorted (as `data verify` reports them).
pub fn missing(m: &Manifest, scan: &Scan) -> Vec<String> {
    let here: BTreeSet<&str> = scan.members.iter().chain(&scan.ignored).map(String::as_str).collect();
    let gone: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).filter(|p| !here.contains(p)).collect();
    gone.into_iter().map(str::to_string).collect()
}

/// The error of a data set whose manifest lists files that are not in `root`.
pub fn incomplete(m: &Manifest, root: &Path, missing: &[String]) -> String {
    format!(
        "data set `{}` at `{}` is incomplete: {} file(s) listed in its manifest are missing: {}; \
         restore them, or run `fer-pipeline data hash {}` to accept the data as it is now",
        m.name,
        root.display(),
        missing.len(),
        name_list(missing),
        m.name
    )
}

/// [`hash_paths`], remembering each hash for the process under the file's path and stamp.
fn hash_remembered(root: &Path, paths: &[String]) -> Result<Vec<FileHash>, DataError> {
    use std::os::unix::fs::MetadataExt;
    type Key = (PathBuf, u64, (i64, i64), (i64, i64), u64);
    static SEEN: Mutex<BTreeMap<Key, String>> = Mutex::new(BTreeMap::new());
    let key = |p: &str| {
        let path = file_path(root, p);
        let m = std::fs::metadata(&path).ok()?;
        Some((path, m.len(), (m.mtime(), m.mtime_nsec()), (m.ctime(), m.ctime_nsec()), m.ino()))
    };
    let mut out = Vec::new();
    let mut todo = Vec::new();
    {
        let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        for p in paths {
            match key(p).and_then(|k| seen.get(&k).cloned()) {
                Some(h) => out.push(FileHash { path: p.clone(), sha256: Some(h) }),
                None => todo.push(p.clone()),
            }
        }
    }
    let fresh = hash_paths(root, &todo)?;
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    for f in &fresh {
        if let (Some(k), Some(h)) = (key(&f.path), &f.sha256) {
            seen.insert(k, h.clone());
        }
    }
    out.extend(fresh);
    Ok(out)
}

/// The content hash of the files as they are on disk now (every file hashed), with each file's
/// hash, and the files the manifest lists that are missing (`data hash` drops them; prepare refuses).
pub fn on_disk(m: &Manifest, root: &Path) -> Result<(String, Vec<FileHash>, Vec<String>), DataError> {
    let scan = scan(m, root)?;
    let gone = missing(m, &scan);
    let files = hash_paths(root, &scan.members)?;
    Ok((content_hash(&files), files, gone))
}

/// Why `files` (hashed from disk) differ from the manifest, one phrase per file (the first few).
pub fn differences(m: &Manifest, files: &[FileHash]) -> Vec<String> {
    let listed: HashMap<&str, Option<&str>> = m.files.iter().map(|f| (f.path.as_str(), f.sha256.as_deref())).collect();
    let mut out = Vec::new();
    for f in files {
        match listed.get(f.path.as_str()) {
            Some(Some(h)) if Some(*h) != f.sha256.as_deref() => {
                out.push(format!("`{}` differs from its sha256 in the manifest", f.path))
            }
            None if !m.files.is_empty() => out.push(format!("`{}` is not in the manifest", f.path)),
            _ => {}
        }
    }
    out
}

/// `` `a`, `b`, `c` ``: the names quoted, the first [`NAMED`] then `and N more`.
pub fn name_list(names: &[String]) -> String {
    first_few(&names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>())
}

/// The phrases joined by `, `: the first [`NAMED`] then `and N more`.
pub fn first_few(items: &[String]) -> String {
    let names = items;
    let mut s: Vec<String> = names.iter().take(NAMED).cloned().collect();
    if names.len() > NAMED {
        s.push(format!("and {} more", names.len() - NAMED));
    }
    s.join(", ")
}

/// The warnings about what a walk left aside (empty when nothing was).
pub fn warnings(m: &Manifest, root: &Path, scan: &Scan) -> Vec<String> {
    let mut out = Vec::new();
    let at = format!("data set `{}` at `{}`", m.name, root.display());
    if !scan.ignored.is_empty() {
        out.push(format!(
            "{at}: ignoring {} file(s) the `{}` loader does not read (not part of the data or its hash): {}",
            scan.ignored.len(),
            m.loader,
            name_list(&scan.ignored)
        ));
    }
    if !scan.skipped.is_empty() {
        let named: Vec<String> = scan.skipped.iter().map(|s| format!("`{}` ({})", s.path, s.reason)).collect();
        let what = if named.len() == 1 { "entry" } else { "entries" };
        out.push(format!("{at}: skipped without opening {} {what}: {}", named.len(), first_few(&named)));
    }
    out
}

/// Logs [`warnings`] once per process and data folder.
pub fn warn_once(m: &Manifest, root: &Path, scan: &Scan) {
    static WARNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    if !WARNED.lock().unwrap_or_else(|e| e.into_inner()).insert(root.to_path_buf()) {
        return;
    }
    for w in warnings(m, root, scan) {
        tracing::warn!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::data::manifest::tests::minimal;
    use crate::data::testdata::*;

    fn jaffe(root: &Path) -> Manifest {
        write_jaffe(root, &["KA.AN1.39.tiff", "KL.HA2.40.tiff", "YM.NE1.3.tiff"]);
        minimal("jaffe")
    }

    #[test]
    fn the_hash_covers_what_the_loader_reads_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut m = jaffe(root);
        let s = scan(&m, root).unwrap();
        assert_eq!(s.members, ["KA.AN1.39.tiff", "KL.HA2.40.tiff", "YM.NE1.3.tiff"]);
        assert_eq!(s.ignored, ["README"]);
        let (h, files, _) = on_disk(&m, root).unwrap();
        assert_eq!(planned(&m, root).unwrap().sha256, h);
        write_file(&root.join("NOTES.txt"), "x");
        write_file(&root.join("sub/more.txt"), "y");
        assert_eq!(on_disk(&m, root).unwrap().0, h, "files the loader ignores change nothing");
        assert_eq!(scan(&m, root).unwrap().ignored, ["NOTES.txt", "README", "sub/more.txt"]);
        // The manifest's hashes are taken as they are at plan time; prepare names what differs.
        m.files = files;
        assert_eq!(planned(&m, root).unwrap().sha256, h);
        write_image(&root.join("KL.HA2.40.tiff"), &img(16, 16, 99));
        let (h2, now, _) = on_disk(&m, root).unwrap();
        assert_ne!(h2, h);
        assert_eq!(differences(&m, &now), ["`KL.HA2.40.tiff` differs from its sha256 in the manifest"]);
        fs::remove_file(root.join("YM.NE1.3.tiff")).unwrap();
        let p = planned(&m, root).unwrap();
        assert_eq!(p.missing, ["YM.NE1.3.tiff"]);
        let w = warnings(&m, root, &p.scan).join("\n");
        assert!(w.contains("ignoring 3 file(s)") && w.contains("`NOTES.txt`"), "{w}");
        assert_eq!(on_disk(&m, root).unwrap().2, ["YM.NE1.3.tiff"]);
        let e = incomplete(&m, root, &p.missing);
        assert!(e.contains("`YM.NE1.3.tiff`") && e.contains("fer-pipeline data hash jaffe"), "{e}");
    }

    #[test]
    fn every_listed_file_that_is_gone_is_missing_hashed_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut m = jaffe(root);
        m.files = vec![
            FileHash { path: "KA.AN1.39.tiff".into(), sha256: None },
            FileHash { path: "README".into(), sha256: None },
            FileHash { path: "ZZ.SU1.1.tiff".into(), sha256: None },
            FileHash { path: "ZZ.SU1.2.tiff".into(), sha256: Some("ab".repeat(32)) },
        ];
        assert_eq!(planned(&m, root).unwrap().missing, ["ZZ.SU1.1.tiff", "ZZ.SU1.2.tiff"]);
    }

    #[test]
    fn name_lists_are_capped() {
        let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
        let s = name_list(&names);
        assert!(s.starts_with("`f0`, `f1`") && s.ends_with("`f9`, and 2 more"), "{s}");
    }
}
