//! Shared steps of the commands: loading a pipeline with its overlays, choosing the store,
//! reading the state of every planned job.

use std::path::PathBuf;

use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan::{Job, PlannedState};
use fer_core::spec::{self, Overrides, Pipeline};
use fer_core::store::{EntryState, Store};

/// Loads and compiles the pipeline named on the command line.
pub fn load(args: &PipelineArgs) -> Result<Pipeline, Error> {
    let overrides = Overrides { profile: args.profile.clone(), sets: args.sets.clone(), skip_bad: args.skip_bad };
    Ok(spec::load(&args.pipeline, &overrides)?)
}

/// `--store`, else the pipeline's `store`, else `experiments` (relative to the current folder).
pub fn store_for(flag: &Option<PathBuf>, pipeline: Option<&Pipeline>) -> Store {
    let root =
        flag.clone().or_else(|| pipeline.and_then(|p| p.store.clone())).unwrap_or_else(|| PathBuf::from("experiments"));
    Store::new(root)
}

/// The planning view of a job's store entry; `unavailable` when its data set is absent here.
pub fn planned_state(store: &Store, job: &Job, unavailable: Option<&String>) -> PlannedState {
    if let Some(why) = unavailable {
        return PlannedState::Unavailable(why.clone());
    }
    match store.entry(job.kind(), &job.hash).state() {
        EntryState::Done(_) => PlannedState::Cached,
        EntryState::Absent | EntryState::Pending => PlannedState::Pending,
        EntryState::Partial { epoch } => PlannedState::Partial(epoch),
        EntryState::Running => PlannedState::Running,
        EntryState::Failed(m) => PlannedState::Failed(m),
        EntryState::Corrupt(m) => PlannedState::Damaged(m),
    }
}
