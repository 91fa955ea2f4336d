//! PNG grids of images: the sample grid of a data set (one row per class) and any other tiling
//! of same-sized grayscale images (the STN warps of the saliency job).

use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::prepared::Prepared;

/// Images per row in the sample grid.
const PER_CLASS: usize = 8;

/// Writes the sample grid of a prepared data set: the first images of each class, a row each.
pub fn write_samples(p: &Prepared, path: &Path) -> Result<(), String> {
    let n = p.len() as i64;
    let labels: Vec<i64> = Vec::try_from(p.labels.to_device(Device::Cpu)).map_err(|e: tch::TchError| e.to_string())?;
    // Index `n` is a blank tile, for classes with fewer than PER_CLASS images.
    let mut picks = Vec::new();
    for c in 0..p.classes().max(1) as i64 {
        let mut row: Vec<i64> = (0..n).filter(|&i| labels[i as usize] == c).take(PER_CLASS).collect();
        row.resize(PER_CLASS, n);
        picks.extend(row);
    }
    let blank = Tensor::full([1, 1, p.images.size()[2], p.images.size()[3]], 255, (Kind::Uint8, Device::Cpu));
    let tiles = Tensor::cat(&[p.images.to_device(Device::Cpu), blank], 0).index_select(0, &Tensor::from_slice(&picks));
    grid_png(&tiles, PER_CLASS as i64, path)
}

/// Writes images (M x 1 x S x S, u8) as a grid with `cols` columns, 2 px white gaps.
pub fn grid_png(images: &Tensor, cols: i64, path: &Path) -> Result<(), String> {
    let (m, s) = (images.size()[0], images.size()[3] as u32);
    let cols = cols.max(1);
    let rows = (m + cols - 1) / cols;
    let pad = 2u32;
    let mut img =
        image::GrayImage::from_pixel(cols as u32 * (s + pad) + pad, rows as u32 * (s + pad) + pad, image::Luma([255]));
    let pix: Vec<u8> =
        Vec::try_from(images.to_device(Device::Cpu).flatten(0, -1)).map_err(|e: tch::TchError| e.to_string())?;
    for k in 0..m as u32 {
        let (r, c) = (k / cols as u32, k % cols as u32);
        for y in 0..s {
            for x in 0..s {
                let v = pix[(k * s * s + y * s + x) as usize];
                img.put_pixel(pad + c * (s + pad) + x, pad + r * (s + pad) + y, image::Luma([v]));
            }
        }
    }
    img.save_with_format(path, image::ImageFormat::Png).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer_core::spec::{DatasetSpec, SyntheticSpec};

    #[test]
    fn sample_grid_has_a_row_per_class_and_fills_short_rows() {
        // 2 subjects x 12 images with contempt: 8 classes, some with fewer than 8 images.
        let spec = SyntheticSpec {
            seed: 1,
            subjects: 2,
            images_per_subject: 12,
            contempt: true,
            difficulty: 0.5,
            val_fraction: 0.0,
            test_fraction: 0.5,
            style: fer_core::data::style::Style::Mixed,
        };
        let (p, _) = crate::data::build(&DatasetSpec::Synthetic(spec), 24).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        write_samples(&p, &path).unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (8 * 26 + 2, 8 * 26 + 2));
        let gray = img.to_luma8();
        // The last tile of the first row is blank (class 0 has 3 images), the first is a face.
        let tile = |col: u32, row: u32| -> Vec<u8> {
            (0..24u32)
                .flat_map(|y| (0..24u32).map(move |x| (x, y)))
                .map(|(x, y)| gray.get_pixel(2 + col * 26 + x, 2 + row * 26 + y)[0])
                .collect()
        };
        assert!(tile(7, 0).iter().all(|v| *v == 255));
        assert!(tile(0, 0).iter().any(|v| *v < 200));
    }
}
