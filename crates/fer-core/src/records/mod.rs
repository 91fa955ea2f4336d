//! The records jobs leave in the store, as the report and other readers see them: file names,
//! provenance, evaluation results, classification metrics.

mod checkpoint;
mod classification;
mod curve;
mod files;
mod provenance;
mod result;
mod subset;

pub use checkpoint::{checkpoint_epochs_done, metadata_of, safetensors_metadata, EPOCHS_DONE_KEY, THREADS_KEY};
pub use classification::{classification, ClassMetrics, Classification};
pub use curve::{read_curve, to_csv, EpochRow};
pub use files::*;
pub use provenance::Provenance;
pub use result::{EvalResult, ProtocolRecord, SplitCount, RESULT_FORMAT};
pub use subset::{TrainSubset, SUBSET_FILE, SUBSET_FORMAT};
