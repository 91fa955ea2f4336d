//! Domain shift: `analyses: {domain_shift: true}` tests every model on the other data set (a
//! `transfer` job each, cached like the others); the report shows the 2 x 2 matrices.

use super::*;

fn pipeline(dir: &Path, domain_shift: bool) -> PathBuf {
    let text = format!(
        "version: 1\nname: shift\nseeds: [1]\nsaliency: {{enabled: false}}\nanalyses: {{domain_shift: {domain_shift}}}\n\
         datasets:\n  \
         posed: {{kind: synthetic, seed: 3, subjects: 12, images_per_subject: 14, style: posed, test_fraction: 0.25}}\n  \
         wild: {{kind: synthetic, seed: 3, subjects: 12, images_per_subject: 14, style: wild, test_fraction: 0.25}}\n\
         models:\n  \
         de: {{arch: deep-emotion, datasets: [posed, wild], epochs: 2, batch_size: 32}}\n  \
         me: {{arch: microexpnet, datasets: [posed, wild], epochs: 2, batch_size: 32, multi_crop: false}}\n"
    );
    let path = dir.join("pipeline.yaml");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_model_is_tested_on_the_other_data_set_and_the_report_shows_the_matrices() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    // Off: no transfer job.
    let off = pipeline(dir.path(), false);
    let o = run(&["--store", &s, "plan", off.to_str().unwrap()]);
    assert!(o.status.success() && !text(&o).contains("transfer"), "{}", text(&o));

    let file = pipeline(dir.path(), true);
    let o = run(&["--store", &s, "plan", file.to_str().unwrap()]);
    assert_eq!(text(&o).lines().filter(|l| l.starts_with("transfer")).count(), 4, "{}", text(&o));
    let reports = dir.path().join("reports");
    let o =
        bin().env("FER_REPORT_DIR", &reports).args(["--store", &s, "run", file.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let transfers = entries(&store, "transfer");
    assert_eq!(transfers.len(), 4);
    for t in &transfers {
        let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(t.join("transfer.json")).unwrap()).unwrap();
        assert_eq!((r["format_version"].as_u64(), r["shared"].as_array().unwrap().len()), (Some(1), 7), "{r}");
        assert_eq!(r["images"], "test split");
        assert_eq!(r["dropped"], 0);
        assert!(r["test"]["n"].as_u64().unwrap() > 0 && (0.0..=1.0).contains(&r["test"]["accuracy"].as_f64().unwrap()));
    }
    // The report: the section, its chart and its table (2 models x 2 x 2).
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("id=\"domain-shift\"") && html.contains("charts/domain_shift.png"), "the section");
    assert!(html.contains("Domain shift: de trained on posed scores"), "the sentence");
    let csv = fs::read_to_string(reports.join("tables/domain_shift.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");
    assert!(reports.join("tables/domain_shift.parquet").exists() && reports.join("charts/domain_shift.png").exists());
    // Calibration: every run has per-image confidences, so the section, its tables and one
    // reliability diagram per data set are there.
    assert!(html.contains("id=\"calibration\"") && html.contains("Calibration (15 bins): on posed"), "calibration");
    let cal = fs::read_to_string(reports.join("tables/calibration.csv")).unwrap();
    assert_eq!(cal.lines().count(), 1 + 4, "{cal}");
    assert!(
        reports.join("charts/reliability-posed.png").exists() && reports.join("charts/reliability-wild.png").exists()
    );
    // Cached: a second run runs nothing.
    let o = run(&["--store", &s, "run", file.to_str().unwrap(), "--no-report"]);
    assert!(text(&o).contains("0 ran"), "{}", text(&o));
}
