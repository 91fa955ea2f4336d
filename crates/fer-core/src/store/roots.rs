//! GC roots: `<store>/roots/<id>.json`, one versioned record per pipeline invocation (name, file,
//! profile, `--set` values) naming every job hash it planned; gc keeps what any root names.
//!
//! The id is the first 16 hex digits of the sha256 of the canonical JSON of (pipeline name,
//! canonical file path, resolved profile, `--set` values in order, `--skip-bad`), so running the
//! same invocation again replaces its root instead of adding one.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{read_json, write_json};
use super::error::StoreError;
use super::layout::Store;
use crate::plan::{JobHash, JobKind};

/// Version of a root record.
pub const ROOT_FORMAT: u32 = 1;

/// The folder of roots inside a store.
pub const ROOTS_DIR: &str = "roots";

/// What identifies a root: the same key replaces the same root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootKey {
    pub name: String,
    /// The pipeline file, canonical (absolute, links resolved).
    pub canonical_file: PathBuf,
    /// The profile in use after defaults (`None`: no profile).
    pub profile: Option<String>,
    /// `--set` values, in the order given.
    pub sets: Vec<String>,
    pub skip_bad: bool,
}

impl RootKey {
    /// The root's id: 16 hex digits.
    pub fn id(&self) -> String {
        let text = crate::digest::canonical(self);
        crate::digest::sha256_hex(text.as_bytes())[..16].to_string()
    }
}

/// One job a root names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootJob {
    pub kind: JobKind,
    pub hash: JobHash,
}

impl RootJob {
    /// `<kind>/<hash16>`: the entry folder it names.
    pub fn entry_id(&self) -> String {
        format!("{}/{}", self.kind.name(), self.hash.short())
    }

    fn encode(&self) -> String {
        format!("{}/{}", self.kind.name(), self.hash.hex())
    }

    fn decode(s: &str) -> Option<RootJob> {
        let (kind, hash) = s.split_once('/')?;
        let kind = JobKind::parse(kind)?;
        (hash.len() == 64).then_some(())?;
        Some(RootJob { kind, hash: JobHash::parse(hash)? })
    }
}

/// A recorded root.
#[derive(Debug, Clone, PartialEq)]
pub struct Root {
    pub id: String,
    pub key: RootKey,
    /// The pipeline file as given on the command line.
    pub file: PathBuf,
    /// The command that recorded it last (`run`, `submit`).
    pub command: String,
    pub created_at: String,
    pub updated_at: String,
    pub jobs: Vec<RootJob>,
}

/// The on-disk form of a root (`roots/<id>.json`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RootRecord {
    format_version: u32,
    id: String,
    name: String,
    file: PathBuf,
    canonical_file: PathBuf,
    profile: Option<String>,
    sets: Vec<String>,
    skip_bad: bool,
    command: String,
    created_at: String,
    updated_at: String,
    /// `<kind>/<full hash>` of every job the invocation planned.
    jobs: Vec<String>,
}

