//! `pipeline.yaml`: raw schema, overlays, compilation into a checked [`Pipeline`].

mod axis;
mod compile;
mod error;
mod load;
mod matrix;
mod overlay;
mod pipeline;
mod raw;
mod source_map;

pub use error::{Diagnostic, Origin, SpecError};
pub use load::{load, load_str, Overrides};
pub use pipeline::{
    AdamSpec, Arch, DatasetSpec, DeviceRequest, DistillSpec, Experiment, InitWeights, InputNorm, ModelSpec, Pipeline,
    RealSpec, Resources, SaliencySettings, SlurmSettings, SyntheticSpec, TrainSpec, Variant,
};
pub use source_map::Pos;
