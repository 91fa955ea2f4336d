//! The `distill-targets` job: a trained teacher's logits on every image of its data set, stored
//! once and shared by every student that distils from it (whatever their T or w).
//!
//! As in MicroExpNet's public code: the teacher's raw logits (`TeacherSoftmaxInputs`), one row
//! per image file, computed on the whole face at the teacher's input size; each of an image's 8
//! training crops reads its image's row (`deployImages` appends `TeacherSoftmaxInputs[filename]`
//! once per crop), and the student's loss softens them with its own T (`softmax(z_t / T)`).

use std::collections::BTreeMap;

use super::artifacts::{load_trained, TARGETS_FILE};
use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, DATA_FILE};
use crate::tensor_file;
use fer_core::plan::{JobKind, TargetsSpec};

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &TargetsSpec) -> JobResult {
    let data = data::read(&ctx.input(JobKind::Prepare, &spec.data)?.file(DATA_FILE))?;
    let (model, _) = load_trained(ctx, &spec.model, spec.classes, &spec.weights, ctx.device)?;
    let x = model.preprocess(&data.images);
    let logits = model.logits(&x, 256).to_device(tch::Device::Cpu);
    let meta =
        BTreeMap::from([("teacher".to_string(), spec.model.display()), ("images".to_string(), data.len().to_string())]);
    tensor_file::write(&ctx.entry.file(TARGETS_FILE), &[("logits".to_string(), logits)], &meta)?;
    Ok(Some(JobOutput {
        summary: format!("{} logits of {}", data.len(), spec.model.display()),
        files: vec![TARGETS_FILE.into()],
    }))
}
