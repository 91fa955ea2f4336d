//! Image decoding to 8-bit grayscale and the deterministic resize / center-crop used by `prepare`.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{GrayImage, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};

/// How a non-square image becomes a square `size x size` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CropPolicy {
    /// Squash the whole image to the square (aspect ratio not kept).
    Resize,
    /// Crop the largest centred square, then resize it (aspect ratio kept; the default).
    #[default]
    CenterCrop,
}

impl CropPolicy {
    pub fn name(self) -> &'static str {
        match self {
            CropPolicy::Resize => "resize",
            CropPolicy::CenterCrop => "center-crop",
        }
    }
}

/// Decodes PNG, JPEG or TIFF bytes (format sniffed from the bytes, else taken from `path`'s extension)
/// and converts to 8-bit grayscale (ITU-R 601 luma for colour images). The error is a lowercase reason.
pub fn decode_gray(bytes: &[u8], path: &Path) -> Result<GrayImage, String> {
    if bytes.is_empty() {
        return Err("the file is empty".to_string());
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("failed to sniff the image format: {e}"))?;
    if reader.format().is_none() {
        match ImageFormat::from_path(path) {
            Ok(f) => reader.set_format(f),
            Err(_) => return Err("not a PNG, JPEG or TIFF image".to_string()),
        }
    }
    let img = reader.decode().map_err(|e| format!("corrupt or unsupported image: {e}"))?;
    if img.width() == 0 || img.height() == 0 {
        return Err(format!("the image is `{}x{}`", img.width(), img.height()));
    }
    Ok(img.to_luma8())
}

/// Resizes a grayscale image to `size x size` pixels (row-major bytes), squashing or centre-cropping first.
/// Uses a triangle (bilinear, support scaled with the factor) filter: deterministic, no ringing.
/// An image that already has the target size is returned unchanged.
pub fn resize(image: &GrayImage, size: u32, crop: CropPolicy) -> Vec<u8> {
    resize_image(image, size, crop).into_raw()
}

/// Like [`resize`], returning the image.
pub fn resize_image(image: &GrayImage, size: u32, crop: CropPolicy) -> GrayImage {
    let (w, h) = image.dimensions();
    let size = size.max(1);
    let cropped;
    let src = match crop {
        CropPolicy::CenterCrop if w != h => {
            let side = w.min(h);
            cropped = imageops::crop_imm(image, (w - side) / 2, (h - side) / 2, side, side).to_image();
            &cropped
        }
        _ => image,
    };
    if src.dimensions() == (size, size) {
        return src.clone();
    }
    imageops::resize(src, size, size, FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn gradient(w: u32, h: u32) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| Luma([((x * 7 + y * 13) % 256) as u8]))
    }

    #[test]
    fn resize_is_deterministic_and_sized() {
        let img = gradient(64, 40);
        for crop in [CropPolicy::Resize, CropPolicy::CenterCrop] {
            let a = resize(&img, 48, crop);
            assert_eq!(a.len(), 48 * 48);
            assert_eq!(a, resize(&img, 48, crop));
        }
        assert_ne!(resize(&img, 16, CropPolicy::Resize), resize(&img, 16, CropPolicy::CenterCrop));
        let sq = gradient(48, 48);
        assert_eq!(resize(&sq, 48, CropPolicy::CenterCrop), sq.as_raw().clone());
    }

    #[test]
    fn center_crop_takes_the_middle() {
        // Left and right thirds black, middle white: a centre crop of a 90x30 image is all white.
        let img = GrayImage::from_fn(90, 30, |x, _| Luma([if (30..60).contains(&x) { 255 } else { 0 }]));
        assert!(resize(&img, 10, CropPolicy::CenterCrop).iter().all(|&p| p == 255));
        assert!(resize(&img, 10, CropPolicy::Resize).contains(&0));
    }

    #[test]
    fn decode_rejects_garbage() {
        let err = decode_gray(b"not an image", Path::new("x.png")).unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
        assert_eq!(decode_gray(b"", Path::new("x.png")).unwrap_err(), "the file is empty");
    }
}
