//! Issue 10 item 6: nothing the user writes becomes a shell line in an sbatch script.

use super::*;

/// `submit --dry-run` of `GOOD` plus `tail`, with extra arguments; (exit code, output, store exists).
fn dry_run(tail: &str, extra: &[&str]) -> (Option<i32>, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    fs::write(&p, format!("{GOOD}{tail}")).unwrap();
    let store = dir.path().join("store");
    let mut args = vec!["--store", store.to_str().unwrap(), "submit", p.to_str().unwrap(), "--dry-run"];
    args.extend_from_slice(extra);
    let o = run(&args);
    (o.status.code(), text(&o), store.exists())
}

#[test]
fn hostile_slurm_values_are_refused_with_their_position() {
    // (tail of the pipeline, expected `file:line:col`, expected key path)
    let cases: &[(&str, &str, &str)] = &[
        ("slurm:\n  partition: \"debug\\ntouch PWNED\"\n", "p.yaml:16:3", "slurm.partition"),
        ("slurm:\n  account: \"lab\\ntouch PWNED\"\n", "p.yaml:16:3", "slurm.account"),
        ("slurm:\n  partition: \"gpu;touch PWNED\"\n", "p.yaml:16:3", "slurm.partition"),
        ("slurm:\n  partition: \"gpu\\rtouch\"\n", "p.yaml:16:3", "slurm.partition"),
        ("slurm:\n  sbatch: [\"--qos=normal\\ntouch PWNED\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        ("slurm:\n  sbatch:\n    - --qos=ok\n    - --wrap=touch PWNED\n", "p.yaml:18:7", "slurm.sbatch[1]"),
        ("slurm:\n  sbatch: [\"--export=ALL,LD_PRELOAD=/tmp/x.so\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        ("slurm:\n  sbatch: [\"-p gpu\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        ("slurm:\n  sbatch: [\"--qos=a b\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        ("slurm:\n  sbatch: [\"--output=/tmp/x\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        ("slurm:\n  sbatch: [\"--exclusive=$(touch PWNED)\"]\n", "p.yaml:16:12", "slurm.sbatch[0]"),
        (
            "slurm:\n  resources:\n    train:\n      partition: \"gpu\\ntouch PWNED\"\n",
            "p.yaml:18:7",
            "slurm.resources.train.partition",
        ),
        (
            "slurm:\n  resources:\n    default:\n      account: \"a\\n#SBATCH --wrap=x\"\n",
            "p.yaml:18:7",
            "slurm.resources.default.account",
        ),
        (
            "slurm:\n  resources:\n    default:\n      memory: \"4G\\ntouch PWNED\"\n",
            "p.yaml:18:7",
            "slurm.resources.default.memory",
        ),
        (
            "slurm:\n  resources:\n    train:\n      time: \"01:00:00\\ntouch PWNED\"\n",
            "p.yaml:18:7",
            "slurm.resources.train.time",
        ),
        (
            "slurm:\n  resources:\n    m:\n      sbatch: [\"--constraint=a100\\ntouch PWNED\"]\n",
            "p.yaml:18:16",
            "slurm.resources.m.sbatch[0]",
        ),
    ];
    for (tail, at, key) in cases {
        let (code, out, wrote) = dry_run(tail, &[]);
        assert_eq!(code, Some(2), "{tail}: {out}");
        assert!(out.contains(at), "{tail}: expected `{at}`: {out}");
        assert!(out.contains(&format!("key `{key}`")), "{tail}: expected key `{key}`: {out}");
        assert!(!out.lines().any(|l| l.starts_with("#SBATCH")), "{tail}: no script is printed: {out}");
        assert!(!wrote, "{tail}: the store was written");
    }

    // The same through `--set` and the command line.
    let (code, out, _) = dry_run("", &["--set", "slurm.partition=\"gpu\\ntouch PWNED\""]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--set `slurm.partition="), "{out}");
    for flag in ["--partition", "--account"] {
        let (code, out, wrote) = dry_run("", &[flag, "gpu\ntouch PWNED"]);
        assert_eq!(code, Some(2), "{flag}: {out}");
        assert!(out.contains(flag), "{flag}: {out}");
        assert!(!out.lines().any(|l| l.starts_with("#SBATCH")), "{flag}: {out}");
        assert!(!wrote);
    }

    // Ordinary options still pass.
    let tail = "slurm:\n  partition: gpu,gpu-long\n  account: lab_42\n  sbatch: [\"--qos=normal\", \"--constraint=a100&nvlink\", \"--exclusive\", \"--mail-type=END,FAIL\", \"--mail-user=me@example.org\", \"--gres=gpu:a100:2\", \"--nice=10\"]\n  resources:\n    default: {memory: 4G, time: \"1-02:00:00\", gpus: 1}\n";
    let (code, out, wrote) = dry_run(tail, &[]);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "#SBATCH --partition=gpu,gpu-long",
        "#SBATCH --account=lab_42",
        "#SBATCH --qos=normal",
        "#SBATCH --constraint=a100&nvlink",
        "#SBATCH --exclusive",
        "#SBATCH --mail-type=END,FAIL",
        "#SBATCH --mail-user=me@example.org",
        "#SBATCH --gres=gpu:a100:2",
        "#SBATCH --mem=4G",
        "#SBATCH --time=1-02:00:00",
    ] {
        assert!(out.lines().any(|l| l == line), "missing `{line}`: {out}");
    }
    assert!(!wrote);
}

/// The scripts printed by `submit --dry-run`: (path, text).
fn scripts(out: &str) -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = Vec::new();
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("# ").filter(|p| p.ends_with(".sbatch")) {
            v.push((PathBuf::from(p), String::new()));
        } else if line.starts_with("array ") || line.starts_with("would ") {
            continue;
        } else if let Some((_, t)) = v.last_mut() {
            t.push_str(line);
            t.push('\n');
        }
    }
    for (_, t) in &mut v {
        while t.ends_with("\n\n") {
            t.pop();
        }
    }
    v
}

/// One argument of an `#SBATCH` line, read the way sbatch reads it (src/sbatch/opt.c,
/// `_get_argument`: quotes group, a backslash escapes, an unquoted `#` ends the line).
fn sbatch_argument(line: &str) -> String {
    let mut out = String::new();
    let (mut quoted, mut q, mut escape) = (false, ' ', false);
    for c in line.trim_start().chars() {
        if !quoted && c.is_whitespace() {
            break;
        }
        if escape {
            escape = false;
        } else if c == '\\' {
            escape = true;
            continue;
        } else if quoted {
            if c == q {
                quoted = false;
                continue;
            }
        } else if c == '"' || c == '\'' {
            quoted = true;
            q = c;
            continue;
        } else if c == '#' {
            break;
        }
        out.push(c);
    }
    assert!(!quoted, "unmatched quote in `{line}`");
    out
}

/// Slurm's file name pattern: `%%` is `%`, `%A` the array job, `%a` the task.
fn expand_pattern(p: &str, job: &str, task: &str) -> String {
    let mut out = String::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some('A') => out.push_str(job),
            Some('a') => out.push_str(task),
            other => panic!("unexpected pattern `%{other:?}` in `{p}`"),
        }
    }
    out
}

#[test]
fn scripts_quote_every_path_and_hold_no_user_line() {
    let dir = tempfile::tempdir().unwrap();
    let weird = "st ore 'q' \"d\" $HOME `x` %A %% #c !h";
    let store = dir.path().join(weird);
    let bin_dir = dir.path().join("b in'$(x)%j");
    fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("rec ord");
    let record = dir.path().join("args");
    write_script(&exe, &format!("#!/bin/bash\nprintf '%s\\0' \"$@\" > '{}'\n", record.display()));
    let p = dir.path().join("p.yaml");
    fs::write(&p, format!("{GOOD}slurm:\n  partition: debug\n")).unwrap();
    let o = run(&[
        "--store",
        store.to_str().unwrap(),
        "submit",
        p.to_str().unwrap(),
        "--dry-run",
        "--exe",
        exe.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!store.exists(), "a dry run writes nothing");
    let scripts = scripts(&out);
    assert!(scripts.len() >= 3, "prepare, train, evaluate, ...: {out}");
    for (path, script) in &scripts {
        // bash parses it.
        let file = dir.path().join("check.sh");
        fs::write(&file, script).unwrap();
        let n = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        assert!(n.status.success(), "bash -n: {}\n{script}", text(&n));

        // Outside the #SBATCH header, only our three lines.
        let body: Vec<&str> = script.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
        assert_eq!(body.len(), 3, "{script}");
        assert_eq!(body[0], "set -u", "{script}");
        assert!(body[1].starts_with("id=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" '"), "{script}");
        assert!(body[2].starts_with("exec '"), "{script}");
        let header: Vec<&str> = script.lines().filter(|l| l.starts_with('#')).collect();
        assert!(header[0] == "#!/bin/bash" && header[1..].iter().all(|l| l.starts_with("#SBATCH --")), "{script}");
        // The header ends before the body starts (sbatch stops reading options at the first command).
        let first_body = script.lines().position(|l| l == "set -u").unwrap();
        assert!(script.lines().skip(first_body).all(|l| !l.starts_with("#SBATCH")), "{script}");

        // sbatch reads the log path back exactly, `%` kept literal.
        let output = header.iter().find_map(|l| l.strip_prefix("#SBATCH --output=")).expect("an --output line");
        let pattern = sbatch_argument(&format!("--output={output}"));
        let log = expand_pattern(pattern.strip_prefix("--output=").unwrap(), "77", "0");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = path.parent().unwrap().join("logs").join(format!("{name}-77_0.out"));
        assert_eq!(PathBuf::from(log), expected, "{script}");
        assert!(expected.starts_with(&store), "{}", expected.display());

        // Run the body: the binary gets the store path and the job id as single arguments.
        let tasks = path.with_extension("tasks");
        fs::create_dir_all(tasks.parent().unwrap()).unwrap();
        fs::write(&tasks, "train/0123456789abcdef\n").unwrap();
        let r = Command::new("bash")
            .arg(&file)
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("SLURM_CPUS_PER_TASK", "3")
            .output()
            .unwrap();
        assert!(r.status.success(), "{}\n{script}", text(&r));
        let got = fs::read(&record).unwrap();
        let args: Vec<String> =
            got.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        assert_eq!(args[0..2], ["--store".to_string(), store.to_string_lossy().into_owned()], "{args:?}");
        assert_eq!(args[2..7], ["exec", "--device", "cpu", "--threads", "3"], "{args:?}");
        assert_eq!(args.last().unwrap(), "train/0123456789abcdef", "{args:?}");
        fs::remove_dir_all(store.join("slurm")).unwrap();
        fs::remove_file(&record).unwrap();
    }
}

#[test]
fn store_paths_slurm_cannot_express_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    fs::write(&p, GOOD).unwrap();
    for bad in ["new\nline", "back\\slash"] {
        let store = dir.path().join(bad);
        let o = run(&["--store", store.to_str().unwrap(), "submit", p.to_str().unwrap(), "--dry-run"]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(!text(&o).lines().any(|l| l.starts_with("#SBATCH")), "{}", text(&o));
    }
}

#[test]
fn real_slurm_runs_tasks_of_a_store_with_an_awkward_path() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("st ore 'q' \"d\" $HOME %A %% #c");
    let records = dir.path().join("records");
    fs::create_dir_all(&records).unwrap();
    let bin_dir = dir.path().join("b in'$(x)%j");
    fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("rec ord");
    // Stands in for the program on the node: records its arguments, succeeds.
    let script = format!(
        "#!/bin/bash\nprintf '%s\\0' \"$@\" > '{}'/\"$SLURM_ARRAY_JOB_ID\"_\"$SLURM_ARRAY_TASK_ID\"\necho ran\n",
        records.display()
    );
    write_script(&exe, &script);
    let p = dir.path().join("p.yaml");
    fs::write(&p, GOOD).unwrap();
    let o = slurm
        .bin()
        .args(["--store", store.to_str().unwrap(), "submit", p.to_str().unwrap(), "--exe", exe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(slurm.wait_idle(120), "the tasks did not finish");

    // Every task ran with the store path as one argument, and logged where its record says.
    let mut seen = 0;
    for kind in ["prepare", "train", "evaluate", "saliency"] {
        for e in entries(&store, kind) {
            let rec: serde_json::Value = serde_json::from_slice(&fs::read(e.join("slurm.json")).unwrap()).unwrap();
            let log = PathBuf::from(rec["log"].as_str().unwrap());
            assert!(log.starts_with(&store), "{}", log.display());
            let logged = fs::read_to_string(&log).unwrap_or_else(|err| panic!("{}: {err}", log.display()));
            assert!(logged.contains("ran"), "{logged}");
            let task = format!("{}_{}", rec["array_job"].as_str().unwrap(), rec["task"]);
            let args = fs::read(records.join(&task)).unwrap();
            let args: Vec<String> = args
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            assert_eq!(args[1], store.to_string_lossy(), "{args:?}");
            assert!(args.last().unwrap().starts_with(&format!("{kind}/")), "{args:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, 4, "prepare, train, evaluate, saliency");
}
