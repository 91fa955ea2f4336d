//! Face detection: SeetaFace's frontal face detector (the `rustface` crate, BSD-2-Clause), with
//! the model file that ships in that crate compiled into the binary (found by `build.rs`), so
//! detection reads no file at run time.
//!
//! Settings are the crate's own example values (score threshold 2.0, pyramid scale 0.8, window
//! step 4). Detection of one image runs on one thread; callers detect many images in parallel.

use std::cell::RefCell;
use std::sync::OnceLock;

use image::GrayImage;
use rustface::{Detector, ImageData, Model};

/// The SeetaFace frontal model (`seeta_fd_frontal_v1.0.bin`) of the `rustface` package.
static MODEL_BYTES: &[u8] = include_bytes!(concat!(env!("FER_RUSTFACE_DIR"), "/model/seeta_fd_frontal_v1.0.bin"));

/// The smallest face the detector can find, in pixels (its window size).
pub const MIN_FACE: u32 = 20;

/// In [`largest`], faces narrower than this fraction of the image's shorter side are ignored.
pub const MIN_FACE_FRACTION: u32 = 5;

/// A face found in an image: its box in pixels (may reach past the image's edges) and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    pub score: f64,
}

impl FaceBox {
    pub fn area(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    // The bytes are compiled in and fixed: a model that does not parse is a build defect.
    MODEL.get_or_init(|| rustface::read_model(MODEL_BYTES).expect("the compiled-in SeetaFace model parses"))
}

thread_local! {
    static DETECTOR: RefCell<Option<Box<dyn Detector>>> = const { RefCell::new(None) };
}

/// Every face of at least `min_face` pixels (at least [`MIN_FACE`]) in `image`, largest first
/// (ties: higher score, then top-left first). The same image always gives the same faces.
pub fn detect(image: &GrayImage, min_face: u32) -> Vec<FaceBox> {
    let (w, h) = image.dimensions();
    let min_face = min_face.max(MIN_FACE);
    if w < min_face || h < min_face {
        return Vec::new();
    }
    let mut faces: Vec<FaceBox> = DETECTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = slot.get_or_insert_with(|| {
            let mut d = rustface::create_detector_with_model(model().clone());
            d.set_score_thresh(2.0);
            d.set_pyramid_scale_factor(0.8);
            d.set_slide_window_step(4, 4);
            d
        });
        d.set_min_face_size(min_face);
        d.detect(&ImageData::new(image.as_raw(), w, h))
            .iter()
            .map(|f| {
                let b = f.bbox();
                FaceBox { x: b.x(), y: b.y(), width: b.width(), height: b.height(), score: f.score() }
            })
            .collect()
    });
    faces.sort_by(|a, b| b.area().cmp(&a.area()).then(b.score.total_cmp(&a.score)).then((a.y, a.x).cmp(&(b.y, b.x))));
    faces
}

/// The largest face in `image`, ignoring faces narrower than 1/[`MIN_FACE_FRACTION`] of its
/// shorter side (background faces, false positives; also makes detection faster).
pub fn largest(image: &GrayImage) -> Option<FaceBox> {
    let (w, h) = image.dimensions();
    detect(image, w.min(h) / MIN_FACE_FRACTION).into_iter().next()
}

/// The test photograph that ships in the `rustface` package (`test.png`, 1666x1136, a group
/// photograph of 29 people with the crate's detections drawn on it), for tests and `bench`.
pub fn test_photograph_path() -> &'static str {
    concat!(env!("FER_RUSTFACE_DIR"), "/test.png")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> GrayImage {
        image::open(test_photograph_path()).expect("the rustface package ships test.png").to_luma8()
    }

    #[test]
    fn finds_the_faces_of_the_test_photograph() {
        let img = photo();
        let faces = detect(&img, MIN_FACE);
        assert_eq!(faces.len(), 29, "the 29 people of the photograph: {faces:?}");
        // Every face is in the photograph's upper half (the lower part is legs, floor and captions).
        assert!(faces.iter().all(|f| f.y > 0 && (f.y as u32) < img.height() / 2), "{faces:?}");
        assert_eq!(faces, detect(&img, MIN_FACE), "deterministic");
        // An image without a face: none.
        assert!(detect(&GrayImage::from_pixel(640, 490, image::Luma([128])), MIN_FACE).is_empty());
        assert!(detect(&GrayImage::new(10, 10), MIN_FACE).is_empty());
    }

    /// The square of the photograph around its face at `(x, y)` of `side` px, 1.6 times as wide,
    /// resized to `to` px.
    pub(crate) fn face_patch(img: &GrayImage, (x, y, side): (u32, u32, u32), to: u32) -> GrayImage {
        let s = side * 8 / 5;
        let region = image::imageops::crop_imm(img, x + side / 2 - s / 2, y + side / 2 - s / 2, s, s).to_image();
        image::imageops::resize(&region, to, to, image::imageops::FilterType::Triangle)
    }

    #[test]
    fn detection_does_not_depend_on_threads_or_order() {
        use rayon::prelude::*;
        let img = photo();
        let frames: Vec<GrayImage> = (0..8u32)
            .map(|k| {
                let mut f = GrayImage::from_pixel(640, 490, image::Luma([(100 + 15 * k) as u8]));
                let face = [(659, 257, 64), (283, 257, 64), (1163, 249, 62), (866, 251, 60)][k as usize % 4];
                image::imageops::replace(
                    &mut f,
                    &face_patch(&img, face, 180 + 15 * k),
                    30 + 40 * k as i64,
                    20 + 10 * k as i64,
                );
                f
            })
            .collect();
        let run = |threads: usize, reversed: bool| -> Vec<Option<FaceBox>> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let order: Vec<usize> = if reversed { (0..8).rev().collect() } else { (0..8).collect() };
            let mut out: Vec<(usize, Option<FaceBox>)> =
                pool.install(|| order.par_iter().map(|&i| (i, largest(&frames[i]))).collect());
            out.sort_by_key(|(i, _)| *i);
            out.into_iter().map(|(_, f)| f).collect()
        };
        let one = run(1, false);
        assert!(one.iter().all(|f| f.is_some()), "{one:?}");
        assert_eq!(one, run(3, true));
        assert_eq!(one, run(1, true));
    }

    #[test]
    fn a_face_pasted_into_a_frame_is_found_where_it_was_pasted() {
        let img = photo();
        // Four faces of the photograph, enlarged into a CK+-sized frame and a JAFFE-sized one.
        for face in [(659, 257, 64), (283, 257, 64), (1163, 249, 62), (866, 251, 60)] {
            for (w, h, to, at) in
                [(640, 490, 250, (100u32, 120u32)), (640, 490, 300, (320, 150)), (256, 256, 140, (40, 30))]
            {
                let mut frame = GrayImage::from_pixel(w, h, image::Luma([255]));
                image::imageops::replace(&mut frame, &face_patch(&img, face, to), at.0 as i64, at.1 as i64);
                let f = largest(&frame).unwrap_or_else(|| panic!("no face in {face:?} at {at:?}"));
                let inside = f.x >= at.0 as i32
                    && f.y >= at.1 as i32
                    && f.x as u32 + f.width <= at.0 + to
                    && f.y as u32 + f.height <= at.1 + to;
                assert!(inside && f.width * 2 >= to / 2, "{face:?} pasted at {at:?} ({to} px): {f:?}");
            }
        }
    }
}
