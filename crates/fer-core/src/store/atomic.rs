//! Atomic file writes: write a temporary sibling, sync it, rename it into place.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::StoreError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique temporary name beside `path`: `.<file>.tmp-<pid>-<n>-<host>`, where `<host>` tags
/// this machine (8 hex digits of the sha256 of its host name), so that a cleaner on another node
/// of a shared store never takes a live writer's file for a dead one's.
pub fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{n}-{}", std::process::id(), host_tag()))
}

/// Who wrote a temporary file: its process id, and whether that process ran on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TempOwner {
    pub pid: u32,
    pub this_host: bool,
}

/// The writer of `name` when it is a temporary name made by [`temp_path`]
/// (`.<file>.tmp-<pid>-<n>-<host>`; `.<file>.tmp-<pid>-<n>` from older versions, taken as local).
pub(super) fn temp_owner(name: &str) -> Option<TempOwner> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".tmp-")?;
    let mut parts = tail.split('-');
    let (pid, n, host) = (parts.next()?, parts.next()?, parts.next());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) || parts.next().is_some() {
        return None;
    }
    let this_host = match host {
        None => true,
        Some(h) if h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h == host_tag(),
        Some(_) => return None,
    };
    Some(TempOwner { pid: pid.parse().ok()?, this_host })
}

/// 8 hex digits of the sha256 of this machine's host name.
fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let len = if ok { buf.iter().position(|&b| b == 0).unwrap_or(buf.len()) } else { 0 };
        Sha256::digest(&buf[..len]).iter().take(4).map(|b| format!("{b:02x}")).collect()
    })
}

/// How long a temporary file may go unwritten before it counts as stale whoever wrote it: a
/// writer on another node of a cluster cannot be checked from here, and every write of the store
/// outside an entry's lock lasts milliseconds.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes the temporary files in `dir` (made by [`temp_path`]) whose writers are gone, and
/// returns their names, sorted. `under_lock(name)` says the file is written only under a lock the
/// caller holds: such a file is stale whoever wrote it. Any other is stale when its writer ran on
/// this machine and is no longer alive, or when it was last written over ten minutes ago.
pub(super) fn remove_stale_temps(dir: &Path, under_lock: impl Fn(&str) -> bool) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for item in rd.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(owner) = temp_owner(&name) else { continue };
        let old = || {
            item.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER)
        };
        let stale = under_lock(&name) || old() || (owner.this_host && !process_alive(owner.pid));
        if stale && item.file_type().is_ok_and(|t| t.is_file()) && fs::remove_file(item.path()).is_ok() {
            removed.push(name);
        }
    }
    if !removed.is_empty() {
        sync_folder(dir);
    }
    removed.sort();
    removed
}

/// True when a process with this id runs on this machine (ours included).
pub(super) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = i32::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A killed process stays a zombie until it is reaped: it writes nothing any more.
    exists && !is_zombie(pid)
}

/// Whether `/proc/<pid>/stat` says the process has exited and waits to be reaped (state `Z`).
pub(super) fn is_zombie(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // `pid (comm) state ...`; comm may hold spaces and parentheses: the state follows the last `)`.
    stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    sync_dir(path);
    Ok(())
}

/// Syncs the folder holding `path` so a rename survives a crash (best effort).
pub(super) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        sync_folder(dir);
    }
}

/// Syncs `dir` itself so that files created, renamed or removed in it survive a crash (best effort).
pub(super) fn sync_folder(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes JSON atomically, pretty-printed with a trailing newline.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| StoreError::format(path, e.to_string()))?;
    text.push(b'\n');
    write_atomic(path, &text)
}

/// Reads JSON; a missing file is `Ok(None)`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::format(path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temp_names_name_their_writer() {
        let t = temp_path(Path::new("/s/train/ab/weights.safetensors"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_owner(name), Some(TempOwner { pid: std::process::id(), this_host: true }));
        assert_eq!(temp_owner(".done.tmp-12-0"), Some(TempOwner { pid: 12, this_host: true }));
        let other_host = if host_tag() == "00000000" { "00000001" } else { "00000000" };
        assert_eq!(temp_owner(&format!(".done.tmp-12-0-{other_host}")), Some(TempOwner { pid: 12, this_host: false }));
        for other in [
            "done",
            "weights.safetensors",
            ".done.tmp-x-1",
            ".done.tmp-12-",
            "done.tmp-12-3",
            ".a.tmp-1-2x",
            ".a.tmp-1-2-zz",
            ".a.tmp-1-2-0000000g",
            ".a.tmp-1-2-00000000-4",
        ] {
            assert_eq!(temp_owner(other), None, "{other}");
        }
    }
}
