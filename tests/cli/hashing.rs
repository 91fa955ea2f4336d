//! Job hashes depend on content and settings only; golden hashes; verify, plan and prepare agree on the data's files.

use super::*;

/// A JAFFE pipeline on `<dir>/data/jaffe` (read through `FER_DATA_DIR`) with its own manifest copy
/// in `<dir>/manifests/jaffe.yaml` (3 folds); `extra` is appended to the pipeline.
struct Jaffe {
    dir: tempfile::TempDir,
}

impl Jaffe {
    fn new(extra: &str) -> Jaffe {
        let dir = tempfile::tempdir().unwrap();
        let manifests = dir.path().join("manifests");
        fs::create_dir_all(&manifests).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = fs::read_to_string(repo.join("data-manifests/jaffe.yaml")).unwrap();
        fs::write(manifests.join("jaffe.yaml"), manifest.replace("folds: 10", "folds: 3")).unwrap();
        fs::write(
            dir.path().join("pipeline.yaml"),
            format!(
                "version: 1\nname: jaffe-hash\nseeds: [1]\nsaliency: {{enabled: false}}\n\
                 datasets:\n  jaffe: {{kind: jaffe, manifest: manifests/jaffe.yaml}}\n\
                 models:\n  de: {{arch: deep-emotion, datasets: jaffe, epochs: 1, batch_size: 16}}\n{extra}"
            ),
        )
        .unwrap();
        write_jaffe(&dir.path().join("data/jaffe"));
        Jaffe { dir }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data/jaffe")
    }

    fn manifest(&self) -> PathBuf {
        self.dir.path().join("manifests/jaffe.yaml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.env("FER_DATA_DIR", self.dir.path().join("data"))
            .arg("--store")
            .arg(self.dir.path().join("store"))
            .args(args.iter().map(|a| a.replace("PIPELINE", &self.dir.path().join("pipeline.yaml").to_string_lossy())))
            .args(if args.first() == Some(&"data") && args.get(1) != Some(&"prepare") {
                vec!["--manifests".to_string(), self.dir.path().join("manifests").to_string_lossy().into_owned()]
            } else {
                vec![]
            });
        c
    }

    fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `cmd`, killed after `secs` (a hung command fails the test instead of hanging it).
    fn cmd_within(&self, args: &[&str], secs: u64) -> Output {
        let child = self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(secs)) {
            Ok(o) => o.unwrap(),
            Err(_) => {
                // SAFETY: kill(2) on the child this test started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                let o = rx.recv().unwrap().unwrap();
                panic!("`{}` did not finish within {secs} s: {}", args.join(" "), text(&o));
            }
        }
    }
}

/// The 12-digit hashes of the plan table, in order.
fn plan_hashes(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.len() == 12 && w.bytes().all(|b| b.is_ascii_hexdigit())))
        .map(str::to_string)
        .collect()
}

