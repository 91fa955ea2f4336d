//! MicroExpNet's multi-crop augmentation: each training image is replaced by one of 8 fixed
//! crops covering 224/256 of the face (the 4 corners and the 4 edge centres of a 3 x 3 grid of
//! offsets), resized back to the input size; the crop is drawn per image from the seeded RNG.

use tch::{Device, Kind, Tensor};

/// Side of a crop relative to the face (224 of 256 px in the public code).
const SCALE: f64 = 224.0 / 256.0;

/// Crop centres in normalised coordinates (x, y), -1 = left/top edge.
const CENTRES: [(f64, f64); 8] = [(-1., -1.), (1., -1.), (-1., 1.), (1., 1.), (0., -1.), (0., 1.), (-1., 0.), (1., 0.)];

/// The 8 crops as affine warps, 8 x 2 x 3.
fn thetas(device: Device) -> Tensor {
    let off = 1.0 - SCALE;
    let v: Vec<f32> =
        CENTRES.iter().flat_map(|(x, y)| [SCALE, 0.0, x * off, 0.0, SCALE, y * off].map(|f| f as f32)).collect();
    Tensor::from_slice(&v).reshape([8, 2, 3]).to_device(device)
}

/// A random crop of each image of `x` (N x C x S x S), same size out.
pub fn random_crops(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let pick = Tensor::randint(8, [n], (Kind::Int64, x.device()));
    let theta = thetas(x.device()).index_select(0, &pick).to_kind(x.kind());
    let grid = Tensor::affine_grid_generator(&theta, x.size(), false);
    x.grid_sampler(&grid, 0, 1, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_keep_shape_and_zoom_in() {
        tch::manual_seed(1);
        // A horizontal ramp: a crop narrows the range of values.
        let ramp = Tensor::arange(84, (Kind::Float, Device::Cpu)).view([1, 1, 1, 84]).expand([2, 1, 84, 84], false);
        let c = random_crops(&ramp.contiguous());
        assert_eq!(c.size(), vec![2, 1, 84, 84]);
        for i in 0..2 {
            let img = c.get(i);
            let span = f64::try_from(img.max() - img.min()).unwrap();
            assert!(span < 83.0 * 0.9, "image {i}: {span}");
        }
    }
}
