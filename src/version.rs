//! What `--version` says: the package version, the git commit it was built from, the code
//! revisions that enter job hashes, the LibTorch version and whether CUDA support is linked.

use std::sync::OnceLock;

use fer_core::plan::{JobKind, JOB_FORMAT};

/// The git commit of the build (`git rev-parse --short=12 HEAD`), or `unknown` outside a git
/// checkout (build.rs).
pub const GIT_COMMIT: &str = env!("FER_GIT_COMMIT");

/// Whether the binary was linked against `libtorch_cuda.so` (build.rs).
pub const CUDA_LINKED: bool = matches!(env!("FER_CUDA_LINKED").as_bytes(), b"yes");

/// `0.1.0 (1894221abcde)`: the one-line version (`-V`).
pub fn short() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| format!("{} ({GIT_COMMIT})", env!("CARGO_PKG_VERSION")))
}

/// The code revisions of the job kinds, as they enter every job hash, e.g.
/// `job format 1; prepare 1, train 1, distill-targets 1, evaluate 3, saliency 1`.
pub fn code_revisions() -> String {
    let kinds: Vec<String> = JobKind::ALL.iter().map(|k| format!("{} {}", k.name(), k.revision())).collect();
    format!("job format {JOB_FORMAT}; {}", kinds.join(", "))
}

/// Whether a library whose file name contains `name` is mapped into this process now.
fn mapped(name: &str) -> bool {
    std::fs::read_to_string("/proc/self/maps").map(|m| m.contains(name)).unwrap_or(false)
}

/// Whether `libtorch_cuda.so` is mapped into this process now (it is a NEEDED library of the
/// worker's CUDA build, so the dynamic linker loaded it at start-up; a copied binary may find
/// another).
pub fn cuda_loaded() -> bool {
    mapped("libtorch_cuda.so")
}

/// The multi-line version (`--version`).
pub fn long() -> &'static str {
    static L: OnceLock<String> = OnceLock::new();
    L.get_or_init(|| {
        // `fer-pipeline` never loads LibTorch: it speaks for the worker it hands work to.
        let here = mapped("libtorch_cpu.so");
        let cuda = match (CUDA_LINKED, here, cuda_loaded()) {
            (true, false, _) => "linked into fer-pipeline-worker",
            (true, true, true) => "linked (libtorch_cuda loaded)",
            (true, true, false) => "linked, but libtorch_cuda is not loaded: CPU only",
            (false, _, true) => "not linked at build time, but libtorch_cuda is loaded",
            (false, _, false) => "not linked: CPU only",
        };
        let place = if here { "" } else { " (in fer-pipeline-worker)" };
        format!(
            "{}\ncommit          {GIT_COMMIT}\ncode revisions  {}\nlibtorch        {}{place}\ncuda support    {cuda}\n",
            env!("CARGO_PKG_VERSION"),
            code_revisions(),
            crate::LIBTORCH_VERSION,
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_revisions_name_every_kind() {
        let r = super::code_revisions();
        for k in fer_core::plan::JobKind::ALL {
            assert!(r.contains(&format!("{} {}", k.name(), k.revision())), "{r}");
        }
        assert!(r.starts_with("job format "), "{r}");
    }
}
