//! Garbage collection: removes entries no given pipeline refers to (never a running one).

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use super::entry::LOCK_FILE;
use super::error::StoreError;
use super::layout::Store;
use super::lock::EntryLock;

/// What `gc` did or would do.
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Vec<PathBuf>,
    pub kept: usize,
    pub skipped_running: Vec<PathBuf>,
    pub bytes: u64,
}

fn dir_size(p: &std::path::Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Removes every entry whose `<kind>/<hash16>` is not in `keep`.
pub fn gc(store: &Store, keep: &HashSet<String>, dry_run: bool) -> Result<GcReport, StoreError> {
    let mut report = GcReport::default();
    for (kind, dir) in store.list()? {
        let name = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if keep.contains(&format!("{}/{}", kind.name(), name)) {
            report.kept += 1;
            continue;
        }
        let lock = match EntryLock::try_acquire(&dir.join(LOCK_FILE)) {
            Ok(Some(l)) => l,
            Ok(None) => {
                report.skipped_running.push(dir);
                continue;
            }
            Err(e) => return Err(e),
        };
        report.bytes += dir_size(&dir);
        if !dry_run {
            // Rename first so a crash never leaves a half-deleted entry under its real name.
            let trash = dir.with_file_name(format!(".gc-{name}-{}", std::process::id()));
            fs::rename(&dir, &trash).map_err(|e| StoreError::io(&dir, e))?;
            drop(lock);
            fs::remove_dir_all(&trash).map_err(|e| StoreError::io(&trash, e))?;
        }
        report.removed.push(dir);
    }
    Ok(report)
}
