//! Loader tests on tiny data sets written in each real layout (real PNG/JPEG/TIFF files, real CSVs).

use std::fs;
use std::path::Path;

use super::*;
use crate::data::crop::{Crop, CropPolicy};
use crate::data::error::DataError;
use crate::data::testdata::*;

fn opts() -> LoadOptions {
    LoadOptions::default()
}

fn skip_bad() -> LoadOptions {
    LoadOptions { skip_bad: true, ..LoadOptions::default() }
}

fn err_text(r: Result<Loaded, DataError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn labels(l: &Loaded) -> Vec<&str> {
    l.items.iter().map(|i| l.class_names[i.label].as_str()).collect()
}

fn sources(l: &Loaded) -> Vec<&str> {
    l.items.iter().map(|i| i.source.as_str()).collect()
}

/// Truncates a valid file to half its length.
fn truncate(path: &Path) {
    let b = fs::read(path).unwrap();
    fs::write(path, &b[..b.len() / 2]).unwrap();
}

// ---------------------------------------------------------------- absent

#[test]
fn absent_root_is_a_distinct_error() {
    let dir = tempfile::tempdir().unwrap();
    for kind in LoaderKind::ALL {
        let root = dir.path().join(kind.name());
        let e = load(kind, &root, &opts()).unwrap_err();
        assert!(e.is_absent(), "{kind}: {e}");
        match &e {
            DataError::Absent { name, expected_path, .. } => {
                assert_eq!(name, kind.name());
                assert_eq!(expected_path, &root);
            }
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("failed to find data set"), "{e}");
        fs::create_dir_all(root.join(".hidden")).unwrap();
        assert!(load(kind, &root, &opts()).unwrap_err().is_absent(), "an empty folder is absent too");
    }
    assert_eq!("oulu-casia".parse::<LoaderKind>().unwrap(), LoaderKind::OuluCasia);
    assert!("ck".parse::<LoaderKind>().unwrap_err().to_string().contains("failed to parse loader `ck`"));
}

// ---------------------------------------------------------------- FER2013

#[test]
fn fer2013_classic_csv() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [(0, "Training"), (3, "Training"), (6, "PublicTest"), (5, "PrivateTest")];
    write_file(&dir.path().join("fer2013.csv"), fer_csv(&rows));
    // A later file in the preference order is not read.
    write_file(&dir.path().join("train.csv"), "emotion,pixels\n9,1 2 3\n");
    let l = load(LoaderKind::Fer2013, dir.path(), &opts()).unwrap();
    assert_eq!(l.class_names.len(), 7);
    assert_eq!(labels(&l), ["Angry", "Happy", "Neutral", "Surprise"]);
    let usage: Vec<_> = l.items.iter().map(|i| i.usage.unwrap()).collect();
    assert_eq!(usage, [Usage::Training, Usage::Training, Usage::PublicTest, Usage::PrivateTest]);
    assert_eq!(sources(&l), ["fer2013.csv:2", "fer2013.csv:3", "fer2013.csv:4", "fer2013.csv:5"]);
    assert_eq!(l.items[0].subject, "fer2013.csv:2");
    assert_eq!(l.items[1].image.dimensions(), (48, 48));
    // Row-major pixels: pixel i of row 1 (seed 1) is (7 i + 13) % 256.
    assert_eq!(l.items[1].image.get_pixel(1, 0)[0], 20);
    assert_eq!(l.items[1].image.get_pixel(0, 1)[0], ((48 * 7 + 13) % 256) as u8);
    assert!(l.skipped.is_empty());
    // The root may also be the CSV itself.
    let l2 = load(LoaderKind::Fer2013, &dir.path().join("fer2013.csv"), &opts()).unwrap();
    assert_eq!(l2, l);
}

