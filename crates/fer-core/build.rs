//! Finds the `rustface` package's own folder, whose SeetaFace model file is compiled into the
//! library (`src/data/face.rs`), so face detection needs no file at run time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    rustface_dir();
}

/// Sets `FER_RUSTFACE_DIR` to the source folder of the locked `rustface` package (which ships
/// `model/seeta_fd_frontal_v1.0.bin` and the test photograph `test.png`): `$FER_RUSTFACE_DIR` when
/// set (vendored builds), else `<cargo home>/registry/src/*/rustface-<version>`.
fn rustface_dir() {
    // The workspace's lock file, two folders up from this package.
    let lock_path = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-env-changed=FER_RUSTFACE_DIR");
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
    const MODEL: &str = "model/seeta_fd_frontal_v1.0.bin";
    let found = std::env::var_os("FER_RUSTFACE_DIR").map(PathBuf::from).or_else(|| {
        let lock = std::fs::read_to_string(&lock_path).ok()?;
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
