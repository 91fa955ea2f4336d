//! `fer-pipeline export`: a trained entry as ONNX or TorchScript, its preprocessing sidecar, its
//! size and our latency at batch 1 on one thread.

use std::path::{Path, PathBuf};

use tch::Device;

use super::trained;
use fer_core::spec::ModelSpec;
use fer_core::store::write_atomic;
use fer_pipeline::cli::{ExportFormat, PipelineArgs};
use fer_pipeline::error::Error;
use fer_train::export::select::{self, Choice};
use fer_train::export::sidecar::{self, Sidecar, SIDECAR_FORMAT};
use fer_train::export::{check, onnx, torchscript};
use fer_train::models::Model;

/// What to export, how, and where.
#[derive(Debug, Clone)]
pub(crate) struct ExportArgs {
    pub target: String,
    pub profile: Option<String>,
    pub sets: Vec<String>,
    pub choice: Choice,
    pub format: ExportFormat,
    pub out: PathBuf,
    pub reference: Option<PathBuf>,
    /// Run scripts/check-export.py on the export.
    pub check: bool,
}

/// `fer-pipeline export`.
pub(crate) fn export_cmd(store_flag: &Option<PathBuf>, args: &ExportArgs) -> Result<String, Error> {
    if args.out.extension().is_some_and(|e| e == "json") {
        return Err(Error::Usage(format!(
            "failed to export to `{}`: the sidecar goes to `<out>.json`; choose another name",
            args.out.display()
        )));
    }
    tch::manual_seed(0);
    let source = match args.target.strip_prefix("released:") {
        Some(name) => released_source(name)?,
        None => trained_source(store_flag, args)?,
    };
    let Source { mut model, what, entry, label, side } = source;
    let fail = |m: String| Error::Export { what: what.clone(), source: m.into() };
    let ours_ms = check::latency_ms(&model, 50);
    // Both files are written whole or not at all (temporary file, then rename).
    let (format, opset, fixed_batch) = match args.format {
        ExportFormat::Onnx => {
            let meta =
                vec![("fer_pipeline.entry".to_string(), entry.clone()), ("fer_pipeline.model".into(), what.clone())];
            let bytes = onnx::export(&model, &meta).map_err(fail)?;
            write_atomic(&args.out, &bytes)?;
            ("onnx", Some(onnx::OPSET), None)
        }
        ExportFormat::Torchscript => {
            // Deep-Emotion's affine grid reads the batch size in Rust: the trace holds it as a
            // constant, so that module takes batches of 1.
            let batch = matches!(model.spec, ModelSpec::DeepEmotion { .. }).then_some(1);
            let tmp = temp_beside(&args.out);
            let r = torchscript::export(&mut model, batch.unwrap_or(1), &tmp)
                .and_then(|()| std::fs::rename(&tmp, &args.out).map_err(|e| e.to_string()));
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(fail(e));
            }
            ("torchscript", None, batch)
        }
    };
    let (input, output, preprocessing) = sidecar::describe(&model.spec, model.classes, side, onnx::INPUT, onnx::OUTPUT);
    let doc = Sidecar {
        format_version: SIDECAR_FORMAT,
        format: format.into(),
        file: args.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        entry,
        model: label.model.clone(),
        arch: model.spec.display(),
        dataset: label.dataset.clone(),
        seed: label.seed,
        fold: label.fold,
        classes: model.classes,
        input,
        output,
        preprocessing,
        opset,
        fixed_batch,
    };
    let sidecar_path = sidecar_path(&args.out);
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| fail(e.to_string()))?;
    write_atomic(&sidecar_path, &json)?;
    if let Some(path) = &args.reference {
        let r = check::reference(&model, 3, ours_ms).map_err(fail)?;
        write_atomic(path, &serde_json::to_vec(&r).map_err(|e| fail(e.to_string()))?)?;
    }
    let checked = if args.check {
        match run_check(&model, ours_ms, &args.out) {
            Ok(line) => format!("check: {line}\n"),
            Err(e) => {
                let _ = std::fs::remove_file(&args.out);
                let _ = std::fs::remove_file(&sidecar_path);
                let source = format!("its check failed (the export was removed): {e}").into();
                return Err(Error::Export { what: what.clone(), source });
            }
        }
    } else {
        String::new()
    };
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "exported {what} as {}: `{}`, {}\nsidecar: `{}`\nours (LibTorch, batch 1, 1 thread): {ours_ms:.3} ms/image\n{checked}",
        match args.format {
            ExportFormat::Onnx => format!("ONNX (opset {})", onnx::OPSET),
            ExportFormat::Torchscript => "TorchScript".to_string(),
        },
        args.out.display(),
        human(bytes),
        sidecar_path.display(),
    ))
}

