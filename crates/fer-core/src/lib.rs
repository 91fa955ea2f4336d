//! fer-pipeline's core, without LibTorch or Polars: the pipeline spec, the plan of content-hashed
//! jobs, the store, the executor that runs jobs as child processes, Slurm submission, and what
//! a data set is (manifests, loaders, content hashes, face crops).

pub mod arch;
pub mod clock;
pub mod data;
pub mod digest;
pub mod exec;
pub mod gpus;
pub mod plan;
pub mod records;
pub mod rng;
pub mod slurm;
pub mod spec;
pub mod store;
