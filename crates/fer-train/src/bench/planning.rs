//! Planning benchmarks: `plan` of large matrices and the no-op re-run of a finished pipeline
//! (store look-ups only), both through the real binary.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use fer_core::plan::{self, JobSpec};
use fer_core::spec::{self, Overrides};
use fer_core::store::{write_atomic, write_json, Store};

/// A pipeline with about `jobs` jobs: two models x seeds, each a train and an evaluate job.
pub fn pipeline_text(jobs: usize) -> String {
    let seeds = jobs.div_ceil(4).max(1);
    format!(
        "version: 1\nname: bench-{jobs}\nmax_jobs: {}\nseeds: {{seeds}}\nsaliency: {{enabled: false}}\n\
         datasets:\n  d: {{kind: synthetic, subjects: 10, images_per_subject: 14}}\n\
         models:\n  de: {{arch: deep-emotion, datasets: d, epochs: 1}}\n  me: {{arch: microexpnet, datasets: d, epochs: 1}}\n",
        jobs.max(1) * 2
    )
    .replace("{seeds}", &format!("[{}]", (0..seeds).map(|s| s.to_string()).collect::<Vec<_>>().join(", ")))
}

/// Times a command; returns seconds and whether it succeeded.
pub fn time_command(cmd: &mut Command) -> (f64, bool, String) {
    let t0 = Instant::now();
    match cmd.output() {
        Ok(o) => (t0.elapsed().as_secs_f64(), o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => (t0.elapsed().as_secs_f64(), false, e.to_string()),
    }
}

/// Fills `store` with finished entries for every job of the pipeline at `path`, with artifacts
/// of realistic sizes (weights as big as the real model's), without training anything.
pub fn fabricate_finished(store: &Store, path: &Path) -> Result<usize, String> {
    let p = spec::load(path, &Overrides::default()).map_err(|e| e.to_string())?;
    let plan = plan::build(&p);
    store.init().map_err(|e| e.to_string())?;
    let weights = vec![7u8; 270_000];
    let data = vec![3u8; 10 * 14 * 84 * 84];
    for job in &plan.jobs {
        let e = store.entry(job.kind(), &job.hash);
        e.write_record(&job.spec, &job.label).map_err(|e| e.to_string())?;
        let files: Vec<&str> = match &job.spec {
            JobSpec::Prepare(_) => {
                write_atomic(&e.file("data.safetensors"), &data).map_err(|e| e.to_string())?;
                vec!["data.safetensors"]
            }
            JobSpec::Train(_) => {
                write_atomic(&e.file("weights.safetensors"), &weights).map_err(|e| e.to_string())?;
                write_atomic(&e.file("metrics.csv"), b"epoch,train_loss\n1,1.0\n").map_err(|e| e.to_string())?;
                vec!["weights.safetensors", "metrics.csv"]
            }
            _ => {
                write_json(&e.file("result.json"), &serde_json::json!({"format_version": 1}))
                    .map_err(|e| e.to_string())?;
                vec!["result.json"]
            }
        };
        e.finish(&files).map_err(|e| e.to_string())?;
    }
    Ok(plan.jobs.len())
}

/// The number of finished entries (with a `done` marker) in the store at `root`.
pub fn count_done(root: &Path) -> usize {
    let listed = Store::new(root).list().unwrap_or_default();
    listed.iter().filter(|(_, dir)| dir.join(fer_core::store::DONE_FILE).is_file()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_done_counts_the_fabricated_entries_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, pipeline_text(8)).unwrap();
        let root = dir.path().join("store");
        let store = Store::new(&root);
        let jobs = fabricate_finished(&store, &file).unwrap();
        assert!(jobs > 0);
        assert_eq!(count_done(&root), jobs);
        // An entry without its marker does not count; a missing store counts none.
        let any = store.list().unwrap().remove(0).1;
        std::fs::remove_file(any.join(fer_core::store::DONE_FILE)).unwrap();
        assert_eq!(count_done(&root), jobs - 1);
        assert_eq!(count_done(&dir.path().join("absent")), 0);
    }
}
