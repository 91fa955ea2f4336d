//! The nested training subset of a `train_fraction` run in the jobs: drawn with the data set's
//! seed (from its prepare job's record), logged and written to `subset.json` by the train job, and
//! counted into the protocol of its evaluation (what the model was trained on).

use super::context::JobContext;
use crate::data::Prepared;
use fer_core::exec::ExecError;
use fer_core::plan::{JobHash, JobKind, JobSpec, TrainJobSpec};
use fer_core::records::{ProtocolRecord, SplitCount, TrainSubset, SUBSET_FILE};
use fer_core::spec::DatasetSpec;
use fer_core::store::{write_json, Entry};

/// The data set a prepare entry holds (from its record).
fn dataset_of(ctx: &JobContext<'_>, prepare: &Entry) -> Result<DatasetSpec, ExecError> {
    match prepare.read_record()?.spec {
        JobSpec::Prepare(p) => Ok(p.dataset),
        _ => Err(ctx.fail(format!("the input `{}` has no prepare job record", prepare.id()))),
    }
}

/// The subset seed a train job passes the trainer and, below `train_fraction` 1, its subset
/// (logged here). At fraction 1 nothing is read: every training image is used.
pub(super) fn plan(
    ctx: &JobContext<'_>,
    spec: &TrainJobSpec,
    prepare: &Entry,
    data: &Prepared,
) -> Result<(u64, Option<TrainSubset>), ExecError> {
    let fraction = spec.train.train_fraction;
    if fraction >= 1.0 {
        return Ok((0, None));
    }
    let seed = dataset_of(ctx, prepare)?.subset_seed();
    let (_, subset) = data.train_subset(spec.fold, fraction, seed).map_err(|e| ctx.fail(e))?;
    ctx.log.line(&subset.describe());
    Ok((seed, Some(subset)))
}

/// Writes `subset.json` when the run trained on a subset; the artifact's name, if written.
pub(super) fn write(ctx: &JobContext<'_>, subset: Option<&TrainSubset>) -> Result<Option<String>, ExecError> {
    let Some(s) = subset else { return Ok(None) };
    write_json(&ctx.entry.file(SUBSET_FILE), s)?;
    Ok(Some(SUBSET_FILE.to_string()))
}

/// An evaluation's protocol with the training counts of the subset its weights were trained on
/// (train job `weights`), when that run's `train_fraction` is below 1; unchanged otherwise.
pub(super) fn trained_on(
    ctx: &JobContext<'_>,
    weights: &JobHash,
    dataset: &DatasetSpec,
    data: &Prepared,
    mut protocol: ProtocolRecord,
) -> Result<ProtocolRecord, ExecError> {
    let train = ctx.input(JobKind::Train, weights)?;
    let JobSpec::Train(spec) = train.read_record()?.spec else {
        return Err(ctx.fail(format!("the input `{}` has no train job record", train.id())));
    };
    let fraction = spec.train.train_fraction;
    if fraction < 1.0 {
        let (_, s) = data.train_subset(spec.fold, fraction, dataset.subset_seed()).map_err(|e| ctx.fail(e))?;
        protocol.train = SplitCount { images: s.images, subjects: s.subjects };
        protocol.description = format!(
            "{}; trained on {} of {} training subjects (train_fraction {fraction}, {} of {} images)",
            protocol.description, s.subjects, s.of_subjects, s.images, s.of_images
        );
    }
    Ok(protocol)
}
