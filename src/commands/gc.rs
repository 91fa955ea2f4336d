//! `fer-pipeline gc`: keeps the entries of the given pipelines (every profile) and removes the rest.

use std::collections::HashSet;
use std::path::PathBuf;

use super::context::store_for;
use crate::error::Error;
use crate::plan;
use crate::spec::{self, Overrides};

/// Profiles declared in a pipeline file (read loosely: the file is compiled afterwards).
fn profile_names(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null);
    doc.get("profiles")
        .and_then(|p| p.as_mapping())
        .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `fer-pipeline gc`.
pub fn gc_cmd(store_flag: &Option<PathBuf>, pipelines: &[PathBuf], dry_run: bool) -> Result<String, Error> {
    let mut keep = HashSet::new();
    let mut store = None;
    for path in pipelines {
        let mut profiles: Vec<Option<String>> = vec![None, Some("none".into())];
        profiles.extend(profile_names(path).into_iter().map(Some));
        for profile in profiles {
            let p = spec::load(path, &Overrides { profile, ..Default::default() })?;
            if store.is_none() {
                store = Some(store_for(store_flag, Some(&p)));
            }
            for job in plan::build(&p).jobs {
                keep.insert(format!("{}/{}", job.kind().name(), job.hash.short()));
            }
        }
    }
    let store = store.unwrap_or_else(|| store_for(store_flag, None));
    store.check()?;
    let report = crate::store::gc(&store, &keep, dry_run)?;
    let mut out = String::new();
    for p in &report.removed {
        out.push_str(&format!("{} {}\n", if dry_run { "would remove" } else { "removed" }, p.display()));
    }
    for p in &report.skipped_running {
        out.push_str(&format!("kept (running) {}\n", p.display()));
    }
    out.push_str(&format!(
        "{} {} entries ({:.1} MB), kept {}\n",
        if dry_run { "would remove" } else { "removed" },
        report.removed.len(),
        report.bytes as f64 / 1e6,
        report.kept
    ));
    Ok(out)
}
