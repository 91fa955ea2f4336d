//! Image decoding to 8-bit grayscale and the deterministic resize to a square used by `prepare`.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{GrayImage, ImageFormat, ImageReader};

/// The crop policy lives with the other crop settings; re-exported here where it used to be.
pub use super::crop::CropPolicy;

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

/// Resizes a grayscale image to `size x size` pixels (squashed when it is not square; crop it
/// first, see [`super::crop`]). Uses a triangle (bilinear, support scaled with the factor) filter:
/// deterministic, no ringing. An image that already has the target size is returned unchanged.
pub fn resize_square(image: GrayImage, size: u32) -> GrayImage {
    let size = size.max(1);
    if image.dimensions() == (size, size) {
        return image;
    }
    imageops::resize(&image, size, size, FilterType::Triangle)
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
        let a = resize_square(img.clone(), 48);
        assert_eq!(a.dimensions(), (48, 48));
        assert_eq!(a, resize_square(img, 48));
        let sq = gradient(48, 48);
        assert_eq!(resize_square(sq.clone(), 48), sq);
    }

    #[test]
    fn center_crop_takes_the_middle() {
        // Left and right thirds black, middle white: a centre crop of a 90x30 image is all white.
        let img = GrayImage::from_fn(90, 30, |x, _| Luma([if (30..60).contains(&x) { 255 } else { 0 }]));
        let sq = crate::data::crop::center_square(90, 30);
        let centre = resize_square(crate::data::crop::cut(img.clone(), Some(sq)), 10);
        assert!(centre.iter().all(|&p| p == 255));
        assert!(resize_square(img, 10).contains(&0));
    }

    #[test]
    fn decode_rejects_garbage() {
        let err = decode_gray(b"not an image", Path::new("x.png")).unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
        assert_eq!(decode_gray(b"", Path::new("x.png")).unwrap_err(), "the file is empty");
    }
}
