//! `train_fraction`: nested subsets of the training subjects, the same for every model and seed,
//! recorded in the train entries and the evaluations, and the report's "Data efficiency" section.

use super::*;

/// A train entry: its fraction, model, seed and (below 1) its `subset.json`.
struct Trained {
    fraction: f64,
    model: String,
    seed: u64,
    subset: Option<serde_json::Value>,
    log: String,
}

fn trained(store: &Path) -> Vec<Trained> {
    entries(store, "train")
        .into_iter()
        .map(|e| {
            let job: serde_json::Value = serde_json::from_slice(&fs::read(e.join("job.json")).unwrap()).unwrap();
            let subset = fs::read(e.join("subset.json")).ok().map(|b| serde_json::from_slice(&b).unwrap());
            Trained {
                fraction: job["spec"]["train"]["train_fraction"].as_f64().unwrap_or(1.0),
                model: job["label"]["model"].as_str().unwrap().to_string(),
                seed: job["label"]["seed"].as_u64().unwrap(),
                subset,
                log: fs::read_to_string(e.join("log.txt")).unwrap(),
            }
        })
        .collect()
}

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v["subject_ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

#[test]
fn fractions_of_the_training_subjects_nest_and_the_report_shows_the_curves() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reports = dir.path().join("report");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data-efficiency.yaml");
    let args =
        ["--store", &store_arg(&store), "run", example.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()];
    let first = run(&args);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("26 ran, 0 cached, 0 failed"), "{}", text(&first));

    // 2 models x 3 fractions x 2 seeds; the 7 training subjects of the tiny set: 2, 4 and 7.
    let runs = trained(&store);
    assert_eq!(runs.len(), 12);
    let subsets = |fraction: f64| -> Vec<&Trained> { runs.iter().filter(|t| t.fraction == fraction).collect() };
    for (fraction, subjects, images) in [(0.25, 2, 48), (0.5, 4, 96)] {
        let these = subsets(fraction);
        assert_eq!(these.len(), 4);
        let first = these[0].subset.as_ref().expect("subset.json below fraction 1");
        for t in &these {
            let s = t.subset.as_ref().unwrap();
            assert_eq!((s["subjects"].as_u64(), s["of_subjects"].as_u64()), (Some(subjects), Some(7)), "{s}");
            assert_eq!((s["images"].as_u64(), s["of_images"].as_u64()), (Some(images), Some(168)), "{s}");
            // The same subjects for every model and seed.
            assert_eq!(ids(s), ids(first), "{} seed {}", t.model, t.seed);
            let line = format!(
                "train_fraction {fraction}: training on {subjects} of 7 training subjects ({images} of 168 images)"
            );
            assert!(t.log.contains(&line), "{}", t.log);
            assert!(t.log.contains(&format!("training on {images} images")), "{}", t.log);
        }
    }
    // Nested: the quarter's subjects are among the half's.
    let (quarter, half) =
        (ids(subsets(0.25)[0].subset.as_ref().unwrap()), ids(subsets(0.5)[0].subset.as_ref().unwrap()));
    assert!(quarter.iter().all(|s| half.contains(s)), "{quarter:?} not inside {half:?}");
    for t in subsets(1.0) {
        assert!(t.subset.is_none() && t.log.contains("training on 168 images"), "{}", t.log);
    }
    // The evaluations count what was trained on.
    let mut trained_images: Vec<u64> = entries(&store, "evaluate")
        .iter()
        .map(|e| {
            let r: serde_json::Value = serde_json::from_slice(&fs::read(e.join("result.json")).unwrap()).unwrap();
            r["protocol"]["train"]["images"].as_u64().unwrap()
        })
        .collect();
    trained_images.sort();
    assert_eq!(trained_images, [48, 48, 48, 48, 96, 96, 96, 96, 168, 168, 168, 168]);

    // The report: the section, its table (CSV and Parquet) and its chart.
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("<h2 id=\"data-efficiency\">Data efficiency</h2>"), "no section");
    assert!(html.contains("Data efficiency on tiny: to reach "), "no sentence");
    // The headline compares the models trained on all their training subjects (a run on all of
    // them is the model itself: no fraction in its name).
    let headline = html.split("On tiny, ").nth(1).and_then(|s| s.split('<').next()).unwrap_or_default();
    assert!(
        headline.contains("deep-emotion") && headline.contains("microexpnet") && !headline.contains("train_fraction"),
        "{headline}"
    );
    assert!(html.contains("charts/data-efficiency-tiny.png"), "no chart in the page");
    assert!(reports.join("charts/data-efficiency-tiny.png").exists());
    assert!(reports.join("tables/data_efficiency.parquet").exists());
    let csv = fs::read_to_string(reports.join("tables/data_efficiency.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "model,dataset,train_fraction,train_subjects,train_images,runs,accuracy_mean,accuracy_min,accuracy_max,accuracy_std"
    );
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[1].starts_with("deep-emotion,tiny,0.25,2,48,2,"), "{csv}");
    assert!(lines[6].starts_with("microexpnet,tiny,1.0,7,168,2,"), "{csv}");

    // Nothing trains again.
    let again = run(&args);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("0 ran, 26 cached"), "{}", text(&again));
}
