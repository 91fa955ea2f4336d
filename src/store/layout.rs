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
        let probe = self.root.join(format!(".probe-{}", std::process::id()));
        fs::write(&probe, b"").map_err(not_writable)?;
        let _ = fs::remove_file(&probe);
        self.check()?;
        let path = self.root.join("store.json");
        if !path.exists() {
            write_json(&path, &StoreRecord { format_version: STORE_FORMAT, created_at: crate::clock::now_rfc3339() })?;
        }
        Ok(())
    }

    /// Where a user-supplied file with this sha256 is kept (`blobs/<sha256>`).
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join(sha256)
    }

    /// Copies `path` into `blobs/` under its sha256 (once); checks the content still matches.
    pub fn import_blob(&self, path: &Path, sha256: &str) -> Result<(), StoreError> {
        let dest = self.blob_path(sha256);
        if dest.exists() {
            return Ok(());
        }
        let bytes = fs::read(path).map_err(|e| StoreError::io(path, e))?;
        if crate::plan::sha256_hex(&bytes) != sha256 {
            return Err(StoreError::format(path, "the file changed since the pipeline was read"));
        }
        fs::create_dir_all(self.root.join("blobs")).map_err(|e| StoreError::io(self.root.join("blobs"), e))?;
        super::atomic::write_atomic(&dest, &bytes)
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
