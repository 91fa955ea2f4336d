//! Machine-readable output (`plan`/`status`/`models --json`, `run --events jsonl`) and the small
//! conveniences (`completions`, `--version`, the `afterok` chain of `submit --dry-run`).

use serde_json::Value;

use super::*;

/// Keys whose values vary between runs (times, durations, metrics, paths): replaced by `[KEY]`.
const VARYING: [&str; 12] = [
    "time",
    "seconds",
    "train_loss",
    "train_acc",
    "val_acc",
    "accuracy",
    "macro_f1",
    "summary",
    "store",
    "file",
    "log",
    "device",
];

/// Hex runs of 12+ digits (hashes) become `[HASH]`.
fn redact_hex(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 12 { "[HASH]" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The value with hashes, times, durations, metrics and paths redacted.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if VARYING.contains(&k.as_str()) && !v.is_null() {
                        Value::String(format!("[{}]", k.to_uppercase()))
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        Value::String(s) => Value::String(redact_hex(s)),
        v => v.clone(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(&redact(v)).unwrap()
}

/// Stdout as exactly one JSON document (nothing else may be there).
fn document(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", String::from_utf8_lossy(&o.stdout)))
}

/// Every line of stdout as a JSON object carrying `format_version` 1 and an `event`.
fn event_lines(o: &Output) -> Vec<Value> {
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{out}"));
            assert_eq!(v["format_version"], 1, "{l}");
            assert!(v["event"].is_string(), "{l}");
            assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
            v
        })
        .collect()
}

fn events_named<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == name).collect()
}

#[test]
fn plan_json_lists_every_job_with_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let o = run(&["--store", &store_arg(&store), "plan", "examples/tiny.yaml", "--json"]);
    let doc = document(&o);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["pipeline"]["name"], "tiny");
    let jobs = doc["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 8);
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    for j in jobs {
        let id = j["id"].as_str().unwrap();
        let hash = j["hash"].as_str().unwrap();
        assert_eq!(hash.len(), 64);
        assert_eq!(id, format!("{}/{}", j["kind"].as_str().unwrap(), &hash[..16]));
        for need in j["needs"].as_array().unwrap() {
            assert!(ids.contains(&need.as_str().unwrap()), "{need} is not a job of the plan");
        }
        assert_eq!(j["state"], "pending");
    }
    assert_eq!(doc["totals"]["to_run"], 8);
    assert_eq!(doc["totals"]["kinds"]["train"], 2);
    // The same ids as the table's hashes.
    let table = text(&run(&["--store", &store_arg(&store), "plan", "examples/tiny.yaml"]));
    for j in jobs {
        assert!(table.contains(&j["hash"].as_str().unwrap()[..12]), "{table}");
    }
    insta::assert_snapshot!("plan_json", pretty(&doc));
    // --explain fills `why`.
    let explained =
        document(&run(&["--store", &store_arg(&store), "plan", "examples/tiny.yaml", "--json", "--explain"]));
    assert!(explained["jobs"][0]["why"][0].as_str().unwrap().starts_with("why: "), "{explained}");
    // --json and --dot are two outputs: refused.
    let both = run(&["plan", "examples/tiny.yaml", "--json", "--dot"]);
    assert_eq!(both.status.code(), Some(2), "{}", text(&both));
}

#[test]
fn models_json_gives_inputs_and_parameter_counts() {
    let doc = document(&run(&["models", "--json"]));
    assert_eq!(doc["format_version"], 1);
    let models = doc["models"].as_array().unwrap();
    let params = |name: &str| models.iter().find(|m| m["name"] == name).unwrap()["trainable_params"].as_i64().unwrap();
    assert_eq!(params("deep-emotion"), 66_877);
    assert_eq!(params("microexpnet-m"), 900_920);
    assert_eq!(params("microexpnet-xxs"), 65_000);
    insta::assert_snapshot!("models_json", pretty(&doc));
}

