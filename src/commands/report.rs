//! `fer-pipeline report`: tables, charts and `index.html` from the finished evaluations.

use std::path::{Path, PathBuf};

use super::context::{load, store_for};
use crate::cli::PipelineArgs;
use crate::error::Error;
use crate::plan;
use crate::report::{scope_of, write_report, ReportOptions, ReportSummary, Verify};
use crate::store::Store;

/// One line saying where the report is and whether it is partial.
pub fn summary_line(s: &ReportSummary) -> String {
    let partial = if s.is_partial() {
        format!("; partial: {} job(s) missing (listed on the page)", s.missing.len())
    } else {
        String::new()
    };
    format!("report: {} ({} evaluations, {:.1} s{partial})\n", s.index.display(), s.evaluations, s.seconds)
}

/// Writes the report of `plan` (or of the whole store) into `out`.
pub fn write(
    store: &Store,
    plan: Option<&plan::Plan>,
    title: &str,
    out: &Path,
    full_verify: bool,
) -> Result<ReportSummary, Error> {
    let scope = plan.map(scope_of);
    let opts = ReportOptions {
        title: title.to_string(),
        verify: if full_verify { Verify::Hashes } else { Verify::Sizes },
        ..Default::default()
    };
    write_report(store, scope.as_deref(), out, &opts).map_err(|e| Error::Report(e.to_string()))
}

/// `fer-pipeline report [PIPELINE]`.
pub fn report_cmd(
    store_flag: &Option<PathBuf>,
    pipeline: Option<&PipelineArgs>,
    out: &Path,
    full_verify: bool,
) -> Result<String, Error> {
    match pipeline {
        Some(args) => {
            let p = load(args)?;
            let store = store_for(store_flag, Some(&p));
            store.check()?;
            let plan = plan::build(&p);
            let s = write(&store, Some(&plan), &format!("{}: fer-pipeline report", p.name), out, full_verify)?;
            Ok(summary_line(&s))
        }
        None => {
            let store = store_for(store_flag, None);
            store.check()?;
            let s = write(&store, None, "fer-pipeline report", out, full_verify)?;
            Ok(summary_line(&s))
        }
    }
}