/// What is exported: the model, how it is named, its entry, labels, and the side of the faces it
/// was trained on.
struct Source {
    model: Model,
    what: String,
    entry: String,
    label: fer_core::plan::JobLabel,
    side: Option<u32>,
}

/// The authors' released model `name` (`released:microexpnet-ck`): its test-time recipe takes the
/// window of a 256 px face, as the sidecar says.
fn released_source(name: &str) -> Result<Source, Error> {
    let usage = |m: String| Error::Usage(format!("failed to export `released:{name}`: {m}"));
    let r = fer_train::released::microexpnet::find(name).map_err(|e| usage(e.to_string()))?;
    let model = r.model(Device::Cpu).map_err(|e| usage(e.to_string()))?;
    let label = fer_core::plan::JobLabel {
        model: r.name.to_string(),
        arch: model.spec.display(),
        dataset: r.dataset.to_string(),
        seed: None,
        fold: None,
        axes: Vec::new(),
    };
    let what = format!("`released:{}` (the authors' {} model)", r.name, r.dataset);
    Ok(Source {
        model,
        what,
        entry: format!("released:{}", r.name),
        label,
        side: Some(fer_train::models::crops::FACE as u32),
    })
}

/// A finished train entry, by id or chosen in a pipeline.
fn trained_source(store_flag: &Option<PathBuf>, args: &ExportArgs) -> Result<Source, Error> {
    let pipeline = PipelineArgs {
        pipeline: PathBuf::from(&args.target),
        profile: args.profile.clone(),
        sets: args.sets.clone(),
        skip_bad: false,
    };
    let (store, sel) =
        trained::select(store_flag, select::entry_id(&args.target), pipeline, &args.choice, &Error::Usage)?;
    let model = trained::load_model(&sel, Device::Cpu)
        .map_err(|e| Error::Export { what: format!("`{}`", sel.entry.id()), source: e.into() })?;
    let what = format!("{} ({})", sel.entry.id(), select::describe(&sel.label));
    let side = trained::prepared(&store, &sel).map(|p| p.size);
    Ok(Source { model, what, entry: sel.entry.id(), label: sel.label, side })
}

/// `<out>.json`.
pub(crate) fn sidecar_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

fn temp_beside(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

/// Runs scripts/check-export.py on `out` against our logits; returns its line.
fn run_check(model: &Model, ours_ms: f64, out: &Path) -> Result<String, String> {
    let r = check::reference(model, 3, ours_ms)?;
    let dir = tempfile::tempdir().map_err(|e| format!("failed to create a temporary folder: {e}"))?;
    let reference = dir.path().join("reference.json");
    std::fs::write(&reference, serde_json::to_vec(&r).map_err(|e| e.to_string())?)
        .map_err(|e| format!("failed to write `{}`: {e}", reference.display()))?;
    let py = fer_train::bench::reference::python();
    let o = std::process::Command::new(&py)
        .arg("scripts/check-export.py")
        .arg(out)
        .arg(&reference)
        .output()
        .map_err(|e| format!("failed to run `{}`: {e}", py.display()))?;
    let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if o.status.success() {
        Ok(text)
    } else {
        let err = String::from_utf8_lossy(&o.stderr);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        Err(format!("{text} {}", tail.into_iter().rev().collect::<Vec<_>>().join(" | ")).trim().to_string())
    }
}
