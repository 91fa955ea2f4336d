//! Oulu-CASIA NIR&VIS: `{NI,VL}/{Dark,Strong,Weak}/Pnnn/<Expression>/NNN.jpeg`, one camera and illumination at a time.
//!
//! Frames of a sequence are ordered by their number (`000.jpeg`, `001.jpeg`, ...). Each sequence gives
//! its last `peak_frames` frames, plus with `neutral_first` its first frame labelled `Neutral` (only
//! when that frame is not already among the last ones; the class `Neutral` exists only then). The
//! subject is the `Pnnn` folder. A folder whose name is not one of the six expressions is a bad item.

use std::path::Path;

use super::files::{decode_all, finish, has_ext, rel, Candidate, Ctx, Pending};
use super::item::Loaded;
use crate::data::error::DataError;

/// Native class names (the expression folders), in alphabetical order; `Neutral` is appended with `neutral_first`.
pub const CLASS_NAMES: [&str; 6] = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"];
pub const NEUTRAL: &str = "Neutral";

/// The class names for the given options.
pub fn class_names(neutral_first: bool) -> Vec<String> {
    let mut v: Vec<String> = CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    if neutral_first {
        v.push(NEUTRAL.to_string());
    }
    v
}

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let k = ctx.opts.peak_frames;
    if k == 0 {
        return Err(DataError::Options {
            option: "peak_frames",
            reason: "Oulu-CASIA takes at least 1 frame".to_string(),
        });
    }
    let base = root.join(ctx.opts.oulu_modality.dir()).join(ctx.opts.oulu_illumination.dir());
    if !base.is_dir() {
        return Err(DataError::layout(
            root,
            format!(
                "expected the folder `{}/{}` here (layout `{{NI,VL}}/{{Dark,Strong,Weak}}/P001/Anger/000.jpeg`)",
                ctx.opts.oulu_modality.dir(),
                ctx.opts.oulu_illumination.dir()
            ),
        ));
    }
    let neutral = CLASS_NAMES.len();
    let mut pending = Vec::new();
    for subj in ctx.tree.list(&base)?.into_iter().filter(|e| e.is_dir) {
        for ex in ctx.tree.list(&subj.path)?.into_iter().filter(|e| e.is_dir) {
            let Some(label) = CLASS_NAMES.iter().position(|c| *c == ex.name) else {
                let reason =
                    format!("expected an expression folder in `{}`, found `{}`", CLASS_NAMES.join("`, `"), ex.name);
                pending.push(Pending::bad(&ex.path, root, reason));
                continue;
            };
            let mut frames: Vec<_> = ctx
                .tree
                .list(&ex.path)?
                .into_iter()
                .filter(|e| !e.is_dir && has_ext(&e.name, &["jpeg", "jpg"]))
                .collect();
            // Numeric order of the stem (names without a number go first, by name).
            frames.sort_by_key(|f| (f.name.split('.').next().and_then(|s| s.parse::<u64>().ok()), f.name.clone()));
            let n = frames.len();
            let first_peak = n.saturating_sub(k as usize);
            let mut push = |idx: usize, label: usize| {
                let f = &frames[idx];
                pending.push(Pending::Decode(Candidate {
                    path: f.path.clone(),
                    source: rel(root, &f.path),
                    label,
                    subject: subj.name.clone(),
                    empty_is_skip: false,
                    landmarks: None,
                }))
            };
            if ctx.opts.neutral_first && first_peak > 0 {
                push(0, neutral);
            }
            for idx in first_peak..n {
                push(idx, label);
            }
        }
    }
    if pending.is_empty() {
        return Err(DataError::layout(
            &base,
            "expected `P001/<Expression>/NNN.jpeg` below this folder; found no image",
        ));
    }
    finish(decode_all(pending, ctx), class_names(ctx.opts.neutral_first), ctx.opts.skip_bad)
}
