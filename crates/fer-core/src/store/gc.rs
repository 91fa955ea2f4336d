//! Garbage collection: finds the entries that no root and no given pipeline reaches, and removes
//! them (never a locked one); the store-wide gc lock keeps a root from being recorded mid-way.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::entry::{JOB_FILE, LOCK_FILE};
use super::error::StoreError;
use super::layout::Store;
use super::lock::EntryLock;
use crate::plan::{JobHash, JobKind};

/// The store-wide lock file: gc holds it exclusively while it reads roots and deletes; a command
/// recording a root holds it shared while it writes.
pub const GC_LOCK_FILE: &str = "gc.lock";

/// A held store-wide gc lock (shared or exclusive), released when dropped.
#[derive(Debug)]
pub struct GcLock {
    _file: File,
}

fn open_gc_lock(store: &Store) -> Result<File, StoreError> {
    let path = store.root().join(GC_LOCK_FILE);
    OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| StoreError::io(&path, e))
}

impl GcLock {
    /// Shared: taken while a root is written (waits for a gc that is deleting).
    pub fn shared(store: &Store) -> Result<GcLock, StoreError> {
        let file = open_gc_lock(store)?;
        file.lock_shared().map_err(|e| StoreError::io(store.root().join(GC_LOCK_FILE), e))?;
        Ok(GcLock { _file: file })
    }

    /// Exclusive: taken by gc while it reads roots and removes entries.
    pub fn exclusive(store: &Store) -> Result<GcLock, StoreError> {
        let file = open_gc_lock(store)?;
        file.lock().map_err(|e| StoreError::io(store.root().join(GC_LOCK_FILE), e))?;
        Ok(GcLock { _file: file })
    }
}

/// One entry gc would remove.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub kind: JobKind,
    pub dir: PathBuf,
    pub bytes: u64,
}

/// What gc found: entries to remove, entries kept.
#[derive(Debug, Default)]
pub struct GcPlan {
    pub remove: Vec<Candidate>,
    /// Entries reached from a root, a given pipeline or another kept entry.
    pub kept: usize,
    /// Unreferenced entries that a running job holds locked (kept).
    pub running: Vec<PathBuf>,
}

impl GcPlan {
    pub fn bytes(&self) -> u64 {
        self.remove.iter().map(|c| c.bytes).sum()
    }
}

