//! Robustness: `analyses: {robustness: true}` tests every trained model on corrupted copies of
//! its test split (a `robustness` job each, cached like the others); the report shows the panels.

use super::*;

#[test]
fn every_model_is_tested_under_six_corruptions_at_five_severities_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text_yaml = "version: 1\nname: robust\nseeds: [1]\nsaliency: {enabled: false}\nanalyses: {robustness: true}\n\
                     datasets:\n  tiny: {kind: synthetic, seed: 5, subjects: 12, images_per_subject: 14, test_fraction: 0.25}\n\
                     models:\n  \
                     deep-emotion: {arch: deep-emotion, datasets: tiny, epochs: 2, batch_size: 32}\n  \
                     microexpnet: {arch: microexpnet, datasets: tiny, epochs: 2, batch_size: 32, multi_crop: false}\n";
    let file = dir.path().join("pipeline.yaml");
    fs::write(&file, text_yaml).unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let reports = dir.path().join("reports");
    let o =
        bin().env("FER_REPORT_DIR", &reports).args(["--store", &s, "run", file.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let entries = entries(&store, "robustness");
    assert_eq!(entries.len(), 2);
    for e in &entries {
        let r: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(e.join("robustness.json")).unwrap()).unwrap();
        let rows = r["rows"].as_array().unwrap();
        assert_eq!((r["format_version"].as_u64(), rows.len()), (Some(1), 30), "{r}");
        let kinds: std::collections::BTreeSet<&str> = rows.iter().map(|x| x["corruption"].as_str().unwrap()).collect();
        assert_eq!(kinds.len(), 6);
        assert!(rows.iter().all(|x| (0.0..=1.0).contains(&x["accuracy"].as_f64().unwrap())));
        assert!(r["relative"].as_f64().unwrap() >= 0.0);
    }
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("id=\"robustness\"") && html.contains("charts/robustness-tiny.png"), "the section");
    assert!(html.contains("Robustness: on tiny, deep-emotion keeps"), "the sentence");
    // Two epochs on tiny data may leave a model near chance; then the sentence says so.
    assert!(html.contains("under rotation Deep-Emotion keeps") || html.contains("cannot be judged here"));
    let csv = fs::read_to_string(reports.join("tables/robustness_points.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 30, "{csv}");
    assert!(reports.join("tables/robustness.parquet").exists() && reports.join("charts/robustness-tiny.png").exists());
    let o = run(&["--store", &s, "run", file.to_str().unwrap(), "--no-report"]);
    assert!(text(&o).contains("0 ran"), "{}", text(&o));
}
