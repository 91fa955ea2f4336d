//! The content-addressed store: entries, atomic writes, locks, tensor files, gc.

mod atomic;
mod entry;
mod error;
mod gc;
mod layout;
mod lock;
pub mod tensor_file;

pub use atomic::{read_json, write_atomic, write_json};
pub use entry::{
    checkpoint_epoch, checkpoint_threads, DoneRecord, Entry, EntryState, FailedRecord, FileRecord, JobRecord,
    CHECKPOINT_FILE, DONE_FILE, JOB_FILE, LOG_FILE,
};
pub use error::StoreError;
pub use gc::{gc, GcReport};
pub use layout::{Store, STORE_FORMAT};
pub use lock::EntryLock;