#[test]
fn fer2013_kaggle_bundle() {
    let dir = tempfile::tempdir().unwrap();
    // icml_face_data.csv: headers with leading spaces, a different column order, CRLF, a BOM.
    let mut s = String::from("\u{feff}emotion, Usage, pixels\r\n");
    s.push_str(&format!("2, Training, {}\r\n", pixels(2304, 0)));
    s.push_str(&format!("4, PrivateTest, {}\r\n", pixels(2304, 1)));
    write_file(&dir.path().join("icml_face_data.csv"), &s);
    write_file(&dir.path().join("test.csv"), format!("pixels\n{}\n", pixels(2304, 0)));
    let l = load(LoaderKind::Fer2013, dir.path(), &opts()).unwrap();
    assert_eq!(labels(&l), ["Fear", "Sad"]);
    assert_eq!(l.items[1].usage, Some(Usage::PrivateTest));
    assert_eq!(l.items[1].source, "icml_face_data.csv:3");

    // train.csv alone: labelled, no usage.
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("train.csv"), format!("emotion,pixels\n1,{}\n", pixels(2304, 0)));
    write_file(&dir.path().join("test.csv"), format!("pixels\n{}\n", pixels(2304, 0)));
    let l = load(LoaderKind::Fer2013, dir.path(), &opts()).unwrap();
    assert_eq!(labels(&l), ["Disgust"]);
    assert_eq!(l.items[0].usage, None);
}

#[test]
fn fer2013_test_csv_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("test.csv"), format!("pixels\n{}\n", pixels(2304, 0)));
    let e = load(LoaderKind::Fer2013, dir.path(), &opts()).unwrap_err();
    assert!(matches!(e, DataError::Refused { .. }), "{e}");
    let t = e.to_string();
    assert!(t.starts_with("failed to use `") && t.contains("test.csv`") && t.contains("unlabelled"), "{t}");
    // A header without `pixels` names line 1.
    write_file(&dir.path().join("fer2013.csv"), "emotion,Usage\n0,Training\n");
    let e = err_text(load(LoaderKind::Fer2013, dir.path(), &opts()));
    assert!(e.contains("fer2013.csv` line 1: expected a header with columns `emotion` and `pixels`"), "{e}");
    // Also when pointed at directly.
    let e = load(LoaderKind::Fer2013, &dir.path().join("test.csv"), &skip_bad()).unwrap_err();
    assert!(matches!(e, DataError::Refused { .. }), "{e}");
}

#[test]
fn fer2013_bad_rows() {
    let cases: [(&str, &str); 4] = [
        ("short row", "expected `2304` pixel values, found `2303`"),
        ("non-numeric", "pixel 5 is `x`, not an integer in 0..=255"),
        ("label 9", "emotion `9` is out of range 0..=6"),
        ("bad usage", "usage `Validation` is not one of"),
    ];
    for (case, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut s = fer_csv(&[(0, "Training"), (1, "Training")]);
        let bad = match case {
            "short row" => format!("3,{},Training\n", pixels(2303, 0)),
            "non-numeric" => format!("3,1 2 3 4 x {},Training\n", pixels(2299, 0)),
            "label 9" => format!("9,{},Training\n", pixels(2304, 0)),
            _ => format!("3,{},Validation\n", pixels(2304, 0)),
        };
        s.push_str(&bad);
        s.push_str(&format!("4,{},PublicTest\n", pixels(2304, 3)));
        write_file(&dir.path().join("fer2013.csv"), &s);
        let e = err_text(load(LoaderKind::Fer2013, dir.path(), &opts()));
        let file = dir.path().join("fer2013.csv");
        assert_eq!(e, format!("failed to load `{}` line 4: {}", file.display(), e.split(": ").nth(1).unwrap()));
        assert!(e.contains(want), "{case}: {e}");
        let l = load(LoaderKind::Fer2013, dir.path(), &skip_bad()).unwrap();
        assert_eq!(labels(&l), ["Angry", "Disgust", "Sad"], "{case}");
        assert_eq!(l.skipped.len(), 1);
        assert_eq!(l.skipped[0].source, "fer2013.csv:4");
        assert_eq!(l.skipped[0].kind, SkipKind::Bad);
        assert!(l.skipped[0].reason.contains(want));
    }
}

// ---------------------------------------------------------------- FERG-DB

