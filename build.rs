//! Links LibTorch into `fer-pipeline-worker` only (the `fer-pipeline` binary never loads it), so
//! the worker works on CPU and GPU hosts alike: `libtorch_cuda.so` stays a NEEDED library (the
//! linker would drop it under `--as-needed`, and CUDA would never load), and a RUNPATH finds the
//! venv's LibTorch without LD_LIBRARY_PATH (which still takes precedence). Also records the git
//! commit and the LibTorch version for `--version`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    git_commit();
    cuda_linked();
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    // torch-sys (links = "tch") tells its direct dependents where LibTorch lives.
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from).unwrap_or_default();
    let version = std::fs::read_to_string(lib.join("../version.py"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("__version__ = ").map(|v| v.trim_matches(['\'', '"']).to_string()))
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FER_LIBTORCH_VERSION={version}");
    if lib.as_os_str().is_empty() {
        return;
    }
    // The worker binary only: `fer-pipeline` must run where LibTorch is absent.
    let worker = |arg: String| println!("cargo:rustc-link-arg-bin=fer-pipeline-worker={arg}");
    worker(format!("-Wl,-rpath,{}", lib.display()));
    worker("-Wl,--enable-new-dtags".into());
    // The integration tests load TorchScript exports through tch.
    println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{}", lib.display());
    println!("cargo:rustc-link-arg-tests=-Wl,--enable-new-dtags");
    if lib.join("libtorch_cuda.so").exists() {
        worker("-Wl,--no-as-needed".into());
        worker("-ltorch_cuda".into());
        worker("-Wl,--as-needed".into());
    }
}

/// Sets `FER_GIT_COMMIT` for `--version`: `$FER_GIT_COMMIT` when set (builds from a tarball),
/// else `git rev-parse --short=12 HEAD`, else `unknown` (not a git checkout, or no git): never an
/// error. Uncommitted changes are not marked (watching them would rebuild on every `git add`).
fn git_commit() {
    use std::process::Command;
    println!("cargo:rerun-if-env-changed=FER_GIT_COMMIT");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    // Rebuild when HEAD moves: HEAD itself, the branch it names, the packed refs.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for w in watch {
        if let Some(p) = git(&["rev-parse", "--git-path", &w]).filter(|p| std::path::Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = std::env::var("FER_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    println!("cargo:rustc-env=FER_GIT_COMMIT={}", commit.unwrap_or_else(|| "unknown".to_string()));
}

/// Sets `FER_CUDA_LINKED` (`yes` or `no`) for `--version`: whether `libtorch_cuda.so` is linked
/// as a NEEDED library (see `main`).
fn cuda_linked() {
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from).unwrap_or_default();
    let linked = !lib.as_os_str().is_empty() && lib.join("libtorch_cuda.so").exists();
    println!("cargo:rustc-env=FER_CUDA_LINKED={}", if linked { "yes" } else { "no" });
}
