//! Runs the body of a job by its kind.

use super::context::{JobContext, JobResult};
use super::{evaluate, prepare, saliency, targets, train};
use crate::plan::JobSpec;

/// Runs the body of the job `spec`.
pub fn run(ctx: &mut JobContext<'_>, spec: &JobSpec) -> JobResult {
    match spec {
        JobSpec::Prepare(s) => prepare::run(ctx, s),
        JobSpec::Train(s) => train::run(ctx, s),
        JobSpec::DistillTargets(s) => targets::run(ctx, s),
        JobSpec::Evaluate(s) => evaluate::run(ctx, s),
        JobSpec::Saliency(s) => saliency::run(ctx, s),
    }
}