#[test]
fn ferg_layout_empty_files_and_bad_images() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ferg(root, &["aia", "ray"], &["anger", "joy", "surprise"], 2);
    // An empty file: skipped and counted, even without skip_bad. A non-PNG is ignored.
    write_file(&root.join("FERG_DB_256/ray/ray_joy/ray_joy_3.png"), "");
    write_file(&root.join("FERG_DB_256/ray/ray_joy/Thumbs.db"), "x");
    let l = load(LoaderKind::Ferg, root, &opts()).unwrap();
    assert_eq!(l.items.len(), 12);
    assert_eq!(l.skipped_count(SkipKind::Empty), 1);
    assert_eq!(l.skipped[0].source, "FERG_DB_256/ray/ray_joy/ray_joy_3.png");
    assert_eq!(labels(&l)[..4], ["anger", "anger", "joy", "joy"]);
    assert_eq!(l.items[0].source, "FERG_DB_256/aia/aia_anger/aia_anger_1.png");
    assert_eq!(l.items[0].subject, "aia");
    assert_eq!(l.items[11].subject, "ray");
    assert_eq!(l.items[0].image, img(16, 16, 1));
    assert_eq!(l.class_counts(), [4, 0, 0, 4, 0, 0, 4]);

    // A truncated PNG names the file; skip_bad skips it.
    let bad = root.join("FERG_DB_256/aia/aia_joy/aia_joy_2.png");
    truncate(&bad);
    let e = err_text(load(LoaderKind::Ferg, root, &opts()));
    assert!(e.starts_with(&format!("failed to load `{}`: corrupt", bad.display())), "{e}");
    let l = load(LoaderKind::Ferg, root, &skip_bad()).unwrap();
    assert_eq!(l.items.len(), 11);
    assert_eq!((l.skipped_count(SkipKind::Bad), l.skipped_count(SkipKind::Empty)), (1, 1));

    // An unknown expression folder.
    fs::create_dir_all(root.join("FERG_DB_256/aia/aia_happy")).unwrap();
    let e = err_text(load(LoaderKind::Ferg, root, &opts()));
    assert!(e.contains("aia_happy`") && e.contains("`aia_<expression>`"), "{e}");
}

#[test]
fn ferg_resize_while_loading_and_thread_count_independence() {
    let dir = tempfile::tempdir().unwrap();
    write_ferg(dir.path(), &["aia", "bonnie", "jules"], &["anger", "fear", "neutral", "sadness"], 3);
    let run = |threads: usize, o: &LoadOptions| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| load(LoaderKind::Ferg, dir.path(), o).unwrap())
    };
    let a = run(1, &opts());
    assert_eq!(a, run(4, &opts()));
    let o = LoadOptions {
        resize: Some(ResizeTo { size: 8, crop: Crop { policy: CropPolicy::None, ..Crop::default() } }),
        ..opts()
    };
    let r = run(3, &o);
    assert_eq!(r.items.len(), 36);
    assert!(r.items.iter().all(|i| i.image.dimensions() == (8, 8)));
    assert_eq!(r, run(1, &o));
}

// ---------------------------------------------------------------- JAFFE

#[test]
fn jaffe_names() {
    let dir = tempfile::tempdir().unwrap();
    write_jaffe(dir.path(), &["YM.FE4.70.tiff", "KA.AN1.39.tiff", "KA.NE2.28.tiff", "KL.SU3.150.tif"]);
    let l = load(LoaderKind::Jaffe, dir.path(), &opts()).unwrap();
    assert_eq!(sources(&l), ["KA.AN1.39.tiff", "KA.NE2.28.tiff", "KL.SU3.150.tif", "YM.FE4.70.tiff"]);
    assert_eq!(labels(&l), ["angry", "neutral", "surprise", "fear"]);
    let subjects: Vec<&str> = l.items.iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(subjects, ["KA", "KA", "KL", "YM"]);
    assert_eq!(l.items[3].image, img(16, 16, 0));

    write_jaffe(dir.path(), &["YM.XX1.3.tiff"]);
    let e = err_text(load(LoaderKind::Jaffe, dir.path(), &opts()));
    assert!(e.contains("YM.XX1.3.tiff`: expression code `XX1` is not one of"), "{e}");
    let l = load(LoaderKind::Jaffe, dir.path(), &skip_bad()).unwrap();
    assert_eq!((l.items.len(), l.skipped_count(SkipKind::Bad)), (4, 1));
}

