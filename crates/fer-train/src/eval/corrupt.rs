//! The robustness analysis's corruptions, applied to one grey image (`side` x `side`, row-major
//! grey levels): each a pure function of the image, the severity and a seed (the job derives one
//! per image, corruption and severity), so every run corrupts every image the same way.

use fer_core::plan::robustness::{
    Corruption, BLUR_SIGMA, BRIGHTNESS, CONTRAST, JPEG_QUALITY, NOISE_SIGMA, OCCLUSION, ROTATION_DEG, ZOOM,
};
use fer_core::rng::SplitMix64;

/// Uniform in [0, 1).
fn unit(r: &mut SplitMix64) -> f64 {
    (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal (Box-Muller).
fn normal(r: &mut SplitMix64) -> f64 {
    let u = unit(r).max(f64::MIN_POSITIVE);
    let v = unit(r);
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn clamp_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// `img` with `c` at `severity` (1..=5); `seed` drives its random draws.
pub fn corrupt(img: &[u8], side: usize, c: Corruption, severity: u32, seed: u64) -> Vec<u8> {
    let i = (severity.clamp(1, 5) - 1) as usize;
    let mut r = SplitMix64::new(seed);
    match c {
        Corruption::Noise => {
            img.iter().map(|&p| clamp_u8(p as f64 + NOISE_SIGMA[i] * 255.0 * normal(&mut r))).collect()
        }
        Corruption::Blur => blur(img, side, BLUR_SIGMA[i] * side as f64),
        Corruption::Jpeg => jpeg(img, side, JPEG_QUALITY[i]),
        Corruption::Contrast => {
            let shift = if unit(&mut r) < 0.5 { -BRIGHTNESS[i] } else { BRIGHTNESS[i] };
            img.iter().map(|&p| clamp_u8((p as f64 - 128.0) * CONTRAST[i] + 128.0 + shift)).collect()
        }
        Corruption::Occlusion => {
            let s = ((OCCLUSION[i] * side as f64).round() as usize).clamp(1, side);
            let room = (side - s + 1) as u64;
            let (x0, y0) = (r.below(room) as usize, r.below(room) as usize);
            let mut out = img.to_vec();
            for y in y0..y0 + s {
                out[y * side + x0..y * side + x0 + s].fill(128);
            }
            out
        }
        Corruption::Rotation => {
            let sign = if unit(&mut r) < 0.5 { -1.0 } else { 1.0 };
            rotate(img, side, sign * ROTATION_DEG[i].to_radians(), ZOOM[i])
        }
    }
}

/// Separable Gaussian blur with edge replication.
fn blur(img: &[u8], side: usize, sigma: f64) -> Vec<u8> {
    let radius = (3.0 * sigma).ceil().max(1.0) as isize;
    let kernel: Vec<f64> = (-radius..=radius).map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let total: f64 = kernel.iter().sum();
    let at = |v: isize| v.clamp(0, side as isize - 1) as usize;
    let mut rows = vec![0.0f64; side * side];
    for y in 0..side {
        for x in 0..side {
            rows[y * side + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * img[y * side + at(x as isize + k as isize - radius)] as f64)
                .sum::<f64>()
                / total;
        }
    }
    let mut out = vec![0u8; side * side];
    for y in 0..side {
        for x in 0..side {
            let v: f64 = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * rows[at(y as isize + k as isize - radius) * side + x])
                .sum::<f64>()
                / total;
            out[y * side + x] = clamp_u8(v);
        }
    }
    out
}

/// Encoded as a JPEG at `quality` and decoded again.
fn jpeg(img: &[u8], side: usize, quality: u8) -> Vec<u8> {
    use image::codecs::jpeg::JpegEncoder;
    let mut bytes = Vec::new();
    let encoded = JpegEncoder::new_with_quality(&mut bytes, quality).encode(
        img,
        side as u32,
        side as u32,
        image::ExtendedColorType::L8,
    );
    match encoded.ok().and_then(|()| image::load_from_memory(&bytes).ok()) {
        Some(d) => d.to_luma8().into_raw(),
        // The encoder takes any 8-bit grey image; keep the image should it ever refuse one.
        None => img.to_vec(),
    }
}

/// Rotated by `angle` around the centre and zoomed by `zoom` (bilinear, edges replicated).
fn rotate(img: &[u8], side: usize, angle: f64, zoom: f64) -> Vec<u8> {
    let (s, c) = angle.sin_cos();
    let mid = (side as f64 - 1.0) / 2.0;
    let px = |x: isize, y: isize| -> f64 {
        img[(y.clamp(0, side as isize - 1) as usize) * side + x.clamp(0, side as isize - 1) as usize] as f64
    };
    let mut out = vec![0u8; side * side];
    for y in 0..side {
        for x in 0..side {
            // The source of output pixel (x, y): undo the zoom, then the rotation.
            let (dx, dy) = ((x as f64 - mid) / zoom, (y as f64 - mid) / zoom);
            let (sx, sy) = (c * dx + s * dy + mid, -s * dx + c * dy + mid);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let v = px(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + px(x0 + 1, y0) * fx * (1.0 - fy)
                + px(x0, y0 + 1) * (1.0 - fx) * fy
                + px(x0 + 1, y0 + 1) * fx * fy;
            out[y * side + x] = clamp_u8(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(side: usize) -> Vec<u8> {
        (0..side * side).map(|i| ((i % side) * 5 + (i / side) * 3) as u8).collect()
    }

    fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64
    }

    #[test]
    fn corruptions_are_deterministic_and_grow_with_severity() {
        let img = face(48);
        for c in Corruption::ALL {
            let mut last = 0.0;
            for s in 1..=5 {
                let a = corrupt(&img, 48, c, s, 7);
                assert_eq!(a.len(), img.len());
                assert_eq!(a, corrupt(&img, 48, c, s, 7), "{c:?} {s}: the same image, seed and severity");
                let d = mean_abs_diff(&a, &img);
                assert!(d > 0.0, "{c:?} {s} changes the image");
                // Noise, contrast, occlusion and rotation draw their sign or place per image; the
                // amount grows with the severity for a fixed seed.
                assert!(d + 0.5 >= last, "{c:?}: severity {s} ({d:.2}) below severity {} ({last:.2})", s - 1);
                last = d;
            }
        }
    }

    #[test]
    fn each_corruption_does_what_it_says() {
        let img = face(48);
        // Occlusion: a grey square of round(0.35 * 48) = 17 px.
        let o = corrupt(&img, 48, Corruption::Occlusion, 3, 1);
        assert!(o.iter().zip(&img).filter(|(a, b)| a != b).count() <= 17 * 17);
        assert!(o.iter().filter(|&&v| v == 128).count() >= 17 * 17 - 20);
        // Contrast: the spread shrinks.
        let spread = |v: &[u8]| v.iter().max().unwrap() - v.iter().min().unwrap();
        assert!(spread(&corrupt(&img, 48, Corruption::Contrast, 5, 1)) < spread(&img) / 3);
        // Rotation by 0 with zoom 1 would be the identity: the centre pixel stays close.
        let r = rotate(&img, 48, 0.0, 1.0);
        assert_eq!(r, img);
        // Blur keeps a constant image constant.
        assert_eq!(blur(&[90u8; 48 * 48], 48, 2.0), vec![90u8; 48 * 48]);
        // Different seeds, different noise.
        assert_ne!(corrupt(&img, 48, Corruption::Noise, 2, 1), corrupt(&img, 48, Corruption::Noise, 2, 2));
    }
}
