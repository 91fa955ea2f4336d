//! MicroExpNet's published crops (Candidates/Preprocessing.py and exampleUsage.py of the public
//! code): from a face resized to 256 x 256, eight 224 x 224 windows at fixed (row, col) offsets,
//! each resized to 84 x 84 as `cv2.resize` does by default (bilinear, `INTER_LINEAR`); training
//! sees every crop of every image (8 items per image), the test the (32, 32) window.

use tch::Tensor;

use crate::models::crops::{crop, FACE, OFFSETS};
use crate::models::Model;

/// A model's training inputs: each image once (preprocessed up front), or with MicroExpNet's
/// published recipe each of the 8 crops of each 256 px face, cut per batch. Item `i` of the
/// recipe is crop `i % 8` of image `i / 8`, so an epoch over all items is 8 x the steps.
pub struct TrainInputs {
    /// Preprocessed inputs, or the raw faces (u8, on the device) for the recipe.
    x: Tensor,
    crops: bool,
    images: i64,
}

impl TrainInputs {
    /// `images`: the training images (u8, N x 1 x S x S) as prepared; `crops`: the 8-crop recipe
    /// (then S must be 256).
    pub fn new(model: &Model, images: &Tensor, crops: bool) -> Result<TrainInputs, String> {
        let n = images.size()[0];
        if crops {
            let side = images.size()[3];
            if side != FACE {
                return Err(format!(
                    "the 8-crop recipe cuts 224 px windows from {FACE} px faces; the data is {side} px"
                ));
            }
            Ok(TrainInputs { x: images.to_device(model.device()), crops, images: n })
        } else {
            Ok(TrainInputs { x: model.preprocess(images), crops, images: n })
        }
    }

    /// Items per epoch: the images, or 8 per image with the recipe.
    pub fn len(&self) -> i64 {
        if self.crops {
            self.images * OFFSETS.len() as i64
        } else {
            self.images
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The model inputs of `items` (in order) and the index of the image each one comes from
    /// (for its label and teacher logits), both on the model's device.
    pub fn batch(&self, model: &Model, items: &[i64]) -> (Tensor, Tensor) {
        let dev = model.device();
        if !self.crops {
            let idx = Tensor::from_slice(items).to_device(dev);
            return (self.x.index_select(0, &idx), idx);
        }
        let k = OFFSETS.len() as i64;
        let image_of: Vec<i64> = items.iter().map(|i| i / k).collect();
        // Group the batch by crop (contiguous runs), cut each run, then restore the batch order.
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&p| (items[p] % k, p));
        let sorted_images: Vec<i64> = order.iter().map(|&p| image_of[p]).collect();
        let faces = self.x.index_select(0, &Tensor::from_slice(&sorted_images).to_device(dev));
        let side = model.spec.input_size() as i64;
        let mut parts = Vec::new();
        let mut start = 0usize;
        while start < order.len() {
            let c = items[order[start]] % k;
            let end = start + order[start..].iter().take_while(|&&p| items[p] % k == c).count();
            parts.push(crop(&faces.narrow(0, start as i64, (end - start) as i64), OFFSETS[c as usize], side));
            start = end;
        }
        let mut inverse = vec![0i64; order.len()];
        for (sorted_pos, &p) in order.iter().enumerate() {
            inverse[p] = sorted_pos as i64;
        }
        let cut = Tensor::cat(&parts, 0).index_select(0, &Tensor::from_slice(&inverse).to_device(dev));
        (model.preprocess(&cut), Tensor::from_slice(&image_of).to_device(dev))
    }
}

/// What an epoch is made of, for the job's log.
pub fn describe(inputs: &TrainInputs, batches: u32) -> String {
    if inputs.crops {
        format!(
            "training on the 8 published crops of each of {} images: {} items, {batches} steps per epoch",
            inputs.images,
            inputs.len()
        )
    } else {
        format!("training on {} images: {batches} steps per epoch", inputs.images)
    }
}

/// A ramp image batch: pixel (r, c) of image 0 holds r, of image 1 holds c (u8, 2 x 1 x 256 x 256).
#[cfg(test)]
pub(crate) fn ramps(device: tch::Device) -> Tensor {
    let r = Tensor::arange(FACE, (tch::Kind::Uint8, device)).view([1, 1, FACE, 1]).expand([1, 1, FACE, FACE], false);
    let c = Tensor::arange(FACE, (tch::Kind::Uint8, device)).view([1, 1, 1, FACE]).expand([1, 1, FACE, FACE], false);
    Tensor::cat(&[r, c], 0).contiguous()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::crops::{resample, test_crop, WINDOW};
    use tch::Kind;

    use fer_core::spec::{ModelSpec, Variant};
    use tch::Device;

    /// `cv2.resize(window, (out, out))` with `INTER_LINEAR`, written out for one axis: the
    /// source position of output pixel `i` and its two neighbours' weights.
    fn cv2_source(i: i64, from: i64, out: i64) -> (i64, i64, f64) {
        let scale = from as f64 / out as f64;
        let mut f = (i as f64 + 0.5) * scale - 0.5;
        if f < 0.0 {
            f = 0.0;
        }
        let s = f.floor() as i64;
        let w = f - s as f64;
        if s >= from - 1 {
            (from - 1, from - 1, 0.0)
        } else {
            (s, s + 1, w)
        }
    }

    /// A window of `img` (row-major, `side` wide) resized by hand.
    fn by_hand(img: &[f64], side: i64, (row, col): (i64, i64), out: i64) -> Vec<f64> {
        let mut v = Vec::new();
        for i in 0..out {
            let (r0, r1, wr) = cv2_source(i, WINDOW, out);
            for j in 0..out {
                let (c0, c1, wc) = cv2_source(j, WINDOW, out);
                let px = |r: i64, c: i64| img[((row + r) * side + col + c) as usize];
                let top = px(r0, c0) * (1.0 - wc) + px(r0, c1) * wc;
                let bottom = px(r1, c0) * (1.0 - wc) + px(r1, c1) * wc;
                v.push(top * (1.0 - wr) + bottom * wr);
            }
        }
        v
    }

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
    }

