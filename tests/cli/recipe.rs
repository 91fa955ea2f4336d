//! The published recipes: MicroExpNet's 8 crops of a 256 px face (every crop, every epoch),
//! Deep-Emotion's L2 penalty, and an ImageNet-initialised Inception_v3 teacher from torchvision's
//! weights (scripts/imagenet-teacher.py).

use super::*;

use fer_core::spec::ModelSpec;
use fer_train::models::Model;
use fer_train::tensor_file;

/// A pipeline on 12 synthetic subjects x 10 images, written to `<dir>/pipeline.yaml`.
fn pipeline(dir: &Path, models: &str) -> PathBuf {
    let text = format!(
        "version: 1\nname: recipe\nseeds: [1]\nsaliency: {{enabled: false}}\ndatasets:\n  tiny:\n    kind: synthetic\n    \
         seed: 7\n    subjects: 12\n    images_per_subject: 10\n    val_fraction: 0.2\n    test_fraction: 0.25\n\
         models:\n{models}"
    );
    let path = dir.join("pipeline.yaml");
    fs::write(&path, text).unwrap();
    path
}

fn job(entry: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(entry.join("job.json")).unwrap()).unwrap()
}

fn run_pipeline(store: &Path, file: &Path) -> Output {
    let o = run(&["--store", &store_arg(store), "run", file.to_str().unwrap(), "--no-report"]);
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// The train entry of model `name`.
fn train_of(store: &Path, name: &str) -> PathBuf {
    entries(store, "train")
        .into_iter()
        .find(|e| {
            let log = fs::read_to_string(e.join("log.txt")).unwrap_or_default();
            log.contains(&format!("{name} on tiny"))
        })
        .unwrap_or_else(|| panic!("no train entry of `{name}`"))
}

#[test]
fn microexpnet_trains_on_every_published_crop_of_256_px_faces_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let file = pipeline(
        dir.path(),
        "  recipe: {arch: microexpnet, datasets: tiny, epochs: 1, batch_size: 32}\n  \
         plain: {arch: microexpnet, datasets: tiny, epochs: 1, batch_size: 32, multi_crop: false}\n",
    );
    run_pipeline(&store, &file);
    let sizes: Vec<u64> = entries(&store, "prepare").iter().map(|e| job(e)["spec"]["size"].as_u64().unwrap()).collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, vec![84, 256], "the recipe reads 256 px faces");
    let recipe = train_of(&store, "recipe");
    let plain = train_of(&store, "plain");
    assert_eq!(job(&recipe)["spec"]["train"]["multi_crop"], true);
    assert_eq!(job(&plain)["spec"]["train"]["multi_crop"], false);
    // 120 subjects' images, 12 subjects: the training split is the same set of images in both;
    // the recipe's epoch is its 8 crops each: 8 x the items.
    let log = fs::read_to_string(recipe.join("log.txt")).unwrap();
    let plain_log = fs::read_to_string(plain.join("log.txt")).unwrap();
    let images = |log: &str, pat: &str| -> u64 {
        let at = log.find(pat).unwrap_or_else(|| panic!("`{pat}` not in:\n{log}")) + pat.len();
        log[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let n = images(&plain_log, "training on ");
    assert_eq!(images(&log, "the 8 published crops of each of "), n, "{log}");
    assert!(log.contains(&format!("{} items, {} steps per epoch", 8 * n, (8 * n).div_ceil(32))), "{log}");
    assert!(plain_log.contains(&format!("{} steps per epoch", n.div_ceil(32))), "{plain_log}");
    // Evaluated on the 256 px data (through the (32, 32) window).
    let evals = entries(&store, "evaluate");
    assert_eq!(evals.len(), 2);
    let recipe_hash = job(&recipe)["hash"].as_str().unwrap().to_string();
    let eval = evals.iter().find(|e| job(e)["spec"]["weights"] == recipe_hash.as_str()).expect("its evaluation");
    let data = job(eval)["spec"]["data"].as_str().unwrap().to_string();
    let prep = entries(&store, "prepare").into_iter().find(|e| job(e)["hash"] == data.as_str()).unwrap();
    assert_eq!(job(&prep)["spec"]["size"], 256);
}

#[test]
fn the_deep_emotion_l2_penalty_shrinks_the_last_two_linear_layers() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let file = pipeline(
        dir.path(),
        "  off: {arch: deep-emotion, datasets: tiny, epochs: 2, batch_size: 32, l2: 0}\n  \
         on: {arch: deep-emotion, datasets: tiny, epochs: 2, batch_size: 32, l2: 1.0}\n  \
         default: {arch: deep-emotion, datasets: tiny, epochs: 2, batch_size: 32}\n",
    );
    run_pipeline(&store, &file);
    let weights = |name: &str| tensor_file::read(&train_of(&store, name).join("weights.safetensors")).unwrap();
    let (off, on) = (weights("off"), weights("on"));
    let norm =
        |f: &tensor_file::TensorFile, n: &str| f.get(n).unwrap().square().sum(tch::Kind::Double).double_value(&[]);
    for layer in ["fc1.weight", "fc2.weight"] {
        assert!(norm(&on, layer) < 0.8 * norm(&off, layer), "{layer}: {} vs {}", norm(&on, layer), norm(&off, layer));
    }
    // The default (0.001) is on and hashed; 0 is left out of the hash.
    assert_eq!(job(&train_of(&store, "default"))["spec"]["train"]["l2"], 0.001);
    assert!(job(&train_of(&store, "off"))["spec"]["train"].get("l2").is_none());
    assert!(!weights("default").get("fc1.weight").unwrap().equal(off.get("fc1.weight").unwrap()));
}

