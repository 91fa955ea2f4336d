//! Test fixtures: tiny data sets written in each real on-disk layout with real PNG/JPEG/TIFF files and CSVs.

use std::fs;
use std::path::Path;

use image::{GrayImage, Luma};

/// A small image whose pixels depend on `seed`.
pub(super) fn img(w: u32, h: u32, seed: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| Luma([((x * 31 + y * 17 + seed * 53) % 251) as u8]))
}

/// Writes `image` in the format of `path`'s extension, creating folders.
pub(super) fn write_image(path: &Path, image: &GrayImage) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(path).unwrap();
}

pub(super) fn write_file(path: &Path, bytes: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// `n` space-separated pixel values.
pub(super) fn pixels(n: usize, seed: usize) -> String {
    (0..n).map(|i| ((i * 7 + seed * 13) % 256).to_string()).collect::<Vec<_>>().join(" ")
}

/// FER2013 `fer2013.csv` text: (emotion, usage) per row, 2304 pixels each.
pub(super) fn fer_csv(rows: &[(usize, &str)]) -> String {
    let mut s = String::from("emotion,pixels,Usage\n");
    for (i, (e, u)) in rows.iter().enumerate() {
        s.push_str(&format!("{e},{},{u}\n", pixels(2304, i)));
    }
    s
}

/// FERG-DB: `FERG_DB_256/<char>/<char>_<expr>/<char>_<expr>_<n>.png`, `n` images per (char, expr).
pub(super) fn write_ferg(root: &Path, chars: &[&str], exprs: &[&str], n: u32) {
    for (ci, c) in chars.iter().enumerate() {
        for (ei, e) in exprs.iter().enumerate() {
            for k in 1..=n {
                let p = root.join(format!("FERG_DB_256/{c}/{c}_{e}/{c}_{e}_{k}.png"));
                write_image(&p, &img(16, 16, ci as u32 * 100 + ei as u32 * 10 + k));
            }
        }
    }
}

/// JAFFE: flat `.tiff` files.
pub(super) fn write_jaffe(root: &Path, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        write_image(&root.join(n), &img(16, 16, i as u32));
    }
    write_file(&root.join("README"), "JAFFE\n");
}

/// CK+: one sequence with `frames` PNG frames and, when `label` is given, its emotion file for the last frame.
pub(super) fn write_ck_sequence(root: &Path, subject: &str, seq: &str, frames: u32, label: Option<&str>) {
    for f in 1..=frames {
        let name = format!("{subject}_{seq}_{f:08}.png");
        write_image(&root.join("cohn-kanade-images").join(subject).join(seq).join(name), &img(20, 14, f));
    }
    let dir = root.join("Emotion").join(subject).join(seq);
    fs::create_dir_all(&dir).unwrap();
    if let Some(text) = label {
        write_file(&dir.join(format!("{subject}_{seq}_{frames:08}_emotion.txt")), text);
    }
}

/// Oulu-CASIA: `<mod>/<illum>/<subject>/<expr>/NNN.jpeg` with `frames` frames per sequence.
pub(super) fn write_oulu(root: &Path, modality: &str, illum: &str, subjects: &[&str], exprs: &[&str], frames: u32) {
    for s in subjects {
        for e in exprs {
            for f in 0..frames {
                let p = root.join(modality).join(illum).join(s).join(e).join(format!("{f:03}.jpeg"));
                write_image(&p, &img(32, 24, f));
            }
        }
    }
}
