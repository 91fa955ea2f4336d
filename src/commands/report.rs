//! `fer-pipeline report`: tables, charts and `index.html` from the finished evaluations.

use std::path::{Path, PathBuf};

use super::context::{load, store_for};
use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan;
use fer_core::spec::Analyses;
use fer_core::store::Store;
use fer_report::{scope_of, write_report, ReportOptions, ReportSummary, Verify, DEFAULT_REPORT_DIR};

/// One line saying where the report is and whether it is partial (and a warning per file of an
/// earlier report that was kept because it changed since).
pub(super) fn summary_line(s: &ReportSummary) -> String {
    let partial = if s.is_partial() {
        format!("; partial: {} job(s) missing (listed on the page)", s.missing.len())
    } else {
        String::new()
    };
    let mut out = String::new();
    for p in &s.cleanup.kept_changed {
        out.push_str(&format!("warning: kept `{}`: an earlier report wrote it and it changed since\n", p.display()));
    }
    out.push_str(&format!(
        "report: {} ({} evaluations, {:.1} s{partial})\n",
        s.index.display(),
        s.evaluations,
        s.seconds
    ));
    out
}

/// Writes the report of `plan` (or of the whole store) into `out`. The default folder
/// (`reports/`) is the report's own, so it is written even when it holds other files (such as
/// its README.md); any other non-empty folder without an earlier report needs `force`.
pub(super) fn write_with(
    store: &Store,
    plan: Option<(&plan::Plan, Analyses)>,
    title: &str,
    out: &Path,
    full_verify: bool,
    force: bool,
) -> Result<ReportSummary, Error> {
    let scope = plan.map(|(p, _)| scope_of(p));
    let opts = ReportOptions {
        analyses: plan.map_or_else(Analyses::all, |(_, a)| a),
        title: title.to_string(),
        verify: if full_verify { Verify::Hashes } else { Verify::Sizes },
        force: force || is_default_report_dir(out),
        libtorch: crate::LIBTORCH_VERSION.to_string(),
        ..Default::default()
    };
    write_report(store, scope.as_deref(), out, &opts).map_err(|e| {
        if e.is_refusal() {
            Error::Usage(e.to_string())
        } else {
            Error::Report(e)
        }
    })
}

/// [`write_with`] without `force` (what `run` writes at its end).
pub(super) fn write(
    store: &Store,
    plan: Option<(&plan::Plan, Analyses)>,
    title: &str,
    out: &Path,
    full_verify: bool,
) -> Result<ReportSummary, Error> {
    write_with(store, plan, title, out, full_verify, false)
}

/// `fer-pipeline report [PIPELINE]`.
pub(super) fn report_cmd(
    store_flag: &Option<PathBuf>,
    pipeline: Option<&PipelineArgs>,
    out: &Path,
    full_verify: bool,
    force: bool,
) -> Result<String, Error> {
    match pipeline {
        Some(args) => {
            let p = load(args)?;
            let store = store_for(store_flag, Some(&p));
            store.check()?;
            let plan = plan::build(&p);
            let title = format!("{}: fer-pipeline report", p.name);
            let s = write_with(&store, Some((&plan, p.analyses)), &title, out, full_verify, force)?;
            Ok(summary_line(&s))
        }
        None => {
            let store = store_for(store_flag, None);
            store.check()?;
            let s = write_with(&store, None, "fer-pipeline report", out, full_verify, force)?;
            Ok(summary_line(&s))
        }
    }
}

/// Whether `out` is the default report folder (`reports/` of the current folder), however it is
/// written (`reports`, `./reports/`, an absolute path).
fn is_default_report_dir(out: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    out == Path::new(DEFAULT_REPORT_DIR) || canon(out).is_some_and(|o| Some(o) == canon(Path::new(DEFAULT_REPORT_DIR)))
}
