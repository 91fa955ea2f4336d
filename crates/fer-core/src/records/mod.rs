//! The records jobs leave in the store, as the report and other readers see them: file names,
//! provenance, evaluation results, per-image predictions, classification metrics, throughput, transfer
//! (domain shift).

mod checkpoint;
mod classification;
mod curve;
mod files;
mod predictions;
mod provenance;
mod result;
mod robustness;
mod subset;
mod throughput;
mod transfer;

pub use checkpoint::{checkpoint_epochs_done, metadata_of, safetensors_metadata, EPOCHS_DONE_KEY, THREADS_KEY};
pub use classification::{classification, ClassMetrics, Classification};
pub use curve::{read_curve, to_csv, EpochRow};
pub use files::*;
pub use predictions::{predictions_csv, read_predictions, Prediction, PREDICTIONS_FORMAT, PREDICTIONS_HEADER};
pub use provenance::Provenance;
pub use result::{EvalResult, ProtocolRecord, SplitCount, RESULT_FORMAT};
pub use robustness::{RobustnessRecord, RobustnessRow, ROBUSTNESS_FORMAT};
pub use subset::{TrainSubset, SUBSET_FILE, SUBSET_FORMAT};
pub use throughput::{cpu_model, SpeedRow, ThroughputRecord, THROUGHPUT_FORMAT};
pub use transfer::{TransferRecord, TRANSFER_FORMAT};
