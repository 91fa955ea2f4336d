//! `fer-pipeline export`: every architecture as ONNX and TorchScript, loaded by onnxruntime and
//! torch (scripts/check-export.py) with logits matching ours; entry selection and its errors.

use super::*;

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

/// Deep-Emotion with two seeds, MicroExpNet with per-image standardization (the third scaling),
/// and an Inception_v3 at its smallest input, on tiny data.
fn pipeline(dir: &Path) -> PathBuf {
    let text = "version: 1\nname: export\nseeds: [1]\nsaliency: {enabled: false}\ndatasets:\n  tiny:\n    \
                kind: synthetic\n    seed: 7\n    subjects: 12\n    images_per_subject: 10\n    val_fraction: 0.2\n    \
                test_fraction: 0.25\nmodels:\n  \
                de: {arch: deep-emotion, datasets: tiny, seeds: [1, 2], epochs: 2, batch_size: 32}\n  \
                men: {arch: microexpnet, datasets: tiny, epochs: 2, batch_size: 32, multi_crop: false, \
                input_norm: standardize}\n  \
                inc: {arch: inception-v3, datasets: tiny, input_size: 75, epochs: 1, batch_size: 32}\n";
    let path = dir.join("pipeline.yaml");
    fs::write(&path, text).unwrap();
    path
}

fn export(store: &Path, target: &str, extra: &[&str], out: &Path, reference: Option<&Path>) -> Output {
    let s = store_arg(store);
    let mut args = vec!["--store", &s, "export", target, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    if let Some(r) = reference {
        args.extend(["--reference", r.to_str().unwrap()]);
    }
    run(&args)
}

/// Exports `model` in `format` and checks it in onnxruntime / torch; returns the checker's line.
fn export_and_check(store: &Path, file: &Path, dir: &Path, model: &str, seed: Option<&str>, format: &str) -> String {
    let out = dir.join(format!("{model}.{format}"));
    let reference = dir.join(format!("{model}.{format}.reference.json"));
    let mut extra = vec!["--model", model, "--format", format];
    if let Some(s) = seed {
        extra.extend(["--seed", s]);
    }
    let o = export(store, file.to_str().unwrap(), &extra, &out, Some(&reference));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ms/image"), "{}", text(&o));
    let sidecar: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join(format!("{model}.{format}.json"))).unwrap()).unwrap();
    assert_eq!(sidecar["format_version"], 1);
    assert_eq!(sidecar["format"], format);
    let c = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-export.py"))
        .args([out.to_str().unwrap(), reference.to_str().unwrap(), "--tol", "1e-4", "--runs", "20"])
        .output()
        .expect("the venv's python runs");
    assert!(c.status.success(), "{model} {format}: {}", text(&c));
    if format == "torchscript" {
        libtorch_loads_and_matches(&out, &reference);
    }
    let line = text(&c);
    eprintln!("{}", line.trim());
    line
}

/// LibTorch's C++ loader (`torch::jit::load`, through tch) runs the TorchScript export on the
/// reference inputs one image at a time; its logits match ours within 1e-4.
fn libtorch_loads_and_matches(export: &Path, reference: &Path) {
    let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(reference).unwrap()).unwrap();
    let floats =
        |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<_>>();
    let shape: Vec<i64> = r["shape"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    let inputs = tch::Tensor::from_slice(&floats(&r["inputs"])).reshape(&shape);
    let ours: Vec<f32> = r["logits"].as_array().unwrap().iter().flat_map(floats).collect();
    let module = tch::CModule::load(export).unwrap_or_else(|e| panic!("torch::jit::load `{}`: {e}", export.display()));
    let mut theirs = Vec::new();
    for i in 0..shape[0] {
        let y = tch::no_grad(|| module.forward_ts(&[inputs.narrow(0, i, 1)])).unwrap();
        theirs.extend(Vec::<f32>::try_from(y.flatten(0, -1)).unwrap());
    }
    assert_eq!(theirs.len(), ours.len(), "{}", export.display());
    let worst = theirs.iter().zip(&ours).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-4, "{}: LibTorch's logits differ from ours by {worst}", export.display());
}

