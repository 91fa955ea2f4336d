//! Built-in synthetic common data set: procedurally rendered grayscale faces, a pure function of (seed, index, size).
//!
//! # Layout of the data set
//!
//! * Image `index` (0-based, `0..params.len()`) belongs to subject `index / images_per_subject`.
//!   Subjects are identities: face shape, eye spacing and size, brows, nose, mouth, skin tone, hair,
//!   background and glasses are drawn once per `(seed, subject)`.
//! * The class of image `index` is `index % classes` (see [`label_of`]). Every run of `classes`
//!   consecutive indices therefore holds each class exactly once: the whole set is balanced up to
//!   one image per class, and every subject with `images_per_subject >= classes` shows every
//!   expression (exactly balanced per subject when `images_per_subject` is a multiple of `classes`).
//! * Everything else about an image (expression intensity, pose, gaze, lighting, contrast, hand
//!   occlusion, small expression jitter) is drawn from a per-`(seed, index)` stream; the pixel noise
//!   comes from a third per-`(seed, index)` stream.
//!
//! # Purity
//!
//! An image is a pure function of the parameters, the index and the size: the random streams are
//! derived with splitmix64 and run with xoshiro256**, and rendering uses only `+ - * /`, `sqrt`,
//! `min`/`max` and comparisons on `f32` (no `sin`, `exp` or `pow` from the platform's libm), so the
//! bytes do not depend on the thread count, the run or (as far as IEEE-754 goes) the platform.
//! Geometry is defined in continuous normalised coordinates and anti-aliased with analytic
//! box-filtered edges, so the same face renders at any size (48 px, 84 px, 299 px, ...); only
//! the pixel noise, which is drawn per pixel, differs between sizes.

use rayon::prelude::*;

use super::style::{Knobs, Style};

/// Parameters of the synthetic data set (all resolved values; they are hashed by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticParams {
    pub seed: u64,
    /// Number of identities.
    pub subjects: u32,
    /// Total images = `subjects * images_per_subject`.
    pub images_per_subject: u32,
    /// 8 classes (with contempt) instead of 7.
    pub with_contempt: bool,
    /// 0.0 easy .. 1.0 hard (values outside are clamped, NaN counts as 0.5); scales pixel noise,
    /// occlusion rates, the rate of low-intensity expressions, expression jitter, lighting and
    /// pose range.
    pub difficulty: f32,
    /// How posed or "in the wild" the faces are (see [`super::style`]).
    pub style: Style,
}

/// One rendered data set held in memory.
#[derive(Debug, Clone)]
pub struct SyntheticSet {
    /// Side in pixels.
    pub size: u32,
    /// `n * size * size`, row-major per image.
    pub pixels: Vec<u8>,
    /// `n` class ids in FER2013 order (7 = contempt).
    pub labels: Vec<u8>,
    /// `n` subject ids.
    pub subjects: Vec<u32>,
}

/// Class names in FER2013 order; index 7 (contempt) is used only with `with_contempt`.
pub const CLASS_NAMES: [&str; 8] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"];

impl SyntheticParams {
    /// Number of classes: 7, or 8 with contempt.
    pub fn classes(&self) -> usize {
        if self.with_contempt {
            8
        } else {
            7
        }
    }

    /// Number of images: `subjects * images_per_subject`.
    pub fn len(&self) -> usize {
        (self.subjects as usize).saturating_mul(self.images_per_subject as usize)
    }

    /// True when the set has no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn difficulty01(&self) -> f32 {
        if self.difficulty.is_nan() {
            0.5
        } else {
            self.difficulty.clamp(0.0, 1.0)
        }
    }
}

impl SyntheticSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set has no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of image `i` (`size * size` bytes, row-major), or `None` when out of range.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let s2 = (self.size as usize) * (self.size as usize);
        self.pixels.get(i.checked_mul(s2)?..i.checked_add(1)?.checked_mul(s2)?)
    }
}

/// Class of image `index`: `index % classes` (balanced, independent of the seed).
pub fn label_of(params: &SyntheticParams, index: usize) -> u8 {
    // classes() is 7 or 8, so the remainder always fits in u8.
    (index % params.classes()) as u8
}

/// Subject of image `index`: `index / images_per_subject`.
pub fn subject_of(params: &SyntheticParams, index: usize) -> u32 {
    let per = (params.images_per_subject as usize).max(1);
    u32::try_from(index / per).unwrap_or(u32::MAX)
}

/// Renders one image: (pixels of size*size, label, subject).
pub fn render(params: &SyntheticParams, index: usize, size: u32) -> (Vec<u8>, u8, u32) {
    let mut pixels = vec![0u8; (size as usize) * (size as usize)];
    render_into(params, index, size, &mut pixels);
    (pixels, label_of(params, index), subject_of(params, index))
}

/// Renders all images in parallel (rayon), identical bytes whatever the thread count.
pub fn generate(params: &SyntheticParams, size: u32) -> SyntheticSet {
    let n = params.len();
    let s2 = (size as usize) * (size as usize);
    let labels: Vec<u8> = (0..n).map(|i| label_of(params, i)).collect();
    let subjects: Vec<u32> = (0..n).map(|i| subject_of(params, i)).collect();
    let mut pixels = vec![0u8; n.saturating_mul(s2)];
    if s2 > 0 {
        pixels.par_chunks_mut(s2).enumerate().for_each(|(i, out)| render_into(params, i, size, out));
    }
    SyntheticSet { size, pixels, labels, subjects }
}

// ---------------------------------------------------------------------------------------------
// Random streams: splitmix64 to derive keys, xoshiro256** to run them.