#[test]
fn run_events_jsonl_then_cached_events_and_status_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let first = run_tiny(&store, &["--events", "jsonl", "-v"]);
    assert!(first.status.success(), "{}", text(&first));
    let lines = event_lines(&first);
    // The results table and the progress lines go to stderr.
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("TEST ACC") && err.contains("8 ran, 0 cached"), "{err}");
    assert_eq!(lines.first().unwrap()["event"], "planned");
    assert_eq!(lines.last().unwrap()["event"], "run-finished");
    assert_eq!(lines.last().unwrap()["done"], 8);
    assert_eq!(events_named(&lines, "started").len(), 8);
    assert_eq!(events_named(&lines, "finished").len(), 8);
    assert!(events_named(&lines, "cached").is_empty());
    let epochs = events_named(&lines, "epoch");
    assert_eq!(epochs.len(), 8, "4 epochs of each of 2 train jobs");
    for e in &epochs {
        assert_eq!(e["kind"], "train");
        assert!(e["train_loss"].is_f64() && e["val_acc"].is_f64() && e["seconds"].is_f64(), "{e}");
        assert_eq!(e["epochs"], 4);
    }
    // Each job's events come in order: started, (training, epochs), finished.
    for f in events_named(&lines, "finished") {
        let mine: Vec<&str> =
            lines.iter().filter(|l| l["id"] == f["id"]).map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(mine.first(), Some(&"started"), "{mine:?}");
        assert_eq!(mine.last(), Some(&"finished"), "{mine:?}");
        let entry = store.join(f["id"].as_str().unwrap());
        assert!(entry.join("done").exists(), "{}", entry.display());
    }
    // The shapes (each field and its JSON type) per event and job kind; values vary with
    // scheduling (which job comes first), so only the shapes are pinned.
    let shape = |l: &Value| {
        let fields: Vec<String> = l
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let t = match v {
                    Value::Null => "null",
                    Value::Bool(_) => "bool",
                    Value::Number(n) if n.is_f64() => "float",
                    Value::Number(_) => "int",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                format!("{k}:{t}")
            })
            .collect();
        format!("{} {}: {}", l["event"].as_str().unwrap(), l["kind"].as_str().unwrap_or("-"), fields.join(" "))
    };
    let mut shapes: Vec<String> = lines.iter().map(shape).collect();
    shapes.sort();
    shapes.dedup();
    insta::assert_snapshot!("run_events_first_run", shapes.join("\n"));

    // A second run: only `cached` job events.
    let second = run_tiny(&store, &["--events", "jsonl"]);
    assert!(second.status.success(), "{}", text(&second));
    let again = event_lines(&second);
    let job_events: Vec<&str> =
        again.iter().filter(|l| l.get("id").is_some()).map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(job_events, vec!["cached"; 8], "{again:?}");
    insta::assert_snapshot!(
        "run_events_cached",
        again.iter().map(|k| redact(k).to_string()).collect::<Vec<_>>().join("\n")
    );

    // status --json: everything cached, with the evaluations' metrics.
    let doc = document(&run(&["--store", &store_arg(&store), "status", tiny().to_str().unwrap(), "--json"]));
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["totals"]["cached"], 8);
    assert!(doc["slurm_reachable"].is_null(), "nothing was submitted");
    for j in doc["jobs"].as_array().unwrap() {
        assert_eq!(j["state"], "cached");
        let acc = &j["result"]["accuracy"];
        assert_eq!(acc.is_f64(), j["kind"] == "evaluate", "{j}");
    }
    insta::assert_snapshot!("status_json", pretty(&doc));
}

#[test]
fn run_events_report_failed_and_skipped_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Every prepare job's process is killed before it finishes (a debug-build fault switch).
    let o = bin()
        .env("FER_FAILPOINT", "before-done:prepare")
        .args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "--events", "jsonl", "--no-report"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let lines = event_lines(&o);
    let failed = events_named(&lines, "failed");
    assert_eq!(failed.len(), 2, "{lines:?}");
    for f in &failed {
        assert_eq!(f["kind"], "prepare");
        assert!(f["message"].as_str().unwrap().contains("killed by a signal"), "{f}");
        assert!(f["seconds"].is_f64(), "{f}");
    }
    assert_eq!(events_named(&lines, "skipped").len(), 6, "{lines:?}");
    assert!(events_named(&lines, "finished").is_empty());
    let end = lines.last().unwrap();
    assert_eq!(
        (end["event"].as_str(), end["failed"].as_u64(), end["skipped"].as_u64()),
        (Some("run-finished"), Some(2), Some(6))
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("failed: prepare/"), "{}", text(&o));

    // status --json names the failures and their logs.
    let doc = document(&run(&["--store", &store_arg(&store), "status", tiny().to_str().unwrap(), "--json"]));
    let prepares: Vec<&Value> = doc["jobs"].as_array().unwrap().iter().filter(|j| j["kind"] == "prepare").collect();
    for p in prepares {
        assert_eq!(p["state"], "failed", "{p}");
        assert!(p["message"].as_str().unwrap().contains("killed by a signal"), "{p}");
        assert!(p["log"].as_str().unwrap().ends_with("log.txt"), "{p}");
    }
    assert_eq!(doc["totals"]["failed"], 2);
}

