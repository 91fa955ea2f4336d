//! `pipeline.yaml`: raw schema, overlays, compilation into a checked [`Pipeline`].

mod axis;
mod compile;
mod error;
mod load;
mod matrix;
mod overlay;
mod pipeline;
mod raw;
mod sbatch;
mod source_map;

pub use error::{Diagnostic, Origin, SpecError};
pub use load::{file_kind, load, load_str, open_regular, read_small_file, Overrides, SmallFileError, MAX_FILE_BYTES};
pub use pipeline::{
    throughput_networks, AdamSpec, Analyses, Arch, DatasetSpec, DeviceRequest, DistillSpec, Experiment, InitWeights,
    InputNorm, ModelSpec, Network, Pipeline, RealSpec, Resources, SaliencySettings, SlurmSettings, SyntheticSpec,
    TrainSpec, Variant,
};
pub use pipeline::{Select, MULTI_CROP_FACE};
pub use sbatch::{check_option as check_sbatch_option, check_setting as check_sbatch_setting};
pub use source_map::{Pos, MAX_ALIASES, MAX_DEPTH, MAX_NODES};