// ---------------------------------------------------------------- CK+

const THREE: &str = "   3.0000000e+00\n";

#[test]
fn ckplus_peak_frames_neutral_and_unlabelled() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ck_sequence(root, "S005", "001", 11, Some(THREE));
    write_ck_sequence(root, "S010", "002", 4, Some("   7.0000000e+00"));
    write_ck_sequence(root, "S010", "003", 5, None);
    write_ck_sequence(root, "S011", "001", 2, Some("5.0000000e+00"));

    let l = load(LoaderKind::CkPlus, root, &opts()).unwrap();
    assert_eq!(l.class_names[3], "disgust");
    assert_eq!(l.skipped_count(SkipKind::Unlabelled), 1);
    assert_eq!(l.skipped[0].source, "cohn-kanade-images/S010/003");
    assert_eq!(
        sources(&l),
        [
            "cohn-kanade-images/S005/001/S005_001_00000009.png",
            "cohn-kanade-images/S005/001/S005_001_00000010.png",
            "cohn-kanade-images/S005/001/S005_001_00000011.png",
            "cohn-kanade-images/S010/002/S010_002_00000002.png",
            "cohn-kanade-images/S010/002/S010_002_00000003.png",
            "cohn-kanade-images/S010/002/S010_002_00000004.png",
            "cohn-kanade-images/S011/001/S011_001_00000001.png",
            "cohn-kanade-images/S011/001/S011_001_00000002.png",
        ]
    );
    assert_eq!(labels(&l), ["disgust", "disgust", "disgust", "surprise", "surprise", "surprise", "happy", "happy"]);
    assert_eq!(l.items[0].subject, "S005");
    assert_eq!(l.items[2].image, img(20, 14, 11));

    let o = LoadOptions { peak_frames: 1, neutral_first: true, ..opts() };
    let l = load(LoaderKind::CkPlus, root, &o).unwrap();
    assert_eq!(labels(&l), ["neutral", "disgust", "neutral", "surprise", "neutral", "happy"]);
    assert_eq!(l.items[0].source, "cohn-kanade-images/S005/001/S005_001_00000001.png");
    // With 3 peak frames, a 2-frame sequence has no separate first frame.
    let o = LoadOptions { peak_frames: 3, neutral_first: true, ..opts() };
    assert_eq!(load(LoaderKind::CkPlus, root, &o).unwrap().items.len(), 10);

    let o = LoadOptions { peak_frames: 4, ..opts() };
    let e = err_text(load(LoaderKind::CkPlus, root, &o));
    assert!(e.contains("failed to use loader option `peak_frames`"), "{e}");
}

