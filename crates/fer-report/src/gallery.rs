//! Images copied from the store beside the page: sample grids of the prepared data sets and the
//! PNGs other job kinds list (occlusion saliency maps per emotion, STN warps, ...).

use std::path::Path;

use super::charts::slug;
use super::collect::{Collection, Missing, StoreImage};
use super::error::ReportError;
use super::published::Published;

/// An image of the page, its path relative to the report folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GalleryImage {
    /// Heading it is shown under (a job kind, or the data set).
    pub group: String,
    pub src: String,
    pub caption: String,
    pub width: u32,
    pub height: u32,
    /// `<kind>/<hash16>` of the entry it comes from.
    pub id: String,
}

/// What was copied, and what could not be (unreadable or not a PNG: left out of the page).
#[derive(Debug, Clone, Default)]
pub(crate) struct Gallery {
    pub samples: Vec<GalleryImage>,
    pub images: Vec<GalleryImage>,
    pub skipped: Vec<Missing>,
}

/// The caption of a sample grid, with the data set's counts and anything its loader skipped.
fn sample_caption(shown: &str, s: &crate::collect::SampleGrid) -> String {
    let mut c = format!("Sample grid of {shown} at {} px, one row per class", s.size);
    if let Some(sum) = &s.summary {
        c.push_str(&format!("; {} images; {}", sum.images, sum.protocol));
        let skipped: Vec<String> =
            sum.skipped.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {n}")).collect();
        if !skipped.is_empty() {
            c.push_str(&format!("; skipped: {}", skipped.join(", ")));
        }
        if let Some(f) = &sum.faces {
            c.push_str(&format!("; crop: {}", f.policy));
        }
        if sum.no_face_count() > 0 {
            c.push_str(&format!("; no face found in {} (listed in the prepare log)", sum.no_face_count()));
        }
    }
    c
}

/// Copies the images into `<out_dir>/images/`.
pub(crate) fn copy(col: &Collection, published: &Published, out_dir: &Path) -> Result<Gallery, ReportError> {
    let dir = out_dir.join("images");
    std::fs::create_dir_all(&dir).map_err(|e| ReportError::write(&dir, e))?;
    let mut g = Gallery::default();
    for s in &col.samples {
        let name = format!("samples-{}-{}px.png", slug(&s.dataset), s.size);
        let shown = published.dataset_name(&s.dataset);
        let id = format!("prepare/{}", s.hash.short());
        match place(&s.path, &dir.join(&name)) {
            Ok((width, height)) => g.samples.push(GalleryImage {
                group: shown.to_string(),
                src: format!("images/{name}"),
                caption: sample_caption(shown, s),
                width,
                height,
                id,
            }),
            Err(why) => g.skipped.push(Missing { id, what: format!("sample grid of {shown}"), why }),
        }
    }
    for im in &col.images {
        let id = format!("{}/{}", im.kind.name(), im.hash.short());
        let name = format!("{}-{}-{}", im.kind.name(), im.hash.short(), slug(im.name.trim_end_matches(".png")));
        let name = format!("{name}.png");
        match place(&im.path, &dir.join(&name)) {
            Ok((width, height)) => g.images.push(GalleryImage {
                group: im.kind.name().to_string(),
                src: format!("images/{name}"),
                caption: format!("{}: {}{}", describe_image(&im.name), im.label.describe(), class_order(col, im)),
                width,
                height,
                id,
            }),
            Err(why) => g.skipped.push(Missing { id, what: im.name.clone(), why }),
        }
    }
    Ok(g)
}

/// What a store image shows, from its file name (known names of the saliency job; otherwise the
/// name itself).
pub(crate) fn describe_image(name: &str) -> String {
    match name {
        "saliency.png" => "Occlusion saliency per emotion (mean face with the regions whose occlusion changes the \
                           prediction)"
            .into(),
        "stn.png" => "STN warp: test faces (top row) and the spatial transformer's warp of them (bottom row)".into(),
        other => other.trim_end_matches(".png").replace(['-', '_'], " "),
    }
}

/// `; columns: angry, disgust, ...` for per-emotion maps whose model has an evaluation in the
/// report (its class names, in label order).
fn class_order(col: &Collection, im: &StoreImage) -> String {
    if im.name != "saliency.png" {
        return String::new();
    }
    let Some(e) = im.weights.and_then(|w| col.evaluations.iter().find(|e| e.weights == w)) else {
        return String::new();
    };
    let names: Vec<&str> = e.result.test.per_class.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("; columns: {}", names.join(", "))
    }
}

/// Checks that `from` is a readable PNG and copies it; returns its size.
fn place(from: &Path, to: &Path) -> Result<(u32, u32), String> {
    let dims = image::ImageReader::open(from)
        .map_err(|e| format!("`{}` is unreadable: {e}", from.display()))?
        .with_guessed_format()
        .map_err(|e| format!("`{}` is unreadable: {e}", from.display()))?
        .into_dimensions()
        .map_err(|e| format!("`{}` is not a readable image: {e}", from.display()))?;
    std::fs::copy(from, to).map_err(|e| format!("failed to copy `{}`: {e}", from.display()))?;
    Ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_become_captions() {
        assert!(describe_image("saliency.png").starts_with("Occlusion saliency"));
        assert!(describe_image("stn.png").starts_with("STN warp"));
        assert_eq!(describe_image("occlusion-happy.png"), "occlusion happy");
    }
}
