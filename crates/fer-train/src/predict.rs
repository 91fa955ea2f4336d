//! Classifying the faces of any photograph (`fer-pipeline predict`): the faces are found by the
//! project's one face detector (`fer_core::data::face`, the one the `detect` crop policy of
//! `prepare` uses), framed as the model saw faces in training, and classified.
//!
//! Framing: a released MicroExpNet gets its authors' recipe (`exampleUsage.py`: the detector's
//! box, resized to 256 x 256, the centre 224 x 224 window, resized to 84; bilinear as OpenCV's
//! `INTER_LINEAR`, whole grey levels; the authors convert to grey last, we first). A model trained
//! here gets its data set's framing (`prepare`): the square around the box with the data set's
//! margin (0.1 for data sets that are not cropped, such as the synthetic one), resized to the
//! prepared side with the same filter.

use image::GrayImage;
use tch::{Device, Kind, Tensor};

use crate::models::{crops, Model};
use crate::released::microexpnet::{self as released, ImportError, Released};
use fer_core::data::crop::{self, DEFAULT_MARGIN};
use fer_core::data::decode::resize_square;
use fer_core::data::face::{self, FaceBox};
use fer_core::plan::PrepareSpec;
use fer_core::spec::DatasetSpec;

/// How a face box becomes the model's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Framing {
    /// MicroExpNet's published test-time recipe (see the module's text).
    Authors,
    /// The square around the box with `margin` on every side, resized to `side`.
    Square { margin: f64, side: u32 },
}

/// A model ready to classify faces, with its labels and framing.
pub struct Predictor {
    /// What the model is, for people (`released:microexpnet-ck`, `train/<hash16> (...)`).
    pub name: String,
    pub model: Model,
    /// One label per output.
    pub labels: Vec<String>,
    pub framing: Framing,
}

/// One face and the model's class probabilities for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FacePrediction {
    pub face: FaceBox,
    /// Softmax of the logits, one per label.
    pub probabilities: Vec<f32>,
}

impl FacePrediction {
    /// The most probable label's index and probability.
    pub fn best(&self) -> (usize, f32) {
        self.probabilities
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |(bi, bp), (i, &p)| if p > bp { (i, p) } else { (bi, bp) })
    }
}

impl Predictor {
    /// A released model (`microexpnet-ck`, `microexpnet-oulu-casia`).
    pub fn released(r: &Released, device: Device) -> Result<Predictor, ImportError> {
        Ok(Predictor {
            name: format!("released:{}", r.name),
            model: r.model(device)?,
            labels: released::LABELS.iter().map(|s| s.to_string()).collect(),
            framing: Framing::Authors,
        })
    }

    /// A MicroExpNet trained with the authors' code, from its TensorFlow checkpoint `prefix`.
    pub fn tf_checkpoint(prefix: &std::path::Path, device: Device) -> Result<Predictor, ImportError> {
        let model = released::import_prefix(prefix, device)?;
        let labels = match model.classes as usize {
            8 => released::LABELS.iter().map(|s| s.to_string()).collect(),
            n => (0..n).map(|i| format!("class{i}")).collect(),
        };
        Ok(Predictor { name: format!("tf:{}", prefix.display()), model, labels, framing: Framing::Authors })
    }

    /// A model trained here on the data that `prepare` describes.
    pub fn trained(name: String, model: Model, prepare: &PrepareSpec) -> Predictor {
        let labels = match &prepare.dataset {
            DatasetSpec::Synthetic(_) => {
                fer_core::data::synthetic::CLASS_NAMES[..model.classes as usize].iter().map(|s| s.to_string()).collect()
            }
            DatasetSpec::Real(r) => r.class_names.clone(),
        };
        let margin = match &prepare.dataset {
            DatasetSpec::Real(r) if r.manifest.crop().policy.finds_faces() => r.manifest.crop().margin,
            _ => DEFAULT_MARGIN,
        };
        Predictor { name, model, labels, framing: Framing::Square { margin, side: prepare.size } }
    }

    /// Every face of at least `min_face` px in `image` (largest first) with its probabilities.
    pub fn predict(&self, image: &GrayImage, min_face: u32) -> Vec<FacePrediction> {
        let faces = face::detect(image, min_face);
        if faces.is_empty() {
            return Vec::new();
        }
        let x = Tensor::cat(&faces.iter().map(|f| self.frame(image, f)).collect::<Vec<_>>(), 0);
        let x = self.model.preprocess(&x);
        let p = self.model.logits(&x, 64).softmax(1, Kind::Float).to_device(Device::Cpu);
        faces
            .into_iter()
            .enumerate()
            .map(|(i, face)| FacePrediction {
                face,
                probabilities: Vec::<f32>::try_from(p.get(i as i64)).unwrap_or_default(),
            })
            .collect()
    }

    /// The model's view of `f` in `image`: 1 x 1 x S x S grey levels (as floats).
    pub fn frame(&self, image: &GrayImage, f: &FaceBox) -> Tensor {
        let (w, h) = image.dimensions();
        match self.framing {
            Framing::Authors => {
                // `img[q:q+s, p:p+r]`: the box, clipped to the image (numpy slicing clips too).
                let (x0, y0) = (f.x.clamp(0, w as i32 - 1) as u32, f.y.clamp(0, h as i32 - 1) as u32);
                let x1 = (f.x.saturating_add(f.width as i32)).clamp(x0 as i32 + 1, w as i32) as u32;
                let y1 = (f.y.saturating_add(f.height as i32)).clamp(y0 as i32 + 1, h as i32) as u32;
                let cut = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
                let t = gray_tensor(&cut);
                // cv2.resize(img, (256, 256)): bilinear, no antialiasing, rounded to uint8.
                let face = (t.upsample_bilinear2d([crops::FACE, crops::FACE], false, None, None) + 0.5).floor();
                crops::test_crop(&face, crate::models::MicroExpNet::INPUT)
            }
            Framing::Square { margin, side } => {
                let (x0, y0) = (f.x as f64, f.y as f64);
                let sq = crop::square_around(x0, y0, x0 + f.width as f64, y0 + f.height as f64, margin, w, h);
                gray_tensor(&resize_square(crop::cut(image.clone(), Some(sq)), side))
            }
        }
    }
}

