//! Face crops before training: real-layout CK+ (with landmarks) and JAFFE copies, built from faces
//! of the `rustface` package's test photograph, prepare with the face cut out, and images without
//! a face are counted, listed and centre-cropped or skipped.

use super::*;

use fer_core::data::crop::square_around;
use fer_core::data::face;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};

/// The models' input size used here (Deep-Emotion).
const SIZE: u32 = 48;

/// Faces of the test photograph, `(x, y, side)`, as the detector finds them there.
const FACES: [(u32, u32, u32); 4] = [(659, 257, 64), (283, 257, 64), (1163, 249, 62), (866, 251, 60)];

fn photo() -> &'static GrayImage {
    static PHOTO: std::sync::OnceLock<GrayImage> = std::sync::OnceLock::new();
    PHOTO.get_or_init(|| image::open(face::test_photograph_path()).expect("rustface ships test.png").to_luma8())
}

/// The square of the photograph around face `i`, 1.6 times as wide as the face, resized to `to` px.
fn face_patch(i: usize, to: u32) -> GrayImage {
    let (x, y, side) = FACES[i % FACES.len()];
    let s = side * 8 / 5;
    let region = imageops::crop_imm(photo(), x + side / 2 - s / 2, y + side / 2 - s / 2, s, s).to_image();
    imageops::resize(&region, to, to, FilterType::Triangle)
}

/// A `w x h` frame: a soft gradient (no face), with face `face` pasted at `at` as a `to` px patch.
fn frame(w: u32, h: u32, face: Option<(usize, u32, (u32, u32))>) -> GrayImage {
    let mut f = GrayImage::from_fn(w, h, |x, y| Luma([(180 + (x + 2 * y) % 60) as u8]));
    if let Some((i, to, at)) = face {
        imageops::replace(&mut f, &face_patch(i, to), at.0 as i64, at.1 as i64);
    }
    f
}

/// What the pipeline should have made of `img`: the square `(x, y, side)` cut and resized.
fn expected_tile(img: &GrayImage, (x, y, side): (u32, u32, u32)) -> GrayImage {
    imageops::resize(&imageops::crop_imm(img, x, y, side, side).to_image(), SIZE, SIZE, FilterType::Triangle)
}

/// The square the detector's largest face gives in `img` (margin 0.1), checked to lie inside the
/// pasted patch `(at, to)`: the face was found where it was put.
fn face_square(img: &GrayImage, at: (u32, u32), to: u32) -> (u32, u32, u32) {
    let f = face::largest(img).expect("the pasted face is found");
    let (x0, y0) = (f.x as f64, f.y as f64);
    let sq = square_around(x0, y0, x0 + f.width as f64, y0 + f.height as f64, 0.1, img.width(), img.height());
    assert!(
        sq.x >= at.0 && sq.y >= at.1 && sq.x + sq.side <= at.0 + to && sq.y + sq.side <= at.1 + to,
        "the face square {sq:?} is not inside the face pasted at {at:?} ({to} px)"
    );
    (sq.x, sq.y, sq.side)
}

/// The tile of `row`, `col` in a sample grid (`SIZE` px tiles, 2 px gaps).
fn tile(grid: &GrayImage, row: u32, col: u32) -> GrayImage {
    imageops::crop_imm(grid, 2 + col * (SIZE + 2), 2 + row * (SIZE + 2), SIZE, SIZE).to_image()
}

/// A data set folder, its manifest copy (with `edit` applied) and a one-model pipeline in a temp dir.
struct Copy {
    dir: tempfile::TempDir,
    name: &'static str,
}

impl Copy {
    fn new(name: &'static str, edit: &dyn Fn(String) -> String) -> Copy {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = fs::read_to_string(repo.join(format!("data-manifests/{name}.yaml"))).unwrap();
        fs::create_dir_all(dir.path().join("manifests")).unwrap();
        fs::write(dir.path().join(format!("manifests/{name}.yaml")), edit(manifest.replace("folds: 10", "folds: 3")))
            .unwrap();
        fs::write(
            dir.path().join("pipeline.yaml"),
            format!(
                "version: 1\nname: crops\nseeds: [1]\nsaliency: {{enabled: false}}\n\
                 datasets:\n  {name}: {{kind: {name}, manifest: manifests/{name}.yaml}}\n\
                 models:\n  de: {{arch: deep-emotion, datasets: {name}, epochs: 1}}\n"
            ),
        )
        .unwrap();
        Copy { dir, name }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data").join(self.name)
    }

