//! The LibTorch job bodies as the core's executor runs them: device set-up, then the body of
//! the job by its kind.

use tch::Device;

use super::context::{JobContext, JobResult};
use super::{evaluate, prepare, robustness, saliency, targets, throughput, train, transfer};
use crate::device;
use fer_core::exec::{ExecError, ExecOptions, JobBody};
use fer_core::plan::JobSpec;

/// The job bodies of this crate (prepare, train, distill-targets, evaluate, saliency, throughput, transfer).
pub struct TorchJobs;

impl JobBody for TorchJobs {
    type Device = Device;

    fn setup(&self, opts: &ExecOptions) -> Result<(Device, String), ExecError> {
        let dev = device::resolve(opts.device).map_err(ExecError::Device)?;
        device::configure(dev, opts.deterministic);
        tch::set_num_threads(opts.threads as i32);
        Ok((dev, device::name(dev)))
    }

    fn run(&self, ctx: &mut JobContext<'_>, spec: &JobSpec) -> JobResult {
        match spec {
            JobSpec::Prepare(s) => prepare::run(ctx, s),
            JobSpec::Train(s) => train::run(ctx, s),
            JobSpec::DistillTargets(s) => targets::run(ctx, s),
            JobSpec::Evaluate(s) => evaluate::run(ctx, s),
            JobSpec::Saliency(s) => saliency::run(ctx, s),
            JobSpec::Throughput(s) => throughput::run(ctx, s),
            JobSpec::Transfer(s) => transfer::run(ctx, s),
            JobSpec::Robustness(s) => robustness::run(ctx, s),
        }
    }

    fn runtime_version(&self) -> &str {
        crate::LIBTORCH_VERSION
    }
}
