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

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::plan::{build, Plan};
    use crate::spec::{load_str, Overrides};
    use crate::store::{record_root, RootJob, RootKey};

    /// A pipeline of one deep-emotion teacher and a distilled student, both with learning rate `lr`.
    fn plan(name: &str, lr: &str) -> Plan {
        let text = format!(
            "version: 1\nname: {name}\nseeds: [1]\ndatasets:\n  syn: {{kind: synthetic, subjects: 6, images_per_subject: 4}}\n\
             models:\n  t: {{arch: deep-emotion, datasets: syn, epochs: 2, lr: {lr}}}\n  \
             s: {{arch: microexpnet, datasets: syn, epochs: 2, lr: {lr}, multi_crop: false, teacher: t}}\n"
        );
        build(&load_str(&format!("{name}.yaml"), &text, &Overrides::default()).unwrap())
    }

    fn id(j: &crate::plan::Job) -> String {
        format!("{}/{}", j.kind().name(), j.hash.short())
    }

    /// Writes every job's `job.json` (as `run` does before it starts them) and a file of bytes.
    fn populate(store: &Store, plan: &Plan) {
        for j in &plan.jobs {
            let e = store.entry(j.kind(), &j.hash);
            e.ensure_record(&j.spec, &j.label).unwrap();
            fs::write(e.file("artifact.bin"), vec![1u8; 100]).unwrap();
        }
    }

    fn root(store: &Store, name: &str, jobs: impl IntoIterator<Item = RootJob>) {
        let key = RootKey {
            name: name.into(),
            canonical_file: PathBuf::from(format!("/p/{name}.yaml")),
            profile: None,
            sets: vec![],
            skip_bad: false,
        };
        record_root(store, key, Path::new("p.yaml"), "run", jobs).unwrap();
    }

    fn root_ids(store: &Store) -> HashSet<String> {
        crate::store::list_roots(store).unwrap().iter().flat_map(|r| r.jobs.iter().map(RootJob::entry_id)).collect()
    }

    fn ids(dirs: impl IntoIterator<Item = PathBuf>) -> Vec<String> {
        let mut v: Vec<String> = dirs
            .into_iter()
            .map(|d| {
                let kind = d.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
                format!("{kind}/{}", entry_name(&d))
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_root_keeps_what_its_jobs_read_a_given_pipeline_keeps_its_jobs_the_rest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (a, b, c) = (plan("a", "0.1"), plan("b", "0.2"), plan("c", "0.3"));
        for p in [&a, &b, &c] {
            populate(&store, p);
        }
        // The root names only `a`'s leaves (evaluations, saliency maps): their inputs (trains, the
        // student's targets, the teacher's train, both prepares) are reached through `job.json`.
        let leaf = |j: &&crate::plan::Job| matches!(j.kind(), JobKind::Evaluate | JobKind::Saliency);
        root(&store, "a", a.jobs.iter().filter(leaf).map(|j| RootJob { kind: j.kind(), hash: j.hash }));
        let given: HashSet<String> = b.jobs.iter().map(id).collect();
        let keep: HashSet<String> = root_ids(&store).union(&given).cloned().collect();
        let plan = plan_gc(&store, &keep).unwrap();
        // `c` shares only the prepares (same data, same sizes).
        let mut want: Vec<String> = c.jobs.iter().filter(|j| j.kind() != JobKind::Prepare).map(id).collect();
        want.sort();
        assert_eq!(ids(plan.remove.iter().map(|c| c.dir.clone())), want);
        assert!(plan.remove.iter().all(|c| c.bytes > 100), "sizes count every file");
        let all: HashSet<String> = a.jobs.iter().chain(&b.jobs).chain(&c.jobs).map(id).collect();
        assert_eq!(plan.kept, all.len() - want.len());
        assert!(plan.running.is_empty());

        let _g = GcLock::exclusive(&store).unwrap();
        let report = run_gc(&store, &plan.remove, &keep).unwrap();
        assert_eq!(ids(report.removed.clone()), want);
        assert_eq!(report.bytes, plan.bytes());
        let left: Vec<String> = ids(store.list().unwrap().into_iter().map(|(_, d)| d));
        let mut kept: Vec<String> = all.iter().filter(|i| !want.contains(i)).cloned().collect();
        kept.sort();
        assert_eq!(left, kept);
        // Nothing half-deleted is left behind under another name.
        for kind in JobKind::ALL {
            for item in fs::read_dir(dir.path().join(kind.name())).into_iter().flatten().flatten() {
                assert!(!item.file_name().to_string_lossy().starts_with(".gc-"), "{:?}", item.path());
            }
        }
        // Without the given pipeline, `b` goes too (only its prepares are shared).
        let plan = plan_gc(&store, &root_ids(&store)).unwrap();
        assert_eq!(plan.remove.len(), b.jobs.iter().filter(|j| j.kind() != JobKind::Prepare).count());
    }

    #[test]
    fn a_root_recorded_after_the_listing_keeps_its_entries_and_a_locked_entry_is_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (a, c) = (plan("a", "0.1"), plan("c", "0.3"));
        populate(&store, &a);
        populate(&store, &c);
        root(&store, "a", a.jobs.iter().map(|j| RootJob { kind: j.kind(), hash: j.hash }));
        let listed = plan_gc(&store, &root_ids(&store)).unwrap();
        let doomed = c.jobs.iter().filter(|j| j.kind() != JobKind::Prepare).count();
        assert_eq!(listed.remove.len(), doomed);
        // Meanwhile `c` is run again: its root is recorded and one of its jobs starts.
        let busy = c.jobs.iter().find(|j| j.kind() == JobKind::Evaluate).unwrap();
        let busy_dir = store.entry(busy.kind(), &busy.hash).dir;
        let lock = crate::store::EntryLock::try_acquire(&busy_dir.join(LOCK_FILE)).unwrap().unwrap();
        root(
            &store,
            "c",
            c.jobs.iter().filter(|j| j.kind() == JobKind::Train).map(|j| RootJob { kind: j.kind(), hash: j.hash }),
        );
        let _g = GcLock::exclusive(&store).unwrap();
        let report = run_gc(&store, &listed.remove, &root_ids(&store)).unwrap();
        // The trains (and the targets the student's train reads) are referenced now; the
        // evaluation being run is locked; the rest (the other evaluation, saliency maps) goes.
        assert!(report.skipped_running == vec![busy_dir.clone()], "{report:?}");
        let referenced: Vec<String> = ids(report.now_referenced.clone());
        let mut want: Vec<String> =
            c.jobs.iter().filter(|j| matches!(j.kind(), JobKind::Train | JobKind::DistillTargets)).map(id).collect();
        want.sort();
        assert_eq!(referenced, want);
        assert_eq!(report.removed.len(), doomed - want.len() - 1);
        assert!(busy_dir.exists());
        drop(lock);
    }
}