#[test]
fn every_architecture_exports_to_onnx_and_torchscript_with_matching_logits() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path());
    let store = dir.path().join("store");
    let o = run(&["--store", &store_arg(&store), "run", file.to_str().unwrap(), "--no-report", "-q"]);
    assert!(o.status.success(), "{}", text(&o));
    for (model, seed) in [("de", Some("2")), ("men", None), ("inc", None)] {
        for format in ["onnx", "torchscript"] {
            let line = export_and_check(&store, &file, dir.path(), model, seed, format);
            assert!(line.contains("max |logit diff|"), "{line}");
        }
    }
    // The sidecars say how to feed raw faces: size and the scaling the graph applies.
    let side: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("de.onnx.json")).unwrap()).unwrap();
    assert_eq!(side["input"]["shape"], serde_json::json!(["N", 1, 48, 48]));
    assert_eq!(side["input"]["scaling_in_graph"], "centered");
    assert_eq!(side["opset"], 17);
    assert_eq!(side["seed"], 2);
    let side: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("men.torchscript.json")).unwrap()).unwrap();
    assert_eq!(side["input"]["shape"], serde_json::json!(["N", 1, 84, 84]));
    assert_eq!(side["input"]["scaling_in_graph"], "standardize");
    assert_eq!(side["fixed_batch"], serde_json::Value::Null);
    // Inception_v3's TorchScript takes any batch too (check-export.py then runs all inputs at once);
    // Deep-Emotion's is fixed at 1 (its affine grid reads the batch size when traced).
    let side = |f: &str| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(dir.path().join(f)).unwrap()).unwrap()
    };
    assert_eq!(side("inc.torchscript.json")["fixed_batch"], serde_json::Value::Null);
    assert_eq!(side("de.torchscript.json")["fixed_batch"], 1);

    // By id: `train/<hash16>` of the store.
    let men = entries(&store, "train")
        .into_iter()
        .find(|e| fs::read_to_string(e.join("job.json")).unwrap().contains("\"model\": \"men\""))
        .expect("men's train entry");
    let id = format!("train/{}", men.file_name().unwrap().to_string_lossy());
    let out = dir.path().join("by-id.onnx");
    let o = export(&store, &id, &["--format", "onnx", "--check"], &out, None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&id) && out.exists(), "{}", text(&o));
    // --check ran it in onnxruntime, beside our latency.
    assert!(text(&o).contains("check: microexpnet-xxs onnx") && text(&o).contains("onnxruntime"), "{}", text(&o));

    // Errors name what is wrong, exit 2, and write nothing.
    let bad = dir.path().join("bad.onnx");
    let f = file.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // Two seeds of `de`: ambiguous, both listed.
        (
            vec![f, "--model", "de", "--format", "onnx"],
            vec!["2 trained models match", "de on tiny, seed 1", "de on tiny, seed 2"],
        ),
        // An unknown model: the candidates are listed.
        (vec![f, "--model", "nope", "--format", "onnx"], vec!["--model `nope`", "men on tiny, seed 1"]),
        // Not trained (another number of epochs): named by its id.
        (
            vec![f, "--model", "men", "--format", "onnx", "--set", "models.men.epochs=3"],
            vec!["failed to export `train/", "men on tiny, seed 1", "not trained yet"],
        ),
        // An id that is not in the store.
        (vec!["train/0123456789abcdef", "--format", "onnx"], vec!["`train/0123456789abcdef`"]),
    ];
    for (args, wants) in cases {
        let o = export(&store, args[0], &args[1..], &bad, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        for w in wants {
            assert!(text(&o).contains(w), "{args:?}: wanted `{w}` in {}", text(&o));
        }
        assert!(!bad.exists() && !dir.path().join("bad.onnx.json").exists(), "{args:?} wrote a file");
    }
}
