//! `report --out DIR`: it records what it writes (`.fer-report.json`) and deletes only those
//! files; a non-empty folder it did not write is refused unless `--force`.

use super::*;

const MANIFEST: &str = ".fer-report.json";

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap()
}

fn report(store: &Path, out: &Path, extra: &[&str]) -> Output {
    let s = store_arg(store);
    let o = out.to_str().unwrap();
    run(&[&["--store", &s, "report", "--out", o][..], extra].concat())
}

#[test]
fn report_out_deletes_only_files_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store"); // empty: the report says so, and still writes its tables
    let out = dir.path().join("rep");
    let first = report(&store, &out, &[]);
    assert!(first.status.success(), "{}", text(&first));
    let m = manifest(&out);
    assert_eq!(m["format_version"], 1, "{m}");
    let listed: Vec<String> =
        m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    assert!(listed.contains(&"index.html".to_string()) && listed.contains(&"tables/jobs.csv".to_string()), "{m}");

    // The user's own files beside the report, in its folders too.
    fs::create_dir_all(out.join("charts")).unwrap();
    fs::create_dir_all(out.join("images")).unwrap();
    let mine = [
        "tables/mine.csv",
        "tables/mine.parquet",
        "charts/mine.png",
        "charts/mine.svg",
        "images/mine.png",
        "notes.txt",
    ];
    for f in mine {
        fs::write(out.join(f), f).unwrap();
    }
    // Files an earlier report wrote that this one does not write again: removed while unchanged,
    // kept once the user changed them.
    fs::write(out.join("charts/old.png"), b"an old chart").unwrap();
    fs::write(out.join("charts/edited.png"), b"edited by the user").unwrap();
    let mut m = manifest(&out);
    let files = m["files"].as_array_mut().unwrap();
    files.push(serde_json::json!({"path": "charts/old.png", "bytes": 12, "sha256": fer_core::digest::sha256_hex(b"an old chart")}));
    files.push(serde_json::json!({"path": "charts/edited.png", "bytes": 12, "sha256": fer_core::digest::sha256_hex(b"the original")}));
    fs::write(out.join(MANIFEST), serde_json::to_vec_pretty(&m).unwrap()).unwrap();

    let second = report(&store, &out, &[]);
    assert!(second.status.success(), "{}", text(&second));
    for f in mine {
        assert_eq!(fs::read_to_string(out.join(f)).unwrap(), f, "{f} must stay untouched");
    }
    assert!(!out.join("charts/old.png").exists(), "a file the earlier report wrote is removed");
    assert!(out.join("charts/edited.png").exists(), "a report file changed since is kept");
    assert!(text(&second).contains("charts/edited.png"), "warns about it: {}", text(&second));
    assert!(out.join("index.html").exists() && out.join("tables/jobs.csv").exists());
    let after = manifest(&out).to_string();
    assert!(!after.contains("old.png") && !after.contains("edited.png") && !after.contains("mine"), "{after}");
}

#[test]
fn report_refuses_a_folder_it_did_not_write_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = dir.path().join("paper");
    fs::create_dir_all(out.join("tables")).unwrap();
    fs::write(out.join("tables/results.csv"), b"mine").unwrap();
    fs::write(out.join("index.html"), b"<p>my page</p>").unwrap();

    let refused = report(&store, &out, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let t = text(&refused);
    assert!(t.contains("--force") && t.contains(&out.display().to_string()), "{t}");
    assert_eq!(fs::read(out.join("index.html")).unwrap(), b"<p>my page</p>", "nothing written");
    assert!(!out.join(MANIFEST).exists());

    let forced = report(&store, &out, &["--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(fs::read(out.join("tables/results.csv")).unwrap(), b"mine");
    assert!(out.join(MANIFEST).exists());
    // Now it holds a report: no --force needed, and still only the report's files change.
    let again = report(&store, &out, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(fs::read(out.join("tables/results.csv")).unwrap(), b"mine");

    // A damaged manifest: refused (it cannot tell what is the report's), forced writes anyway.
    fs::write(out.join(MANIFEST), b"{ broken").unwrap();
    let bad = report(&store, &out, &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains(MANIFEST), "{}", text(&bad));
    assert!(report(&store, &out, &["--force"]).status.success());
    assert_eq!(fs::read(out.join("tables/results.csv")).unwrap(), b"mine");

    // An existing empty folder is fine.
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    assert!(report(&store, &empty, &[]).status.success());

    // `run --report-dir` into a foreign folder: the run succeeds, the report is refused with a warning.
    let other = dir.path().join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("keep.txt"), b"x").unwrap();
    let p = dir.path().join("p.yaml");
    fs::write(
        &p,
        "version: 1\nname: small\nseeds: [1]\nthreads: 1\nsaliency: {enabled: false}\n\
         datasets:\n  d: {kind: synthetic, seed: 3, subjects: 8, images_per_subject: 20}\n\
         models:\n  m: {arch: microexpnet, variant: xxs, datasets: d, epochs: 1, batch_size: 32}\n",
    )
    .unwrap();
    let r = bin()
        .args(["--store", &store_arg(&store), "run", p.to_str().unwrap(), "--report-dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("warning: failed to write the report"), "{}", text(&r));
    assert_eq!(fs::read_dir(&other).unwrap().count(), 1);
}

#[test]
fn the_default_reports_folder_is_the_reports_own() {
    // A checkout's `reports/` ships a README.md (tracked by git) and may hold `bench.csv`.
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reports = dir.path().join("reports");
    fs::create_dir_all(&reports).unwrap();
    let readme = fs::read(repo.join("reports/README.md")).unwrap();
    fs::write(reports.join("README.md"), &readme).unwrap();
    fs::write(reports.join("bench.csv"), b"model,images_per_s\n").unwrap();
    let store = dir.path().join("store");
    for _ in 0..2 {
        let o = bin().current_dir(dir.path()).args(["--store", &store_arg(&store), "report"]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert!(reports.join("index.html").exists() && reports.join(MANIFEST).exists());
        assert_eq!(fs::read(reports.join("README.md")).unwrap(), readme);
        assert!(reports.join("bench.csv").exists());
    }
    let ignore = fs::read_to_string(repo.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/reports/*"), "the manifest and the report stay out of git");
}
