//! GC roots: every `run` records one; gc keeps what any root or given pipeline reaches, refuses
//! when a given pipeline's data is absent, lists before removing, asks or needs `--yes`.

use super::*;

/// A second small pipeline on the tiny data set (one model, other settings than tiny.yaml's).
fn other_pipeline(dir: &Path) -> PathBuf {
    let p = dir.join("other.yaml");
    fs::write(
        &p,
        "version: 1\nname: other\nseeds: [5]\nthreads: 1\nsaliency: {enabled: false}\n\
         datasets:\n  tiny: {kind: synthetic, seed: 7, subjects: 12, images_per_subject: 40, val_fraction: 0.2, test_fraction: 0.25}\n\
         models:\n  m: {arch: microexpnet, variant: xxs, datasets: tiny, epochs: 1, lr: 0.001, batch_size: 32, multi_crop: false}\n",
    )
    .unwrap();
    p
}

fn all_entries(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["prepare", "train", "distill-targets", "evaluate", "saliency"]
        .iter()
        .flat_map(|k| entries(store, k))
        .collect();
    v.sort();
    v
}

fn roots_of(store: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(store.join("roots"))
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The id of the root whose listing line names `name`.
fn root_id(store: &str, name: &str) -> String {
    let o = run(&["--store", store, "gc", "--list-roots"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let line = out.lines().find(|l| l.split_whitespace().nth(1) == Some(name)).unwrap_or_else(|| panic!("{out}"));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn gc_of_one_pipeline_keeps_what_other_runs_recorded_and_asks_before_removing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let t = tiny();
    let t = t.to_str().unwrap();
    let other = other_pipeline(dir.path());
    let o = other.to_str().unwrap();
    let first = run(&["--store", &s, "run", o]);
    assert!(first.status.success(), "{}", text(&first));
    let others = all_entries(&store);
    assert_eq!(others.len(), 3, "{others:?}");
    assert!(run_tiny(&store, &[]).status.success());
    let before = all_entries(&store);
    assert_eq!(before.len(), 3 + 8 - 1, "the prepare job is shared: {before:?}");

    // The same invocation again replaces its root; a different `--set` adds one.
    assert!(run_tiny(&store, &[]).status.success());
    assert_eq!(roots_of(&store).len(), 2, "{:?}", roots_of(&store));
    let listing = run(&["--store", &s, "gc", "--list-roots"]);
    let l = text(&listing);
    assert!(listing.status.success(), "{l}");
    assert!(l.contains("ROOT") && l.contains("JOBS"), "{l}");
    let tiny_line = l.lines().find(|x| x.split_whitespace().nth(1) == Some("tiny")).unwrap();
    assert!(
        tiny_line.contains(" 8 ") && tiny_line.contains("examples/tiny.yaml") && tiny_line.contains(" run "),
        "{l}"
    );
    let other_line = l.lines().find(|x| x.split_whitespace().nth(1) == Some("other")).unwrap();
    assert!(other_line.contains(" 3 ") && other_line.contains("other.yaml"), "{l}");

    // gc of tiny.yaml alone keeps the other pipeline's results: they have a root.
    let dry = run(&["--store", &s, "gc", t, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("would remove 0 entries"), "{}", text(&dry));
    let gc = run(&["--store", &s, "gc", t, "--yes"]);
    assert!(gc.status.success(), "{}", text(&gc));
    assert_eq!(all_entries(&store), before);

    // Forgetting: an unknown root is an error; the right one makes the other results collectable.
    let unknown = run(&["--store", &s, "gc", "--forget", "0123456789abcdef"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(text(&unknown).contains("0123456789abcdef"), "{}", text(&unknown));
    let id = root_id(&s, "other");
    let forget = run(&["--store", &s, "gc", "--forget", &id]);
    assert!(forget.status.success(), "{}", text(&forget));
    assert_eq!(roots_of(&store).len(), 1);
    assert_eq!(all_entries(&store), before, "forgetting removes no entry");

    // Not a terminal and no --yes: the list is printed, nothing is removed, exit 2.
    let refused = run(&["--store", &s, "gc", t]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let r = text(&refused);
    assert!(r.contains("--yes"), "{r}");
    assert!(r.contains("would remove 2 entries"), "{r}");
    for e in others.iter().filter(|e| !e.starts_with(store.join("prepare"))) {
        assert!(r.contains(&e.display().to_string()), "lists {}: {r}", e.display());
    }
    assert_eq!(all_entries(&store), before);

    // A locked entry (a job running) is never removed.
    let train = others.iter().find(|e| e.starts_with(store.join("train"))).unwrap();
    let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(train.join("lock")).unwrap();
    lock.try_lock().unwrap();
    let gc = run(&["--store", &s, "gc", t, "--yes"]);
    assert!(gc.status.success(), "{}", text(&gc));
    assert!(text(&gc).contains("kept (running)"), "{}", text(&gc));
    assert!(train.exists(), "a locked entry stays");
    assert_eq!(all_entries(&store).len(), before.len() - 1);
    drop(lock);
    let gc = run(&["--store", &s, "gc", t, "--yes"]);
    assert!(gc.status.success(), "{}", text(&gc));
    assert!(text(&gc).contains("removed 1 entries"), "{}", text(&gc));
    assert_eq!(all_entries(&store).len(), 8);
    assert!(text(&run_tiny(&store, &[])).contains("0 ran, 8 cached"));
}

#[test]
fn gc_removes_what_no_root_or_pipeline_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let t = tiny();
    let t = t.to_str().unwrap();
    assert!(run(&["--store", &s, "run", t]).status.success());
    let set = "models.microexpnet.lr=0.001";
    assert!(run(&["--store", &s, "run", t, "--set", set]).status.success());
    let count = || all_entries(&store).len();
    assert_eq!(count(), 11);
    // Both runs have a root: nothing to collect, with or without the pipeline named.
    for args in [&["gc", "--dry-run"][..], &["gc", t, "--dry-run"][..]] {
        let dry = run(&[&["--store", &s][..], args].concat());
        assert!(text(&dry).contains("would remove 0 entries"), "{}", text(&dry));
    }
    let o = run(&["--store", &s, "gc", "--list-roots"]);
    let line = text(&o).lines().find(|l| l.contains(set)).map(str::to_string).unwrap_or_else(|| panic!("{}", text(&o)));
    let id = line.split_whitespace().next().unwrap().to_string();
    assert!(run(&["--store", &s, "gc", "--forget", &id[..6]]).status.success(), "a unique prefix names a root");
    let dry = run(&["--store", &s, "gc", t, "--dry-run"]);
    assert!(text(&dry).contains("would remove 3 entries"), "{}", text(&dry));
    assert_eq!(count(), 11);
    let gc = run(&["--store", &s, "gc", t, "--yes"]);
    assert!(gc.status.success(), "{}", text(&gc));
    assert_eq!(count(), 8);
    assert!(text(&run(&["--store", &s, "run", t])).contains("0 ran, 8 cached"));
}

#[test]
fn gc_on_a_terminal_asks_and_no_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let other = other_pipeline(dir.path());
    assert!(run(&["--store", &s, "run", other.to_str().unwrap()]).status.success());
    let id = root_id(&s, "other");
    assert!(run(&["--store", &s, "gc", "--forget", &id]).status.success());
    assert_eq!(all_entries(&store).len(), 3);
    // `gc` with no pipeline and no root left would remove everything: refused without --force.
    let none = run(&["--store", &s, "gc", "--dry-run"]);
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(text(&none).contains("--force"), "{}", text(&none));

    // A real terminal through `script` (util-linux): the answer comes on stdin.
    let on_tty = |answer: &str| {
        let cmd = format!("{} --store '{s}' gc --force", exe().display());
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).current_dir(dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = c.spawn().expect("script runs");
        use std::io::Write;
        std::thread::sleep(Duration::from_millis(300));
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let no = on_tty("n\n");
    let out = String::from_utf8_lossy(&no.stdout).into_owned();
    assert!(out.contains("[y/N]"), "asks: {out}");
    assert!(out.contains("nothing removed"), "{out}");
    assert_eq!(all_entries(&store).len(), 3);
    let yes = on_tty("y\n");
    let out = String::from_utf8_lossy(&yes.stdout).into_owned();
    assert!(out.contains("removed 3 entries"), "{out}");
    assert!(all_entries(&store).is_empty());
}

#[test]
fn a_damaged_root_stops_gc_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store_arg(&store);
    let other = other_pipeline(dir.path());
    assert!(run(&["--store", &s, "run", other.to_str().unwrap()]).status.success());
    let roots = roots_of(&store);
    assert_eq!(roots.len(), 1, "{roots:?}");
    let path = store.join("roots").join(&roots[0]);
    let good = fs::read_to_string(&path).unwrap();
    assert!(good.contains("\"format_version\": 1"), "{good}");
    for bad in [good[..good.len() / 2].to_string(), good.replace("\"format_version\": 1", "\"format_version\": 7")] {
        fs::write(&path, bad).unwrap();
        for args in [&["gc", "--dry-run", "--force"][..], &["gc", "--yes", "--force"][..], &["gc", "--list-roots"][..]]
        {
            let o = run(&[&["--store", &s][..], args].concat());
            assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o));
            assert!(text(&o).contains(&path.display().to_string()), "{}", text(&o));
        }
        assert_eq!(all_entries(&store).len(), 3, "nothing removed");
    }
}

#[test]
fn gc_where_the_data_is_absent_refuses_and_roots_keep_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let manifests = dir.path().join("manifests");
    fs::create_dir_all(&manifests).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(repo.join("data-manifests/jaffe.yaml")).unwrap();
    fs::write(manifests.join("jaffe.yaml"), manifest.replace("folds: 10", "folds: 4")).unwrap();
    let pipeline = dir.path().join("p.yaml");
    fs::write(
        &pipeline,
        "version: 1\nname: jaffe-gc\nseeds: [1]\nsaliency: {enabled: false}\n\
         datasets:\n  jaffe: {kind: jaffe, manifest: manifests/jaffe.yaml, folds: 4}\n\
         models:\n  de: {arch: deep-emotion, datasets: jaffe, epochs: 1, batch_size: 16}\n",
    )
    .unwrap();
    write_jaffe(&data.join("jaffe"));
    let store = dir.path().join("store");
    let cmd = |data_dir: &Path, args: &[&str]| {
        let mut c = bin();
        c.env("FER_DATA_DIR", data_dir).arg("--store").arg(&store).args(args);
        c.output().unwrap()
    };
    let p = pipeline.to_str().unwrap();
    let ran = cmd(&data, &["run", p]);
    assert!(ran.status.success(), "{}", text(&ran));
    let before = all_entries(&store);
    assert_eq!(before.len(), 9);

    // On a machine without the data: refused (exit 2), nothing listed for removal.
    let absent = Path::new("/nonexistent");
    let dry = cmd(absent, &["gc", p, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(2), "{}", text(&dry));
    assert!(text(&dry).contains("absent") && text(&dry).contains("--force"), "{}", text(&dry));
    assert!(!text(&dry).contains("would remove /"), "{}", text(&dry));
    assert_eq!(cmd(absent, &["gc", p, "--yes"]).status.code(), Some(2));
    // Forced: the run's root still keeps every entry.
    let forced = cmd(absent, &["gc", p, "--dry-run", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(text(&forced).contains("would remove 0 entries"), "{}", text(&forced));
    let forced = cmd(absent, &["gc", p, "--yes", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(all_entries(&store), before);
    let again = cmd(&data, &["run", p]);
    assert!(text(&again).contains("0 ran, 9 cached"), "{}", text(&again));
}
