//! `fer-pipeline` itself never loads LibTorch: `plan`, `status`, `gc` and `submit` run where
//! LibTorch is absent (a login node), and the commands that need it are handed to
//! `fer-pipeline-worker` beside it, which links LibTorch.

use super::*;

/// The shared libraries an ELF file names as NEEDED, as `readelf -d` lists them.
fn needed(path: &Path) -> Vec<String> {
    let o = Command::new("readelf").arg("-d").arg(path).output().expect("readelf (binutils) runs");
    assert!(o.status.success(), "readelf failed on {}", path.display());
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_string))
        .collect()
}

#[test]
fn orchestrating_commands_run_without_libtorch() {
    let main = Path::new(env!("CARGO_BIN_EXE_fer-pipeline"));
    let worker = Path::new(env!("CARGO_BIN_EXE_fer-pipeline-worker"));
    let libs = needed(main);
    assert!(!libs.iter().any(|l| l.contains("torch") || l.contains("c10")), "fer-pipeline needs {libs:?}");
    let wlibs = needed(worker);
    assert!(wlibs.iter().any(|l| l == "libtorch_cpu.so"), "the worker links LibTorch: {wlibs:?}");

    // fer-pipeline alone in a folder (no worker beside it), and a library path whose LibTorch
    // cannot load: were LibTorch opened at all (NEEDED or dlopen), the program would die.
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("bin/fer-pipeline");
    fs::create_dir_all(alone.parent().unwrap()).unwrap();
    fs::copy(main, &alone).unwrap();
    let poisoned = dir.path().join("lib");
    fs::create_dir_all(&poisoned).unwrap();
    for l in ["libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so", "libc10.so", "libc10_cuda.so"] {
        fs::write(poisoned.join(l), b"not a library").unwrap();
    }
    let store = dir.path().join("store");
    let p = dir.path().join("p.yaml");
    fs::write(&p, format!("{GOOD}slurm:\n  partition: gpu\n")).unwrap();
    let cmd = |args: &[&str]| {
        let mut c = Command::new(&alone);
        c.args(["--store", store.to_str().unwrap()])
            .args(args)
            .env("LD_LIBRARY_PATH", &poisoned)
            .env_remove("FER_STORE")
            .env_remove("FER_PIPELINE_WORKER")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        c.output().unwrap()
    };
    let pipeline = p.to_str().unwrap();
    for args in [
        vec!["plan", pipeline],
        vec!["plan", pipeline, "--json"],
        vec!["status", pipeline],
        vec!["submit", pipeline, "--dry-run"],
        vec!["gc", pipeline, "--dry-run"],
        vec!["--version"],
    ] {
        let o = cmd(&args);
        assert!(o.status.success(), "{args:?} without LibTorch: {}", text(&o));
    }
    // A command that needs LibTorch says where it looked for the worker, with its own exit code.
    let o = cmd(&["models"]);
    assert_eq!(o.status.code(), Some(8), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("failed to start") && out.contains("fer-pipeline-worker"), "{out}");
}

#[test]
fn libtorch_commands_are_handed_to_the_worker() {
    // Through `fer-pipeline` (which has the worker beside it in the test's scratch folder): the
    // worker's answer, LibTorch's parameter counts.
    let o = run(&["models", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["models"].as_array().is_some_and(|m| !m.is_empty()), "{doc}");
}
