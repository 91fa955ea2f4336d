//! `fer-pipeline predict`: real photographs through the released models and a trained entry;
//! one clear line per photograph without a result; unknown models are bad input.

use super::*;

fn astronaut() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/photos/astronaut.jpg")
}

/// Parses the CSV: the header and the rows, split on commas (no field here holds one).
fn csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(String::from).collect()).collect())
}

/// Every row's probabilities (the `p_*` columns) sum to one and its `probability` is their maximum.
fn check_rows(header: &[String], rows: &[Vec<String>]) {
    let first = header.iter().position(|h| h.starts_with("p_")).unwrap();
    let best = header.iter().position(|h| h == "probability").unwrap();
    for r in rows {
        let p: Vec<f64> = r[first..].iter().map(|v| v.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{r:?}");
        let max = p.iter().cloned().fold(0.0, f64::max);
        assert!((r[best].parse::<f64>().unwrap() - max).abs() < 1e-6, "{r:?}");
        let label = &header[first + p.iter().position(|&q| q == max).unwrap()];
        assert_eq!(format!("p_{}", r[best - 1]), *label, "the label is the most probable class");
    }
}

#[test]
fn released_models_classify_every_face_of_real_photographs() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    fs::create_dir_all(photos.join("group")).unwrap();
    fs::copy(astronaut(), photos.join("astronaut.jpg")).unwrap();
    fs::copy(fer_core::data::face::test_photograph_path(), photos.join("group/solvay.png")).unwrap();
    fs::write(photos.join("broken.jpg"), b"not a JPEG").unwrap();
    image::GrayImage::from_pixel(120, 90, image::Luma([128])).save(photos.join("wall.png")).unwrap();
    fs::write(photos.join("notes.txt"), b"not a photograph: skipped").unwrap();
    let (out, annotated) = (dir.path().join("faces.csv"), dir.path().join("annotated"));
    let missing = dir.path().join("missing.jpg");
    let o = run(&[
        "predict",
        photos.to_str().unwrap(),
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--annotate",
        annotated.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    // Three inputs give nothing, each named once on its own line; the others still ran.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for (file, why) in
        [("broken.jpg", "corrupt or unsupported image"), ("wall.png", "no face found"), ("missing.jpg", "no such file")]
    {
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(file)).collect();
        assert!(lines.len() == 1 && lines[0].contains(why), "{file}: {err}");
    }
    assert!(!err.contains("notes.txt") && !err.contains("panicked"), "{err}");
    assert!(err.contains("failed to classify 3 of 5 input(s)"), "{err}");
    let (header, rows) = csv(&fs::read_to_string(&out).unwrap());
    assert_eq!(&header[..9], ["file", "face", "x", "y", "width", "height", "detector_score", "label", "probability"]);
    assert_eq!(header[9..].join(","), "p_neutral,p_anger,p_contempt,p_disgust,p_fear,p_happy,p_sadness,p_surprise");
    check_rows(&header, &rows);
    let per_file = |name: &str| rows.iter().filter(|r| r[0].ends_with(name)).count();
    assert_eq!((per_file("astronaut.jpg"), per_file("solvay.png")), (1, 29), "the astronaut and the 29 of Solvay 1927");
    // The annotated photographs: PNGs of the photographs' sizes, with something drawn on them.
    let a = image::open(annotated.join("astronaut.png")).unwrap().to_rgb8();
    assert_eq!(a.dimensions(), (512, 512));
    assert_ne!(a, image::open(astronaut()).unwrap().to_rgb8());
    assert_eq!(image::open(annotated.join("solvay.png")).unwrap().width(), 1666);
    assert!(!annotated.join("wall.png").exists(), "no annotated copy without a face");

    // One photograph, to stdout, with the other released model: exit 0, the same face.
    let o = run(&["predict", astronaut().to_str().unwrap(), "--model", "released:microexpnet-oulu-casia"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (header, rows) = csv(&String::from_utf8_lossy(&o.stdout));
    check_rows(&header, &rows);
    assert_eq!(rows.len(), 1);
    let ck: Vec<String> =
        csv(&fs::read_to_string(&out).unwrap()).1.into_iter().find(|r| r[0].ends_with("astronaut.jpg")).unwrap();
    assert_eq!(rows[0][2..6], ck[2..6], "the same box whichever model classifies it");
    assert_ne!(rows[0][9..], ck[9..], "two models, two sets of probabilities");
}

#[test]
fn unknown_models_are_bad_input_and_name_what_is_known() {
    let photo = astronaut();
    let p = photo.to_str().unwrap();
    for (model, says) in [
        ("released:fer2013", "known: `microexpnet-ck`, `microexpnet-oulu-casia`"),
        ("tf:/nonexistent/model", "/nonexistent/model.index"),
        ("no-such-model", "released:microexpnet-ck"),
        ("train/0123456789abcdef", "0123456789abcdef"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = bin()
            .current_dir(dir.path())
            .args(["--store", dir.path().join("s").to_str().unwrap()])
            .args(["predict", p, "--model", model])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{model}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains(model) && t.contains(says) && !t.contains("panicked"), "{model}: {t}");
        assert!(o.stdout.is_empty(), "{model}: nothing on stdout");
    }
}

#[test]
fn a_trained_entry_classifies_faces_with_its_data_sets_labels() {
    let dir = tempfile::tempdir().unwrap();
    let text_yaml = "version: 1\nname: predict\nseeds: [1]\nsaliency: {enabled: false}\ndatasets:\n  tiny:\n    \
                     kind: synthetic\n    seed: 7\n    subjects: 12\n    images_per_subject: 10\n    val_fraction: 0.2\n    \
                     test_fraction: 0.25\nmodels:\n  \
                     men: {arch: microexpnet, datasets: tiny, epochs: 1, batch_size: 32, multi_crop: false}\n";
    let file = dir.path().join("pipeline.yaml");
    fs::write(&file, text_yaml).unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let o = run(&["--store", &s, "run", file.to_str().unwrap(), "--no-report"]);
    assert!(o.status.success(), "{}", text(&o));
    let photo = astronaut();
    let by_name = run(&[
        "--store",
        &s,
        "predict",
        photo.to_str().unwrap(),
        "--model",
        "men",
        "--pipeline",
        file.to_str().unwrap(),
    ]);
    assert_eq!(by_name.status.code(), Some(0), "{}", text(&by_name));
    let (header, rows) = csv(&String::from_utf8_lossy(&by_name.stdout));
    assert_eq!(header[9..].join(","), "p_angry,p_disgust,p_fear,p_happy,p_sad,p_surprise,p_neutral");
    assert_eq!(rows.len(), 1);
    check_rows(&header, &rows);
    // The same entry by id gives the same row.
    let id = format!("train/{}", entries(&store, "train")[0].file_name().unwrap().to_string_lossy());
    let by_id = run(&["--store", &s, "predict", photo.to_str().unwrap(), "--model", &id]);
    assert_eq!(by_id.stdout, by_name.stdout, "{}", text(&by_id));
}
