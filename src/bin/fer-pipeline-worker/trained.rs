//! A finished train entry for `export` and `predict`: chosen by id (`train/<hash16>`) or in a
//! pipeline (model, data set, seed, fold), its trained weights, and the spec of the data it was
//! trained on.

use fer_core::plan::{JobKind, JobSpec, PrepareSpec};
use fer_core::store::Store;
use fer_pipeline::cli::PipelineArgs;
use fer_pipeline::commands::context::{load, store_for};
use fer_pipeline::error::Error;
use fer_train::export::select::{self, Choice, Selected};
use fer_train::jobs::WEIGHTS_FILE;
use fer_train::models::Model;
use fer_train::tensor_file;

/// The entry `hash` of the store, or the run `choice` picks in `pipeline`'s plan; a failure to
/// choose is `usage`'s error.
pub(crate) fn select(
    store_flag: &Option<std::path::PathBuf>,
    hash: Option<&str>,
    pipeline: PipelineArgs,
    choice: &Choice,
    usage: &dyn Fn(String) -> Error,
) -> Result<(Store, Selected), Error> {
    match hash {
        Some(hash) => {
            let store = store_for(store_flag, None);
            store.check()?;
            let sel = select::by_id(&store, hash).map_err(usage)?;
            Ok((store, sel))
        }
        None => {
            let pipeline = load(&pipeline)?;
            let store = store_for(store_flag, Some(&pipeline));
            store.check()?;
            let plan = fer_core::plan::build(&pipeline);
            let sel = select::in_plan(&store, &plan, choice).map_err(usage)?;
            Ok((store, sel))
        }
    }
}

/// The model of `sel` with its trained weights, on `device`; the error names the file.
pub(crate) fn load_model(sel: &Selected, device: tch::Device) -> Result<Model, String> {
    let path = sel.entry.file(WEIGHTS_FILE);
    let f = tensor_file::read(&path).map_err(|e| e.to_string())?;
    let m = Model::new(&sel.spec.model, sel.spec.classes, device);
    m.load(&f.tensors).map_err(|e| format!("failed to load the weights `{}`: {e}", path.display()))?;
    Ok(m)
}

/// The prepare spec of the data `sel` was trained on, when its entry's record can be read.
pub(crate) fn prepared(store: &Store, sel: &Selected) -> Option<PrepareSpec> {
    match store.entry(JobKind::Prepare, &sel.spec.data).read_record().ok()?.spec {
        JobSpec::Prepare(p) => Some(p),
        _ => None,
    }
}
