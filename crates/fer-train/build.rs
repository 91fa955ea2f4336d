//! Tells the library which LibTorch it is built against (`FER_LIBTORCH_VERSION`, from the wheel's
//! `version.py`), and gives its test binaries a RUNPATH to that LibTorch.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    // torch-sys (links = "tch") tells its direct dependents where LibTorch lives.
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from).unwrap_or_default();
    println!("cargo:rustc-env=FER_LIBTORCH_VERSION={}", libtorch_version(&lib));
    if !lib.as_os_str().is_empty() {
        // The library has no link step: this reaches its unit-test binaries only.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--enable-new-dtags");
    }
}

/// The `__version__` of the wheel's `version.py` beside LibTorch's `lib` folder, or `unknown`.
fn libtorch_version(lib: &std::path::Path) -> String {
    std::fs::read_to_string(lib.join("../version.py"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("__version__ = ").map(|v| v.trim_matches(['\'', '"']).to_string()))
        })
        .unwrap_or_else(|| "unknown".to_string())
}
