//! The authors' released models in a pipeline: `weights:` the committed import with `epochs: 0`
//! evaluates them as they are, beside a model trained here, on a CK+-layout copy (built from the
//! faces of the `rustface` test photograph); their 8 outputs line up with the data set's classes
//! by name (here CK+ with contempt dropped: 7); the report shows both.

use super::*;

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};

/// Faces of the test photograph, `(x, y, side)`.
const FACES: [(u32, u32, u32); 4] = [(659, 257, 64), (283, 257, 64), (1163, 249, 62), (866, 251, 60)];

/// A 640 x 490 frame with face `i` of the photograph pasted at a place that depends on `k`.
fn frame(photo: &GrayImage, i: usize, k: u32) -> GrayImage {
    let (x, y, side) = FACES[i % FACES.len()];
    let s = side * 8 / 5;
    let region = imageops::crop_imm(photo, x + side / 2 - s / 2, y + side / 2 - s / 2, s, s).to_image();
    let face = imageops::resize(&region, 240, 240, FilterType::Triangle);
    let mut f = GrayImage::from_fn(640, 490, |x, y| Luma([(170 + (x + 2 * y + k) % 70) as u8]));
    imageops::replace(&mut f, &face, 150 + 20 * (k % 8) as i64, 60 + 15 * (k % 5) as i64);
    f
}

/// A CK+ copy: 8 subjects, 2 labelled sequences each (4 frames: the first is neutral).
fn write_ckplus(root: &Path) {
    let photo = image::open(fer_core::data::face::test_photograph_path()).unwrap().to_luma8();
    let mut k = 0;
    for subject in 0..8u32 {
        for seq in 1..=2u32 {
            let (s, q) = (format!("S{:03}", 10 + subject), format!("{seq:03}"));
            for f in 1..=4u32 {
                let p = root.join(format!("cohn-kanade-images/{s}/{q}/{s}_{q}_{f:08}.png"));
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                frame(&photo, (subject + seq) as usize, k).save(&p).unwrap();
                k += 1;
            }
            // Labels 1 anger, 3 disgust, 5 happy, 7 surprise (never 2, contempt: dropped below).
            let label = [1, 3, 5, 7][((subject + seq) % 4) as usize];
            let e = root.join(format!("Emotion/{s}/{q}/{s}_{q}_00000004_emotion.txt"));
            fs::create_dir_all(e.parent().unwrap()).unwrap();
            fs::write(e, format!("   {label}.0000000e+00\n")).unwrap();
        }
    }
}

#[test]
fn released_weights_are_evaluated_beside_a_reproduced_model_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    write_ckplus(&dir.path().join("data/ckplus"));
    let manifest = fs::read_to_string(repo.join("data-manifests/ckplus.yaml"))
        .unwrap()
        .replace("  contempt: contempt\n", "  contempt: drop\n")
        .replace(
            "  kind: subject-kfold\n  folds: 10\n  seed: 0\n  val: 0.1\n",
            "  kind: random\n  seed: 0\n  val: 0.15\n  test: 0.3\n",
        );
    fs::create_dir_all(dir.path().join("manifests")).unwrap();
    fs::write(dir.path().join("manifests/ckplus.yaml"), manifest).unwrap();
    let weights = repo.join("released/microexpnet/microexpnet-ck.safetensors");
    let pipeline = format!(
        "version: 1\nname: released\nseeds: [1]\nsaliency: {{enabled: false}}\n\
         datasets:\n  ckplus: {{kind: ckplus, manifest: manifests/ckplus.yaml}}\n\
         models:\n  \
         released-ck: {{arch: microexpnet, datasets: ckplus, weights: {}, epochs: 0}}\n  \
         reproduced: {{arch: microexpnet, datasets: ckplus, epochs: 2, batch_size: 16, multi_crop: false}}\n",
        weights.display()
    );
    let file = dir.path().join("pipeline.yaml");
    fs::write(&file, &pipeline).unwrap();
    let store = dir.path().join("store");
    let reports = dir.path().join("reports");
    let o = bin()
        .env("FER_DATA_DIR", dir.path().join("data"))
        .env("FER_REPORT_DIR", &reports)
        .args(["--store", store.to_str().unwrap(), "run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // The released model was not trained: its log says so and it has no epochs.
    let trains = entries(&store, "train");
    assert_eq!(trains.len(), 2);
    let logs: Vec<String> = trains.iter().map(|e| fs::read_to_string(e.join("log.txt")).unwrap()).collect();
    assert_eq!(logs.iter().filter(|l| l.contains("the given weights, as they are (nothing is trained)")).count(), 1);
    // Both were evaluated on the same 7 classes; the released model's outputs were lined up.
    let evals = entries(&store, "evaluate");
    assert_eq!(evals.len(), 2);
    for e in &evals {
        let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(e.join("result.json")).unwrap()).unwrap();
        assert_eq!(r["classes"], 7, "{r}");
        let acc = r["test"]["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{r}");
    }
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("released-ck") && html.contains("reproduced"), "the report shows both models");

    // `epochs: 0` without weights is bad input, with the key's position.
    fs::write(&file, pipeline.replace(&format!("weights: {}, ", weights.display()), "")).unwrap();
    let o = bin()
        .env("FER_DATA_DIR", dir.path().join("data"))
        .args(["--store", store.to_str().unwrap(), "plan", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("epochs: 0") && t.contains("needs `weights:`") && t.contains("pipeline.yaml:"), "{t}");

    // The example pipeline plans (its licensed data sets are absent here).
    let example = repo.join("examples/released.yaml");
    let o = run(&["--store", store.to_str().unwrap(), "plan", example.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("released-oulu-casia"), "{}", text(&o));
}

/// The released models export like trained ones, and the runtimes that load the exports give our
/// logits (`--check`: onnxruntime and torch, within 1e-4).
#[test]
fn released_models_export_to_onnx_and_torchscript_and_pass_their_check() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, file) in
        [("microexpnet-ck", "onnx", "ck.onnx"), ("microexpnet-oulu-casia", "torchscript", "oulu.pt")]
    {
        let out = dir.path().join(file);
        let target = format!("released:{name}");
        let o = run(&["export", &target, "--format", format, "--out", out.to_str().unwrap(), "--check"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("check:"), "{}", text(&o));
        let sidecar: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join(format!("{file}.json"))).unwrap()).unwrap();
        assert_eq!(sidecar["entry"], target.as_str());
        assert_eq!(sidecar["classes"], 8);
        assert!(sidecar["preprocessing"].to_string().contains("rows 32..256"), "{sidecar}");
    }
    let o =
        run(&["export", "released:fer2013", "--format", "onnx", "--out", dir.path().join("x.onnx").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("known: `microexpnet-ck`"), "{}", text(&o));
}