    #[test]
    fn the_eight_crops_are_the_published_pixel_windows() {
        let ramps = ramps(Device::Cpu);
        // On a ramp bilinear sampling is exact: output row i of window (r, c) samples source row
        // r + (i + 0.5) * 224 / 84 - 0.5, so rows r + 0.83 .. r + 222.17, rounded r + 1 .. r + 222.
        for (k, &(r, c)) in OFFSETS.iter().enumerate() {
            let out = crop(&ramps, (r, c), 84);
            assert_eq!(out.size(), vec![2, 1, 84, 84]);
            let rows = values(&out.get(0));
            let cols = values(&out.get(1));
            for i in 0..84usize {
                let want = (r as f64 + (i as f64 + 0.5) * 224.0 / 84.0).floor();
                for j in 0..84usize {
                    assert_eq!(rows[i * 84 + j], want, "crop {k} row {i}");
                    let want_c = (c as f64 + (j as f64 + 0.5) * 224.0 / 84.0).floor();
                    assert_eq!(cols[i * 84 + j], want_c, "crop {k} col {j}");
                }
            }
            assert_eq!((rows[0], rows[84 * 84 - 1]), (r as f64 + 1.0, r as f64 + 222.0), "crop {k}");
            assert_eq!((cols[0], cols[84 * 84 - 1]), (c as f64 + 1.0, c as f64 + 222.0), "crop {k}");
        }
        // The windows of Preprocessing.py, as written there: img[r0:r1, c0:c1].
        let written = [
            ((0, 224), (0, 224)),
            ((0, 224), (5, 229)),
            ((0, 224), (32, 256)),
            ((5, 229), (0, 224)),
            ((32, 256), (0, 224)),
            ((5, 229), (5, 229)),
            ((32, 256), (32, 256)),
            ((5, 229), (32, 256)),
        ];
        for (k, ((r0, r1), (c0, c1))) in written.into_iter().enumerate() {
            assert_eq!(OFFSETS[k], (r0, c0));
            assert_eq!((r1 - r0, c1 - c0), (WINDOW, WINDOW));
        }
    }

