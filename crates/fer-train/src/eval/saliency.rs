//! Occlusion saliency (the Deep-Emotion paper's visualisation): slide a zeroed square over a face,
//! re-classify, and credit each pixel with the drop in the true class's probability; average the
//! maps per emotion.

use tch::{Device, Kind, Tensor};

use crate::models::Model;

/// Top-left corners of the squares along one side, the last one flush with the edge.
fn offsets(side: i64, window: i64, stride: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (0..=side - window).step_by(stride.max(1) as usize).collect();
    if v.last() != Some(&(side - window)) {
        v.push(side - window);
    }
    v
}

/// One mask per square position (P x 1 x S x S): 1 outside the square, 0 inside.
fn masks(side: i64, window: i64, stride: i64, device: Device) -> Tensor {
    let offs = offsets(side, window, stride);
    let mut all = Vec::new();
    for &y in &offs {
        for &x in &offs {
            let m = Tensor::ones([1, 1, side, side], (Kind::Float, device));
            let _ = m.narrow(2, y, window).narrow(3, x, window).fill_(0.0);
            all.push(m);
        }
    }
    Tensor::cat(&all, 0)
}

/// Mean occlusion map per class (`classes` x S x S) over `images` (N x 1 x S x S, u8) with
/// true `labels`; `window` and `stride` in pixels. Classes without images get zeros.
pub fn occlusion_maps(
    model: &Model,
    images: &Tensor,
    labels: &[i64],
    classes: usize,
    window: i64,
    stride: i64,
) -> Tensor {
    let dev = model.device();
    let side = images.size()[3];
    let window = window.clamp(1, side);
    let m = masks(side, window, stride, dev);
    let inside = m.ones_like() - &m; // 1 inside the squares
    let covered = inside.sum_dim_intlist(0, false, Kind::Float).clamp_min(1.0); // 1 x S x S
    let sums = Tensor::zeros([classes as i64, side, side], (Kind::Float, dev));
    let mut counts = vec![0f64; classes];
    tch::no_grad(|| {
        for (i, &y) in labels.iter().enumerate() {
            let img = images.get(i as i64).to_device(dev).to_kind(Kind::Float).unsqueeze(0); // 1 x 1 x S x S
            let base = model.forward_t(&model.preprocess(&img), false).softmax(-1, Kind::Float).get(0).get(y);
            let occluded = model.preprocess(&(&img * &m)); // P x 1 x S x S
            let probs = model.logits(&occluded, 128).softmax(-1, Kind::Float).select(1, y); // P
            let drop = (base - probs).view([-1, 1, 1, 1]);
            let heat = (&inside * drop).sum_dim_intlist(0, false, Kind::Float) / &covered; // 1 x S x S
            let mut row = sums.get(y);
            row += heat.squeeze_dim(0);
            counts[y as usize] += 1.0;
        }
    });
    let counts = Tensor::from_slice(&counts).to_kind(Kind::Float).to_device(dev).clamp_min(1.0).view([-1, 1, 1]);
    (sums / counts).to_device(Device::Cpu)
}

/// Jet-like colour for v in [0, 1].
fn colour(v: f32) -> [u8; 3] {
    let c = |x: f32| ((1.5 - x.abs()).clamp(0.0, 1.0) * 255.0) as u8;
    [c(4.0 * v - 3.0), c(4.0 * v - 2.0), c(4.0 * v - 1.0)]
}

/// A row of tiles, one per class: the class's mean face blended with its map (normalised over
/// all classes so tiles compare), as RGB.
pub fn heatmap_png(maps: &Tensor, mean_faces: &Tensor, path: &std::path::Path) -> Result<(), String> {
    let (k, side) = (maps.size()[0], maps.size()[1]);
    let maps = maps.to_kind(Kind::Float);
    let (lo, hi) = (f32::try_from(maps.min()).unwrap_or(0.0), f32::try_from(maps.max()).unwrap_or(1.0));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let flat: Vec<f32> = Vec::try_from(maps.flatten(0, -1)).map_err(|e: tch::TchError| e.to_string())?;
    let faces: Vec<f32> =
        Vec::try_from(mean_faces.to_kind(Kind::Float).flatten(0, -1)).map_err(|e: tch::TchError| e.to_string())?;
    let pad = 2u32;
    let s = side as u32;
    let mut img = image::RgbImage::from_pixel(k as u32 * (s + pad) + pad, s + 2 * pad, image::Rgb([255, 255, 255]));
    for c in 0..k as usize {
        for y in 0..s {
            for x in 0..s {
                let i = c * (s * s) as usize + (y * s + x) as usize;
                let v = (flat[i] - lo) / span;
                let face = faces[i] / 255.0;
                let col = colour(v);
                let mix = |ch: u8| ((0.55 * ch as f32) + 0.45 * face * 255.0) as u8;
                img.put_pixel(
                    pad + c as u32 * (s + pad) + x,
                    pad + y,
                    image::Rgb([mix(col[0]), mix(col[1]), mix(col[2])]),
                );
            }
        }
    }
    img.save_with_format(path, image::ImageFormat::Png).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cover_the_edge() {
        assert_eq!(offsets(48, 8, 4).first(), Some(&0));
        assert_eq!(offsets(48, 8, 4).last(), Some(&40));
        assert_eq!(offsets(10, 4, 4), vec![0, 4, 6]);
        let m = masks(10, 4, 4, Device::Cpu);
        assert_eq!(m.size(), vec![9, 1, 10, 10]);
        // Every pixel is covered by at least one square.
        let covered = (m.ones_like() - &m).sum_dim_intlist(0, false, Kind::Float);
        assert!(f64::try_from(covered.min()).unwrap() >= 1.0);
    }
}