/// What `gc` did.
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Vec<PathBuf>,
    pub bytes: u64,
    /// Listed for removal, but locked by a job that started meanwhile (kept).
    pub skipped_running: Vec<PathBuf>,
    /// Listed for removal, but referenced meanwhile (a root recorded since; kept).
    pub now_referenced: Vec<PathBuf>,
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Every 64-digit hash named anywhere in a JSON value (a job's inputs, whatever the spec's shape).
fn hashes_in(v: &serde_json::Value, out: &mut Vec<JobHash>) {
    match v {
        serde_json::Value::String(s) => out.extend(JobHash::parse(s)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| hashes_in(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| hashes_in(x, out)),
        _ => {}
    }
}

fn entry_name(dir: &Path) -> String {
    dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The entries reachable from `roots` (`<kind>/<hash16>` ids): those, and every entry whose hash
/// a reachable entry's `job.json` names (its inputs), transitively.
fn reachable(listed: &[(JobKind, PathBuf)], roots: &HashSet<String>) -> HashSet<PathBuf> {
    let mut by_short: std::collections::HashMap<String, Vec<PathBuf>> = std::collections::HashMap::new();
    for (_, dir) in listed {
        by_short.entry(entry_name(dir)).or_default().push(dir.clone());
    }
    let mut keep: HashSet<PathBuf> = HashSet::new();
    let mut todo: Vec<PathBuf> = listed
        .iter()
        .filter(|(kind, dir)| roots.contains(&format!("{}/{}", kind.name(), entry_name(dir))))
        .map(|(_, dir)| dir.clone())
        .collect();
    while let Some(dir) = todo.pop() {
        if !keep.insert(dir.clone()) {
            continue;
        }
        let Ok(Some(rec)) = super::atomic::read_json::<serde_json::Value>(&dir.join(JOB_FILE)) else { continue };
        let mut inputs = Vec::new();
        hashes_in(rec.get("spec").unwrap_or(&serde_json::Value::Null), &mut inputs);
        for h in inputs {
            for d in by_short.get(&h.short()).into_iter().flatten() {
                if !keep.contains(d) {
                    todo.push(d.clone());
                }
            }
        }
    }
    keep
}

/// Lists what gc would remove: every entry not reachable from `keep` (`<kind>/<hash16>` ids);
/// unreferenced entries locked by a running job are kept.
pub fn plan_gc(store: &Store, keep: &HashSet<String>) -> Result<GcPlan, StoreError> {
    let listed = store.list()?;
    let reach = reachable(&listed, keep);
    let mut plan = GcPlan::default();
    for (kind, dir) in listed {
        if reach.contains(&dir) {
            plan.kept += 1;
        } else if EntryLock::is_held(&dir.join(LOCK_FILE)) {
            plan.running.push(dir);
        } else {
            let bytes = dir_size(&dir);
            plan.remove.push(Candidate { kind, dir, bytes });
        }
    }
    Ok(plan)
}

/// Removes the listed candidates that are still unreferenced by `keep` and not locked. Call with
/// the exclusive [`GcLock`] held and `keep` read under it.
pub fn run_gc(store: &Store, candidates: &[Candidate], keep: &HashSet<String>) -> Result<GcReport, StoreError> {
    let listed = store.list()?;
    let reach = reachable(&listed, keep);
    let mut report = GcReport::default();
    for c in candidates {
        let dir = &c.dir;
        if !dir.exists() {
            continue;
        }
        if reach.contains(dir) {
            report.now_referenced.push(dir.clone());
            continue;
        }
        let lock = match EntryLock::try_acquire(&dir.join(LOCK_FILE))? {
            Some(l) => l,
            None => {
                report.skipped_running.push(dir.clone());
                continue;
            }
        };
        let bytes = dir_size(dir);
        // Rename first so a crash never leaves a half-deleted entry under its real name.
        let trash = dir.with_file_name(format!(".gc-{}-{}", entry_name(dir), std::process::id()));
        fs::rename(dir, &trash).map_err(|e| StoreError::io(dir, e))?;
        drop(lock);
        fs::remove_dir_all(&trash).map_err(|e| StoreError::io(&trash, e))?;
        report.bytes += bytes;
        report.removed.push(dir.clone());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &Store, kind: &str, b: u8, spec: serde_json::Value) -> PathBuf {
        let h = JobHash([b; 32]);
        let dir = store.root().join(kind).join(h.short());
        fs::create_dir_all(&dir).unwrap();
        let rec = serde_json::json!({"hash": h.hex(), "spec": spec});
        fs::write(dir.join(JOB_FILE), rec.to_string()).unwrap();
        dir
    }

    #[test]
    fn keeps_inputs_of_kept_entries_and_locked_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let prep = put(&store, "prepare", 1, serde_json::json!({"dataset": {"sha256": "ab"}}));
        let train = put(&store, "train", 2, serde_json::json!({"data": JobHash([1; 32]).hex()}));
        let eval = put(
            &store,
            "evaluate",
            3,
            serde_json::json!({"weights": JobHash([2; 32]).hex(), "data": JobHash([1; 32]).hex()}),
        );
        let other = put(&store, "train", 4, serde_json::json!({"data": JobHash([1; 32]).hex()}));
        let busy = put(&store, "train", 5, serde_json::json!({}));
        let held = EntryLock::try_acquire(&busy.join(LOCK_FILE)).unwrap().unwrap();
        let keep: HashSet<String> = [format!("evaluate/{}", JobHash([3; 32]).short())].into();
        let plan = plan_gc(&store, &keep).unwrap();
        assert_eq!(plan.kept, 3);
        assert_eq!(plan.remove.iter().map(|c| c.dir.clone()).collect::<Vec<_>>(), std::slice::from_ref(&other));
        assert_eq!(plan.running, std::slice::from_ref(&busy));
        // A candidate locked meanwhile is skipped, not removed.
        let all: Vec<Candidate> =
            [&other, &busy].iter().map(|d| Candidate { kind: JobKind::Train, dir: (*d).clone(), bytes: 0 }).collect();
        let _g = GcLock::exclusive(&store).unwrap();
        let r = run_gc(&store, &all, &keep).unwrap();
        assert_eq!(r.removed, std::slice::from_ref(&other));
        assert_eq!(r.skipped_running, std::slice::from_ref(&busy));
        assert!(!other.exists() && busy.exists() && prep.exists() && train.exists() && eval.exists());
        drop(held);
    }

    #[test]
    fn recording_a_root_waits_while_gc_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let gc = GcLock::exclusive(&store).unwrap();
        let other = store.clone();
        let waiter = std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            let _shared = GcLock::shared(&other).unwrap();
            t0.elapsed()
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(gc);
        assert!(waiter.join().unwrap() >= std::time::Duration::from_millis(250));
        // Shared holders do not exclude each other.
        let _a = GcLock::shared(&store).unwrap();
        let _b = GcLock::shared(&store).unwrap();
    }
}
