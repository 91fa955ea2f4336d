//! One store entry `<kind>/<hash16>/`: its job record, artifacts, `done` marker and state.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{read_json, write_json};
use super::error::StoreError;
use super::lock::EntryLock;
use crate::digest::sha256_hex;
use crate::plan::{JobHash, JobKind, JobLabel, JobSpec, JOB_FORMAT};

/// File names inside an entry.
pub const JOB_FILE: &str = "job.json";
pub const DONE_FILE: &str = "done";
pub(super) const FAILED_FILE: &str = "failed.json";
pub(super) const LOCK_FILE: &str = "lock";
pub const LOG_FILE: &str = "log.txt";
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// The records written into an entry without holding its lock (by `run` and `submit`); every
/// other file of an entry is written only under the lock. (`slurm.json` is `slurm::SLURM_FILE`.)
const UNLOCKED_RECORDS: [&str; 3] = [JOB_FILE, "slurm.json", FAILED_FILE];

/// `job.json`: the canonical spec and its full hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub format_version: u32,
    pub hash: JobHash,
    pub kind: JobKind,
    pub revision: u32,
    pub spec: JobSpec,
    pub label: JobLabel,
}

/// One artifact listed in the `done` marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    /// The file's identity when it was hashed: while it is unchanged the hash is not recomputed
    /// (any write changes the ctime, which no user command can set back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<FileStamp>,
}

/// Inode, device, mtime and ctime of a file, to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl FileStamp {
    pub fn of(m: &fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp { dev: m.dev(), ino: m.ino(), mtime: (m.mtime(), m.mtime_nsec()), ctime: (m.ctime(), m.ctime_nsec()) }
    }
}

/// The `done` marker, written last: what the entry holds, with hashes to verify it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneRecord {
    pub format_version: u32,
    pub hash: JobHash,
    pub files: Vec<FileRecord>,
    pub finished_at: String,
}

/// `failed.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedRecord {
    pub format_version: u32,
    pub message: String,
    pub at: String,
    /// Failed attempts so far (retries count them).
    #[serde(default)]
    pub attempts: u32,
}

/// What an entry holds now.
#[derive(Debug, Clone)]
pub enum EntryState {
    /// Nothing there yet.
    Absent,
    /// Finished and verified.
    Done(DoneRecord),
    /// A `done` marker whose files do not match it.
    Corrupt(String),
    /// Another process holds its lock.
    Running,
    /// The last attempt failed.
    Failed(String),
    /// Interrupted: a checkpoint exists.
    Partial { epoch: u32 },
    /// Started or scheduled, nothing useful written.
    Pending,
}

/// How thoroughly a `done` marker is checked when finished entries are read in bulk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// The marker is this job's and every file it lists has the listed size (fast).
    #[default]
    Sizes,
    /// Also the sha256 of every file not untouched since it was hashed ([`Entry::verify`]).
    Hashes,
}

/// A handle on one entry's folder (which may not exist).
#[derive(Debug, Clone)]
pub struct Entry {
    pub dir: PathBuf,
    pub kind: JobKind,
    pub hash: JobHash,
}