/// Size of the face relative to the frame (face coordinates are image coordinates / zoom).
const FACE_ZOOM: f32 = 1.12;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const DOMAIN_SUBJECT: u64 = 0x5355_424A; // "SUBJ"
const DOMAIN_IMAGE: u64 = 0x494D_4147; // "IMAG"
const DOMAIN_NOISE: u64 = 0x4E4F_4953; // "NOIS"

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Independent stream for (seed, domain, id).
    fn new(seed: u64, domain: u64, id: u64) -> Self {
        let key = mix64(mix64(seed.wrapping_add(domain.wrapping_mul(GOLDEN))) ^ id.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let mut x = key;
        let mut s = [0u64; 4];
        for v in s.iter_mut() {
            x = x.wrapping_add(GOLDEN);
            *v = mix64(x);
        }
        if s == [0; 4] {
            s[0] = GOLDEN;
        }
        Rng { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    fn sym(&mut self, a: f32) -> f32 {
        self.range(-a, a)
    }

    fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Approximately standard normal (Irwin-Hall sum of four 16-bit uniforms), in [-3.47, 3.47].
    fn normal(&mut self) -> f32 {
        let r = self.next_u64();
        let sum = (r & 0xFFFF) as f32 + ((r >> 16) & 0xFFFF) as f32 + ((r >> 32) & 0xFFFF) as f32 + (r >> 48) as f32;
        ((sum + 2.0) * (1.0 / 65_536.0) - 2.0) * 1.732_050_8
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic math helpers (no libm).

/// sin and cos by Taylor series; accurate to f32 precision for |x| <= 1.6.
fn sin_cos(x: f32) -> (f32, f32) {
    let x = x.clamp(-1.6, 1.6);
    let x2 = x * x;
    let s = x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 * (1.0 - x2 / 110.0)))));
    let c = 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (1.0 - x2 / 90.0))));
    (s, c)
}