    #[test]
    fn crops_match_opencv_bilinear_by_hand_and_see_only_their_window() {
        // A textured face: every window, every pixel, against the formula written out.
        let side = FACE;
        let img: Vec<f64> = (0..side * side).map(|p| ((p * 7919 + (p / side) * 31) % 256) as f64).collect();
        let face = Tensor::from_slice(&img.iter().map(|&v| v as u8).collect::<Vec<u8>>()).view([1, 1, side, side]);
        for &off in &OFFSETS {
            let got = values(&resample(&face, off, 84));
            let want = by_hand(&img, side, off, 84);
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            // Float32 arithmetic: a few thousandths of a grey level at most.
            assert!(worst < 1e-2, "window {off:?}: off by {worst}");
        }
        // A bright pixel outside a window never reaches its crop; inside, it does.
        for (k, &(r, c)) in OFFSETS.iter().enumerate() {
            for (pr, pc, inside) in [(r + 100, c + 100, true), ((r + WINDOW) % FACE, c + 50, false)] {
                let inside = inside && pr < r + WINDOW;
                let dot = Tensor::zeros([1, 1, side, side], (Kind::Uint8, Device::Cpu));
                let _ = dot.get(0).get(0).get(pr).get(pc).fill_(255);
                let sum = crop(&dot, (r, c), 84).sum(Kind::Double).double_value(&[]);
                assert_eq!(sum > 0.0, inside, "crop {k}, pixel ({pr}, {pc})");
            }
        }
    }

    #[test]
    fn the_test_input_is_the_32_32_window() {
        let ramps = ramps(Device::Cpu);
        let t = test_crop(&ramps, 84);
        assert!(t.equal(&crop(&ramps, (32, 32), 84)));
        // And the model reads 256 px faces through it.
        let model = Model::new(&ModelSpec::microexpnet(Variant::Xxs), 8, Device::Cpu);
        assert!(model.preprocess(&ramps).equal(&t));
        let small = Tensor::ones([1, 1, 84, 84], (Kind::Uint8, Device::Cpu));
        assert!(model.preprocess(&small).equal(&small.to_kind(Kind::Float)));
    }

    #[test]
    fn every_crop_of_every_image_is_one_item() {
        let model = Model::new(&ModelSpec::microexpnet(Variant::Xxs), 8, Device::Cpu);
        let ramps = ramps(Device::Cpu);
        let inputs = TrainInputs::new(&model, &ramps, true).unwrap();
        assert_eq!(inputs.len(), 16);
        // A shuffled batch: each item is its crop of its image, in the batch's order.
        let items = [13i64, 0, 7, 8, 2, 15, 4, 9];
        let (x, img) = inputs.batch(&model, &items);
        assert_eq!(Vec::<i64>::try_from(&img).unwrap(), items.iter().map(|i| i / 8).collect::<Vec<_>>());
        for (p, &i) in items.iter().enumerate() {
            let want = crop(&ramps.narrow(0, i / 8, 1), OFFSETS[(i % 8) as usize], 84);
            assert!(x.narrow(0, p as i64, 1).equal(&want), "item {i}");
        }
        // Without the recipe: one item per image, preprocessed as the model reads it.
        let small = Tensor::zeros([3, 1, 84, 84], (Kind::Uint8, Device::Cpu));
        let plain = TrainInputs::new(&model, &small, false).unwrap();
        assert_eq!(plain.len(), 3);
        assert_eq!(plain.batch(&model, &[2, 0]).0.size(), vec![2, 1, 84, 84]);
        assert!(TrainInputs::new(&model, &small, true).is_err());
    }
}
