//! Annotated photographs for `fer-pipeline predict --annotate`: each face's box and its most
//! probable label with that probability, drawn over the photograph and written as a PNG.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{de, PALETTE};
use super::error::ReportError;
use super::font::{self, FAMILY};
use super::text::CrispText;

/// One face to mark: its box in pixels (may reach past the image) and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    pub label: String,
}

/// Draws `marks` over `photo` and writes the PNG to `out` (whole or not at all).
pub fn annotate(photo: &RgbImage, marks: &[Mark], out: &Path) -> Result<(), ReportError> {
    font::register()?;
    let (w, h) = photo.dimensions();
    let fail = |message: String| ReportError::Chart { path: out.to_path_buf(), message };
    let mut buf = photo.as_raw().clone();
    {
        let backend = CrispText { inner: BitMapBackend::with_buffer(&mut buf, (w, h)) };
        let root = backend.into_drawing_area();
        // Line and text sizes follow the photograph's size, so they read at any resolution.
        let short = w.min(h) as f64;
        let stroke = ((short / 300.0).round() as u32).clamp(2, 8);
        let size = (short / 40.0).clamp(11.0, 40.0);
        for (i, m) in marks.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let (x0, y0) = (m.x, m.y);
            let (x1, y1) = (m.x + m.width as i32, m.y + m.height as i32);
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.stroke_width(stroke))).map_err(|e| fail(de(e)))?;
            let style = TextStyle::from((FAMILY, size).into_font()).color(&WHITE).pos(Pos::new(HPos::Left, VPos::Top));
            let (tw, th) = root.estimate_text_size(&m.label, &style).map_err(|e| fail(de(e)))?;
            let pad = (size / 5.0).round() as i32;
            // Above the box, or inside its top edge when there is no room above.
            let top = if y0 - th as i32 - 2 * pad >= 0 { y0 - th as i32 - 2 * pad } else { y0.max(0) };
            let left = x0.clamp(0, (w as i32 - tw as i32 - 2 * pad).max(0));
            root.draw(&Rectangle::new(
                [(left, top), (left + tw as i32 + 2 * pad, top + th as i32 + 2 * pad)],
                colour.filled(),
            ))
            .map_err(|e| fail(de(e)))?;
            root.draw(&Text::new(m.label.clone(), (left + pad, top + pad), style)).map_err(|e| fail(de(e)))?;
        }
        root.present().map_err(|e| fail(de(e)))?;
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png).write_image(&buf, w, h, ExtendedColorType::Rgb8).map_err(|e| fail(de(e)))?;
    fer_core::store::write_atomic(out, &png).map_err(|e| ReportError::write(out, std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_labels_are_drawn_and_the_rest_is_untouched() {
        let photo = RgbImage::from_pixel(400, 300, image::Rgb([200, 200, 200]));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.png");
        let marks = [
            Mark { x: 100, y: 120, width: 80, height: 80, label: "happy 0.91".into() },
            Mark { x: -10, y: -5, width: 60, height: 60, label: "sadness 0.40".into() },
        ];
        annotate(&photo, &marks, &out).unwrap();
        let img = image::open(&out).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (400, 300));
        let c = PALETTE[0];
        // The first box's left edge has the first colour; far from every mark the photo is as it was.
        assert_eq!(img.get_pixel(100, 160).0, [c.0, c.1, c.2]);
        assert_eq!(img.get_pixel(350, 280).0, [200, 200, 200]);
        // The label sits above the first box: white text on its colour.
        let label: Vec<[u8; 3]> =
            (100..180).flat_map(|x| (100..120).map(move |y| (x, y))).map(|(x, y)| img.get_pixel(x, y).0).collect();
        assert!(label.iter().any(|p| p.iter().all(|&v| v > 230)), "white text");
        assert!(label.contains(&[c.0, c.1, c.2]), "on the box's colour");
        // A folder that does not exist: an error naming the file, nothing written.
        let bad = dir.path().join("no/such/a.png");
        assert!(annotate(&photo, &marks, &bad).unwrap_err().to_string().contains("a.png"));
    }
}
