//! The `prepare` job: renders or decodes (and crops) a data set at one size into one tensor file
//! with splits; logs how the faces were cropped and every image without a face.

use super::context::{JobContext, JobOutput, JobResult};
use crate::data::{self, DATA_FILE, SAMPLES_FILE, SUMMARY_FILE};
use fer_core::exec::JobEvent;
use fer_core::plan::PrepareSpec;
use fer_core::store::{write_json, StoreError};

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &PrepareSpec) -> JobResult {
    let what = if matches!(spec.dataset, fer_core::spec::DatasetSpec::Synthetic(_)) { "rendering" } else { "decoding" };
    (ctx.emit)(JobEvent::Note { text: format!("{what} images at {} px", spec.size) });
    // Decoding, face detection and rendering give the same tensors on any number of threads (the
    // order is kept): use every core this process may use, not only the training's `threads`.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).max(ctx.threads as usize);
    ctx.log.line(&format!("{what} on {threads} thread(s)"));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| ctx.fail(e.to_string()))?;
    let (prepared, summary) =
        pool.install(|| data::build(&spec.dataset, spec.size)).map_err(|e| ctx.fail(e.to_string()))?;
    log_crops(ctx, &summary);
    data::write(&ctx.entry.file(DATA_FILE), &prepared)?;
    write_json(&ctx.entry.file(SUMMARY_FILE), &summary)?;
    let grid = ctx.entry.file(SAMPLES_FILE);
    let tmp = grid.with_file_name(".samples.tmp.png");
    data::write_samples(&prepared, &tmp).map_err(|e| ctx.fail(format!("failed to write sample grid: {e}")))?;
    std::fs::rename(&tmp, &grid).map_err(|e| StoreError::io(&grid, e))?;
    let faces = match summary.no_face_count() {
        0 => String::new(),
        n => format!(", no face found in {n}"),
    };
    Ok(Some(JobOutput {
        summary: format!(
            "{} images at {} px, {} classes{faces}",
            summary.images,
            summary.size,
            summary.class_names.len()
        ),
        files: vec![DATA_FILE.into(), SUMMARY_FILE.into(), SAMPLES_FILE.into()],
    }))
}

/// Writes the crop policy, how many images were cropped each way, and every image where no face
/// was found to the entry's log (the same list is in `summary.json`).
fn log_crops(ctx: &mut JobContext<'_>, summary: &data::Summary) {
    let Some(faces) = &summary.faces else { return };
    let counts: Vec<String> = faces.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    ctx.log.line(&format!("crop: {}; images cropped by {}", faces.policy, counts.join(", ")));
    if faces.no_face.is_empty() {
        return;
    }
    let text = format!("no face found in {} image(s), listed in log.txt and summary.json", faces.no_face.len());
    ctx.log.warn(&format!("no face found in {} image(s):", faces.no_face.len()));
    for line in &faces.no_face {
        ctx.log.line(&format!("  no face: {line}"));
    }
    (ctx.emit)(JobEvent::Note { text });
}