impl Entry {
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `<kind>/<hash16>`: how messages name an entry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.name(), self.hash.short())
    }

    pub fn create(&self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))
    }

    pub fn try_lock(&self) -> Result<Option<EntryLock>, StoreError> {
        self.create()?;
        EntryLock::try_acquire(&self.file(LOCK_FILE))
    }

    pub fn lock(&self) -> Result<EntryLock, StoreError> {
        self.create()?;
        EntryLock::acquire(&self.file(LOCK_FILE))
    }

    pub fn write_record(&self, spec: &JobSpec, label: &JobLabel) -> Result<(), StoreError> {
        self.create()?;
        let rec = JobRecord {
            format_version: JOB_FORMAT,
            hash: self.hash,
            kind: self.kind,
            revision: self.kind.revision(),
            spec: spec.clone(),
            label: label.clone(),
        };
        write_json(&self.file(JOB_FILE), &rec)
    }

    /// Reads `job.json` and checks that its spec still hashes to this entry.
    pub fn read_record(&self) -> Result<JobRecord, StoreError> {
        let path = self.file(JOB_FILE);
        let rec: JobRecord = read_json(&path)?.ok_or_else(|| StoreError::format(&path, "missing job record"))?;
        self.check_record(rec)
    }

    /// Opens the entry in `dir` (named by a short hash) from its `job.json`, checked.
    pub fn open(dir: &Path, kind: JobKind) -> Result<Option<(Entry, JobRecord)>, StoreError> {
        let Some(rec) = read_json::<JobRecord>(&dir.join(JOB_FILE))? else { return Ok(None) };
        if dir.file_name().and_then(|n| n.to_str()) != Some(rec.hash.short().as_str()) {
            return Err(StoreError::format(dir.join(JOB_FILE), format!("belongs to `{}`, not this folder", rec.hash)));
        }
        let entry = Entry { dir: dir.to_path_buf(), kind, hash: rec.hash };
        let rec = entry.check_record(rec)?;
        Ok(Some((entry, rec)))
    }

    /// Writes `job.json` unless it already holds this job (a run or a submission about to use it).
    /// A spec that hashes the same but differs in what is not hashed (where the data is)
    /// is written again: the job runs with this one.
    pub fn ensure_record(&self, spec: &JobSpec, label: &JobLabel) -> Result<(), StoreError> {
        match self.read_record() {
            Ok(r) if r.hash == self.hash && r.spec == *spec => Ok(()),
            _ => self.write_record(spec, label),
        }
    }

    fn check_record(&self, rec: JobRecord) -> Result<JobRecord, StoreError> {
        let path = self.file(JOB_FILE);
        if rec.format_version != JOB_FORMAT {
            return Err(StoreError::format(
                &path,
                format!("job format `{}` is not `{JOB_FORMAT}`", rec.format_version),
            ));
        }
        if rec.spec.hash() != self.hash || rec.hash != self.hash {
            return Err(StoreError::format(&path, format!("spec does not hash to `{}`", self.hash)));
        }
        Ok(rec)
    }

    /// The `done` marker, checked as `verify` asks; `Err` says what is wrong.
    pub fn check_done(&self, verify: Verify) -> Result<DoneRecord, String> {
        if verify == Verify::Hashes {
            return self.verify();
        }
        let done = self.read_done()?;
        for f in &done.files {
            match fs::metadata(self.file(&f.name)) {
                Ok(m) if m.len() == f.bytes => {}
                Ok(m) => return Err(format!("`{}` has {} bytes, expected {}", f.name, m.len(), f.bytes)),
                Err(e) => return Err(format!("`{}` is unreadable: {e}", f.name)),
            }
        }
        Ok(done)
    }

    /// The `done` marker, if it is this job's, unchecked against the files.
    fn read_done(&self) -> Result<DoneRecord, String> {
        let done: DoneRecord = match read_json(&self.file(DONE_FILE)) {
            Ok(Some(d)) => d,
            Ok(None) => return Err("no done marker".into()),
            Err(e) => return Err(e.to_string()),
        };
        if done.format_version != JOB_FORMAT || done.hash != self.hash {
            return Err("done marker belongs to another job or format".into());
        }
        Ok(done)
    }

    /// Why this entry cannot be read as finished: its state when it has no `done` marker (not
    /// started, running, failed, interrupted), else `why` (a damaged one).
    pub fn unusable_because(&self, why: String) -> String {
        if self.is_done_marked() {
            return format!("damaged: {why}");
        }
        match self.state() {
            EntryState::Absent => "not started".into(),
            EntryState::Running => "running".into(),
            EntryState::Failed(m) => format!("failed: {m}"),
            EntryState::Partial { epoch } => format!("interrupted after epoch {epoch}"),
            EntryState::Pending => "pending".into(),
            EntryState::Corrupt(m) => format!("damaged: {m}"),
            EntryState::Done(_) => why,
        }
    }

    /// Verifies the `done` marker and every file it lists; `Err` says what is wrong.
    pub fn verify(&self) -> Result<DoneRecord, String> {
        let done = self.read_done()?;
        for f in &done.files {
            let p = self.file(&f.name);
            let meta = fs::metadata(&p).map_err(|e| format!("`{}` is unreadable: {e}", f.name))?;
            if meta.len() == f.bytes && f.stamp == Some(FileStamp::of(&meta)) {
                continue; // untouched since it was hashed
            }
            let bytes = fs::read(&p).map_err(|e| format!("`{}` is unreadable: {e}", f.name))?;
            if bytes.len() as u64 != f.bytes {
                return Err(format!(
                    "`{}` has {} bytes, expected {} (truncated or altered)",
                    f.name,
                    bytes.len(),
                    f.bytes
                ));
            }
            if sha256_hex(&bytes) != f.sha256 {
                return Err(format!("`{}` does not match its sha256 (altered)", f.name));
            }
        }
        Ok(done)
    }

    /// Writes the `done` marker listing `files`, after everything else.
    pub fn finish(&self, files: &[&str]) -> Result<DoneRecord, StoreError> {
        let mut records = Vec::new();
        for name in files {
            let p = self.file(name);
            let bytes = fs::read(&p).map_err(|e| StoreError::io(&p, e))?;
            let stamp = fs::metadata(&p).ok().map(|m| FileStamp::of(&m));
            records.push(FileRecord {
                name: name.to_string(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
                stamp,
            });
        }
        let done = DoneRecord {
            format_version: JOB_FORMAT,
            hash: self.hash,
            files: records,
            finished_at: crate::clock::now_rfc3339(),
        };
        let _ = fs::remove_file(self.file(FAILED_FILE));
        write_json(&self.file(DONE_FILE), &done)?;
        Ok(done)
    }

    /// Drops the `done` marker of a damaged entry (its files are rewritten by the re-run).
    pub fn invalidate(&self) -> Result<(), StoreError> {
        match fs::remove_file(self.file(DONE_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(self.file(DONE_FILE), e)),
        }
    }

    /// Removes one file of the entry, if there, durably (the folder is synced).
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let p = self.file(name);
        match fs::remove_file(&p) {
            Ok(()) => {
                super::atomic::sync_dir(&p);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(p, e)),
        }
    }

    /// Removes the temporary files (`.<file>.tmp-<pid>-<n>-<host>`) that crashed writers left
    /// here; call it holding the entry's lock. Every file but three is written only under that
    /// lock, so its temp file is stale whoever wrote it: the writer let go of the lock, i.e. it
    /// is gone. The three small records written without the lock (`job.json`, `slurm.json`,
    /// `failed.json`) live for milliseconds: their temp file is stale when its writer ran on this
    /// machine and is no longer alive, or when it is older than ten minutes (a writer on another
    /// node of a cluster cannot be checked from here). Returns the names removed.
    pub fn remove_stale_temps(&self) -> Vec<String> {
        let under_lock = |name: &str| !UNLOCKED_RECORDS.iter().any(|f| name.starts_with(&format!(".{f}.tmp-")));
        super::atomic::remove_stale_temps(&self.dir, under_lock)
    }

    /// Records a failure; returns how many attempts have failed so far.
    pub fn mark_failed(&self, message: &str) -> Result<u32, StoreError> {
        let attempts = self.failed_attempts() + 1;
        let rec = FailedRecord {
            format_version: JOB_FORMAT,
            message: message.to_string(),
            at: crate::clock::now_rfc3339(),
            attempts,
        };
        write_json(&self.file(FAILED_FILE), &rec)?;
        Ok(attempts)
    }

    /// The last recorded failure, if any.
    pub fn failure(&self) -> Option<FailedRecord> {
        read_json::<FailedRecord>(&self.file(FAILED_FILE)).ok().flatten()
    }

    /// Failed attempts since the entry last finished.
    pub fn failed_attempts(&self) -> u32 {
        self.failure().map(|f| f.attempts.max(1)).unwrap_or(0)
    }

    pub fn is_done_marked(&self) -> bool {
        self.file(DONE_FILE).exists()
    }

    /// The entry's state; reads, never writes.
    pub fn state(&self) -> EntryState {
        if !self.dir.exists() {
            return EntryState::Absent;
        }
        if self.is_done_marked() {
            return match self.verify() {
                Ok(d) => EntryState::Done(d),
                Err(e) => EntryState::Corrupt(e),
            };
        }
        if EntryLock::is_held(&self.file(LOCK_FILE)) {
            return EntryState::Running;
        }
        if let Some(f) = self.failure() {
            return EntryState::Failed(f.message);
        }
        if let Some(epoch) = crate::records::checkpoint_epochs_done(&self.file(CHECKPOINT_FILE)) {
            return EntryState::Partial { epoch };
        }
        EntryState::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temps_of_dead_writers_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry { dir: dir.path().to_path_buf(), kind: JobKind::Train, hash: JobHash([7; 32]) };
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        // A child that exited but is not reaped yet: a zombie writes nothing any more.
        let mut zombie = std::process::Command::new("true").spawn().unwrap();
        let z = zombie.id();
        let t = std::time::Instant::now();
        while !super::super::atomic::is_zombie(z as i32) && t.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let me = std::process::id();
        // A dead pid on another node says nothing: that writer may be alive there.
        let local = super::super::atomic::temp_path(Path::new("x")).to_string_lossy().into_owned();
        let remote = if local.ends_with("00000000") { "00000001" } else { "00000000" };
        for name in [
            // Written only under the lock, which we hold: stale whoever wrote them.
            format!(".checkpoint.safetensors.tmp-{dead}-3"),
            format!(".weights.safetensors.tmp-{me}-0"),
            // Records written without the lock: stale only when their writer is gone.
            format!(".job.json.tmp-{dead}-1-{remote}"),
            format!(".job.json.tmp-{me}-2"),
            format!(".failed.json.tmp-{dead}-4"),
            format!(".slurm.json.tmp-{z}-5"),
            "weights.safetensors".to_string(),
            "log.txt".to_string(),
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let removed = entry.remove_stale_temps();
        zombie.wait().unwrap();
        let mut expect = vec![
            format!(".checkpoint.safetensors.tmp-{dead}-3"),
            format!(".failed.json.tmp-{dead}-4"),
            format!(".slurm.json.tmp-{z}-5"),
            format!(".weights.safetensors.tmp-{me}-0"),
        ];
        expect.sort();
        assert_eq!(removed, expect);
        let mut left: Vec<String> =
            fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let mut kept = vec![
            format!(".job.json.tmp-{dead}-1-{remote}"),
            format!(".job.json.tmp-{me}-2"),
            "log.txt".to_string(),
            "weights.safetensors".to_string(),
        ];
        kept.sort();
        assert_eq!(left, kept);
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;
    use crate::plan::PrepareSpec;
    use crate::spec::{DatasetSpec, SyntheticSpec};

    fn spec(seed: u64) -> JobSpec {
        JobSpec::Prepare(PrepareSpec {
            dataset: DatasetSpec::Synthetic(SyntheticSpec {
                seed,
                subjects: 6,
                images_per_subject: 4,
                contempt: false,
                difficulty: 0.5,
                val_fraction: 0.2,
                test_fraction: 0.25,
                style: Default::default(),
            }),
            size: 48,
        })
    }

    /// A real entry of a store in a temp dir, with `job.json` written.
    fn entry(dir: &Path) -> Entry {
        let s = spec(1);
        let store = super::super::Store::new(dir);
        let e = store.entry(s.kind(), &s.hash());
        e.write_record(&s, &JobLabel::default()).unwrap();
        e
    }

    fn artifacts(e: &Entry) {
        fs::write(e.file("data.bin"), vec![7u8; 1000]).unwrap();
        fs::write(e.file("summary.json"), b"{\"n\": 1}").unwrap();
    }

    fn verify_err(e: &Entry) -> String {
        e.verify().expect_err("verify must fail")
    }

    #[test]
    fn the_done_marker_lists_each_artifact_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        artifacts(&e);
        assert!(matches!(e.state(), EntryState::Pending));
        let done = e.finish(&["data.bin", "summary.json"]).unwrap();
        assert_eq!(done.files.len(), 2);
        assert_eq!((done.files[0].name.as_str(), done.files[0].bytes), ("data.bin", 1000));
        assert_eq!(done.files[0].sha256, sha256_hex(&[7u8; 1000]));
        assert_eq!(done.files[1].sha256, sha256_hex(b"{\"n\": 1}"));
        assert!(done.files.iter().all(|f| f.stamp.is_some()));
        let read: DoneRecord = read_json(&e.file(DONE_FILE)).unwrap().unwrap();
        assert_eq!(read.files, done.files);
        assert!(matches!(e.state(), EntryState::Done(d) if d.files == done.files));
        // A file it lists is missing.
        assert!(e.finish(&["data.bin", "absent.bin"]).is_err());
    }

    #[test]
    fn an_altered_or_truncated_artifact_is_caught_even_with_its_mtime_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        artifacts(&e);
        e.finish(&["data.bin", "summary.json"]).unwrap();
        let path = e.file("data.bin");
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        // Same size, one byte changed, modification time restored: the ctime still moved.
        let mut bytes = fs::read(&path).unwrap();
        bytes[500] ^= 1;
        fs::write(&path, &bytes).unwrap();
        fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert_eq!(verify_err(&e), "`data.bin` does not match its sha256 (altered)");
        assert!(matches!(e.state(), EntryState::Corrupt(m) if m.contains("altered")));
        // Put back: the content is what was hashed, whatever the stamp says.
        bytes[500] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(e.verify().is_ok());
        // Truncated.
        fs::write(&path, &bytes[..999]).unwrap();
        assert_eq!(verify_err(&e), "`data.bin` has 999 bytes, expected 1000 (truncated or altered)");
        // Gone.
        fs::remove_file(&path).unwrap();
        assert!(verify_err(&e).starts_with("`data.bin` is unreadable"), "{}", verify_err(&e));
    }

    #[test]
    fn a_done_marker_of_another_job_or_format_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        artifacts(&e);
        let mut done = e.finish(&["data.bin"]).unwrap();
        done.hash = spec(2).hash();
        write_json(&e.file(DONE_FILE), &done).unwrap();
        assert_eq!(verify_err(&e), "done marker belongs to another job or format");
        done.hash = e.hash;
        done.format_version = JOB_FORMAT + 1;
        write_json(&e.file(DONE_FILE), &done).unwrap();
        assert_eq!(verify_err(&e), "done marker belongs to another job or format");
        fs::write(e.file(DONE_FILE), b"{not json").unwrap();
        assert!(matches!(e.state(), EntryState::Corrupt(_)));
    }

    #[test]
    fn invalidate_drops_the_marker_once_and_the_entry_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        artifacts(&e);
        e.finish(&["data.bin"]).unwrap();
        e.invalidate().unwrap();
        assert!(!e.is_done_marked());
        assert!(e.file("data.bin").exists(), "only the marker goes");
        assert!(matches!(e.state(), EntryState::Pending));
        e.invalidate().unwrap(); // nothing to drop: fine
    }

    #[test]
    fn failures_are_counted_until_the_entry_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        assert_eq!(e.failed_attempts(), 0);
        assert_eq!(e.mark_failed("first").unwrap(), 1);
        assert_eq!(e.mark_failed("second").unwrap(), 2);
        assert_eq!(e.mark_failed("third").unwrap(), 3);
        assert_eq!(e.failed_attempts(), 3);
        let f = e.failure().unwrap();
        assert_eq!((f.message.as_str(), f.attempts, f.format_version), ("third", 3, JOB_FORMAT));
        assert!(matches!(e.state(), EntryState::Failed(m) if m == "third"));
        // A record of an older version without `attempts` counts as one.
        fs::write(e.file(FAILED_FILE), br#"{"format_version": 1, "message": "old", "at": "x"}"#).unwrap();
        assert_eq!(e.failed_attempts(), 1);
        assert_eq!(e.mark_failed("again").unwrap(), 2);
        artifacts(&e);
        e.finish(&["data.bin"]).unwrap();
        assert!(e.failure().is_none());
        assert_eq!(e.failed_attempts(), 0);
    }

    #[test]
    fn states_follow_what_the_folder_holds() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(1);
        let e = super::super::Store::new(dir.path()).entry(s.kind(), &s.hash());
        assert!(matches!(e.state(), EntryState::Absent));
        e.create().unwrap();
        assert!(matches!(e.state(), EntryState::Pending));
        // A checkpoint (its header is all `state` reads) makes it partial.
        let header = br#"{"__metadata__":{"epochs_done":"3","threads":"2"}}"#;
        let mut ck = (header.len() as u64).to_le_bytes().to_vec();
        ck.extend_from_slice(header);
        fs::write(e.file(CHECKPOINT_FILE), &ck).unwrap();
        assert!(matches!(e.state(), EntryState::Partial { epoch: 3 }));
        assert_eq!(crate::records::safetensors_metadata(&e.file(CHECKPOINT_FILE)).unwrap()["threads"], "2");
        {
            let _held = e.try_lock().unwrap().expect("free");
            assert!(matches!(e.state(), EntryState::Running));
            assert!(e.try_lock().unwrap().is_none(), "one holder at a time");
        }
        assert!(matches!(e.state(), EntryState::Partial { epoch: 3 }));
        e.mark_failed("boom").unwrap();
        assert!(matches!(e.state(), EntryState::Failed(_)), "a failure outranks a checkpoint");
    }

    #[test]
    fn the_job_record_must_hash_to_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        let rec = e.read_record().unwrap();
        assert_eq!((rec.hash, rec.kind, rec.spec.clone()), (e.hash, JobKind::Prepare, spec(1)));
        let (opened, _) = Entry::open(&e.dir, JobKind::Prepare).unwrap().unwrap();
        assert_eq!(opened.hash, e.hash);
        // An edited spec no longer hashes to the folder.
        let mut edited: serde_json::Value = read_json(&e.file(JOB_FILE)).unwrap().unwrap();
        edited["spec"]["size"] = serde_json::json!(84);
        write_json(&e.file(JOB_FILE), &edited).unwrap();
        let err = e.read_record().unwrap_err().to_string();
        assert!(err.contains("spec does not hash to"), "{err}");
        // `ensure_record` rewrites it.
        e.ensure_record(&spec(1), &JobLabel::default()).unwrap();
        assert!(e.read_record().is_ok());
        // A record in the wrong folder.
        let elsewhere = dir.path().join("prepare").join("0000000000000000");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::copy(e.file(JOB_FILE), elsewhere.join(JOB_FILE)).unwrap();
        let err = Entry::open(&elsewhere, JobKind::Prepare).unwrap_err().to_string();
        assert!(err.contains("not this folder"), "{err}");
    }

    #[test]
    fn temps_of_unlocked_records_from_other_nodes_go_after_ten_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path());
        let local = super::super::atomic::temp_path(Path::new("x")).to_string_lossy().into_owned();
        let remote = if local.ends_with("00000000") { "00000001" } else { "00000000" };
        let (old, fresh) = (format!(".job.json.tmp-1-1-{remote}"), format!(".job.json.tmp-1-2-{remote}"));
        for n in [&old, &fresh] {
            fs::write(e.file(n), b"x").unwrap();
        }
        let eleven = std::time::SystemTime::now() - std::time::Duration::from_secs(660);
        fs::File::options().write(true).open(e.file(&old)).unwrap().set_modified(eleven).unwrap();
        assert_eq!(e.remove_stale_temps(), vec![old.clone()]);
        assert!(e.file(&fresh).exists() && !e.file(&old).exists());
    }
}