    fn save(&self, rel: &str, img: &GrayImage) {
        let p = self.data().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        img.save(&p).unwrap();
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.data().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// Runs `data prepare`, returning the prepare entry, its summary and its sample grid.
    fn prepare(&self) -> (PathBuf, serde_json::Value, GrayImage) {
        let out = bin()
            .env("FER_DATA_DIR", self.dir.path().join("data"))
            .arg("--store")
            .arg(self.dir.path().join("store"))
            .args(["data", "prepare"])
            .arg(self.dir.path().join("pipeline.yaml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let entry = entries(&self.dir.path().join("store"), "prepare")
            .into_iter()
            .filter(|e| e.join("done").exists())
            .max_by_key(|e| fs::metadata(e.join("done")).unwrap().modified().unwrap())
            .expect("a finished prepare entry");
        let summary = serde_json::from_str(&fs::read_to_string(entry.join("summary.json")).unwrap()).unwrap();
        let grid = image::open(entry.join("samples.png")).unwrap().to_luma8();
        (entry, summary, grid)
    }
}

/// `v` as CK+ writes it: `2.5843428e+02`.
fn sci(v: f64) -> String {
    let s = format!("{v:.7e}");
    let (m, e) = s.split_once('e').unwrap();
    let e: i32 = e.parse().unwrap();
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// A CK+ landmarks file: 68 points on the outline and inside of the box `(x0, y0)-(x1, y1)`.
fn landmarks(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    (0..68)
        .map(|i| {
            let t = i as f64 / 67.0;
            let (x, y) = match i % 4 {
                0 => (x0 + t * (x1 - x0), y0),
                1 => (x1, y0 + t * (y1 - y0)),
                2 => (x1 - t * (x1 - x0), y1),
                _ => (x0 + 0.5 * (x1 - x0), y0 + t * (y1 - y0)),
            };
            format!("   {}   {}\n", sci(x), sci(y))
        })
        .collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

fn row_of(summary: &serde_json::Value, class: &str) -> u32 {
    names(&summary["class_names"]).iter().position(|c| c == class).unwrap() as u32
}

/// CK+ in its real layout (640x490 frames, emotion files, per-frame landmarks): frames with
/// landmarks are cut around them (exactly), frames without fall back to the detected face, frames
/// without either are centre-cropped, counted and listed; `no_face: skip` leaves them out.
#[test]
fn ckplus_with_landmarks_prepares_with_face_crops() {
    // Three subjects (two once faceless frames are skipped) are too few for subject-independent
    // folds with a validation subject: this test is about crops, so it uses the random split.
    let ck = Copy::new("ckplus", &|m| {
        m.replace("  kind: subject-kfold\n  folds: 3\n  seed: 0\n  val: 0.1\n", "  kind: random\n  seed: 0\n")
    });
    let mut frames: Vec<(String, GrayImage)> = Vec::new();
    // S005/001: 4 frames, disgust (3); every frame has landmarks around a box away from the face.
    for f in 1..=4u32 {
        let img = frame(640, 490, Some((0, 230, (40, 100))));
        let name = format!("S005_001_{f:08}");
        ck.save(&format!("cohn-kanade-images/S005/001/{name}.png"), &img);
        let (x0, y0) = (300.0 + 10.0 * f as f64, 150.0);
        ck.write(&format!("Landmarks/S005/001/{name}_landmarks.txt"), &landmarks(x0, y0, x0 + 120.0, y0 + 100.0));
        frames.push((name, img));
    }
    ck.write("Emotion/S005/001/S005_001_00000004_emotion.txt", "   3.0000000e+00\n");
    // S010/002: 3 frames, happy (5), no landmarks: the detected face.
    for f in 1..=3u32 {
        let img = frame(640, 490, Some((f as usize, 250, (60 + 80 * f, 90 + 20 * f))));
        ck.save(&format!("cohn-kanade-images/S010/002/S010_002_{f:08}.png"), &img);
    }
    ck.write("Emotion/S010/002/S010_002_00000003_emotion.txt", "   5.0000000e+00\n");
    // S011/001: 3 frames, surprise (7), no landmarks and no face.
    for f in 1..=3u32 {
        ck.save(&format!("cohn-kanade-images/S011/001/S011_001_{f:08}.png"), &frame(640, 490, None));
    }
    ck.write("Emotion/S011/001/S011_001_00000003_emotion.txt", "   7.0000000e+00\n");
    // Landmarks of another sequence's frame, and a landmarks file for a frame not used, change nothing.
    ck.write("Landmarks/S011/001/README.txt", "not landmarks\n");

    let (entry, summary, grid) = ck.prepare();
    // 1 neutral + 3 disgust from S005, 3 happy, 3 surprise.
    assert_eq!(summary["images"], 10, "{summary}");
    assert_eq!(summary["faces"]["counts"], serde_json::json!({"landmarks": 4, "face": 3, "no-face": 3}), "{summary}");
    let no_face: Vec<String> =
        (1..=3).map(|f| format!("cohn-kanade-images/S011/001/S011_001_{f:08}.png: centre-cropped")).collect();
    assert_eq!(names(&summary["faces"]["no_face"]), no_face);
    assert!(
        summary["faces"]["policy"].as_str().unwrap().starts_with("landmarks, else detected face, margin 0.1"),
        "{summary}"
    );
    let log = fs::read_to_string(entry.join("log.txt")).unwrap();
    assert!(log.contains("no face found in 3 image(s)"), "{log}");
    for l in &no_face {
        assert!(log.contains(&format!("no face: {l}")), "{log}");
    }

    // Landmarks: the box (x0..x0+120, 150..250) -> side round(120 * 1.2) = 144 around its centre.
    let landmark_tile = |f: u32| {
        let cx = 300.0 + 10.0 * f as f64 + 60.0;
        expected_tile(&frames[f as usize - 1].1, ((cx - 72.0).round() as u32, 200 - 72, 144))
    };
    let neutral = row_of(&summary, "neutral");
    assert_eq!(tile(&grid, neutral, 0), landmark_tile(1), "the neutral frame, cut around its landmarks");
    let disgust = row_of(&summary, "disgust");
    for (col, f) in [2u32, 3, 4].iter().enumerate() {
        assert_eq!(tile(&grid, disgust, col as u32), landmark_tile(*f), "disgust frame {f}, cut around its landmarks");
    }
    // No landmarks: the detected face, which is where the face was pasted.
    let happy = row_of(&summary, "happy");
    for f in 1..=3u32 {
        let at = (60 + 80 * f, 90 + 20 * f);
        let img = frame(640, 490, Some((f as usize, 250, at)));
        assert_eq!(tile(&grid, happy, f - 1), expected_tile(&img, face_square(&img, at, 250)), "happy frame {f}");
    }
    // No face: the centre square (75..565 x 0..490).
    let surprise = row_of(&summary, "surprise");
    assert_eq!(tile(&grid, surprise, 0), expected_tile(&frame(640, 490, None), (75, 0, 490)));

    // `no_face: skip` leaves them out: a new prepare entry (the setting is hashed).
    let m = ck.dir.path().join("manifests/ckplus.yaml");
    fs::write(&m, fs::read_to_string(&m).unwrap().replace("no_face: center", "no_face: skip")).unwrap();
    let (entry2, summary, _) = ck.prepare();
    assert_ne!(entry2, entry);
    assert_eq!(summary["images"], 7, "{summary}");
    assert_eq!(summary["skipped"]["noface"], 3, "{summary}");
    assert_eq!(summary["faces"]["counts"], serde_json::json!({"landmarks": 4, "face": 3}), "{summary}");
    assert!(names(&summary["faces"]["no_face"]).iter().all(|l| l.ends_with(": skipped")), "{summary}");
}

/// JAFFE (256x256 TIFFs): each image is cut around its largest face; an image without a face is
/// centre-cropped, counted and listed. With `crop: center` the whole frame is used instead.
#[test]
fn jaffe_prepares_with_face_crops() {
    let jaffe = Copy::new("jaffe", &|m| m);
    let mut made: Vec<(String, (u32, u32), GrayImage)> = Vec::new();
    for (s, subj) in ["KA", "KL", "YM"].iter().enumerate() {
        for (e, ex) in ["AN", "HA"].iter().enumerate() {
            let i = s * 2 + e;
            let at = (20 + 12 * i as u32, 30 + 8 * i as u32);
            // A smaller second face: the largest is taken.
            let mut img = frame(256, 256, Some((i, 140, at)));
            if i == 0 {
                imageops::replace(&mut img, &face_patch(3, 100), 154, 154);
            }
            let name = format!("{subj}.{ex}1.{i}.tiff");
            jaffe.save(&name, &img);
            made.push((name, at, img));
        }
    }
    let blank = frame(256, 256, None);
    jaffe.save("YM.NE1.9.tiff", &blank);
    jaffe.write("README", "JAFFE\n");

    let (entry, summary, grid) = jaffe.prepare();
    assert_eq!(summary["images"], 7, "{summary}");
    assert_eq!(summary["faces"]["counts"], serde_json::json!({"face": 6, "no-face": 1}), "{summary}");
    assert_eq!(names(&summary["faces"]["no_face"]), ["YM.NE1.9.tiff: centre-cropped"]);
    let log = fs::read_to_string(entry.join("log.txt")).unwrap();
    assert!(log.contains("no face found in 1 image(s)") && log.contains("no face: YM.NE1.9.tiff"), "{log}");
    // Row `angry`: KA, KL, YM (AN); row `happy`: the same subjects (HA); in file name order.
    for (class, e) in [("angry", 0usize), ("happy", 1)] {
        for s in 0..3usize {
            let (name, at, img) = &made[s * 2 + e];
            let want = expected_tile(img, face_square(img, *at, 140));
            assert_eq!(tile(&grid, row_of(&summary, class), s as u32), want, "{name}");
        }
    }
    // The image without a face: its centre square, i.e. the whole 256x256 frame.
    assert_eq!(tile(&grid, row_of(&summary, "neutral"), 0), expected_tile(&blank, (0, 0, 256)));

    // The report shows the crop and the count under the data set's sample grid.
    let reports = jaffe.dir.path().join("reports");
    let out = bin()
        .env("FER_DATA_DIR", jaffe.dir.path().join("data"))
        .arg("--store")
        .arg(jaffe.dir.path().join("store"))
        .arg("run")
        .arg(jaffe.dir.path().join("pipeline.yaml"))
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("crop: detected face, margin 0.1, no face: center; no face found in 1"), "{html}");

    // `crop: center`: the whole (square) frame, background and all; no face is looked for.
    let m = jaffe.dir.path().join("manifests/jaffe.yaml");
    fs::write(&m, fs::read_to_string(&m).unwrap().replace("crop: detect", "crop: center")).unwrap();
    let (_, summary, grid) = jaffe.prepare();
    assert_eq!(summary["faces"]["counts"], serde_json::json!({"center": 7}), "{summary}");
    assert_eq!(summary["faces"]["no_face"], serde_json::json!([]), "{summary}");
    let (name, _, img) = &made[0];
    assert_eq!(tile(&grid, row_of(&summary, "angry"), 0), expected_tile(img, (0, 0, 256)), "{name}");
}

/// The manifest's crop settings are checked: `landmarks` is CK+'s, the margin is a fraction.
#[test]
fn bad_crop_settings_are_refused_with_their_line() {
    for (from, to, says) in [
        ("crop: detect", "crop: landmarks", "`landmarks` needs CK+'s `Landmarks/` folder"),
        ("margin: 0.1", "margin: 2", "`2` is out of range"),
        ("crop: detect", "crop: faces", "unknown variant `faces`"),
    ] {
        let jaffe = Copy::new("jaffe", &|m| m.replace(from, to));
        jaffe.save("KA.AN1.0.tiff", &frame(256, 256, None));
        let out = bin()
            .env("FER_DATA_DIR", jaffe.dir.path().join("data"))
            .arg("--store")
            .arg(jaffe.dir.path().join("store"))
            .arg("plan")
            .arg(jaffe.dir.path().join("pipeline.yaml"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{to}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains("jaffe.yaml") && t.contains("line ") && t.contains(says), "{to}: {t}");
        assert!(!jaffe.dir.path().join("store/prepare").exists(), "{to}: nothing is written");
    }
}
