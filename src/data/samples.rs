//! A PNG grid of sample images: one row per class, the first images of that class.

use std::path::Path;

use tch::Device;

use super::prepared::Prepared;

/// Images per row in the grid.
const PER_CLASS: usize = 8;

/// Writes the sample grid of a prepared data set.
pub fn write_samples(p: &Prepared, path: &Path) -> Result<(), String> {
    let size = p.images.size()[3] as u32;
    let n = p.len();
    let labels: Vec<i64> = Vec::try_from(p.labels.to_device(Device::Cpu)).map_err(|e: tch::TchError| e.to_string())?;
    let classes = p.classes().max(1);
    let pad = 2u32;
    let (w, h) = (PER_CLASS as u32 * (size + pad) + pad, classes as u32 * (size + pad) + pad);
    let mut img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    for c in 0..classes {
        let picks: Vec<usize> = (0..n).filter(|&i| labels[i] == c as i64).take(PER_CLASS).collect();
        for (col, &i) in picks.iter().enumerate() {
            let pix: Vec<u8> =
                Vec::try_from(p.images.get(i as i64).flatten(0, -1)).map_err(|e: tch::TchError| e.to_string())?;
            let (x0, y0) = (pad + col as u32 * (size + pad), pad + c as u32 * (size + pad));
            for y in 0..size {
                for x in 0..size {
                    img.put_pixel(x0 + x, y0 + y, image::Luma([pix[(y * size + x) as usize]]));
                }
            }
        }
    }
    img.save_with_format(path, image::ImageFormat::Png).map_err(|e| e.to_string())
}
