//! The efficiency analysis end to end: `analyses: {efficiency: true}` adds one throughput job per
//! compared network (run alone, cached, planned, listed, submitted like the others), and the
//! report's efficiency frontier (tables, chart, sentence); off, none of it; bad switches refused.

use super::*;

/// The tiny pipeline at one epoch, without saliency maps, with `analyses` as given.
fn pipeline(dir: &Path, analyses: &str) -> PathBuf {
    let text = fs::read_to_string(tiny()).unwrap().replace("epochs: 4", "epochs: 1");
    let p = dir.join("pipeline.yaml");
    fs::write(&p, format!("{text}saliency: {{enabled: false}}\n{analyses}")).unwrap();
    p
}

/// The CSV's rows as maps from column to value.
fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    lines.map(|l| header.iter().cloned().zip(l.split(',').map(str::to_string)).collect()).collect()
}

#[test]
fn throughput_jobs_run_cache_and_feed_the_efficiency_frontier() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), "analyses: {efficiency: true}\n");
    let (p, store) = (p.to_str().unwrap(), store_arg(&dir.path().join("store")));
    let reports = dir.path().join("reports");
    let r = reports.to_str().unwrap();

    // Planned (and explained) before anything runs: one per network.
    let plan = run(&["--store", &store, "plan", p, "--explain"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let planned = text(&plan);
    let lines: Vec<&str> = planned.lines().filter(|l| l.starts_with("throughput")).collect();
    assert_eq!(lines.len(), 2, "{planned}");
    assert!(lines.iter().any(|l| l.contains("deep-emotion")) && lines.iter().any(|l| l.contains("microexpnet-xxs")));

    let o = run(&["--store", &store, "run", p, "--report-dir", r]);
    assert!(o.status.success(), "{}", text(&o));
    let speeds = entries(Path::new(&store), "throughput");
    assert_eq!(speeds.len(), 2);
    for e in &speeds {
        let rec: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(e.join("throughput.json")).unwrap()).unwrap();
        assert_eq!(rec["format_version"], 1);
        assert_eq!(rec["device"], "cpu");
        assert!(!rec["cpu_model"].as_str().unwrap().is_empty());
        let rows = rec["measurements"].as_array().unwrap();
        let settings: Vec<(u64, &str)> =
            rows.iter().map(|m| (m["batch"].as_u64().unwrap(), m["threads"].as_str().unwrap())).collect();
        assert_eq!(settings, [(1, "1"), (64, "1"), (1, "all"), (64, "all")]);
        assert!(rows.iter().all(|m| m["images_per_s"].as_f64().unwrap() > 0.0));
        assert!(e.join("done").exists());
    }

    // The report: the frontier table with counted FLOPs, the throughput table beside the claim.
    let frontier = csv_rows(&reports.join("tables/efficiency_frontier.csv"));
    assert_eq!(frontier.len(), 2);
    for row in &frontier {
        // 7 classes: MicroExpNet XXS 2,853,200 multiply-adds (fc2 48 x 7), Deep-Emotion 3,933,882.
        let want = if row["model"] == "microexpnet" { "5.7064" } else { "7.867764" };
        assert_eq!(row["mflops"], want, "{row:?}");
        for col in ["params", "latency_ms_batch1", "accuracy", "on_front", "dataset"] {
            assert!(!row[col].is_empty(), "{col}: {row:?}");
        }
    }
    // At least one model is on the front (nothing dominates the most accurate).
    assert!(frontier.iter().any(|r| r["on_front"] == "true"));
    let speed = csv_rows(&reports.join("tables/throughput.csv"));
    assert_eq!(speed.len(), 8);
    assert!(speed.iter().filter(|r| r["network"] == "microexpnet-xxs").all(|r| r["claimed_images_per_s"] == "1851.0"));
    for f in ["tables/efficiency_frontier.parquet", "tables/throughput.parquet", "charts/efficiency_frontier.png"] {
        assert!(reports.join(f).exists(), "{f}");
    }
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("id=\"efficiency\"") && html.contains("href=\"#efficiency\""), "section and link");
    assert!(html.contains("1 multiply-add = 2 FLOPs") && html.contains("1851"), "convention and claim");
    assert!(html.contains("Efficiency: on tiny,"), "the sentence in the summary");

    // Cached: nothing runs again; status lists them finished.
    let again = run(&["--store", &store, "run", p, "--no-report"]);
    assert!(text(&again).contains("0 ran,"), "{}", text(&again));
    let status = text(&run(&["--store", &store, "status", p]));
    let done: Vec<&str> = status.lines().filter(|l| l.starts_with("throughput")).collect();
    assert_eq!(done.len(), 2, "{status}");
    assert!(done.iter().all(|l| l.trim_end().ends_with("cached")), "{status}");

    // Submitted as its own array like the other kinds (dry run).
    let sub = run(&["--store", &store_arg(&dir.path().join("fresh")), "submit", p, "--dry-run"]);
    assert!(sub.status.success(), "{}", text(&sub));
    assert!(text(&sub).contains("#SBATCH --job-name=fer-throughput"), "{}", text(&sub));

    // Switched off: no throughput jobs, no section (the same store).
    let off = pipeline(dir.path(), "analyses: {efficiency: false}\n");
    let plan = run(&["--store", &store, "plan", off.to_str().unwrap()]);
    assert!(!text(&plan).lines().any(|l| l.starts_with("throughput")), "{}", text(&plan));
    let out = dir.path().join("off");
    let rep = run(&["--store", &store, "report", off.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(rep.status.success(), "{}", text(&rep));
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("id=\"efficiency\""));
    assert!(!out.join("tables/efficiency_frontier.csv").exists());
}

#[test]
fn bad_analyses_switches_are_refused_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, want) in [
        ("analyses: {efficency: true}\n", "efficency"),
        ("analyses: {efficiency: maybe}\n", "analyses.efficiency"),
        ("analyses: [efficiency]\n", "analyses"),
    ] {
        let p = pipeline(dir.path(), bad);
        let store = dir.path().join("store");
        let o = run(&["--store", &store_arg(&store), "plan", p.to_str().unwrap()]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {out}");
        assert!(out.contains("pipeline.yaml:"), "{bad}: a position: {out}");
        assert!(out.contains(want), "{bad}: {out}");
        assert!(!out.contains("panicked") && !store.exists(), "{out}");
    }
}