/// A grey image as a 1 x 1 x H x W float tensor of grey levels.
fn gray_tensor(img: &GrayImage) -> Tensor {
    let (w, h) = img.dimensions();
    Tensor::from_slice(img.as_raw()).reshape([1, 1, h as i64, w as i64]).to_kind(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(path: &str) -> GrayImage {
        image::open(path).unwrap_or_else(|e| panic!("{path}: {e}")).to_luma8()
    }

    const ASTRONAUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/photos/astronaut.jpg");

    #[test]
    fn the_released_model_finds_and_classifies_the_astronauts_face() {
        let p = Predictor::released(released::find("ck").unwrap(), Device::Cpu).unwrap();
        let faces = p.predict(&photo(ASTRONAUT), face::MIN_FACE);
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        // The face is in the upper middle of the 512 x 512 photograph.
        assert!((150..260).contains(&f.face.x) && (20..120).contains(&f.face.y), "{:?}", f.face);
        let sum: f32 = f.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4 && f.probabilities.len() == 8, "{:?}", f.probabilities);
        // Deterministic.
        assert_eq!(faces, p.predict(&photo(ASTRONAUT), face::MIN_FACE));
    }

    #[test]
    fn every_face_of_the_group_photograph_gets_probabilities() {
        let p = Predictor::released(released::find("oulu-casia").unwrap(), Device::Cpu).unwrap();
        let faces = p.predict(&photo(face::test_photograph_path()), face::MIN_FACE);
        assert_eq!(faces.len(), 29);
        assert!(faces.iter().all(|f| f.probabilities.len() == 8 && f.best().1 > 1.0 / 8.0));
        // A photograph without a face: none.
        assert!(p.predict(&GrayImage::from_pixel(300, 200, image::Luma([90])), face::MIN_FACE).is_empty());
    }

    /// The authors' `exampleUsage.py` recipe run by `scripts/microexpnet-example-usage.py` (OpenCV
    /// and TensorFlow) on the astronaut, for the Haar cascade's box and ours: our framing of the same
    /// box gives the same most probable class and probabilities within 0.05 (OpenCV decodes the
    /// JPEG with libjpeg-turbo, we with the `image` crate; they resize the colour image and convert
    /// to grey last with fixed-point bilinear weights, we convert first: grey levels differ by up
    /// to 2, and the CK+ model is sensitive to them on this photograph).
    #[test]
    fn the_authors_recipe_gives_what_their_example_script_gives() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../released/microexpnet/golden/");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}astronaut-example-usage.json")).unwrap())
                .unwrap();
        let img = photo(ASTRONAUT);
        let faces = doc["faces"].as_array().unwrap();
        assert_eq!(faces.len(), 2, "the Haar box and ours");
        for name in ["microexpnet-ck", "microexpnet-oulu-casia"] {
            let p = Predictor::released(released::find(name).unwrap(), Device::Cpu).unwrap();
            for face in faces {
                let b: Vec<i64> = face["box"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
                let f = FaceBox { x: b[0] as i32, y: b[1] as i32, width: b[2] as u32, height: b[3] as u32, score: 0.0 };
                let x = p.model.preprocess(&p.frame(&img, &f));
                let ours = Vec::<f32>::try_from(p.model.logits(&x, 1).softmax(1, Kind::Float).get(0)).unwrap();
                let theirs: Vec<f64> =
                    face["probabilities"][name].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                let worst = ours.iter().zip(&theirs).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
                eprintln!("{name} {b:?}: worst difference {worst:.4} (ours {ours:?})");
                let argmax = |v: &[f64]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j])).unwrap();
                let ours64: Vec<f64> = ours.iter().map(|&v| v as f64).collect();
                assert_eq!(argmax(&ours64), argmax(&theirs), "{name} {b:?}: ours {ours:?}, theirs {theirs:?}");
                assert!(worst < 0.05, "{name} {b:?}: ours {ours:?}, theirs {theirs:?}");
            }
        }
    }

    #[test]
    fn the_authors_framing_is_their_recipe() {
        // A box whose crop is 128 px: resized to 256 (x2), its centre 224 window, resized to 84.
        let img = GrayImage::from_fn(300, 300, |x, y| image::Luma([((x * 3 + y * 5) % 251) as u8]));
        let p = Predictor::released(released::find("ck").unwrap(), Device::Cpu).unwrap();
        let f = FaceBox { x: 40, y: 60, width: 128, height: 128, score: 9.0 };
        let ours = p.frame(&img, &f);
        assert_eq!(ours.size(), [1, 1, 84, 84]);
        let cut = gray_tensor(&image::imageops::crop_imm(&img, 40, 60, 128, 128).to_image());
        let face = (cut.upsample_bilinear2d([256, 256], false, None, None) + 0.5).floor();
        let want = crops::test_crop(&face, 84);
        assert!(ours.equal(&want));
        // A box reaching past the image is clipped, as numpy slicing clips.
        let edge = FaceBox { x: -20, y: 250, width: 100, height: 100, score: 9.0 };
        assert_eq!(p.frame(&img, &edge).size(), [1, 1, 84, 84]);
    }
}
