//! CK+: `cohn-kanade-images/Sxxx/nnn/Sxxx_nnn_<frame>.png` with labels in `Emotion/Sxxx/nnn/*_emotion.txt`.
//!
//! A label file holds one float (`   3.0000000e+00`) and names the peak frame it belongs to
//! (`S005_001_00000011_emotion.txt` -> frame `S005_001_00000011.png`, normally the last one). Each
//! labelled sequence gives its `peak_frames` frames ending at the peak (1 to 3), plus its first frame
//! labelled `neutral` with `neutral_first` (only when that frame is not already a peak frame).
//! Sequences without a label file are skipped and counted ([`SkipKind::Unlabelled`]); only labelled
//! sequences contribute neutral frames. The subject is the `Sxxx` folder.
//!
//! Each frame may have its 68 facial landmarks in `Landmarks/Sxxx/nnn/Sxxx_nnn_<frame>_landmarks.txt`
//! (one `x y` pair per line); the `landmarks` crop policy cuts the face from them.

use std::path::{Path, PathBuf};

use super::files::{decode_all, finish, has_ext, read_regular, rel, BadItem, Candidate, Ctx, Outcome, Pending};
use super::item::{Loaded, SkipKind};
use crate::data::error::DataError;

/// Native class names, in label order (0 neutral ... 7 surprise).
pub const CLASS_NAMES: [&str; 8] = ["neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"];

pub const IMAGES_DIR: &str = "cohn-kanade-images";
pub const EMOTION_DIR: &str = "Emotion";
pub const LABEL_SUFFIX: &str = "_emotion.txt";
pub const LANDMARKS_DIR: &str = "Landmarks";
pub const LANDMARKS_SUFFIX: &str = "_landmarks.txt";

/// Parses the content of an emotion file: one float holding an integer label in 0..=7.
pub fn parse_label(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let v: f64 = t.parse().map_err(|_| format!("expected one number like `3.0000000e+00`, found `{t}`"))?;
    if v.fract() != 0.0 || !(0.0..CLASS_NAMES.len() as f64).contains(&v) {
        return Err(format!("label `{t}` is not an integer in 0..=7"));
    }
    Ok(v as usize)
}

pub(crate) fn load(root: &Path, ctx: &Ctx<'_>) -> Result<Loaded, DataError> {
    let k = ctx.opts.peak_frames;
    if !(1..=3).contains(&k) {
        return Err(DataError::Options {
            option: "peak_frames",
            reason: format!("CK+ takes 1 to 3 peak frames, not `{k}`"),
        });
    }
    let images = root.join(IMAGES_DIR);
    let emotions = root.join(EMOTION_DIR);
    for d in [&images, &emotions] {
        if !d.is_dir() {
            return Err(DataError::layout(
                root,
                format!("expected the folders `{IMAGES_DIR}` and `{EMOTION_DIR}` here"),
            ));
        }
    }
    let mut pending = Vec::new();
    for subj in ctx.tree.list(&images)?.into_iter().filter(|e| e.is_dir) {
        for seq in ctx.tree.list(&subj.path)?.into_iter().filter(|e| e.is_dir) {
            let dirs = SequenceDirs {
                frames: seq.path.clone(),
                labels: emotions.join(&subj.name).join(&seq.name),
                landmarks: root.join(LANDMARKS_DIR).join(&subj.name).join(&seq.name),
            };
            sequence(root, &subj.name, &dirs, ctx, &mut pending)?;
        }
    }
    finish(decode_all(pending, ctx), CLASS_NAMES.iter().map(|s| s.to_string()).collect(), ctx.opts.skip_bad)
}

/// The folders of one sequence: its frames, its emotion file and its landmarks files.
struct SequenceDirs {
    frames: PathBuf,
    labels: PathBuf,
    landmarks: PathBuf,
}

/// Lists the frames of one sequence to decode (or its skip / bad outcome).
fn sequence(
    root: &Path,
    subject: &str,
    dirs: &SequenceDirs,
    ctx: &Ctx<'_>,
    out: &mut Vec<Pending>,
) -> Result<(), DataError> {
    let (seq_dir, label_dir) = (&dirs.frames, &dirs.labels);
    let frames: Vec<_> =
        ctx.tree.list(seq_dir)?.into_iter().filter(|e| !e.is_dir && has_ext(&e.name, &["png"])).collect();
    let label_files: Vec<_> = if label_dir.is_dir() {
        ctx.tree.list(label_dir)?.into_iter().filter(|e| e.name.ends_with(LABEL_SUFFIX)).collect()
    } else {
        Vec::new()
    };
    if frames.is_empty() {
        if let Some(l) = label_files.first() {
            out.push(Pending::bad(&l.path, root, format!("its sequence `{}` has no `.png` frame", rel(root, seq_dir))));
        }
        return Ok(());
    }
    let label_file = match label_files.as_slice() {
        [] => {
            out.push(Pending::skip(rel(root, seq_dir), SkipKind::Unlabelled, "no emotion file"));
            return Ok(());
        }
        [one] => one,
        [first, ..] => {
            out.push(Pending::bad(
                &first.path,
                root,
                format!("`{}` emotion files for one sequence", label_files.len()),
            ));
            return Ok(());
        }
    };
    let bad_label = |reason: String| {
        Pending::Done(Outcome::Bad(BadItem {
            file: label_file.path.clone(),
            line: Some(1),
            source: rel(root, &label_file.path),
            reason,
        }))
    };
    let label = match read_regular(&label_file.path) {
        Err(e) => {
            out.push(Pending::bad(&label_file.path, root, format!("failed to read the emotion file: {e}")));
            return Ok(());
        }
        Ok(bytes) => {
            match std::str::from_utf8(&bytes).map_err(|_| "not valid UTF-8 text".to_string()).and_then(parse_label) {
                Ok(l) => l,
                Err(reason) => {
                    out.push(bad_label(reason));
                    return Ok(());
                }
            }
        }
    };
    let peak_name = format!("{}.png", label_file.name.trim_end_matches(LABEL_SUFFIX));
    let Some(peak) = frames.iter().position(|f| f.name == peak_name) else {
        out.push(bad_label(format!("its peak frame `{peak_name}` is not in `{}`", rel(root, seq_dir))));
        return Ok(());
    };
    let k = ctx.opts.peak_frames as usize;
    let first_peak = (peak + 1).saturating_sub(k);
    let landmarks: Vec<_> = if dirs.landmarks.is_dir() {
        ctx.tree
            .list(&dirs.landmarks)?
            .into_iter()
            .filter(|e| !e.is_dir && e.name.ends_with(LANDMARKS_SUFFIX))
            .collect()
    } else {
        Vec::new()
    };
    let mut push = |idx: usize, label: usize| {
        let f = &frames[idx];
        let stem = f.name.strip_suffix(".png").unwrap_or(&f.name);
        let want = format!("{stem}{LANDMARKS_SUFFIX}");
        out.push(Pending::Decode(Candidate {
            path: f.path.clone(),
            source: rel(root, &f.path),
            label,
            subject: subject.to_string(),
            empty_is_skip: false,
            landmarks: landmarks.iter().find(|l| l.name == want).map(|l| l.path.clone()),
        }))
    };
    if ctx.opts.neutral_first && first_peak > 0 {
        push(0, 0);
    }
    for idx in first_peak..=peak {
        push(idx, label);
    }
    Ok(())
}
