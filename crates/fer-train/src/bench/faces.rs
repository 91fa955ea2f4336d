//! Face detection speed (the `detect` crop): images/s on 640x490 frames (CK+'s size), on one
//! thread and on all threads, with how many of the frames' faces were found.
//!
//! The frames are faces of the `rustface` package's test photograph, enlarged to 200-300 px and
//! pasted at varying places on a textured background. Where that photograph is not on this machine
//! (a binary copied elsewhere) the frames carry faces of the synthetic data set instead, and say so.

use std::time::Instant;

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};
use rayon::prelude::*;

use crate::data::face;
use crate::data::synthetic::{self, SyntheticParams};

/// What was measured.
#[derive(Debug, Clone)]
pub struct FaceSpeed {
    pub frames: usize,
    /// Frames in which a face was found.
    pub found: usize,
    /// Where the faces come from.
    pub source: &'static str,
    /// `(threads, images/s)`: one thread, then all (wall clock: depends on what else runs).
    pub rates: Vec<(usize, f64)>,
    /// Images per second of this process's CPU time on one thread: what one idle core does.
    pub per_cpu_s: f64,
}

/// This process's CPU time (user + system), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The faces to paste: squares around the photograph's faces, or synthetic faces.
fn faces() -> (Vec<GrayImage>, &'static str) {
    if let Ok(img) = image::open(face::test_photograph_path()) {
        let img = img.to_luma8();
        let found = face::detect(&img, face::MIN_FACE);
        let patches: Vec<GrayImage> = found
            .iter()
            .filter_map(|f| {
                let s = f.width * 8 / 5;
                let (cx, cy) = (f.x + f.width as i32 / 2, f.y + f.height as i32 / 2);
                let (x, y) = (cx - s as i32 / 2, cy - s as i32 / 2);
                let inside = x >= 0 && y >= 0 && x as u32 + s <= img.width() && y as u32 + s <= img.height();
                inside.then(|| imageops::crop_imm(&img, x as u32, y as u32, s, s).to_image())
            })
            .collect();
        if !patches.is_empty() {
            return (patches, "faces of the rustface test photograph");
        }
    }
    let p = SyntheticParams {
        seed: 7,
        subjects: 4,
        images_per_subject: 4,
        with_contempt: false,
        difficulty: 0.3,
        style: fer_core::data::style::Style::Mixed,
    };
    let side = 128;
    let set = synthetic::generate(&p, side);
    let n = (side * side) as usize;
    let patches = set.pixels.chunks(n).filter_map(|px| GrayImage::from_raw(side, side, px.to_vec())).collect();
    (patches, "synthetic faces (the rustface test photograph is not on this machine)")
}

/// `n` 640x490 frames, each with one face of 200 to 300 px at a varying place.
pub fn frames(n: usize) -> (Vec<GrayImage>, &'static str) {
    let (patches, source) = faces();
    let frames = (0..n)
        .map(|k| {
            let mut f =
                GrayImage::from_fn(640, 490, |x, y| Luma([(120 + (x * 7 + y * 13 + k as u32 * 31) % 70) as u8]));
            let side = 200 + (k as u32 * 37) % 101;
            let patch = imageops::resize(&patches[k % patches.len()], side, side, FilterType::Triangle);
            let (x, y) = ((k as u32 * 53) % (640 - side), (k as u32 * 29) % (490 - side));
            imageops::replace(&mut f, &patch, x as i64, y as i64);
            f
        })
        .collect();
    (frames, source)
}

/// Detects the largest face of `n` frames, on 1 thread and on `all` threads (best of two rounds).
pub fn detection_speed(n: usize, all: usize) -> Result<FaceSpeed, String> {
    let (frames, source) = frames(n);
    let mut rates = Vec::new();
    let mut found = 0;
    let mut per_cpu_s = 0f64;
    let mut counts = vec![1usize];
    if all > 1 {
        counts.push(all);
    }
    for threads in counts {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
        let mut best = 0f64;
        for _ in 0..2 {
            let (t, cpu) = (Instant::now(), cpu_seconds());
            let hits = pool.install(|| frames.par_iter().filter(|f| face::largest(f).is_some()).count());
            best = best.max(n as f64 / t.elapsed().as_secs_f64());
            if threads == 1 {
                per_cpu_s = per_cpu_s.max(n as f64 / (cpu_seconds() - cpu).max(1e-9));
            }
            found = hits;
        }
        rates.push((threads, best));
    }
    Ok(FaceSpeed { frames: n, found, source, rates, per_cpu_s })
}
