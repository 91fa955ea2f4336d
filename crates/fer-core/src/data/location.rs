//! Where data sets live: `$FER_DATA_DIR/<name>/` (default `data/<name>/`), unless a manifest's `location:` says otherwise.

use std::path::{Path, PathBuf};

use super::manifest::Manifest;

/// The environment variable naming the data folder.
pub const DATA_DIR_ENV: &str = "FER_DATA_DIR";

/// The data folder when [`DATA_DIR_ENV`] is unset or empty (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

/// `$FER_DATA_DIR`, or `data`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// The folder (or, for FER2013, possibly the CSV file) holding data set `name`: the manifest's
/// `location:` (absolute, or relative to the data folder), else `<data dir>/<name>`.
pub fn data_root(name: &str, manifest: Option<&Manifest>) -> PathBuf {
    data_root_in(&data_dir(), name, manifest)
}

/// Like [`data_root`], with an explicit data folder instead of the environment.
pub fn data_root_in(data_dir: &Path, name: &str, manifest: Option<&Manifest>) -> PathBuf {
    match manifest.and_then(|m| m.location.as_deref()) {
        Some(loc) if loc.is_absolute() => loc.to_path_buf(),
        Some(loc) => data_dir.join(loc),
        None => data_dir.join(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        let dd = Path::new("/srv/data");
        assert_eq!(data_root_in(dd, "ckplus", None), PathBuf::from("/srv/data/ckplus"));
        let mut m = crate::data::manifest::tests::minimal("ckplus");
        m.location = Some(PathBuf::from("CK+"));
        assert_eq!(data_root_in(dd, "ckplus", Some(&m)), PathBuf::from("/srv/data/CK+"));
        m.location = Some(PathBuf::from("/mnt/ck"));
        assert_eq!(data_root_in(dd, "ckplus", Some(&m)), PathBuf::from("/mnt/ck"));
    }
}