#[test]
fn completions_for_each_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(script.len() > 1000, "{shell}: {script}");
        // Options as the shell spells them (fish: `-l events`).
        for cmd in ["run", "plan", "status", "submit", "models", "completions", "events", "json"] {
            assert!(script.contains(cmd), "{shell} completions lack `{cmd}`");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("fer-pipeline.bash");
            fs::write(&f, &script).unwrap();
            let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
            assert!(check.status.success(), "bash -n: {}", text(&check));
        }
    }
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn version_names_commit_code_revisions_libtorch_and_cuda() {
    let o = run(&["--version"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    // The commit build.rs saw when it built this binary (cargo hands the same value to this
    // test); a commit made since then must not fail the test. It must name a real commit of this
    // checkout, or be `unknown` outside one.
    let commit = env!("FER_GIT_COMMIT");
    let in_git = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .is_ok_and(|o| o.status.success());
    if in_git {
        let exists = Command::new("git")
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(exists.status.success() && commit.len() == 12, "`{commit}` is not a commit of this checkout");
    } else {
        assert_eq!(commit, "unknown");
    }
    assert!(out.starts_with(&format!("fer-pipeline {}\n", env!("CARGO_PKG_VERSION"))), "{out}");
    assert!(out.contains(&format!("commit          {commit}\n")), "{out}");
    for k in fer_core::plan::JobKind::ALL {
        assert!(out.contains(&format!("{} {}", k.name(), k.revision())), "{out}");
    }
    assert!(out.contains(&format!("job format {}", fer_core::plan::JOB_FORMAT)), "{out}");
    // `fer-pipeline` loads no LibTorch: it names the worker's.
    let worker = format!("libtorch        {} (in fer-pipeline-worker)\n", fer_pipeline::LIBTORCH_VERSION);
    assert!(out.contains(&worker), "{out}");
    assert!(out.contains("libtorch        2.11.0"), "{out}");
    assert!(out.contains("cuda support    linked into fer-pipeline-worker\n"), "{out}");
    // The worker links libtorch_cuda (build.rs) and says it is loaded.
    let w = Command::new(env!("CARGO_BIN_EXE_fer-pipeline-worker")).arg("--version").output().unwrap();
    let wout = String::from_utf8_lossy(&w.stdout);
    assert!(wout.contains(&format!("libtorch        {}\n", fer_pipeline::LIBTORCH_VERSION)), "{wout}");
    assert!(wout.contains("cuda support    linked (libtorch_cuda loaded)\n"), "{wout}");
    let short = run(&["-V"]);
    assert_eq!(
        String::from_utf8_lossy(&short.stdout),
        format!("fer-pipeline {} ({commit})\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn submit_dry_run_shows_the_afterok_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run(&["--store", &store_arg(&store), "submit", tiny().to_str().unwrap(), "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let arrays: Vec<&str> = out.lines().filter(|l| l.starts_with("array ")).collect();
    // Each array waits only for arrays printed before it.
    let mut seen: Vec<&str> = Vec::new();
    for l in &arrays {
        let name = l["array ".len()..].split(':').next().unwrap();
        let after = l.rsplit("afterok: ").next().unwrap();
        if after != "none" {
            for dep in after.split(", ") {
                assert!(seen.contains(&dep), "{dep} is not an earlier array: {out}");
            }
        }
        seen.push(name);
    }
    insta::assert_snapshot!("submit_dry_run_chain", arrays.join("\n"));
    assert!(!store.exists(), "a dry run writes nothing");
}

#[test]
fn run_events_report_interrupted_jobs() {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let long = ["--set", "models.deep-emotion.epochs=200", "--set", "models.microexpnet.epochs=200"];
    let mut child = bin()
        .args(["--store", &store_arg(&store), "run", tiny().to_str().unwrap(), "--events", "jsonl", "--no-report"])
        .args(long)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    let epoch_seen = wait_for(|| lines.lock().unwrap().iter().any(|l| l.contains("\"event\":\"epoch\"")), 240);
    // SAFETY: kill(2) on the run this test started (Ctrl-C: checkpoint and stop).
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let lines = lines.lock().unwrap().clone();
    assert!(epoch_seen, "{lines:?}");
    assert_eq!(status.code(), Some(130), "{lines:?}");
    let events: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let interrupted = events_named(&events, "interrupted");
    assert!(!interrupted.is_empty(), "{lines:?}");
    for e in &interrupted {
        assert_eq!(e["kind"], "train", "{e}");
        assert!(e["seconds"].is_f64(), "{e}");
    }
    assert!(events_named(&events, "failed").is_empty(), "an interrupted job is not failed: {lines:?}");
    let end = events.last().unwrap();
    assert_eq!(end["event"], "run-finished");
    assert_eq!(end["interrupted"].as_u64(), Some(interrupted.len() as u64));
}

#[test]
fn real_submit_names_each_arrays_afterok_ids_and_status_json_shows_slurm() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Stands in for the program on the node: holds its task for a while, then succeeds.
    let exe = dir.path().join("hold");
    write_script(&exe, "#!/bin/bash\nsleep 20\n");
    let p = dir.path().join("p.yaml");
    fs::write(&p, GOOD).unwrap();
    let o = slurm
        .bin()
        .args(["--store", &store_arg(&store), "submit", p.to_str().unwrap(), "--exe", exe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", text(&o), slurm.ctld_log());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    // `array NAME: N task(s), Slurm job ID, afterok: A, B (--dependency=afterok:IDA:IDB)`
    let mut ids: Vec<(String, String)> = Vec::new();
    for l in out.lines().filter(|l| l.starts_with("array ")) {
        let name = l["array ".len()..].split(':').next().unwrap().to_string();
        let id = l.split("Slurm job ").nth(1).unwrap().split(',').next().unwrap().to_string();
        let after = l.split("afterok: ").nth(1).unwrap().split(" (").next().unwrap();
        let mut want: Vec<String> = if after == "none" {
            vec![]
        } else {
            after.split(", ").map(|a| ids.iter().find(|(n, _)| n == a).unwrap().1.clone()).collect()
        };
        want.sort();
        let mut got: Vec<String> = l
            .split("--dependency=afterok:")
            .nth(1)
            .map(|d| d.trim_end_matches(')').split(':').map(str::to_string).collect())
            .unwrap_or_default();
        got.sort();
        assert_eq!(got, want, "{l}\n{out}");
        ids.push((name, id));
    }
    assert_eq!(ids.len(), 4, "{out}");

    let st =
        slurm.bin().args(["--store", &store_arg(&store), "status", p.to_str().unwrap(), "--json"]).output().unwrap();
    let doc = document(&st);
    assert_eq!(doc["slurm_reachable"], true, "{doc}");
    for j in doc["jobs"].as_array().unwrap() {
        let s = &j["slurm"];
        let (array, _) = ids.iter().find(|(n, _)| n.ends_with(&format!("-{}-0", j["kind"].as_str().unwrap()))).unwrap();
        let job_id = &ids.iter().find(|(n, _)| n == array).unwrap().1;
        assert_eq!(s["task_id"], format!("{job_id}_0"), "{j}");
        assert!(["pending", "running"].contains(&s["state"].as_str().unwrap()), "{j}");
        assert!(["pending", "running"].contains(&j["state"].as_str().unwrap()), "{j}");
        if j["kind"] == "evaluate" {
            // It waits for its train array (the reason may still read `None` this early).
            assert_eq!(s["state"], "pending", "{j}");
            assert!(s["reason"].is_string(), "{j}");
        }
    }
    let _ = slurm.cmd("scancel").args(ids.iter().map(|(_, id)| id.as_str())).output();
}