#[test]
fn ckplus_bad_label_files() {
    let garbled: [(&str, &[u8], &str); 4] = [
        ("text", b"   three\n", "expected one number like `3.0000000e+00`, found `three`"),
        ("out of range", b"   8.0000000e+00\n", "label `8.0000000e+00` is not an integer in 0..=7"),
        ("fraction", b"2.5", "label `2.5` is not an integer"),
        ("binary", b"\xff\xfe\x00", "not valid UTF-8"),
    ];
    for (case, content, want) in garbled {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_ck_sequence(root, "S005", "001", 3, Some(THREE));
        write_ck_sequence(root, "S006", "001", 3, Some(THREE));
        let file = root.join("Emotion/S006/001/S006_001_00000003_emotion.txt");
        fs::write(&file, content).unwrap();
        let e = err_text(load(LoaderKind::CkPlus, root, &opts()));
        assert!(e.starts_with(&format!("failed to load `{}` line 1: ", file.display())), "{case}: {e}");
        assert!(e.contains(want), "{case}: {e}");
        let l = load(LoaderKind::CkPlus, root, &skip_bad()).unwrap();
        assert_eq!(l.items.len(), 3, "{case}");
        assert_eq!(l.skipped[0].source, "Emotion/S006/001/S006_001_00000003_emotion.txt");
    }

    // Unreadable: the label "file" is a folder.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ck_sequence(root, "S005", "001", 3, None);
    let file = root.join("Emotion/S005/001/S005_001_00000003_emotion.txt");
    fs::create_dir_all(&file).unwrap();
    let e = err_text(load(LoaderKind::CkPlus, root, &opts()));
    assert!(e.starts_with(&format!("failed to load `{}`: failed to read the emotion file", file.display())), "{e}");

    // A label naming a frame that does not exist.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ck_sequence(root, "S005", "001", 3, None);
    write_file(&root.join("Emotion/S005/001/S005_001_00000009_emotion.txt"), THREE);
    let e = err_text(load(LoaderKind::CkPlus, root, &opts()));
    assert!(e.contains("peak frame `S005_001_00000009.png` is not in `cohn-kanade-images/S005/001`"), "{e}");

    // A label for a sequence without frames.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ck_sequence(root, "S005", "001", 3, Some(THREE));
    write_file(&root.join("Emotion/S005/002/S005_002_00000004_emotion.txt"), THREE);
    fs::create_dir_all(root.join("cohn-kanade-images/S005/002")).unwrap();
    let e = err_text(load(LoaderKind::CkPlus, root, &opts()));
    assert!(e.contains("S005_002_00000004_emotion.txt`: its sequence `cohn-kanade-images/S005/002` has no"), "{e}");

    // A truncated frame.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_ck_sequence(root, "S005", "001", 3, Some(THREE));
    let frame = root.join("cohn-kanade-images/S005/001/S005_001_00000002.png");
    truncate(&frame);
    let e = err_text(load(LoaderKind::CkPlus, root, &opts()));
    assert!(e.starts_with(&format!("failed to load `{}`: ", frame.display())), "{e}");
}

// ---------------------------------------------------------------- Oulu-CASIA

#[test]
fn oulu_modality_illumination_frames() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_oulu(root, "VL", "Strong", &["P001", "P002"], &["Anger", "Happiness"], 12);
    write_oulu(root, "VL", "Dark", &["P001"], &["Fear"], 4);
    write_oulu(root, "NI", "Strong", &["P003"], &["Surprise"], 2);

    let l = load(LoaderKind::OuluCasia, root, &opts()).unwrap();
    assert_eq!(l.class_names, ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]);
    assert_eq!(l.items.len(), 12);
    assert_eq!(
        sources(&l)[..3],
        ["VL/Strong/P001/Anger/009.jpeg", "VL/Strong/P001/Anger/010.jpeg", "VL/Strong/P001/Anger/011.jpeg"]
    );
    assert_eq!(labels(&l)[3], "Happiness");
    assert_eq!(l.items[11].subject, "P002");
    assert_eq!(l.items[0].image.dimensions(), (32, 24));

    let o = LoadOptions { neutral_first: true, peak_frames: 1, ..opts() };
    let l = load(LoaderKind::OuluCasia, root, &o).unwrap();
    assert_eq!(l.class_names.len(), 7);
    assert_eq!(labels(&l)[..2], ["Neutral", "Anger"]);
    assert_eq!(sources(&l)[..2], ["VL/Strong/P001/Anger/000.jpeg", "VL/Strong/P001/Anger/011.jpeg"]);
    assert_eq!(l.items.len(), 8);

    let o = LoadOptions { oulu_modality: OuluModality::Nir, ..opts() };
    let l = load(LoaderKind::OuluCasia, root, &o).unwrap();
    assert_eq!((l.items.len(), labels(&l)[0], l.items[0].subject.as_str()), (2, "Surprise", "P003"));

    let o = LoadOptions { oulu_illumination: OuluIllumination::Dark, ..opts() };
    assert_eq!(labels(&load(LoaderKind::OuluCasia, root, &o).unwrap()), ["Fear"; 3]);

    let o = LoadOptions { oulu_illumination: OuluIllumination::Weak, ..opts() };
    let e = err_text(load(LoaderKind::OuluCasia, root, &o));
    assert!(e.contains("expected the folder `VL/Weak` here"), "{e}");

    fs::create_dir_all(root.join("VL/Strong/P002/Contempt")).unwrap();
    let e = err_text(load(LoaderKind::OuluCasia, root, &opts()));
    assert!(e.contains("P002/Contempt`: expected an expression folder"), "{e}");
}

