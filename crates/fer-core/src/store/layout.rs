//! The store's layout: `<root>/store.json` (format) and `<root>/<kind>/<hash16>/` entries.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{read_json, write_json};
use super::entry::Entry;
use super::error::StoreError;
use crate::plan::{JobHash, JobKind};

/// Version of the store's on-disk layout.
pub const STORE_FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct StoreRecord {
    format_version: u32,
    created_at: String,
}

/// A content-addressed store of job results.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A handle; nothing is read or written until used.
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn entry(&self, kind: JobKind, hash: &JobHash) -> Entry {
        Entry { dir: self.root.join(kind.name()).join(hash.short()), kind, hash: *hash }
    }

    /// Checks the format of an existing store (a missing store is fine).
    pub fn check(&self) -> Result<(), StoreError> {
        let path = self.root.join("store.json");
        if let Some(rec) = read_json::<StoreRecord>(&path)? {
            if rec.format_version != STORE_FORMAT {
                return Err(StoreError::Version {
                    path: self.root.clone(),
                    found: rec.format_version,
                    expected: STORE_FORMAT,
                });
            }
        }
        Ok(())
    }

    /// Creates the store if needed and proves it writable; call before the first write.
    pub fn init(&self) -> Result<(), StoreError> {
        let not_writable = |e| StoreError::NotWritable { path: self.root.clone(), source: e };
        fs::create_dir_all(&self.root).map_err(not_writable)?;
        let probe = super::atomic::temp_path(&self.root.join("probe"));
        fs::write(&probe, b"").map_err(not_writable)?;
        let _ = fs::remove_file(&probe);
        self.check()?;
        let stale = self.remove_stale_temps();
        if !stale.is_empty() {
            let names: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
            tracing::debug!("removed {} temporary file(s) left by an earlier crash: {}", stale.len(), names.join(", "));
        }
        let path = self.root.join("store.json");
        if !path.exists() {
            write_json(&path, &StoreRecord { format_version: STORE_FORMAT, created_at: crate::clock::now_rfc3339() })?;
        }
        Ok(())
    }

    /// Removes the temporary files that killed writers left outside the entries (each entry
    /// sweeps its own under its lock): in the store's folder, `roots/`, `blobs/` and each Slurm
    /// submission's folder. Nothing there is written under a lock, so a file is removed only once
    /// its writer is gone (see [`super::atomic::remove_stale_temps`]). Returns the paths removed,
    /// relative to the store.
    pub fn remove_stale_temps(&self) -> Vec<PathBuf> {
        let mut folders = vec![PathBuf::new(), PathBuf::from(super::roots::ROOTS_DIR), PathBuf::from("blobs")];
        if let Ok(rd) = fs::read_dir(self.root.join("slurm")) {
            let mut subs: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| Path::new("slurm").join(e.file_name()))
                .collect();
            subs.sort();
            folders.extend(subs);
        }
        let mut removed = Vec::new();
        for rel in folders {
            let dir = self.root.join(&rel);
            removed.extend(super::atomic::remove_stale_temps(&dir, |_| false).into_iter().map(|n| rel.join(n)));
            if rel.as_os_str().is_empty() {
                removed.extend(remove_dead_probes(&dir));
            }
        }
        removed
    }

    /// Where a user-supplied file with this sha256 is kept (`blobs/<sha256>`).
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join(sha256)
    }

    /// Copies `path` into `blobs/` under its sha256 (once); checks the content still matches.
    /// `path` must be a regular file; the copy keeps its permission bits (never wider: a 0600
    /// file stays 0600, and a blob copied wider by an earlier version is narrowed).
    pub fn import_blob(&self, path: &Path, sha256: &str) -> Result<(), StoreError> {
        use sha2::{Digest, Sha256};
        use std::io::{Read, Write};
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

        let (mut src, meta) = crate::spec::open_regular(path).map_err(|e| match e {
            crate::spec::SmallFileError::Io(e) => StoreError::io(path, e),
            crate::spec::SmallFileError::Unusable(why) => StoreError::format(path, why),
        })?;
        let mode = meta.permissions().mode() & 0o777;
        let dest = self.blob_path(sha256);
        if let Ok(existing) = fs::metadata(&dest) {
            let have = existing.permissions().mode() & 0o777;
            if have & !mode != 0 {
                fs::set_permissions(&dest, fs::Permissions::from_mode(have & mode))
                    .map_err(|e| StoreError::io(&dest, e))?;
            }
            return Ok(());
        }
        let dir = self.root.join("blobs");
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let tmp = super::atomic::temp_path(&dest);
        let copied = (|| -> std::io::Result<String> {
            // Created with the source's mode (less the umask), so it is never readable by more.
            let mut out = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match src.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                h.update(&buf[..n]);
                out.write_all(&buf[..n])?;
            }
            out.sync_all()?;
            Ok(crate::digest::hex(&h.finalize()))
        })();
        let fail = |e: StoreError| {
            let _ = fs::remove_file(&tmp);
            Err(e)
        };
        match copied {
            Err(e) => return fail(StoreError::io(path, e)),
            Ok(h) if h != sha256 => {
                return fail(StoreError::format(path, "the file changed since the pipeline was read"))
            }
            Ok(_) => {}
        }
        if let Err(e) = fs::rename(&tmp, &dest) {
            return fail(StoreError::io(&dest, e));
        }
        super::atomic::sync_dir(&dest);
        Ok(())
    }

    /// Every entry folder in the store, as (kind, folder).
    pub fn list(&self) -> Result<Vec<(JobKind, PathBuf)>, StoreError> {
        let mut out = Vec::new();
        for kind in JobKind::ALL {
            let dir = self.root.join(kind.name());
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&dir, e)),
            };
            for item in rd {
                let item = item.map_err(|e| StoreError::io(&dir, e))?;
                if item.path().is_dir() {
                    out.push((kind, item.path()));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Removes `.probe-<pid>` files that earlier versions' writability probe left when killed.
fn remove_dead_probes(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for item in rd.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(".probe-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !super::atomic::process_alive(pid) && fs::remove_file(item.path()).is_ok() {
            removed.push(PathBuf::from(name));
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn blobs_keep_the_source_mode_and_refuse_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let src = dir.path().join("w.bin");
        fs::write(&src, b"weights").unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o600)).unwrap();
        let sha = crate::digest::sha256_hex(b"weights");
        store.import_blob(&src, &sha).unwrap();
        assert_eq!(fs::read(store.blob_path(&sha)).unwrap(), b"weights");
        assert_eq!(mode(&store.blob_path(&sha)), 0o600);
        assert!(fs::read_dir(dir.path().join("store/blobs")).unwrap().count() == 1, "no temp file left");

        // A blob written wider by an earlier version is narrowed to the source's mode.
        fs::set_permissions(store.blob_path(&sha), fs::Permissions::from_mode(0o644)).unwrap();
        store.import_blob(&src, &sha).unwrap();
        assert_eq!(mode(&store.blob_path(&sha)), 0o600);

        // Changed content and non-files are refused, leaving nothing behind.
        assert!(store.import_blob(&src, &crate::digest::sha256_hex(b"other")).is_err());
        assert!(store.import_blob(Path::new("/dev/zero"), &sha.replace('a', "b")).is_err());
        assert_eq!(fs::read_dir(dir.path().join("store/blobs")).unwrap().count(), 1);
    }

    /// A run killed while it wrote a record outside the entries (its root, `store.json`, a blob,
    /// a Slurm script) leaves a temporary file; the next command that writes removes it once
    /// its writer is gone, and keeps a live writer's.
    #[test]
    fn init_removes_temp_files_dead_writers_left_outside_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        for sub in ["roots", "blobs", "slurm/20261130-1"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let stale = [
            format!("roots/.66450b20b5d847ae.json.tmp-{dead}-1"),
            format!(".store.json.tmp-{dead}-0"),
            format!("blobs/.{}.tmp-{dead}-2", "ab".repeat(32)),
            format!("slurm/20261130-1/.0-train-0.sbatch.tmp-{dead}-3"),
            format!(".probe-{dead}"),
        ];
        let live = [format!("roots/.0123456789abcdef.json.tmp-{me}-4"), format!("blobs/.cd.tmp-{me}-5")];
        for name in stale.iter().chain(&live) {
            fs::write(dir.path().join(name), b"{").unwrap();
        }
        fs::write(dir.path().join("roots/.notes"), b"kept").unwrap();
        store.init().unwrap();
        for name in &stale {
            assert!(!dir.path().join(name).exists(), "{name} was left");
        }
        for name in live.iter().chain(&["roots/.notes".to_string()]) {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
        assert_eq!(
            read_json::<serde_json::Value>(&dir.path().join("store.json")).unwrap().unwrap()["format_version"],
            1
        );
    }
}
