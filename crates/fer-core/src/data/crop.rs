//! The crop policy of a data set: how each image becomes the square the models see (the whole
//! image, its centred square, the square around the largest detected face, or the square around
//! CK+'s landmarks), and what happens to images where no face is found.
//!
//! A face square is centred on the face's box (detector box, or the bounding box of the
//! landmarks); its side is the box's longer side plus `margin` times that side on every side
//! (`side = longer * (1 + 2 * margin)`). It is moved, not cut, to lie inside the image, and is at
//! most the image's shorter side.

use image::imageops;
use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::face;

/// How an image becomes a square (manifest `preprocessing.crop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CropPolicy {
    /// The whole image, resized (squashed when it is not square): for data sets of faces.
    None,
    /// The largest centred square.
    Center,
    /// The square around the largest face the detector finds (see [`face`]).
    Detect,
    /// CK+: the square around the frame's 68 landmarks (`Landmarks/.../*_landmarks.txt`);
    /// a frame without a landmarks file falls back to `detect`.
    Landmarks,
}

impl CropPolicy {
    pub fn name(self) -> &'static str {
        match self {
            CropPolicy::None => "none",
            CropPolicy::Center => "center",
            CropPolicy::Detect => "detect",
            CropPolicy::Landmarks => "landmarks",
        }
    }

    /// Whether a face is looked for (and so [`NoFace`] and the margin apply).
    pub fn finds_faces(self) -> bool {
        matches!(self, CropPolicy::Detect | CropPolicy::Landmarks)
    }
}

/// What happens to an image where no face is found (manifest `preprocessing.no_face`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoFace {
    /// Crop its centred square instead (the default).
    #[default]
    Center,
    /// Leave the image out (counted as skipped, `no-face`).
    Skip,
}

impl NoFace {
    pub fn name(self) -> &'static str {
        match self {
            NoFace::Center => "center",
            NoFace::Skip => "skip",
        }
    }
}

/// The default margin around a face: a tenth of the face box's side on every side.
pub const DEFAULT_MARGIN: f64 = 0.1;

/// The crop applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    pub policy: CropPolicy,
    #[serde(default = "default_margin")]
    pub margin: f64,
    #[serde(default)]
    pub no_face: NoFace,
}

fn default_margin() -> f64 {
    DEFAULT_MARGIN
}

impl Default for Crop {
    fn default() -> Self {
        Crop { policy: CropPolicy::Center, margin: DEFAULT_MARGIN, no_face: NoFace::Center }
    }
}

impl Crop {
    /// The policy in words, for logs and reports.
    pub fn describe(&self) -> String {
        match self.policy {
            CropPolicy::None => "whole image".to_string(),
            CropPolicy::Center => "centre square".to_string(),
            p => format!(
                "{}, margin {}, no face: {}",
                if p == CropPolicy::Landmarks { "landmarks, else detected face" } else { "detected face" },
                self.margin,
                self.no_face.name()
            ),
        }
    }
}

/// How one image was cropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cropped {
    /// The whole image (`none`).
    Whole,
    /// The centred square (`center`).
    Center,
    /// The square around the landmarks.
    Landmarks,
    /// The square around the detected face.
    Face,
    /// No face found: the centred square (`no_face: center`).
    NoFace,
}

impl Cropped {
    pub fn name(self) -> &'static str {
        match self {
            Cropped::Whole => "whole",
            Cropped::Center => "center",
            Cropped::Landmarks => "landmarks",
            Cropped::Face => "face",
            Cropped::NoFace => "no-face",
        }
    }
}

/// A square of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Square {
    pub x: u32,
    pub y: u32,
    pub side: u32,
}

/// The largest centred square of a `w x h` image.
pub fn center_square(w: u32, h: u32) -> Square {
    let side = w.min(h);
    Square { x: (w - side) / 2, y: (h - side) / 2, side }
}

/// The square around the box `(x0, y0)-(x1, y1)` with `margin` (see the module's text), inside a
/// `w x h` image.
pub fn square_around(x0: f64, y0: f64, x1: f64, y1: f64, margin: f64, w: u32, h: u32) -> Square {
    let longer = (x1 - x0).abs().max((y1 - y0).abs());
    let side = ((longer * (1.0 + 2.0 * margin)).round().max(1.0) as u32).min(w.min(h)).max(1);
    let place = |centre: f64, extent: u32| -> u32 {
        let start = (centre - side as f64 / 2.0).round();
        start.clamp(0.0, (extent - side) as f64) as u32
    };
    Square { x: place((x0 + x1) / 2.0, w), y: place((y0 + y1) / 2.0, h), side }
}

/// One landmark, `(x, y)` in pixels.
pub type Point = (f64, f64);

/// Parses a CK+ landmarks file: one point per line, `   2.5843428e+02   2.5095596e+02` (x then y;
/// 68 lines in CK+). Blank lines are ignored. The error is the 1-based line and a reason.
pub fn parse_landmarks(text: &str) -> Result<Vec<Point>, (usize, String)> {
    let mut points = Vec::with_capacity(68);
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad =
            || (i + 1, format!("expected two numbers like `2.5843428e+02 2.5095596e+02`, found `{}`", line.trim()));
        let [x, y] = fields.as_slice() else { return Err(bad()) };
        match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => points.push((x, y)),
            _ => return Err(bad()),
        }
    }
    if points.len() < 2 {
        return Err((1, format!("expected the face's landmarks (68 points), found `{}`", points.len())));
    }
    Ok(points)
}

