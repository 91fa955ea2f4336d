//! `fer-pipeline data verify|hash|prepare`: real data sets against their manifests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Error;
use fer_core::data::content;
use fer_core::data::location::data_root;
use fer_core::data::manifest::{replace_files_block, Manifest};
use fer_core::data::verify::verify;

/// The manifests to look at: the named ones, or every `*.yaml` in the folder.
fn manifests(dir: &Path, names: &[String]) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let paths: Vec<PathBuf> = if names.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::Usage(format!("failed to read manifests folder `{}`: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        v.sort();
        v
    } else {
        names.iter().map(|n| dir.join(format!("{n}.yaml"))).collect()
    };
    paths.into_iter().map(|p| Manifest::read(&p).map(|m| (p, m)).map_err(|e| Error::Usage(e.to_string()))).collect()
}

/// `data verify [NAME...]`: presence, file hashes, counts. Fails when a present data set (or a
/// named absent one) has problems.
pub(super) fn verify_cmd(dir: &Path, names: &[String]) -> Result<String, Error> {
    let mut out = String::new();
    let mut bad = Vec::new();
    for (path, m) in manifests(dir, names)? {
        let root = data_root(&m.name, Some(&m));
        let report = verify(&m, &root);
        let _ = writeln!(out, "== {} ({}) at {}", m.name, path.display(), root.display());
        let _ = writeln!(out, "{report}");
        if (report.present || !names.is_empty()) && !report.ok() {
            bad.push(m.name.clone());
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        // The verification table is the output even when a data set fails.
        #[allow(clippy::print_stdout)]
        {
            print!("{out}");
        }
        Err(Error::DataInvalid(bad))
    }
}

/// `data hash NAME`: writes the sha256 of every file the loader reads from a local copy into its
/// manifest (other files are named, not listed).
pub(super) fn hash_cmd(dir: &Path, name: &str) -> Result<String, Error> {
    let (path, m) = manifests(dir, &[name.to_string()])?.remove(0);
    let root = data_root(&m.name, Some(&m));
    let scan = content::scan(&m, &root)?;
    let (_, files, _) = content::on_disk(&m, &root)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Usage(format!("failed to read `{}`: {e}", path.display())))?;
    let new = replace_files_block(&text, &files);
    fer_core::store::write_atomic(&path, new.as_bytes())?;
    let mut out = String::new();
    for w in content::warnings(&m, &root, &scan) {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(out, "wrote {} file hashes of `{}` into `{}`", files.len(), root.display(), path.display());
    Ok(out)
}
