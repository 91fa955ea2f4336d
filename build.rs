//! Links LibTorch so the binary works on CPU and GPU hosts alike: `libtorch_cuda.so` stays a
//! NEEDED library (the linker would drop it under `--as-needed`, and CUDA would never load), and
//! a RUNPATH finds the venv's LibTorch without LD_LIBRARY_PATH (which still takes precedence).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