/// The square around `points` (see [`square_around`]).
pub fn landmarks_square(points: &[Point], margin: f64, w: u32, h: u32) -> Square {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    square_around(x0, y0, x1, y1, margin, w, h)
}

/// Where to cut `image` under `crop` (`landmarks`: the image's points, when it has a file), and
/// how (the square is `None` for the whole image). `None` when no face is found and `no_face` is
/// `skip`.
pub fn choose(image: &GrayImage, crop: &Crop, landmarks: Option<&[Point]>) -> Option<(Option<Square>, Cropped)> {
    let (w, h) = image.dimensions();
    match crop.policy {
        CropPolicy::None => Some((None, Cropped::Whole)),
        CropPolicy::Center => Some((Some(center_square(w, h)), Cropped::Center)),
        CropPolicy::Landmarks if landmarks.is_some() => {
            Some((landmarks.map(|p| landmarks_square(p, crop.margin, w, h)), Cropped::Landmarks))
        }
        CropPolicy::Detect | CropPolicy::Landmarks => match face::largest(image) {
            Some(f) => {
                let (x0, y0) = (f.x as f64, f.y as f64);
                let sq = square_around(x0, y0, x0 + f.width as f64, y0 + f.height as f64, crop.margin, w, h);
                Some((Some(sq), Cropped::Face))
            }
            None if crop.no_face == NoFace::Skip => None,
            None => Some((Some(center_square(w, h)), Cropped::NoFace)),
        },
    }
}

/// Cuts `sq` out of `image` (`None`: the image itself).
pub fn cut(image: GrayImage, sq: Option<Square>) -> GrayImage {
    match sq {
        Some(s) if (s.x, s.y, s.side, s.side) != (0, 0, image.width(), image.height()) => {
            imageops::crop_imm(&image, s.x, s.y, s.side, s.side).to_image()
        }
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn squares_are_centred_grown_by_the_margin_and_kept_inside() {
        // A 100x80 box at (200, 100) in a 640x490 frame, margin 0.1: side 120 centred on (250, 140).
        assert_eq!(square_around(200.0, 100.0, 300.0, 180.0, 0.1, 640, 490), Square { x: 190, y: 80, side: 120 });
        assert_eq!(square_around(200.0, 100.0, 300.0, 180.0, 0.0, 640, 490), Square { x: 200, y: 90, side: 100 });
        // Near the left/top edge: moved inside, same side.
        assert_eq!(square_around(-10.0, 5.0, 90.0, 105.0, 0.1, 640, 490), Square { x: 0, y: 0, side: 120 });
        // Near the bottom-right corner.
        assert_eq!(square_around(600.0, 450.0, 640.0, 490.0, 0.5, 640, 490), Square { x: 560, y: 410, side: 80 });
        // Larger than the image: the shorter side.
        assert_eq!(square_around(0.0, 0.0, 640.0, 490.0, 0.1, 640, 490), Square { x: 75, y: 0, side: 490 });
        assert_eq!(center_square(640, 490), Square { x: 75, y: 0, side: 490 });
    }

    #[test]
    fn landmarks_parse_as_ckplus_writes_them() {
        let text =
            "   2.5843428e+02   2.5095596e+02\n   2.6012345e+02   2.9000000e+02\n\n   3.4000000e+02   3.1000000e+02\n";
        let p = parse_landmarks(text).unwrap();
        assert_eq!(p, [(258.43428, 250.95596), (260.12345, 290.0), (340.0, 310.0)]);
        // Box x 258.4..340 (81.6 wide), y 251..310 (59): side round(81.6 * 1.2) = 98 around (299.2, 280.5).
        assert_eq!(landmarks_square(&p, 0.1, 640, 490), Square { x: 250, y: 231, side: 98 });
        assert_eq!(parse_landmarks("1 2\n3 x\n").unwrap_err().0, 2);
        assert_eq!(parse_landmarks("1 2 3\n").unwrap_err().0, 1);
        assert!(parse_landmarks("").unwrap_err().1.contains("68 points"));
        assert!(parse_landmarks("1 NaN\n2 2\n").is_err());
    }

    #[test]
    fn no_face_is_centre_cropped_or_skipped() {
        let blank = GrayImage::from_pixel(64, 48, Luma([90]));
        let detect = Crop { policy: CropPolicy::Detect, ..Crop::default() };
        assert_eq!(choose(&blank, &detect, None), Some((Some(center_square(64, 48)), Cropped::NoFace)));
        assert_eq!(choose(&blank, &Crop { no_face: NoFace::Skip, ..detect }, None), None);
        let none = Crop { policy: CropPolicy::None, ..Crop::default() };
        assert_eq!(choose(&blank, &none, None), Some((None, Cropped::Whole)));
        // Landmarks win over detection when the frame has them.
        let lm = Crop { policy: CropPolicy::Landmarks, margin: 0.0, ..Crop::default() };
        let pts = [(10.0, 10.0), (30.0, 20.0)];
        assert_eq!(choose(&blank, &lm, Some(&pts)), Some((Some(Square { x: 10, y: 5, side: 20 }), Cropped::Landmarks)));
        let cut_img =
            cut(GrayImage::from_fn(64, 48, |x, y| Luma([(x + y) as u8])), Some(Square { x: 10, y: 5, side: 20 }));
        assert_eq!((cut_img.dimensions(), cut_img.get_pixel(0, 0)[0]), ((20, 20), 15));
    }
}