/// Why a root could not be found.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("failed to find root `{0}`: no root has this id (`fer-pipeline gc --list-roots` lists them)")]
    Unknown(String),
    #[error("failed to find root `{id}`: it is the start of several roots ({})", .matches.join(", "))]
    Ambiguous { id: String, matches: Vec<String> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn roots_dir(store: &Store) -> PathBuf {
    store.root().join(ROOTS_DIR)
}

fn root_path(store: &Store, id: &str) -> PathBuf {
    roots_dir(store).join(format!("{id}.json"))
}

/// Records (or replaces) the root of `key`: what the invocation planned, now.
pub fn record_root(
    store: &Store,
    key: RootKey,
    file: &Path,
    command: &str,
    jobs: impl IntoIterator<Item = RootJob>,
) -> Result<Root, StoreError> {
    let id = key.id();
    let dir = roots_dir(store);
    fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
    let path = root_path(store, &id);
    let now = crate::clock::now_rfc3339();
    // Keep the first time this root was recorded; a damaged record is replaced whole.
    let created_at = read_root(&path).ok().flatten().map(|r| r.created_at).unwrap_or_else(|| now.clone());
    let mut jobs: Vec<RootJob> = jobs.into_iter().collect();
    jobs.sort();
    jobs.dedup();
    let root = Root {
        id: id.clone(),
        key,
        file: file.to_path_buf(),
        command: command.to_string(),
        created_at,
        updated_at: now,
        jobs,
    };
    let rec = RootRecord {
        format_version: ROOT_FORMAT,
        id,
        name: root.key.name.clone(),
        file: root.file.clone(),
        canonical_file: root.key.canonical_file.clone(),
        profile: root.key.profile.clone(),
        sets: root.key.sets.clone(),
        skip_bad: root.key.skip_bad,
        command: root.command.clone(),
        created_at: root.created_at.clone(),
        updated_at: root.updated_at.clone(),
        jobs: root.jobs.iter().map(RootJob::encode).collect(),
    };
    write_json(&path, &rec)?;
    Ok(root)
}

/// Reads one root file strictly: any damage is an error naming the file.
fn read_root(path: &Path) -> Result<Option<Root>, StoreError> {
    let Some(raw) = read_json::<serde_json::Value>(path)? else { return Ok(None) };
    let version = raw.get("format_version").and_then(serde_json::Value::as_u64);
    match version {
        Some(v) if v == u64::from(ROOT_FORMAT) => {}
        Some(v) => {
            return Err(StoreError::format(
                path,
                format!("root format version `{v}`, this program reads version `{ROOT_FORMAT}`"),
            ))
        }
        None => return Err(StoreError::format(path, "not a root record (no `format_version`)")),
    }
    let rec: RootRecord = serde_json::from_value(raw).map_err(|e| StoreError::format(path, e.to_string()))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if rec.id != stem {
        return Err(StoreError::format(path, format!("its id `{}` is not its file name", rec.id)));
    }
    let key = RootKey {
        name: rec.name,
        canonical_file: rec.canonical_file,
        profile: rec.profile,
        sets: rec.sets,
        skip_bad: rec.skip_bad,
    };
    if key.id() != rec.id {
        return Err(StoreError::format(path, "its id does not match its pipeline, profile and `--set` values"));
    }
    let mut jobs = Vec::with_capacity(rec.jobs.len());
    for j in &rec.jobs {
        match RootJob::decode(j) {
            Some(job) => jobs.push(job),
            None => return Err(StoreError::format(path, format!("`{j}` is not `<kind>/<full job hash>`"))),
        }
    }
    Ok(Some(Root {
        id: rec.id,
        key,
        file: rec.file,
        command: rec.command,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
        jobs,
    }))
}

/// Every root of the store, by id. A damaged or unknown file in `roots/` is an error naming it:
/// a root that is skipped would let gc delete what it protects.
pub fn list_roots(store: &Store) -> Result<Vec<Root>, StoreError> {
    let dir = roots_dir(store);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&dir, e)),
    };
    let mut out = Vec::new();
    for item in rd {
        let item = item.map_err(|e| StoreError::io(&dir, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        // A write in progress, or a crash's leftover that the next run sweeps.
        if super::atomic::temp_owner(&name).is_some() {
            continue;
        }
        let path = item.path();
        let valid_name = name
            .strip_suffix(".json")
            .is_some_and(|stem| stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid_name || !path.is_file() {
            return Err(StoreError::format(&path, "not a root record (roots are `<16 hex digits>.json` files)"));
        }
        match read_root(&path)? {
            Some(r) => out.push(r),
            None => continue, // removed meanwhile (`gc --forget`)
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Finds the root whose id is `id` or starts with it (at least 4 digits).
pub fn find_root(store: &Store, id: &str) -> Result<Root, RootError> {
    let id = id.trim().to_ascii_lowercase();
    let roots = list_roots(store)?;
    if let Some(r) = roots.iter().find(|r| r.id == id) {
        return Ok(r.clone());
    }
    let matches: Vec<&Root> =
        if id.len() >= 4 { roots.iter().filter(|r| r.id.starts_with(&id)).collect() } else { Vec::new() };
    match matches.as_slice() {
        [] => Err(RootError::Unknown(id)),
        [one] => Ok((*one).clone()),
        many => Err(RootError::Ambiguous { id, matches: many.iter().map(|r| r.id.clone()).collect() }),
    }
}

/// Drops a root (by id or unique prefix); returns what it was.
pub fn forget_root(store: &Store, id: &str) -> Result<Root, RootError> {
    let root = find_root(store, id)?;
    let path = root_path(store, &root.id);
    fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
    super::atomic::sync_dir(&path);
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sets: &[&str]) -> RootKey {
        RootKey {
            name: "p".into(),
            canonical_file: "/x/p.yaml".into(),
            profile: Some("quick".into()),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            skip_bad: false,
        }
    }

    fn job(kind: JobKind, b: u8) -> RootJob {
        RootJob { kind, hash: JobHash([b; 32]) }
    }

    #[test]
    fn same_invocation_replaces_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let a = record_root(&store, key(&[]), Path::new("p.yaml"), "run", [job(JobKind::Train, 1)]).unwrap();
        let b = record_root(&store, key(&[]), Path::new("p.yaml"), "submit", [job(JobKind::Train, 2)]).unwrap();
        let c = record_root(&store, key(&["seeds=[1]"]), Path::new("p.yaml"), "run", []).unwrap();
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        let roots = list_roots(&store).unwrap();
        assert_eq!(roots.len(), 2);
        let b2 = roots.iter().find(|r| r.id == b.id).unwrap();
        assert_eq!(b2.jobs, [job(JobKind::Train, 2)]);
        assert_eq!(b2.command, "submit");
        assert_eq!(b2.created_at, a.created_at);
        assert_eq!(b2, &b);
    }

    #[test]
    fn damaged_or_foreign_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let r = record_root(&store, key(&[]), Path::new("p.yaml"), "run", [job(JobKind::Prepare, 3)]).unwrap();
        let path = dir.path().join("roots").join(format!("{}.json", r.id));
        let good = fs::read_to_string(&path).unwrap();
        // A crash's temporary file is not a root.
        fs::write(dir.path().join("roots").join(format!(".{}.json.tmp-1-0", r.id)), b"{").unwrap();
        assert_eq!(list_roots(&store).unwrap().len(), 1);
        for bad in [
            "{ not json".to_string(),
            good.replace("\"format_version\": 1", "\"format_version\": 9"),
            good.replace("prepare/", "nosuch/"),
            good.replace("\"name\": \"p\"", "\"name\": \"q\""),
            good.replace("\"jobs\"", "\"jobz\""),
        ] {
            fs::write(&path, &bad).unwrap();
            let e = list_roots(&store).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
        }
        fs::write(&path, &good).unwrap();
        fs::write(dir.path().join("roots/notes.txt"), b"hi").unwrap();
        let e = list_roots(&store).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
    }

    #[test]
    fn forget_by_id_or_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let r = record_root(&store, key(&[]), Path::new("p.yaml"), "run", []).unwrap();
        assert!(matches!(forget_root(&store, "0000"), Err(RootError::Unknown(_))));
        assert!(matches!(forget_root(&store, &r.id[..2]), Err(RootError::Unknown(_))), "too short a prefix");
        assert_eq!(forget_root(&store, &r.id[..6]).unwrap().id, r.id);
        assert!(list_roots(&store).unwrap().is_empty());
        assert!(matches!(forget_root(&store, &r.id), Err(RootError::Unknown(_))));
    }
}