#[test]
fn rewriting_the_manifest_keeps_every_job_cached() {
    let j = Jaffe::new("");
    let run = j.cmd(&["run", "PIPELINE"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("7 ran"), "{}", text(&run));
    let before = j.cmd(&["plan", "PIPELINE"]);
    let hashes = plan_hashes(&text(&before));
    assert_eq!(hashes.len(), 7, "{}", text(&before));

    // `data hash` writes the files' sha256 into the manifest: nothing to run again.
    let hashed = j.cmd(&["data", "hash", "jaffe"]);
    assert!(hashed.status.success(), "{}", text(&hashed));
    assert!(fs::read_to_string(j.manifest()).unwrap().contains("sha256: "));
    let after = j.cmd(&["plan", "PIPELINE"]);
    assert!(text(&after).contains("7 cached, 0 to run"), "after `data hash`: {}", text(&after));
    assert_eq!(plan_hashes(&text(&after)), hashes);

    // Nor do comments, key order, the location (the same folder, written absolute) or the name.
    let m = fs::read_to_string(j.manifest()).unwrap();
    let (head, files) = m.split_at(m.find("\nfiles:").unwrap() + 1);
    let moved = format!(
        "# rewritten by hand\n{files}location: {}\n{}",
        j.data().display(),
        head.replace("format_version: 1\n", "").replace("name: jaffe\n", "name: jaffe-copy\n") + "format_version: 1\n"
    );
    fs::write(j.manifest(), moved).unwrap();
    let after = j.cmd(&["plan", "PIPELINE"]);
    assert!(text(&after).contains("7 cached, 0 to run"), "after rewriting: {}", text(&after));

    // What changes the tensors does change the hashes: the label map, the protocol, the crop.
    for (from, to) in
        [("surprise: surprise", "surprise: drop"), ("folds: 3", "folds: 4"), ("crop: detect", "crop: center")]
    {
        let m = fs::read_to_string(j.manifest()).unwrap();
        fs::write(j.manifest(), m.replace(from, to)).unwrap();
        let changed = j.cmd(&["plan", "PIPELINE"]);
        assert!(changed.status.success(), "{}", text(&changed));
        assert!(!text(&changed).contains(" 0 to run"), "{to}: {}", text(&changed));
        assert_ne!(plan_hashes(&text(&changed))[0], hashes[0], "{to}");
        fs::write(j.manifest(), m).unwrap();
    }
    // And the content: one image changed.
    let img = j.data().join("KA.AN1.0.tiff");
    let mut bytes = fs::read(&img).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    fs::write(&img, &bytes).unwrap();
    fs::write(j.manifest(), replace_files(&fs::read_to_string(j.manifest()).unwrap())).unwrap();
    let changed = j.cmd(&["plan", "PIPELINE"]);
    assert!(text(&changed).contains("0 cached, 7 to run"), "{}", text(&changed));
}

/// The manifest without its `files:` list (the data is hashed from disk).
fn replace_files(manifest: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for l in manifest.lines() {
        if l.starts_with("files:") {
            skipping = true;
            out.push_str("files: []\n");
            continue;
        }
        if skipping && (l.starts_with(' ') || l.starts_with('-')) {
            continue;
        }
        skipping = false;
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `skip_bad` is a loader option: it is in the prepare hash, and so in every job downstream.
#[test]
fn skip_bad_changes_the_hashes() {
    let j = Jaffe::new("");
    let plain = plan_hashes(&text(&j.cmd(&["plan", "PIPELINE"])));
    let skip = plan_hashes(&text(&j.cmd(&["plan", "PIPELINE", "--skip-bad"])));
    assert_eq!((plain.len(), skip.len()), (7, 7));
    for (a, b) in plain.iter().zip(&skip) {
        assert_ne!(a, b, "every job depends on the loader's `skip_bad`");
    }
    // `--skip-bad` and `skip_bad: true` in the pipeline are the same setting.
    let p = j.dir.path().join("pipeline.yaml");
    let text_p = fs::read_to_string(&p).unwrap();
    fs::write(&p, text_p.replace("manifest: manifests/jaffe.yaml}", "manifest: manifests/jaffe.yaml, skip_bad: true}"))
        .unwrap();
    assert_eq!(plan_hashes(&text(&j.cmd(&["plan", "PIPELINE"]))), skip);
}

/// A file the manifest lists that is gone (an interrupted copy) makes the data set unusable as
/// it is: `plan` names it, `run --strict` fails before any prepare, `data hash` accepts the data
/// as it is now.
#[test]
fn listed_files_missing_on_disk_make_the_jobs_unavailable() {
    let j = Jaffe::new("");
    let hashed = j.cmd(&["data", "hash", "jaffe"]);
    assert!(hashed.status.success(), "{}", text(&hashed));
    fs::remove_file(j.data().join("KL.HA1.16.tiff")).unwrap();

    let verify = j.cmd(&["data", "verify", "jaffe"]);
    assert!(!verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("`KL.HA1.16.tiff` is missing"), "{}", text(&verify));

    let plan = j.cmd(&["plan", "PIPELINE"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let out = text(&plan);
    assert!(out.contains("7 unavailable"), "{out}");
    assert!(out.contains("KL.HA1.16.tiff"), "names the missing file: {out}");
    assert!(out.contains("fer-pipeline data hash jaffe"), "says how to accept the data: {out}");

    let strict = j.cmd(&["run", "PIPELINE", "--strict"]);
    assert!(!strict.status.success(), "{}", text(&strict));
    assert!(text(&strict).contains("KL.HA1.16.tiff"), "{}", text(&strict));
    let store = j.dir.path().join("store");
    assert!(entries(&store, "prepare").is_empty(), "no prepare entry after a refused run");

    let lenient = j.cmd(&["run", "PIPELINE"]);
    assert!(lenient.status.success(), "{}", text(&lenient));
    assert!(text(&lenient).contains("skipping 7 job(s)"), "{}", text(&lenient));
    assert!(entries(&store, "prepare").is_empty(), "nothing prepared from incomplete data");

    let hashed = j.cmd(&["data", "hash", "jaffe"]);
    assert!(hashed.status.success(), "{}", text(&hashed));
    let run = j.cmd(&["run", "PIPELINE", "--strict"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("7 ran"), "{}", text(&run));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(entries(&store, "prepare")[0].join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["images"], 55, "the 55 images left: {summary}");
}

#[test]
fn files_the_loader_ignores_are_named_and_do_not_break_runs() {
    // Two profiles: the pipeline is compiled once per profile, the warning still comes once.
    let j = Jaffe::new("profiles: {a: {}, b: {}}\n");
    let hashed = j.cmd(&["data", "hash", "jaffe"]);
    assert!(hashed.status.success(), "{}", text(&hashed));
    let m = fs::read_to_string(j.manifest()).unwrap();
    assert_eq!(m.matches("sha256: ").count(), 56, "the 56 images only: {m}");
    fs::write(j.data().join("NOTES.txt"), "where this copy came from\n").unwrap();

    let verify = j.cmd(&["data", "verify", "jaffe"]);
    assert!(verify.status.success(), "{}", text(&verify));
    let v = text(&verify);
    assert!(v.contains("NOTES.txt") && v.contains("ignore"), "verify names the ignored file: {v}");

    let plan = j.cmd(&["plan", "PIPELINE"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert_eq!(text(&plan).matches("NOTES.txt").count(), 1, "warned once: {}", text(&plan));

    let run = j.cmd(&["run", "PIPELINE"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("7 ran"), "{}", text(&run));

    // A file the loader does read, added after hashing, is new content: it is planned and prepared as such.
    fs::copy(j.data().join("KA.AN1.0.tiff"), j.data().join("KA.AN3.99.tiff")).unwrap();
    let run = j.cmd(&["run", "PIPELINE"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("7 ran"), "{}", text(&run));
    let verify = j.cmd(&["data", "verify", "jaffe"]);
    assert!(text(&verify).contains("KA.AN3.99.tiff"), "{}", text(&verify));
}

#[test]
fn a_changed_image_is_named_when_prepare_finds_other_content() {
    let j = Jaffe::new("");
    assert!(j.cmd(&["data", "hash", "jaffe"]).status.success());
    let img = j.data().join("KL.HA1.16.tiff");
    let mut bytes = fs::read(&img).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    fs::write(&img, &bytes).unwrap();
    let run = j.cmd(&["run", "PIPELINE"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let out = text(&run);
    assert!(out.contains("KL.HA1.16.tiff"), "names the file that differs from the manifest: {out}");
}

#[test]
fn fifos_devices_and_links_out_of_the_data_folder_are_skipped_and_named() {
    let j = Jaffe::new("");
    let data = j.data();
    let fifo = data.join("queue");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("/dev/zero", data.join("zero.tiff")).unwrap();
    let outside = j.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::copy(data.join("KA.AN1.0.tiff"), outside.join("KA.AN4.98.tiff")).unwrap();
    std::os::unix::fs::symlink(outside.join("KA.AN4.98.tiff"), data.join("KA.AN4.98.tiff")).unwrap();
    std::os::unix::fs::symlink(&outside, data.join("elsewhere")).unwrap();
    // A link inside the folder is followed.
    std::os::unix::fs::symlink("KA.AN1.0.tiff", data.join("KA.AN5.97.tiff")).unwrap();

    let plan = j.cmd_within(&["plan", "PIPELINE"], 60);
    assert!(plan.status.success(), "{}", text(&plan));
    let out = text(&plan);
    for name in ["queue", "zero.tiff", "KA.AN4.98.tiff", "elsewhere"] {
        assert!(out.contains(name), "names `{name}`: {out}");
    }
    let verify = j.cmd_within(&["data", "verify", "jaffe"], 60);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("queue"), "{}", text(&verify));
    let hashed = j.cmd_within(&["data", "hash", "jaffe"], 60);
    assert!(hashed.status.success(), "{}", text(&hashed));
    let m = fs::read_to_string(j.manifest()).unwrap();
    assert!(m.contains("KA.AN5.97.tiff") && !m.contains("KA.AN4.98.tiff") && !m.contains("zero"), "{m}");

    let run = j.cmd_within(&["run", "PIPELINE"], 300);
    assert!(run.status.success(), "{}", text(&run));
    let summary: serde_json::Value = serde_json::from_slice(
        &fs::read(entries(&j.dir.path().join("store"), "prepare")[0].join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["images"], 57, "56 images and the link inside the folder: {summary}");
}

/// A grayscale uncompressed TIFF written byte by byte (no encoder whose output could change).
fn tiff(w: u16, h: u16, seed: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 3, w as u32),            // ImageWidth
        (257, 3, h as u32),            // ImageLength
        (258, 3, 8),                   // BitsPerSample
        (259, 3, 1),                   // Compression: none
        (262, 3, 1),                   // Photometric: black is zero
        (273, 4, 8 + 2 + 9 * 12 + 4),  // StripOffsets
        (277, 3, 1),                   // SamplesPerPixel
        (278, 3, h as u32),            // RowsPerStrip
        (279, 4, w as u32 * h as u32), // StripByteCounts
    ];
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, ty, v) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(ty.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        if ty == 3 {
            b.extend((v as u16).to_le_bytes());
            b.extend([0, 0]);
        } else {
            b.extend(v.to_le_bytes());
        }
    }
    b.extend(0u32.to_le_bytes());
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            b.push(((x * 7 + y * 13 + seed * 29) % 256) as u8);
        }
    }
    b
}

/// `kind/hash16` of every job of the pipeline at `file`, one per line, in plan order.
fn job_hashes(file: &Path, sets: &[&str]) -> String {
    let overrides =
        fer_core::spec::Overrides { sets: sets.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    let p = fer_core::spec::load(file, &overrides).unwrap();
    let plan = fer_core::plan::build(&p);
    plan.jobs.iter().map(|j| format!("{} {} {}\n", j.kind().name(), j.hash.short(), j.label.describe())).collect()
}

/// The golden job hashes: any change to what is hashed, or how, fails here. When it is intended,
/// bump the code revision of the kinds concerned (`JobKind::revision`) where old entries must not
/// be reused, and update `tests/cli/golden/job_hashes.txt` in the same commit
/// (`FER_UPDATE_GOLDEN=1 cargo test --test cli hashing::golden`).
#[test]
fn golden_job_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("jaffe-data");
    fs::create_dir_all(&data).unwrap();
    for (s, subj) in ["KA", "KL", "YM"].iter().enumerate() {
        for (e, ex) in ["AN", "HA", "NE", "SU"].iter().enumerate() {
            fs::write(data.join(format!("{subj}.{ex}1.{}.tiff", 10 * s + e)), tiff(20, 24, (s * 4 + e) as u32))
                .unwrap();
        }
    }
    fs::write(data.join("README"), "not an image\n").unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(repo.join("data-manifests/jaffe.yaml")).unwrap();
    fs::write(
        dir.path().join("jaffe.yaml"),
        format!("{}location: {}\n", manifest.replace("folds: 10", "folds: 3"), data.display()),
    )
    .unwrap();
    let pipeline = dir.path().join("pipeline.yaml");
    fs::write(
        &pipeline,
        "version: 1\nname: golden-jaffe\nseeds: [1]\n\
         datasets:\n  jaffe: {kind: jaffe, manifest: jaffe.yaml, skip_bad: true}\n\
         models:\n  teacher: {arch: deep-emotion, datasets: jaffe, epochs: 2}\n\
         \x20 student: {arch: microexpnet, datasets: jaffe, teacher: teacher, epochs: 2, temperature: 4}\n",
    )
    .unwrap();
    let mut got = String::from("# examples/tiny.yaml\n");
    got += &job_hashes(&tiny(), &[]);
    got += "# a JAFFE pipeline with a teacher and a student on 12 fixed images, 3 folds\n";
    got += &job_hashes(&pipeline, &[]);

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/golden/job_hashes.txt");
    if std::env::var_os("FER_UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(golden.parent().unwrap()).unwrap();
        fs::write(&golden, &got).unwrap();
    }
    let want = fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        got == want,
        "job hashes changed; if intended, bump the code revision where needed and update {} \
         (FER_UPDATE_GOLDEN=1):\n--- golden\n{want}\n--- now\n{got}",
        golden.display()
    );
}

/// `skip_bad` is hashed: a strict run that fails on a bad image and a `--skip-bad` run use two
/// prepare entries; a strict run afterwards still fails instead of using the `--skip-bad` one.
#[test]
fn a_strict_run_never_uses_the_entry_a_skip_bad_run_built() {
    let j = Jaffe::new("");
    fs::write(j.data().join("KA.AN9.99.tiff"), b"II*\0not a tiff").unwrap();
    let strict = j.cmd(&["run", "PIPELINE"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));
    assert!(text(&strict).contains("KA.AN9.99.tiff"), "{}", text(&strict));
    let skip = j.cmd(&["run", "PIPELINE", "--skip-bad"]);
    assert!(skip.status.success(), "{}", text(&skip));
    assert!(text(&skip).contains("7 ran"), "{}", text(&skip));
    let store = j.dir.path().join("store");
    let prepared: Vec<PathBuf> =
        entries(&store, "prepare").into_iter().filter(|e| e.join("summary.json").exists()).collect();
    assert_eq!(prepared.len(), 1, "only the `--skip-bad` entry is complete");
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(prepared[0].join("summary.json")).unwrap()).unwrap();
    assert_eq!((summary["images"].as_u64(), summary["skipped"]["bad"].as_u64()), (Some(56), Some(1)), "{summary}");
    // A strict plan does not find it: it is another job.
    let plan = j.cmd(&["plan", "PIPELINE"]);
    assert!(text(&plan).contains("0 cached, 7 to run"), "{}", text(&plan));
    let again = j.cmd(&["run", "PIPELINE"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("KA.AN9.99.tiff"), "{}", text(&again));
    let plan = j.cmd(&["plan", "PIPELINE", "--skip-bad"]);
    assert!(text(&plan).contains("7 cached, 0 to run"), "{}", text(&plan));
}