fn clamp01(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Coverage of the region `d < 0` (d a signed distance) by a pixel of width `pw`.
fn edge(d: f32, pw: f32) -> f32 {
    clamp01(0.5 - d / pw)
}

/// Coverage of the interval `[lo, hi]` by a pixel footprint of width `pw` centred on `x`.
fn band(x: f32, lo: f32, hi: f32, pw: f32) -> f32 {
    clamp01((hi.min(x + 0.5 * pw) - lo.max(x - 0.5 * pw)) / pw)
}

/// Approximate signed distance to an axis-aligned ellipse centred at the origin.
fn ellipse_sd(x: f32, y: f32, rx: f32, ry: f32) -> f32 {
    let ax = x / rx;
    let ay = y / ry;
    let k0 = (ax * ax + ay * ay).sqrt();
    let bx = ax / rx;
    let by = ay / ry;
    let k1 = (bx * bx + by * by).sqrt();
    if k1 < 1e-12 {
        -rx.min(ry)
    } else {
        k0 * (k0 - 1.0) / k1
    }
}

/// Distance from (px, py) to the segment a-b.
fn seg_dist(px: f32, py: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (qx, qy) = (px - a.0, py - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { clamp01((qx * dx + qy * dy) / len2) } else { 0.0 };
    let (ex, ey) = (qx - t * dx, qy - t * dy);
    (ex * ex + ey * ey).sqrt()
}

/// Coverage of a stroke of half-thickness `r` at distance `d` from its centre line.
fn stroke(d: f32, r: f32, pw: f32) -> f32 {
    band(d, -r, r, pw)
}

// ---------------------------------------------------------------------------------------------
// Identity (per subject).

struct Identity {
    bg: f32,
    bg_grad: (f32, f32),
    cloth: f32,
    skin: f32,
    hair: f32,
    bald: bool,
    hairline: f32,
    hair_side: f32,
    hair_rx: f32,
    hair_ry: f32,
    hair_cy: f32,
    face_cy: f32,
    fw: f32,
    fh: f32,
    chin: f32,
    eye_dx: f32,
    eye_y: f32,
    eye_w: f32,
    eye_h: f32,
    rest_eye: f32,
    sclera: f32,
    iris_col: f32,
    brow_gap: f32,
    brow_r: f32,
    brow_len: f32,
    brow_arch: f32,
    brow_tilt: f32,
    brow_col: f32,
    nose_y: f32,
    nose_w: f32,
    mouth_y: f32,
    mouth_w: f32,
    lip: f32,
    lip_col: f32,
    rest_smile: f32,
    fold: f32,
    glasses: Option<Glasses>,
}

#[derive(Clone, Copy)]
struct Glasses {
    rx: f32,
    ry: f32,
    th: f32,
    col: f32,
    lens: f32,
    lens_alpha: f32,
}

impl Identity {
    fn sample(rng: &mut Rng, d: f32) -> Self {
        let skin = rng.range(0.38, 0.82);
        let hair = if rng.chance(0.55) { rng.range(0.04, 0.25) } else { rng.range(0.25, 0.75) };
        let bald = rng.chance(0.07);
        let hairline = if rng.chance(0.12) {
            rng.range(-0.46, -0.36) // fringe reaching down to the brows
        } else {
            rng.range(-0.8, -0.52)
        };
        let fw = rng.range(0.64, 0.78);
        let fh = rng.range(0.84, 0.98);
        let face_cy = rng.range(-0.05, 0.03);
        let long_hair = rng.chance(0.4);
        let (hair_ry, hair_cy) = if long_hair {
            (fh * rng.range(1.2, 1.4), face_cy + rng.range(0.05, 0.2))
        } else {
            (fh * rng.range(1.0, 1.1), face_cy - rng.range(0.06, 0.16))
        };
        let eye_h = rng.range(0.045, 0.062);
        let glasses = if rng.chance(0.1 + 0.15 * d) {
            let sun = rng.chance(0.12);
            Some(Glasses {
                rx: rng.range(1.45, 1.75),
                ry: rng.range(2.2, 2.9),
                th: rng.range(0.008, 0.02),
                col: if rng.chance(0.8) { rng.range(0.02, 0.25) } else { rng.range(0.6, 0.9) },
                lens: if sun { rng.range(0.05, 0.2) } else { 0.9 },
                lens_alpha: if sun { rng.range(0.8, 0.95) } else { 0.5 },
            })
        } else {
            None
        };
        let brow_col = lerp(skin * 0.3, hair, 0.4);
        Identity {
            bg: rng.range(0.08, 0.92),
            bg_grad: (rng.sym(0.15), rng.sym(0.15)),
            cloth: rng.range(0.05, 0.9),
            skin,
            hair,
            bald,
            hairline,
            hair_side: rng.range(0.05, 0.35),
            hair_rx: fw * rng.range(1.06, 1.25),
            hair_ry,
            hair_cy,
            face_cy,
            fw,
            fh,
            chin: rng.range(0.05, 0.35),
            eye_dx: rng.range(0.25, 0.32) * fw / 0.67,
            eye_y: rng.range(-0.2, -0.1),
            eye_w: rng.range(0.105, 0.14),
            eye_h,
            rest_eye: rng.range(0.88, 1.12),
            sclera: lerp(skin, 0.95, rng.range(0.25, 0.5)),
            iris_col: rng.range(0.06, 0.4),
            brow_gap: rng.range(0.085, 0.13),
            brow_r: rng.range(0.016, 0.032),
            brow_len: rng.range(0.2, 0.28),
            brow_arch: rng.range(0.005, 0.035),
            brow_tilt: rng.sym(0.015),
            brow_col,
            nose_y: rng.range(0.12, 0.22),
            nose_w: rng.range(0.07, 0.11),
            mouth_y: rng.range(0.4, 0.5),
            mouth_w: rng.range(0.19, 0.26),
            lip: rng.range(0.018, 0.038),
            lip_col: rng.range(0.6, 0.85),
            rest_smile: rng.sym(0.018),
            fold: rng.range(0.0, 0.2),
            glasses,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions.

/// Expression deltas from the identity's neutral face (face units; positive raise = up).
#[derive(Clone, Copy, Default)]
struct Expr {
    brow_raise: f32,
    brow_inner: f32,
    brow_arch: f32,
    brow_squeeze: f32,
    eye_open: f32,
    lower_lid: f32,
    smile: f32,
    open: f32,
    width: f32,
    asym: f32,
    lip_raise: f32,
    press: f32,
    teeth: f32,
    jaw: f32,
    wrinkle: f32,
    flare: f32,
    fold: f32,
    furrow: f32,
}

impl Expr {
    /// Full-intensity expression of `class`; `variant` in [0, 1) picks a sub-variant.
    fn target(class: u8, variant: f32) -> Self {
        let z = Expr::default();
        match class {
            // angry: lowered, drawn-together brows with inner ends down, glaring narrowed eyes,
            // pressed lips (or an open shouting mouth).
            0 => {
                let shout = variant < 0.3;
                Expr {
                    brow_raise: -0.045,
                    brow_inner: -0.05,
                    brow_arch: -0.015,
                    brow_squeeze: 0.035,
                    eye_open: -0.3,
                    lower_lid: 0.2,
                    smile: -0.012,
                    open: if shout { 0.035 } else { 0.0 },
                    width: if shout { -0.05 } else { -0.15 },
                    press: if shout { 0.2 } else { 0.6 },
                    teeth: if shout { 0.8 } else { 0.0 },
                    lip_raise: if shout { 0.01 } else { 0.0 },
                    furrow: 1.0,
                    fold: 0.2,
                    ..z
                }
            }
            // disgust: nose wrinkle, raised upper lip, corners down, narrowed eyes, lowered brows.
            1 => Expr {
                brow_raise: -0.03,
                brow_inner: -0.02,
                brow_squeeze: 0.02,
                eye_open: -0.3,
                lower_lid: 0.45,
                smile: -0.03,
                width: -0.05,
                lip_raise: 0.03,
                teeth: 0.6,
                wrinkle: 1.0,
                flare: 1.0,
                fold: 0.8,
                furrow: 0.4,
                ..z
            },
            // fear: raised brows with inner ends up (flat), wide eyes, stretched open mouth.
            2 => Expr {
                brow_raise: 0.04,
                brow_inner: 0.045,
                brow_arch: -0.02,
                brow_squeeze: 0.02,
                eye_open: 0.5,
                smile: -0.025,
                // mostly a stretched, slightly open mouth; sometimes a surprise-like open one
                open: if variant < 0.25 {
                    0.006
                } else if variant < 0.8 {
                    0.03
                } else {
                    0.055
                },
                width: if variant < 0.8 { 0.2 } else { 0.0 },
                teeth: 0.6,
                furrow: 0.25,
                ..z
            },
            // happy: smile with raised corners (closed or showing teeth), cheek-raised lower lids.
            3 => Expr {
                brow_raise: 0.01,
                eye_open: -0.25,
                lower_lid: 0.5,
                smile: 0.085,
                open: if variant < 0.55 { 0.035 } else { 0.004 },
                width: 0.22,
                teeth: 1.0,
                fold: 0.9,
                ..z
            },
            // sad: inner brows raised (oblique), drooping lids, corners down.
            4 => Expr {
                brow_raise: -0.01,
                brow_inner: 0.055,
                brow_arch: -0.01,
                brow_squeeze: 0.01,
                eye_open: -0.25,
                smile: -0.05,
                width: -0.08,
                press: 0.2,
                fold: 0.2,
                ..z
            },
            // surprise: high arched brows, wide eyes, dropped jaw with an oval open mouth.
            5 => Expr {
                brow_raise: 0.085,
                brow_inner: 0.01,
                brow_arch: 0.03,
                eye_open: 0.6,
                open: if variant < 0.3 { 0.04 } else { 0.08 },
                width: -0.3,
                teeth: 0.3,
                jaw: 0.06,
                ..z
            },
            // contempt: one lip corner raised and pulled (side chosen per image).
            7 => Expr { eye_open: -0.1, asym: 0.045, press: 0.3, fold: 0.3, ..z },
            // neutral
            _ => z,
        }
    }

    fn scaled(self, k: f32) -> Self {
        Expr {
            brow_raise: self.brow_raise * k,
            brow_inner: self.brow_inner * k,
            brow_arch: self.brow_arch * k,
            brow_squeeze: self.brow_squeeze * k,
            eye_open: self.eye_open * k,
            lower_lid: self.lower_lid * k,
            smile: self.smile * k,
            open: self.open * k,
            width: self.width * k,
            asym: self.asym * k,
            lip_raise: self.lip_raise * k,
            press: self.press * k,
            teeth: self.teeth,
            jaw: self.jaw * k,
            wrinkle: self.wrinkle * k,
            flare: self.flare * k,
            fold: self.fold * k,
            furrow: self.furrow * k,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolved face of one image (face coordinates: x right, y down, head centre near the origin).

#[derive(Clone, Copy)]
struct Side {
    eh_up: f32,
    eh_lo: f32,
    iris_dx: f32,
    brow: [(f32, f32); 3],
    mouth_w: f32,
    asym: f32,
}

struct Hand {
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    inv_scale: f32,
    scale: f32,
    col: f32,
}

struct Face {
    id: Identity,
    e: Expr,
    shift_x: f32,
    iris_dy: f32,
    iris_r: f32,
    sides: [Side; 2],
    fh_lo: f32,
    mouth_y: f32,
    open_up: f32,
    open_lo: f32,
    lip: f32,
    bridge_side: f32,
    hand: Option<Hand>,
}

impl Face {
    fn new(id: Identity, e: Expr, rng: &mut Rng, k: &Knobs) -> Self {
        let shift_x = rng.sym(k.turn);
        let gaze_x = rng.sym(0.025);
        let iris_dy = rng.sym(0.01);
        let contempt_right = rng.chance(0.5);
        let mut sides =
            [Side { eh_up: 0.0, eh_lo: 0.0, iris_dx: 0.0, brow: [(0.0, 0.0); 3], mouth_w: 0.0, asym: 0.0 }; 2];
        for (i, side) in sides.iter_mut().enumerate() {
            let sign = if i == 1 { 1.0 } else { -1.0 };
            let contempt_side = (i == 1) == contempt_right;
            let ex = id.eye_dx;
            let yb = id.eye_y - id.eye_h - id.brow_gap - e.brow_raise;
            let xi = ex - id.brow_len * 0.5 - e.brow_squeeze;
            let yi = yb - e.brow_inner - id.brow_tilt;
            let xo = ex + id.brow_len * 0.55;
            let yo = yb + 0.012;
            let arch = (id.brow_arch + e.brow_arch).max(-0.01);
            let xm = ex + id.brow_len * 0.1;
            let ym = (yi + yo) * 0.5 - arch;
            let asym = if contempt_side { e.asym } else { 0.0 };
            *side = Side {
                eh_up: id.eye_h * id.rest_eye * (1.0 + e.eye_open).max(0.2),
                eh_lo: id.eye_h * 0.8 * (1.0 - e.lower_lid).max(0.25),
                iris_dx: gaze_x * sign,
                brow: [(xi, yi), (xm, ym), (xo, yo)],
                mouth_w: id.mouth_w * (1.0 + e.width).max(0.4) + asym * 0.6,
                asym,
            };
        }
        let hand = if rng.chance(k.hand) {
            let angle = rng.sym(1.3);
            let (sin, cos) = sin_cos(angle);
            let scale = rng.range(0.8, 1.2);
            Some(Hand {
                cx: rng.sym(0.45),
                cy: rng.range(0.05, 0.7),
                cos,
                sin,
                inv_scale: 1.0 / scale,
                scale,
                col: clamp01(id.skin * rng.range(0.85, 1.15)),
            })
        } else {
            None
        };
        let bridge_side = if rng.chance(0.5) { 1.0 } else { -1.0 };
        Face {
            shift_x,
            iris_dy,
            iris_r: id.eye_h * 1.15,
            sides,
            fh_lo: id.fh + e.jaw,
            mouth_y: id.mouth_y + e.jaw * 0.6,
            open_up: e.open + e.lip_raise,
            open_lo: e.open,
            lip: id.lip * (1.0 - e.press).max(0.2),
            bridge_side,
            hand,
            id,
            e,
        }
    }

    fn face_sd(&self, x: f32, y: f32) -> f32 {
        let id = &self.id;
        let dy = y - id.face_cy;
        if dy > 0.0 {
            let t = dy / self.fh_lo;
            let rx = id.fw * (1.0 - id.chin * t * t).max(0.3);
            ellipse_sd(x, dy, rx, self.fh_lo)
        } else {
            ellipse_sd(x, dy, id.fw, id.fh)
        }
    }

    /// Gray value at face point (x, y) for a pixel of width `pw` (face units).
    fn shade(&self, x: f32, y: f32, pw: f32) -> f32 {
        let id = &self.id;
        let skin = id.skin;
        let mut v = id.bg + id.bg_grad.0 * x + id.bg_grad.1 * y;

        // Shoulders and neck.
        let sh = ellipse_sd(x, y - (id.face_cy + self.fh_lo + 0.55), 1.15, 0.5);
        v = lerp(v, id.cloth, edge(sh, pw));
        if y > id.face_cy {
            let neck = band(x, -id.fw * 0.45, id.fw * 0.45, pw);
            v = lerp(v, skin * 0.72, neck);
        }

        // Hair mass behind the head.
        let hair_d = ellipse_sd(x, y - id.hair_cy, id.hair_rx, id.hair_ry);
        if !id.bald {
            v = lerp(v, id.hair, edge(hair_d, pw));
        }

        // Ears.
        let ear_d = ellipse_sd(x.abs() - id.fw * 0.97, y - (id.eye_y + 0.07), 0.07, 0.13);
        v = lerp(v, skin * 0.82, edge(ear_d, pw));

        // Face with simple rounded shading.
        let fd = self.face_sd(x, y);
        let fcov = edge(fd, pw);
        if fcov > 0.0 {
            let nx = x / id.fw;
            let ny = (y - id.face_cy) / id.fh;
            let shade = skin * (1.0 - 0.18 * nx * nx - 0.05 * ny * ny);
            v = lerp(v, shade, fcov);
        }

        if fd < 0.1 {
            v = self.features(v, x - self.shift_x, y, pw);
        }

        // Hair fringe over the forehead.
        if !id.bald {
            let nx = x / id.fw;
            let hl = id.hairline + id.hair_side * nx * nx;
            let c = edge(y - hl, pw).min(edge(hair_d, pw));
            v = lerp(v, id.hair, c);
        }

        if let Some(g) = &id.glasses {
            v = self.glasses(v, x - self.shift_x, y, pw, g);
        }
        if let Some(h) = &self.hand {
            v = hand(v, x, y, pw, h);
        }
        v
    }

    fn features(&self, mut v: f32, x: f32, y: f32, pw: f32) -> f32 {
        let id = &self.id;
        let e = &self.e;
        let skin = id.skin;
        let side = &self.sides[usize::from(x >= 0.0)];
        let ax = x.abs();

        // Eyes.
        let sx = ax - id.eye_dx;
        let sy = y - id.eye_y;
        if sx.abs() < id.eye_w * 1.8 && sy.abs() < 0.16 {
            // Eye socket shadow (soft).
            let sd = ellipse_sd(sx, sy + id.eye_h * 0.5, id.eye_w * 1.45, id.eye_h * 2.4 + 0.02);
            v *= 1.0 - 0.12 * edge(sd, pw.max(0.06));
            let s = sx / id.eye_w;
            let env = (1.0 - s * s).max(0.0);
            let hcov = band(sx, -id.eye_w, id.eye_w, pw);
            let up = -side.eh_up * env;
            let lo = side.eh_lo * env;
            let ecov = band(sy, up, lo, pw) * hcov;
            if ecov > 0.0 {
                let ix = sx - side.iris_dx;
                let iy = sy - self.iris_dy;
                let r = (ix * ix + iy * iy).sqrt();
                let mut c = id.sclera;
                c = lerp(c, id.iris_col, edge(r - self.iris_r, pw));
                c = lerp(c, 0.03, edge(r - self.iris_r * 0.45, pw));
                let hx = ix + self.iris_r * 0.35;
                let hy = iy + self.iris_r * 0.35;
                let hr = (hx * hx + hy * hy).sqrt();
                c = lerp(c, 0.95, edge(hr - self.iris_r * 0.2, pw));
                v = lerp(v, c, ecov);
            }
            // Upper lash line and eyelid crease, lower lid line.
            let lash = band(sy, up - 0.012, up + 0.004, pw) * band(sx, -id.eye_w * 1.05, id.eye_w * 1.02, pw);
            v = lerp(v, skin * 0.2, lash);
            let crease_y = -(side.eh_up + 0.022) * env - 0.004;
            let crease = band(sy, crease_y - 0.004, crease_y + 0.004, pw) * hcov;
            v = lerp(v, skin * 0.65, crease * 0.6);
            let lower = band(sy, lo, lo + 0.006, pw) * hcov;
            v = lerp(v, skin * 0.5, lower * 0.5);
            // Raised cheek / lower lid bulge.
            if e.lower_lid > 0.0 {
                let by = lo + 0.025 + 0.01 * env;
                let bulge = band(sy, by - 0.005, by + 0.005, pw) * band(sx, -id.eye_w * 0.9, id.eye_w * 0.9, pw);
                v = lerp(v, skin * 0.6, bulge * clamp01(e.lower_lid * 1.4));
            }
        }

        // Brows.
        let [bi, bm, bo] = side.brow;
        if ax > bi.0 - 0.06 && ax < bo.0 + 0.06 && y > bi.1.min(bm.1) - 0.08 && y < bi.1.max(bo.1) + 0.08 {
            let d1 = seg_dist(ax, y, bi, bm);
            let d2 = seg_dist(ax, y, bm, bo);
            let c = stroke(d1, id.brow_r * 1.1, pw).max(stroke(d2, id.brow_r * 0.8, pw));
            v = lerp(v, id.brow_col, c);
        }

        // Frown lines between the brows.
        if e.furrow > 0.0 && ax < 0.08 {
            let top = bi.1 - 0.01;
            let d = seg_dist(ax, y, (0.028, top), (0.02, top + 0.06));
            v = lerp(v, skin * 0.55, stroke(d, 0.005, pw) * clamp01(e.furrow));
        }

        // Nose.
        let nose_y = id.nose_y;
        let nw = id.nose_w;
        if y > id.eye_y && y < nose_y + 0.08 && ax < nw + 0.08 {
            let bs = self.bridge_side;
            let bx = x * bs;
            let d = seg_dist(bx, y, (0.05, id.eye_y + 0.04), (nw * 0.6, nose_y - 0.03));
            v *= 1.0 - 0.12 * stroke(d, 0.012, pw.max(0.03));
            let tip = ellipse_sd(x, y - (nose_y + 0.02), nw * 0.75, 0.025);
            v *= 1.0 - 0.1 * edge(tip, pw.max(0.03));
            let flare = e.flare;
            let nd = ellipse_sd(
                ax - nw * 0.42 * (1.0 + 0.25 * flare),
                y - (nose_y - 0.004 - 0.012 * flare),
                0.024 * (1.0 + 0.3 * flare),
                0.012 + 0.004 * flare,
            );
            v = lerp(v, skin * 0.3, edge(nd, pw));
            if e.wrinkle > 0.0 && ax < 0.1 {
                let a = clamp01(e.wrinkle);
                for f in [0.35f32, 0.55] {
                    let y0 = lerp(id.eye_y, nose_y, f);
                    let c = band(y, y0 + 2.0 * x * x - 0.004, y0 + 2.0 * x * x + 0.004, pw) * band(ax, -0.05, 0.05, pw);
                    v = lerp(v, skin * 0.55, c * a);
                }
                let y0 = lerp(id.eye_y, nose_y, 0.4);
                let d = seg_dist(ax, y, (0.045, y0), (0.085, y0 + 0.05));
                v = lerp(v, skin * 0.6, stroke(d, 0.004, pw) * a);
            }
        }

        // Mouth and nasolabial folds.
        let my = self.mouth_y;
        if y > nose_y - 0.05 && y < my + 0.2 && ax < side.mouth_w + 0.15 {
            let fold = clamp01(id.fold + e.fold);
            if fold > 0.0 {
                let a = (nw * 0.75 + 0.02, nose_y - 0.01);
                let b = (nw * 0.75 + 0.075 + 0.3 * e.smile, (nose_y + my) * 0.5 - 0.01);
                let c = (side.mouth_w + 0.03, my + 0.04 - 0.3 * (e.smile + side.asym));
                let d = seg_dist(ax, y, a, b).min(seg_dist(ax, y, b, c));
                v = lerp(v, skin * 0.6, stroke(d, 0.006, pw) * fold * 0.8);
            }
            v = self.mouth(v, x, y, pw, side, my);
        }
        v
    }

    fn mouth(&self, mut v: f32, x: f32, y: f32, pw: f32, side: &Side, my: f32) -> f32 {
        let id = &self.id;
        let e = &self.e;
        let skin = id.skin;
        let mw = side.mouth_w;
        let t = x / mw;
        let hcov = band(x, -self.sides[0].mouth_w, self.sides[1].mouth_w, pw);
        if hcov <= 0.0 {
            return v;
        }
        let smile = id.rest_smile + e.smile;
        let curve = smile + side.asym;
        let mid = my - curve * t * t;
        let slope = -2.0 * curve * t / mw;
        let dv = (y - mid) / (1.0 + slope * slope).sqrt();
        let env = (1.0 - t * t).max(0.0);
        let senv = env.sqrt();
        let hu = self.open_up * env;
        let hl = self.open_lo * env;
        let lu = self.lip * 0.8 * senv;
        let ll = self.lip * 1.1 * senv;
        // Lips.
        let lips = band(dv, -hu - lu, hl + ll, pw) * hcov;
        v = lerp(v, skin * id.lip_col, lips);
        // Closed-mouth line.
        let line = band(dv, -0.006, 0.006, pw) * hcov;
        v = lerp(v, skin * 0.25, line);
        // Opening and teeth.
        let gap = hu + hl;
        if gap > 0.0 {
            let inner = band(dv, -hu, hl, pw) * hcov;
            v = lerp(v, 0.06 + 0.1 * skin, inner);
            if e.teeth > 0.0 {
                let th = gap * 0.55 * e.teeth;
                let teeth = band(dv, -hu, -hu + th, pw) * hcov;
                v = lerp(v, 0.85, teeth);
            }
        }
        v
    }

    fn glasses(&self, mut v: f32, x: f32, y: f32, pw: f32, g: &Glasses) -> f32 {
        let id = &self.id;
        let ax = x.abs();
        let rx = id.eye_w * g.rx;
        let ry = id.eye_h * g.ry + 0.02;
        let cy = id.eye_y - 0.005;
        if y < cy - ry - 0.05 || y > cy + ry + 0.05 {
            return v;
        }
        let d = ellipse_sd(ax - id.eye_dx, y - cy, rx, ry);
        let inside = edge(d, pw);
        v = lerp(v, v * g.lens, inside * g.lens_alpha);
        v = lerp(v, g.col, stroke(d, g.th, pw));
        let inner_x = id.eye_dx - rx;
        let bridge = seg_dist(ax, y, (0.0, cy - ry * 0.3), (inner_x, cy - ry * 0.4));
        v = lerp(v, g.col, stroke(bridge, g.th * 0.8, pw));
        let temple = seg_dist(ax, y, (id.eye_dx + rx, cy - ry * 0.3), (id.fw * 1.02, cy - ry * 0.5));
        v = lerp(v, g.col, stroke(temple, g.th * 0.8, pw));
        v
    }
}

/// A hand (palm, four fingers and a thumb) held in front of the face.
fn hand(v: f32, x: f32, y: f32, pw: f32, h: &Hand) -> f32 {
    let dx = x - h.cx;
    let dy = y - h.cy;
    if dx * dx + dy * dy > 0.36 * h.scale * h.scale {
        return v;
    }
    let qx = (h.cos * dx + h.sin * dy) * h.inv_scale;
    let qy = (-h.sin * dx + h.cos * dy) * h.inv_scale;
    let r = 0.046;
    let mut d = ellipse_sd(qx, qy, 0.19, 0.23);
    let lens = [0.2f32, 0.27, 0.28, 0.23];
    for (k, len) in lens.iter().enumerate() {
        let fx = (k as f32 - 1.5) * 2.0 * r;
        let fd = seg_dist(qx, qy, (fx, -0.15), (fx, -0.15 - len)) - r;
        d = d.min(fd);
    }
    let thumb = seg_dist(qx, qy, (0.15, 0.06), (0.29, -0.07)) - 0.05;
    d = d.min(thumb) * h.scale;
    let c = edge(d, pw);
    if c <= 0.0 {
        return v;
    }
    let col = h.col * (0.8 + 0.2 * clamp01(-d / 0.04));
    lerp(v, col, c)
}

// ---------------------------------------------------------------------------------------------
// Image rendering.

fn render_into(params: &SyntheticParams, index: usize, size: u32, out: &mut [u8]) {
    let n = size as usize;
    if n == 0 || out.len() < n * n {
        return;
    }
    let d = params.difficulty01();
    let knobs = Knobs::of(params.style, d);
    let subject = subject_of(params, index);
    let label = label_of(params, index);
    let id = Identity::sample(&mut Rng::new(params.seed, DOMAIN_SUBJECT, u64::from(subject)), d);
    let mut rng = Rng::new(params.seed, DOMAIN_IMAGE, index as u64);

    // Expression intensity: a fraction (growing with difficulty) is subtle.
    let k = if rng.chance(knobs.subtle_rate) { rng.range(0.12, 0.45) } else { rng.range(0.5, 1.0) };
    let variant = rng.unit();
    let mut e = Expr::target(label, variant).scaled(k);
    let j = 0.5 + d;
    e.brow_raise += 0.006 * j * rng.normal();
    e.brow_inner += 0.006 * j * rng.normal();
    e.eye_open += 0.05 * j * rng.normal();
    e.lower_lid += 0.05 * j * rng.normal();
    e.smile += 0.006 * j * rng.normal();
    e.width += 0.03 * j * rng.normal();
    e.open = (e.open + 0.004 * j * rng.normal()).max(0.0);
    e.lip_raise = e.lip_raise.max(0.0);

    let face = Face::new(id, e, &mut rng, &knobs);

    // Pose: in-plane rotation, shift, scale.
    let (sin, cos) = sin_cos(rng.sym(knobs.rotation));
    let shift = (rng.sym(knobs.shift), rng.sym(knobs.shift));
    let scale = FACE_ZOOM * rng.range(knobs.scale.0, knobs.scale.1);
    let inv_scale = 1.0 / scale;

    // Lighting: directional gradient, global contrast and brightness, noise.
    let (lx, ly) = {
        let (a, b) = (rng.normal(), rng.normal());
        let len = (a * a + b * b).sqrt().max(1e-3);
        (a / len, b / len)
    };
    let light = rng.range(0.0, knobs.light);
    let contrast = rng.range(knobs.contrast.0, knobs.contrast.1);
    let bright = rng.sym(knobs.bright);
    let sigma = knobs.sigma;
    let mut noise = Rng::new(params.seed, DOMAIN_NOISE, index as u64);

    let step = 2.0 / size as f32;
    let pw = step * inv_scale;
    for (row, line) in out.chunks_exact_mut(n).take(n).enumerate() {
        let v = (row as f32 + 0.5) * step - 1.0;
        for (col, px) in line.iter_mut().enumerate() {
            let u = (col as f32 + 0.5) * step - 1.0;
            let dx = u - shift.0;
            let dy = v - shift.1;
            let fx = (cos * dx + sin * dy) * inv_scale;
            let fy = (-sin * dx + cos * dy) * inv_scale;
            let mut g = face.shade(fx, fy, pw);
            g *= 1.0 + light * (lx * u + ly * v);
            g = (g - 0.5) * contrast + 0.5 + bright + sigma * noise.normal();
            *px = (clamp01(g) * 255.0 + 0.5) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn params(seed: u64, subjects: u32, per: u32, contempt: bool) -> SyntheticParams {
        SyntheticParams {
            seed,
            subjects,
            images_per_subject: per,
            with_contempt: contempt,
            difficulty: 0.5,
            style: Style::Mixed,
        }
    }

    fn digest(set: &SyntheticSet) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(set.size.to_le_bytes());
        h.update(&set.pixels);
        h.update(&set.labels);
        for s in &set.subjects {
            h.update(s.to_le_bytes());
        }
        h.finalize().to_vec()
    }

    fn in_pool(threads: usize, p: &SyntheticParams, size: u32) -> SyntheticSet {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| generate(p, size))
    }

    #[test]
    fn identical_bytes_whatever_the_thread_count() {
        let p = params(7, 12, 10, true);
        let one = in_pool(1, &p, 48);
        let two = in_pool(2, &p, 48);
        let four = in_pool(4, &p, 48);
        assert_eq!(digest(&one), digest(&two));
        assert_eq!(digest(&one), digest(&four));
    }

    #[test]
    fn same_image_at_two_calls_and_in_generate() {
        let p = params(3, 4, 9, false);
        let a = render(&p, 17, 84);
        let b = render(&p, 17, 84);
        assert_eq!(a, b);
        let set = generate(&p, 84);
        assert_eq!(set.image(17).unwrap(), &a.0[..]);
        assert_eq!(set.labels[17], a.1);
        assert_eq!(set.subjects[17], a.2);
    }

    #[test]
    fn labels_balanced() {
        for contempt in [false, true] {
            let p = params(1, 10, 14, contempt);
            let set = generate(&p, 8);
            let c = p.classes();
            let mut counts = vec![0usize; c];
            for &l in &set.labels {
                assert!((l as usize) < c);
                counts[l as usize] += 1;
            }
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{counts:?}");
            // Every subject sees every class when images_per_subject >= classes.
            for s in 0..p.subjects {
                let mut seen = vec![false; c];
                for (i, &l) in set.labels.iter().enumerate() {
                    if set.subjects[i] == s {
                        seen[l as usize] = true;
                    }
                }
                assert!(seen.iter().all(|&b| b));
            }
        }
    }

    #[test]
    fn subjects_assignment() {
        let p = params(5, 6, 11, false);
        let set = generate(&p, 8);
        assert_eq!(set.len(), 66);
        assert_eq!(p.len(), 66);
        for (i, &s) in set.subjects.iter().enumerate() {
            assert_eq!(s as usize, i / 11);
        }
        assert_eq!(*set.subjects.last().unwrap(), 5);
    }

    #[test]
    fn styles_change_the_distribution_and_keep_labels_and_subjects() {
        let base = params(11, 8, 21, false);
        let render = |style| generate(&SyntheticParams { style, ..base.clone() }, 48);
        let (posed, mixed, wild) = (render(Style::Posed), render(Style::Mixed), render(Style::Wild));
        assert_eq!((&posed.labels, &posed.subjects), (&mixed.labels, &mixed.subjects));
        assert_eq!((&wild.labels, &wild.subjects), (&mixed.labels, &mixed.subjects));
        // How far each image is from the mean image of its subject and class: pose, light,
        // occlusion and intensity all add to it. Posed < mixed < wild.
        let spread = |set: &SyntheticSet| -> f64 {
            let n = set.len();
            let px = 48 * 48;
            let mut total = 0.0;
            for i in 0..n {
                let same: Vec<usize> =
                    (0..n).filter(|&j| set.subjects[j] == set.subjects[i] && set.labels[j] == set.labels[i]).collect();
                let img = set.image(i).unwrap();
                for (p, &v) in img.iter().enumerate().take(px) {
                    let mean = same.iter().map(|&j| set.image(j).unwrap()[p] as f64).sum::<f64>() / same.len() as f64;
                    total += (v as f64 - mean).abs();
                }
            }
            total / (n * px) as f64
        };
        let (p, m, w) = (spread(&posed), spread(&mixed), spread(&wild));
        assert!(p < m && m < w && w > 1.5 * p, "posed {p:.2}, mixed {m:.2}, wild {w:.2}");
    }

    #[test]
    fn different_seeds_differ() {
        let a = generate(&params(1, 2, 7, false), 48);
        let b = generate(&params(2, 2, 7, false), 48);
        assert_ne!(a.pixels, b.pixels);
        for i in 0..a.len() {
            assert_ne!(a.image(i), b.image(i));
        }
        // Different subjects look different too.
        let p = params(1, 2, 7, false);
        assert_ne!(render(&p, 0, 48).0, render(&p, 7, 48).0);
    }

    #[test]
    fn sizes_48_84_and_others_work() {
        let p = params(9, 3, 8, true);
        for size in [48u32, 84, 75, 299, 1, 2] {
            let set = generate(&p, size);
            assert_eq!(set.size, size);
            assert_eq!(set.pixels.len(), 24 * (size as usize).pow(2));
            assert_eq!(set.labels.len(), 24);
        }
        assert!(generate(&p, 0).pixels.is_empty());
    }

    #[test]
    fn empty_params_give_empty_set() {
        for (s, per) in [(0, 10), (10, 0), (0, 0)] {
            let p = params(1, s, per, false);
            assert!(p.is_empty());
            let set = generate(&p, 48);
            assert!(set.is_empty());
            assert!(set.pixels.is_empty());
            assert!(set.subjects.is_empty());
        }
        // render never panics, even without images per subject.
        let (px, _, subject) = render(&params(1, 0, 0, false), 3, 16);
        assert_eq!(px.len(), 256);
        assert_eq!(subject, 3);
    }

    #[test]
    fn images_are_not_blank() {
        let p = params(11, 5, 8, true);
        let set = generate(&p, 48);
        for i in 0..set.len() {
            let img = set.image(i).unwrap();
            let n = img.len() as f64;
            let mean = img.iter().map(|&b| b as f64).sum::<f64>() / n;
            let var = img.iter().map(|&b| (b as f64 - mean).powi(2)).sum::<f64>() / n;
            assert!(var.sqrt() > 12.0, "image {i} std {}", var.sqrt());
        }
    }

    #[test]
    fn classes_differ_on_average() {
        let p = params(21, 40, 14, true);
        let set = generate(&p, 48);
        let c = p.classes();
        let s2 = 48 * 48;
        let mut means = vec![vec![0f64; s2]; c];
        let mut counts = vec![0f64; c];
        for i in 0..set.len() {
            let l = set.labels[i] as usize;
            counts[l] += 1.0;
            for (m, &b) in means[l].iter_mut().zip(set.image(i).unwrap()) {
                *m += b as f64;
            }
        }
        for (m, n) in means.iter_mut().zip(&counts) {
            m.iter_mut().for_each(|x| *x /= n);
        }
        for a in 0..c {
            for b in a + 1..c {
                let dist = means[a].iter().zip(&means[b]).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
                // Per-pixel RMS difference of the class means, in gray levels.
                let rms = dist / (s2 as f64).sqrt();
                assert!(rms > 0.5, "classes {a} and {b} too close: rms {rms}");
            }
        }
    }

    #[test]
    fn same_face_at_any_size() {
        let mut p = params(4, 2, 7, false);
        p.difficulty = 0.0;
        let small = render(&p, 3, 48).0;
        let big = render(&p, 3, 96).0;
        // Box-downsample 96 -> 48 and compare.
        let mut diff = 0f64;
        for r in 0..48 {
            for c in 0..48 {
                let s: u32 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|(a, b)| big[(2 * r + a) * 96 + 2 * c + b] as u32)
                    .sum();
                diff += (s as f64 / 4.0 - small[r * 48 + c] as f64).abs();
            }
        }
        let mean_abs = diff / (48.0 * 48.0);
        assert!(mean_abs < 6.0, "mean abs diff {mean_abs}");
    }
}
