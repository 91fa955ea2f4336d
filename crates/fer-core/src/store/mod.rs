//! The content-addressed store: entries, atomic writes, locks, gc and its roots.

mod atomic;
mod entry;
mod error;
mod gc;
mod layout;
mod lock;
mod roots;

pub use atomic::{read_json, temp_path, write_atomic, write_json};
pub use entry::{
    DoneRecord, Entry, EntryState, FailedRecord, FileRecord, JobRecord, Verify, CHECKPOINT_FILE, DONE_FILE, JOB_FILE,
    LOG_FILE,
};
pub use error::StoreError;
pub use gc::{plan_gc, run_gc, Candidate, GcLock, GcPlan, GcReport, GC_LOCK_FILE};
pub use layout::{Store, STORE_FORMAT};
pub use lock::EntryLock;
pub use roots::{
    find_root, forget_root, list_roots, record_root, Root, RootError, RootJob, RootKey, ROOTS_DIR, ROOT_FORMAT,
};
