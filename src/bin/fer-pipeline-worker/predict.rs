//! `fer-pipeline predict`: the faces of photographs classified by a released model, a
//! MicroExpNet TensorFlow checkpoint, or a trained entry of the store; one CSV row per face, a
//! clear line per photograph that gives none, and optionally annotated PNGs.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::trained;
use fer_core::store::write_atomic;
use fer_pipeline::cli::PipelineArgs;
use fer_pipeline::error::Error;
use fer_train::export::select::{self, Choice};
use fer_train::predict::{FacePrediction, Predictor};
use fer_train::released::microexpnet as released;

/// What `predict` was asked.
#[derive(Debug, Clone)]
pub(crate) struct PredictArgs {
    pub inputs: Vec<PathBuf>,
    pub model: String,
    pub pipeline: PathBuf,
    pub profile: Option<String>,
    pub sets: Vec<String>,
    pub choice: Choice,
    pub out: Option<PathBuf>,
    pub annotate: Option<PathBuf>,
    pub min_face: u32,
    pub device: String,
}

/// Extensions of the photographs a folder is searched for (the decoder reads PNG, JPEG, TIFF).
const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// `fer-pipeline predict`.
pub(crate) fn predict_cmd(store_flag: &Option<PathBuf>, args: &PredictArgs) -> Result<String, Error> {
    let req = fer_core::spec::DeviceRequest::parse(&args.device).map_err(Error::Usage)?;
    let device = fer_train::device::resolve(req)?;
    let predictor = predictor(store_flag, args, device)?;
    if let Some(dir) = &args.annotate {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    }
    let (photos, mut problems) = photographs(&args.inputs);
    // Inputs that named no photograph count as inputs without a result.
    let total = photos.len() + problems.len();
    let mut csv = header(&predictor);
    let mut faces_total = 0;
    let mut names = std::collections::BTreeSet::new();
    for photo in &photos {
        match one_photo(&predictor, photo, args, &mut names) {
            Ok(faces) if faces.is_empty() => problems.push(format!(
                "`{}`: no face found (faces of at least {} px are looked for; try --min-face)",
                photo.display(),
                args.min_face.max(fer_core::data::face::MIN_FACE)
            )),
            Ok(faces) => {
                faces_total += faces.len();
                for (i, f) in faces.iter().enumerate() {
                    csv.push_str(&row(photo, i + 1, f, &predictor));
                }
            }
            Err(why) => problems.push(format!("`{}`: {why}", photo.display())),
        }
    }
    for p in &problems {
        eprintln!("fer-pipeline: {p}");
    }
    let summary = format!(
        "{faces_total} face(s) in {} of {total} input(s), classified by {}",
        total - problems.len(),
        predictor.name
    );
    let mut out = String::new();
    match &args.out {
        Some(path) => {
            write_atomic(path, csv.as_bytes())?;
            out = format!("{summary}\nwrote `{}`\n", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(csv.as_bytes()).map_err(|e| Error::io("write", "stdout", e))?;
            tracing::info!("{summary}");
        }
    }
    if !problems.is_empty() {
        return Err(Error::InputsFailed { failed: problems.len(), total });
    }
    Ok(out)
}

/// The model `args.model` names.
fn predictor(store_flag: &Option<PathBuf>, args: &PredictArgs, device: tch::Device) -> Result<Predictor, Error> {
    let usage = |m: String| Error::Usage(format!("failed to load the model `{}`: {m}", args.model));
    if let Some(name) = args.model.strip_prefix("released:") {
        let r = released::find(name).map_err(|e| usage(e.to_string()))?;
        return Predictor::released(r, device).map_err(|e| usage(e.to_string()));
    }
    if let Some(prefix) = args.model.strip_prefix("tf:") {
        return Predictor::tf_checkpoint(Path::new(prefix), device).map_err(|e| usage(e.to_string()));
    }
    let hash = select::entry_id(&args.model);
    if hash.is_none() && !args.pipeline.exists() {
        return Err(usage(format!(
            "it is not `released:microexpnet-ck`, `released:microexpnet-oulu-casia`, `tf:PREFIX` or `train/<hash16>`, \
             and the pipeline `{}` it would be a model of does not exist",
            args.pipeline.display()
        )));
    }
    let pipeline = PipelineArgs {
        pipeline: args.pipeline.clone(),
        profile: args.profile.clone(),
        sets: args.sets.clone(),
        skip_bad: false,
    };
    let choice = Choice { model: Some(args.model.clone()), ..args.choice.clone() };
    let (store, sel) = trained::select(store_flag, hash, pipeline, &choice, &usage)?;
    let model = trained::load_model(&sel, device).map_err(usage)?;
    let Some(prepare) = trained::prepared(&store, &sel) else {
        return Err(usage(format!("failed to read the data entry of `{}`", sel.entry.id())));
    };
    let name = format!("{} ({})", sel.entry.id(), select::describe(&sel.label));
    Ok(Predictor::trained(name, model, &prepare))
}

/// The photographs of `inputs` (folders searched recursively, sorted), and a line for each input
/// that is neither.
fn photographs(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let (mut photos, mut problems) = (Vec::new(), Vec::new());
    for input in inputs {
        if input.is_dir() {
            let before = photos.len();
            walk(input, &mut photos, &mut problems);
            photos[before..].sort();
            if photos.len() == before {
                problems.push(format!("`{}`: no PNG, JPEG or TIFF file in this folder", input.display()));
            }
        } else if input.exists() {
            photos.push(input.clone());
        } else {
            problems.push(format!("`{}`: no such file or folder", input.display()));
        }
    }
    (photos, problems)
}

fn walk(dir: &Path, photos: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return problems.push(format!("`{}`: failed to read the folder: {e}", dir.display())),
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(&path, photos, problems);
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        {
            photos.push(path);
        }
    }
}