/// The venv's python (scripts/setup makes it).
fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

#[test]
fn an_imagenet_inception_state_dict_becomes_a_teacher_weights_file() {
    let dir = tempfile::tempdir().unwrap();
    // torchvision's state dict of Inception3: the teacher's own names and shapes (torchvision's
    // layout), plus what the teacher lacks: the auxiliary classifier, batch-norm counters and a
    // 1000-class classifier. Each tensor holds its own index, so a mix-up shows.
    tch::manual_seed(0);
    let model = Model::new(&ModelSpec::inception_v3(75), 7, tch::Device::Cpu);
    let names: Vec<(String, Vec<i64>)> = model.named_tensors().into_iter().map(|(n, t)| (n, t.size())).collect();
    let mut spec: Vec<(String, Vec<i64>)> = names.iter().filter(|(n, _)| !n.starts_with("fc.")).cloned().collect();
    spec.push(("fc.weight".into(), vec![1000, 2048]));
    spec.push(("fc.bias".into(), vec![1000]));
    spec.push(("AuxLogits.conv0.conv.weight".into(), vec![128, 768, 1, 1]));
    spec.push(("AuxLogits.fc.weight".into(), vec![1000, 768]));
    let shapes = serde_json::to_string(&spec).unwrap();
    let make = |path: &Path, drop: Option<&str>| {
        let code = format!(
            "import json, sys, torch\nspec = json.loads(sys.argv[1])\nsd = {{}}\n\
             for i, (n, s) in enumerate(spec):\n    if n != {drop:?}: sd[n] = torch.full(s, float(i))\n\
             for n, _ in spec:\n    if n.endswith('.bn.weight'): sd[n[:-len('weight')] + 'num_batches_tracked'] = torch.tensor(5)\n\
             torch.save(sd, sys.argv[2])\n",
            drop = drop.unwrap_or("")
        );
        let o = Command::new(python()).args(["-c", &code, &shapes, path.to_str().unwrap()]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    let pth = dir.path().join("inception_v3_google.pth");
    make(&pth, None);
    let out = dir.path().join("teacher.safetensors");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/imagenet-teacher.py");
    let o = Command::new(python()).arg(&script).arg(&pth).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let f = tensor_file::read(&out).unwrap();
    let own: Vec<&(String, Vec<i64>)> = names.iter().filter(|(n, _)| !n.starts_with("fc.")).collect();
    assert_eq!(f.tensors.len(), own.len(), "only the teacher's tensors, fc left out");
    for (i, (n, shape)) in spec.iter().enumerate().filter(|(_, (n, _))| !n.starts_with("fc.") && !n.starts_with("Aux"))
    {
        let t = f.get(n).unwrap_or_else(|| panic!("`{n}` missing"));
        assert_eq!(&t.size(), shape, "{n}");
        assert!(t.eq(i as f64).all().int64_value(&[]) == 1, "`{n}` holds another tensor's values");
    }
    // It loads into the teacher: every tensor but the classifier.
    assert_eq!(model.load_matching(&f.tensors), names.len() - 2);

    // A state dict that is not Inception_v3 is refused, naming what is missing.
    let bad = dir.path().join("bad.pth");
    make(&bad, Some("Mixed_6c.branch7x7dbl_3.bn.running_var"));
    let o = Command::new(python()).arg(&script).arg(&bad).arg(dir.path().join("bad.safetensors")).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Mixed_6c.branch7x7dbl_3.bn.running_var"), "{}", text(&o));
    assert!(!dir.path().join("bad.safetensors").exists());

    // The pipeline takes it as `weights:`; the report says how each teacher started.
    let store = dir.path().join("store");
    let file = pipeline(
        dir.path(),
        "  imagenet: {arch: inception-v3, datasets: tiny, input_size: 75, epochs: 1, batch_size: 32, \
         weights: teacher.safetensors}\n  \
         scratch: {arch: inception-v3, datasets: tiny, input_size: 75, epochs: 1, batch_size: 32}\n",
    );
    let reports = dir.path().join("report");
    let o =
        run(&["--store", &store_arg(&store), "run", file.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let log = fs::read_to_string(train_of(&store, "imagenet").join("log.txt")).unwrap();
    assert!(log.contains(&format!("initialised {} tensors from the given weights file", names.len() - 2)), "{log}");
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("scratch on tiny: trained from scratch"), "report");
    assert!(html.contains("imagenet on tiny: initialised from a weights file"), "report");
}

#[test]
fn an_interrupted_multi_crop_run_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(
        dir.path(),
        "  recipe: {arch: microexpnet, datasets: tiny, epochs: 12, batch_size: 16, input_norm: standardize, lr: 0.001}\n",
    );
    let whole = dir.path().join("whole");
    run_pipeline(&whole, &file);

    // Ctrl-C once the first epoch's checkpoint is written: it stops at the next batch, mid-epoch.
    let store = dir.path().join("store");
    let mut cmd = bin();
    cmd.args(["--store", &store_arg(&store), "run", file.to_str().unwrap(), "--no-report"]);
    let g = super::signals::Group::spawn(cmd);
    let started = wait_for(|| entries(&store, "train").iter().any(|e| e.join("checkpoint.safetensors").exists()), 120);
    assert!(started, "{}", g.output());
    g.signal_group(libc::SIGINT);
    let (code, out) = g.wait(120);
    assert_eq!(code, Some(130), "{out}");
    let log = fs::read_to_string(train_of(&store, "recipe").join("log.txt")).unwrap();
    assert!(log.contains("stopped by a signal"), "{log}");

    run_pipeline(&store, &file);
    let log = fs::read_to_string(train_of(&store, "recipe").join("log.txt")).unwrap();
    assert!(log.contains("resuming from checkpoint"), "{log}");
    for f in ["weights.safetensors", "metrics.csv"] {
        let a = fs::read(train_of(&whole, "recipe").join(f)).unwrap();
        let b = fs::read(train_of(&store, "recipe").join(f)).unwrap();
        assert!(a == b, "{f} differs after the resume");
    }
}
