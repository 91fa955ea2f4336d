//! Links LibTorch so the binary works on CPU and GPU hosts alike: `libtorch_cuda.so` stays a
//! NEEDED library (the linker would drop it under `--as-needed`, and CUDA would never load), and
//! a RUNPATH finds the venv's LibTorch without LD_LIBRARY_PATH (which still takes precedence).
//! Also finds the `rustface` package's own folder, whose SeetaFace model file is compiled into
//! the binary (`src/data/face.rs`), so face detection needs no file at run time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    git_commit();
    cuda_linked();
    rustface_dir();
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
    // Binaries only: the library crate has no link step.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,--enable-new-dtags");
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}

/// Sets `FER_RUSTFACE_DIR` to the source folder of the locked `rustface` package (which ships
/// `model/seeta_fd_frontal_v1.0.bin` and the test photograph `test.png`): `$FER_RUSTFACE_DIR` when
/// set (vendored builds), else `<cargo home>/registry/src/*/rustface-<version>`.
fn rustface_dir() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-env-changed=FER_RUSTFACE_DIR");
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
    const MODEL: &str = "model/seeta_fd_frontal_v1.0.bin";
    let found = std::env::var_os("FER_RUSTFACE_DIR").map(PathBuf::from).or_else(|| {
        let lock = std::fs::read_to_string("Cargo.lock").ok()?;
        let version = lock.split("[[package]]").find_map(|p| {
            p.contains("name = \"rustface\"").then(|| {
                p.lines().find_map(|l| l.strip_prefix("version = ").map(|v| v.trim_matches('"').to_string()))
            })?
        })?;
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join(format!("rustface-{version}"))))
            .filter(|d| d.join(MODEL).is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    });
    match found {
        Some(d) if d.join(MODEL).is_file() => println!("cargo:rustc-env=FER_RUSTFACE_DIR={}", d.display()),
        _ => panic!(
            "failed to find the `rustface` package's `{MODEL}` (looked in $CARGO_HOME/registry/src); \
             set FER_RUSTFACE_DIR to the package's folder"
        ),
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