// ---------------------------------------------------------------- image folder

#[test]
fn image_folder_classes_and_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_image(&root.join("cat/alice_1.png"), &img(10, 10, 1));
    write_image(&root.join("cat/bob.jpg"), &img(10, 10, 2));
    write_image(&root.join("dog/alice_2.TIFF"), &img(10, 10, 3));
    write_file(&root.join("dog/notes.txt"), "ignored");
    fs::create_dir_all(root.join("empty")).unwrap();
    write_file(&root.join("LICENSE"), "ignored");
    let l = load(LoaderKind::ImageFolder, root, &opts()).unwrap();
    assert_eq!(l.class_names, ["cat", "dog", "empty"]);
    assert_eq!(labels(&l), ["cat", "cat", "dog"]);
    let subjects: Vec<&str> = l.items.iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(subjects, ["alice", "bob", "alice"]);
    assert_eq!(l.items[2].image, img(10, 10, 3));
    assert_eq!(l.class_counts(), [2, 1, 0]);
    assert_eq!(image_folder::subject_of("p07_happy_3.png"), "p07");
    assert_eq!(image_folder::subject_of("_x.png"), "_x");

    write_image(&root.join("stray.png"), &img(4, 4, 0));
    let e = err_text(load(LoaderKind::ImageFolder, root, &opts()));
    assert!(e.contains("stray.png`: an image outside a class folder"), "{e}");
    assert_eq!(load(LoaderKind::ImageFolder, root, &skip_bad()).unwrap().items.len(), 3);
}

// ---------------------------------------------------------------- members and the walk

/// Every file an item or a skipped entry comes from is a member; members the loader leaves out
/// are frames of the same sequences (CK+, Oulu-CASIA) only.
fn check_members(kind: LoaderKind, root: &Path, o: &LoadOptions, extra_ok: impl Fn(&str) -> bool) {
    let m = members(kind, root, o).unwrap();
    let l = load(kind, root, &LoadOptions { skip_bad: true, ..o.clone() }).unwrap();
    let used: Vec<String> = l
        .items
        .iter()
        .map(|i| i.source.clone())
        .chain(l.skipped.iter().filter(|s| s.kind != SkipKind::Unlabelled).map(|s| s.source.clone()))
        .map(|s| match s.rsplit_once(':') {
            Some((f, line)) if line.parse::<usize>().is_ok() => f.to_string(),
            _ => s,
        })
        .collect();
    for u in &used {
        assert!(m.files.contains(u), "{kind}: `{u}` is read but not a member: {:?}", m.files);
    }
    for f in &m.files {
        assert!(used.contains(f) || extra_ok(f), "{kind}: `{f}` is a member the loader does not use");
    }
}