/// The faces of one photograph (and its annotated copy); the error is a lowercase reason.
fn one_photo(
    p: &Predictor,
    photo: &Path,
    args: &PredictArgs,
    names: &mut std::collections::BTreeSet<String>,
) -> Result<Vec<FacePrediction>, String> {
    let bytes = std::fs::read(photo).map_err(|e| format!("failed to read the file: {e}"))?;
    let gray = fer_core::data::decode::decode_gray(&bytes, photo)?;
    let faces = p.predict(&gray, args.min_face);
    if let (Some(dir), false) = (&args.annotate, faces.is_empty()) {
        let rgb = image::load_from_memory(&bytes).map_err(|e| format!("failed to decode the image: {e}"))?.to_rgb8();
        let marks: Vec<fer_report::Mark> = faces
            .iter()
            .map(|f| {
                let (best, prob) = f.best();
                fer_report::Mark {
                    x: f.face.x,
                    y: f.face.y,
                    width: f.face.width,
                    height: f.face.height,
                    label: format!("{} {:.2}", p.labels[best], prob),
                }
            })
            .collect();
        let out = dir.join(annotated_name(photo, names));
        fer_report::annotate(&rgb, &marks, &out).map_err(|e| fer_pipeline::logging::chain(&e))?;
    }
    Ok(faces)
}

/// `<stem>.png`, or `<stem>-2.png`, ... when two photographs share a stem.
fn annotated_name(photo: &Path, names: &mut std::collections::BTreeSet<String>) -> String {
    let stem = photo.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "photo".into());
    let mut name = format!("{stem}.png");
    let mut k = 2;
    while !names.insert(name.clone()) {
        name = format!("{stem}-{k}.png");
        k += 1;
    }
    name
}

/// The CSV header: the box, the detector's score, the best label, then one column per label.
fn header(p: &Predictor) -> String {
    let mut h = String::from("file,face,x,y,width,height,detector_score,label,probability");
    for l in &p.labels {
        h.push_str(&format!(",p_{l}"));
    }
    h.push('\n');
    h
}

fn row(photo: &Path, k: usize, f: &FacePrediction, p: &Predictor) -> String {
    let (best, prob) = f.best();
    let b = &f.face;
    let mut r = format!(
        "{},{k},{},{},{},{},{:.2},{},{prob:.6}",
        csv_field(&photo.display().to_string()),
        b.x,
        b.y,
        b.width,
        b.height,
        b.score,
        p.labels[best]
    );
    for q in &f.probabilities {
        r.push_str(&format!(",{q:.6}"));
    }
    r.push('\n');
    r
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
