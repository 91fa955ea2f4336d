//! `fer-pipeline submit`: the pipeline's missing jobs as Slurm job arrays (fire and forget).

use std::fmt::Write as _;
use std::path::PathBuf;

use super::context::{load, store_for};
use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan;
use fer_core::slurm::{self, SubmitOptions};

/// Command-line options of `submit`.
#[derive(Debug, Clone, Default)]
pub(super) struct SubmitArgs {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub array_limit: Option<u32>,
    pub dry_run: bool,
    pub exe: Option<PathBuf>,
    pub device: Option<String>,
}

/// `fer-pipeline submit`.
pub(super) fn submit_cmd(store_flag: &Option<PathBuf>, args: &PipelineArgs, s: &SubmitArgs) -> Result<String, Error> {
    let pipeline = load(args)?;
    let full = plan::build(&pipeline);
    let missing = plan::unavailable(&full);
    if missing.iter().any(Option::is_some) {
        eprint!("{}", super::plan::unavailable_footer(&missing));
        eprintln!("warning: not submitting {} job(s) whose data is absent", missing.iter().flatten().count());
    }
    let plan = plan::retain(&full, |i, _| missing[i].is_none());
    let store = store_for(store_flag, Some(&pipeline));
    store.check()?;
    // Tasks run on other nodes: they need absolute paths on the shared file system.
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let store = fer_core::store::Store::new(abs(store.root()));
    let exe = match &s.exe {
        Some(e) => abs(e),
        None => std::env::current_exe().map_err(|e| Error::io("find", "this program", e))?,
    };
    let device = s
        .device
        .clone()
        .or_else(|| pipeline.slurm.device.map(|d| d.to_string()))
        .unwrap_or_else(|| pipeline.device.to_string());
    fer_core::spec::DeviceRequest::parse(&device).map_err(|e| Error::Usage(format!("--device: {e}")))?;
    // Everything below is written into sbatch scripts (issue 10, item 6).
    for (flag, v) in [("partition", &s.partition), ("account", &s.account)] {
        if let Some(e) = v.as_deref().and_then(|v| fer_core::spec::check_sbatch_setting(flag, v).err()) {
            return Err(Error::Usage(format!("--{flag}: {e}")));
        }
    }
    for (what, p) in [("the store path", store.root()), ("the task binary (--exe)", exe.as_path())] {
        if let Some(why) = slurm::unusable_path(p) {
            return Err(Error::Usage(format!("failed to write sbatch scripts: {what} {why}")));
        }
    }
    if !s.dry_run {
        // Reach Slurm before writing anything: when it is down, the store stays untouched.
        fer_core::slurm::ctl::squeue()?;
        store.init()?;
        super::gc::record_root(&store, args, &pipeline, &full, &missing, "submit")?;
        for e in &pipeline.experiments {
            if let Some(w) = &e.init {
                store.import_blob(&w.path, &w.sha256)?;
            }
        }
    }
    let opts = SubmitOptions {
        partition: s.partition.clone(),
        account: s.account.clone(),
        array_limit: s.array_limit,
        dry_run: s.dry_run,
        exe,
        device,
    };
    let report = slurm::submit(&plan, &store, &pipeline.slurm, &opts)?;
    let mut out = String::new();
    if s.dry_run {
        for (path, text) in &report.scripts {
            let _ = writeln!(out, "# {}\n{text}", path.display());
        }
    }
    let queued: usize = report.arrays.iter().map(|a| a.tasks).sum();
    for a in &report.arrays {
        // The chain about to be queued: which earlier arrays each one waits for.
        let after = if a.after.is_empty() { "none".to_string() } else { a.after.join(", ") };
        let _ = writeln!(
            out,
            "array {}: {} task(s){}, afterok: {after}{}",
            a.name,
            a.tasks,
            a.job_id.as_ref().map(|i| format!(", Slurm job {i}")).unwrap_or_default(),
            if a.afterok.is_empty() {
                String::new()
            } else {
                format!(" (--dependency=afterok:{})", a.afterok.join(":"))
            }
        );
    }
    let _ = writeln!(
        out,
        "{} {queued} task(s) in {} array(s); {} job(s) already finished, {} still queued from an earlier submit{}",
        if s.dry_run { "would queue" } else { "queued" },
        report.arrays.len(),
        report.already_done,
        report.already_queued,
        if s.dry_run || report.arrays.is_empty() {
            String::new()
        } else {
            format!(
                "\nscripts and logs: {}\nfollow with: fer-pipeline status {}",
                report.folder.display(),
                args.pipeline.display()
            )
        }
    );
    Ok(out)
}