#[test]
fn members_are_the_files_the_loaders_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);

    write_file(&d("fer/fer2013.csv"), fer_csv(&[(0, "Training"), (3, "PublicTest")]));
    write_file(&d("fer/train.csv"), "emotion,pixels\n");
    write_file(&d("fer/notes.md"), "x");
    check_members(LoaderKind::Fer2013, &d("fer"), &opts(), |_| false);
    assert_eq!(members(LoaderKind::Fer2013, &d("fer"), &opts()).unwrap().files, ["fer2013.csv"]);
    assert_eq!(members(LoaderKind::Fer2013, &d("fer/fer2013.csv"), &opts()).unwrap().files, ["fer2013.csv"]);

    write_jaffe(&d("jaffe"), &["KA.AN1.39.tiff", "KL.HA2.40.TIF", "bad-name.tiff"]);
    check_members(LoaderKind::Jaffe, &d("jaffe"), &opts(), |_| false);

    write_ferg(&d("ferg"), &["aia", "ray"], &["anger", "joy"], 2);
    write_file(&d("ferg/FERG_DB_256/aia/aia_joy/readme.txt"), "x");
    check_members(LoaderKind::Ferg, &d("ferg"), &opts(), |_| false);

    write_ck_sequence(&d("ck"), "S005", "001", 5, Some("   3.0000000e+00\n"));
    write_ck_sequence(&d("ck"), "S010", "003", 2, None);
    let ck = members(LoaderKind::CkPlus, &d("ck"), &opts()).unwrap().files;
    assert_eq!(ck.len(), 8, "7 frames and one label file: {ck:?}");
    assert!(ck.contains(&"Emotion/S005/001/S005_001_00000005_emotion.txt".to_string()));
    check_members(LoaderKind::CkPlus, &d("ck"), &opts(), |f| f.ends_with(".png") || f.ends_with("_emotion.txt"));

    write_oulu(&d("oulu"), "VL", "Strong", &["P001"], &["Anger"], 5);
    write_oulu(&d("oulu"), "NI", "Strong", &["P002"], &["Fear"], 2);
    let o = members(LoaderKind::OuluCasia, &d("oulu"), &opts()).unwrap().files;
    assert_eq!(o.len(), 5, "one camera and illumination: {o:?}");
    check_members(LoaderKind::OuluCasia, &d("oulu"), &opts(), |f| f.ends_with(".jpeg"));

    write_image(&d("folder/cat/a_1.png"), &img(8, 8, 1));
    write_image(&d("folder/dog/b_1.jpg"), &img(8, 8, 2));
    write_file(&d("folder/dog/notes.txt"), "x");
    write_image(&d("folder/stray.png"), &img(4, 4, 0));
    check_members(LoaderKind::ImageFolder, &d("folder"), &opts(), |_| false);
}

#[test]
fn the_walk_skips_fifos_devices_and_links_out_and_follows_links_inside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("jaffe");
    write_jaffe(&root, &["KA.AN1.39.tiff", "KL.HA2.40.tiff"]);
    let fifo = std::ffi::CString::new(root.join("YM.NE1.1.tiff").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("/dev/zero", root.join("YM.NE1.2.tiff")).unwrap();
    write_image(&dir.path().join("outside.tiff"), &img(16, 16, 7));
    std::os::unix::fs::symlink(dir.path().join("outside.tiff"), root.join("YM.NE1.3.tiff")).unwrap();
    std::os::unix::fs::symlink("KA.AN1.39.tiff", root.join("YM.NE1.4.tiff")).unwrap();
    std::os::unix::fs::symlink("nowhere.tiff", root.join("YM.NE1.5.tiff")).unwrap();

    let m = members(LoaderKind::Jaffe, &root, &opts()).unwrap();
    assert_eq!(m.files, ["KA.AN1.39.tiff", "KL.HA2.40.tiff", "YM.NE1.4.tiff"]);
    let skipped: Vec<(&str, &str)> = m.skipped.iter().map(|s| (s.path.as_str(), s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped[0].0 == "YM.NE1.1.tiff" && skipped[0].1.contains("FIFO"), "{skipped:?}");
    assert!(skipped[1].0 == "YM.NE1.2.tiff" && skipped[1].1.contains("out of the data folder"), "{skipped:?}");
    assert!(skipped[2].0 == "YM.NE1.3.tiff" && skipped[2].1.contains("out of the data folder"), "{skipped:?}");
    assert!(skipped[3].0 == "YM.NE1.5.tiff" && skipped[3].1.contains("broken"), "{skipped:?}");
    // Loading neither hangs on the FIFO nor reads /dev/zero.
    let l = load(LoaderKind::Jaffe, &root, &opts()).unwrap();
    assert_eq!(sources(&l), ["KA.AN1.39.tiff", "KL.HA2.40.tiff", "YM.NE1.4.tiff"]);
    // A FIFO is never read, even when asked for directly.
    let e = files::read_regular(&root.join("YM.NE1.1.tiff")).unwrap_err();
    assert!(e.to_string().contains("a FIFO, not a regular file"), "{e}");
    assert!(files::read_regular(Path::new("/dev/zero")).is_err());
}
