//! Per-entry locks (advisory `flock` on `<entry>/lock`): one process runs a job at a time.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::error::StoreError;

/// An exclusive lock, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
    pub path: PathBuf,
}

impl EntryLock {
    fn open(path: &Path) -> Result<File, StoreError> {
        OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| StoreError::io(path, e))
    }

    /// Takes the lock if it is free.
    pub fn try_acquire(path: &Path) -> Result<Option<EntryLock>, StoreError> {
        let file = Self::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(EntryLock { _file: file, path: path.to_path_buf() })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(path, e)),
        }
    }

    /// Waits for the lock.
    pub fn acquire(path: &Path) -> Result<EntryLock, StoreError> {
        let file = Self::open(path)?;
        file.lock().map_err(|e| StoreError::io(path, e))?;
        Ok(EntryLock { _file: file, path: path.to_path_buf() })
    }

    /// True when another process holds the lock; never creates the file.
    pub fn is_held(path: &Path) -> bool {
        match OpenOptions::new().write(true).open(path) {
            Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let a = EntryLock::try_acquire(&p).unwrap();
        assert!(a.is_some());
        assert!(EntryLock::try_acquire(&p).unwrap().is_none());
        assert!(EntryLock::is_held(&p));
        drop(a);
        assert!(!EntryLock::is_held(&p));
        assert!(EntryLock::try_acquire(&p).unwrap().is_some());
    }
}
