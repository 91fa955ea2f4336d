//! `write_report`: store -> tables (CSV, Parquet) -> charts (PNG, SVG) -> `index.html`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::collect::{collect, Missing, ScopeJob};
use super::data_efficiency;
use super::error::ReportError;
use super::figures::{self, Inputs};
use super::gallery;
use super::html::{self, Page};
use super::narrative;
use super::output::{relative, Cleanup, OutDir};
use super::paired;
use super::provenance;
use super::published::Published;
use super::tables::{self, best_settings, summary_rows};
use super::{calibration, domain, efficiency, robustness};
use fer_core::spec::Analyses;
use fer_core::store::Store;
use fer_core::store::Verify;

/// Where `fer-pipeline report` writes by default.
pub const DEFAULT_REPORT_DIR: &str = "reports";

/// How to write a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Page title.
    pub title: String,
    /// How thoroughly the `done` markers of entries are checked.
    pub verify: Verify,
    /// Also write every chart as SVG.
    pub svg: bool,
    /// The checkout whose git commit the provenance names (default: the current folder).
    pub repo_dir: Option<PathBuf>,
    /// Write into a non-empty folder that holds no earlier report (nothing in it is deleted).
    pub force: bool,
    /// The LibTorch version of the program writing the report (its jobs record their own).
    pub libtorch: String,
    /// The analyses whose sections the page shows (the pipeline's `analyses:`; all without one).
    pub analyses: Analyses,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            title: "fer-pipeline report".into(),
            verify: Verify::Sizes,
            svg: true,
            repo_dir: None,
            force: false,
            libtorch: "unknown".into(),
            analyses: Analyses::all(),
        }
    }
}

/// What a report holds.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// `<out_dir>/index.html`.
    pub index: PathBuf,
    /// Finished evaluations in the report.
    pub evaluations: usize,
    /// Jobs of the scope that could not be used, and why (empty for a complete report).
    pub missing: Vec<Missing>,
    /// CSV and Parquet files written.
    pub tables: Vec<PathBuf>,
    /// PNG charts written (each with an SVG beside it when asked).
    pub charts: Vec<PathBuf>,
    /// Images copied from the store (sample grids, saliency maps).
    pub images: usize,
    /// The generated summary sentences.
    pub summary: Vec<String>,
    /// Every file written, relative to the report folder (also in its manifest).
    pub written: Vec<String>,
    /// What happened to the earlier report's files there.
    pub cleanup: Cleanup,
    pub seconds: f64,
}

impl ReportSummary {
    pub fn is_partial(&self) -> bool {
        !self.missing.is_empty()
    }
}

/// Writes the report of `scope` (the jobs of one pipeline, e.g. [`super::scope_of`] of its plan;
/// `None`: every finished evaluation in the store) into `out_dir`. Unfinished or damaged jobs
/// make a partial report that lists them; only failures to write the report are errors.
///
/// `out_dir` must be new, empty, or hold an earlier report (its manifest `.fer-report.json`)
/// unless `opts.force`; afterwards the manifest lists every file written, and of the earlier
/// report's files, those not written again are removed (while unchanged). Nothing else in the
/// folder is ever deleted.
pub fn write_report(
    store: &Store,
    scope: Option<&[ScopeJob]>,
    out_dir: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, ReportError> {
    let t0 = Instant::now();
    let out = OutDir::claim(out_dir, opts.force)?;
    super::font::register()?;
    let published = Published::load()?;
    let on = &opts.analyses;
    let col = collect(store, scope, opts.verify, &opts.analyses)?;
    let tables = tables::build(&col.evaluations, &published, on)?;
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::write(out_dir, e))?;
    let rows = summary_rows(&tables.summary).map_err(|e| ReportError::table("summary", e))?;
    let best = best_settings(&rows);
    let mut figs = figures::plan(&Inputs { collection: &col, tables: &tables, published: &published })?;
    if !on.distillation {
        figs.retain(|f| f.section != figures::Section::Kd);
    }
    let data_eff = if on.data_efficiency { data_efficiency::build(&col.evaluations)? } else { None };
    figs.extend(data_eff.iter().flat_map(|d| data_efficiency::figures(d, &published)));
    let (table_files, drawn) =
        rayon::join(|| tables.write(&out_dir.join("tables"), on), || figures::draw_all(&figs, out_dir, opts.svg));
    let (mut table_files, drawn) = (table_files?, drawn?);
    if let Some(d) = &data_eff {
        table_files.extend(tables::write_table(&out_dir.join("tables"), data_efficiency::TABLE, &d.table)?);
    }
    let gallery = gallery::copy(&col, &published, out_dir)?;
    // Runs on part of their training subjects are for the learning curves only.
    let models = col.without_curve_runs();
    let efficiency = if on.efficiency { efficiency::write(&models, out_dir, opts.svg)? } else { Default::default() };
    let domain = if on.domain_shift { domain::write(&col, out_dir, opts.svg)? } else { Default::default() };
    let calibration = if on.calibration { calibration::write(&models, out_dir, opts.svg)? } else { Default::default() };
    let robustness = if on.robustness { robustness::write(&col, out_dir, opts.svg)? } else { Default::default() };
    let run = provenance::gather(&col, store.root(), opts.repo_dir.as_deref(), &opts.libtorch);
    let missing_n = col.missing.len() + gallery.skipped.len();
    let mut summary = narrative::summarise(&best, &published, missing_n);
    let shown = |d: &str| published.dataset_name(d).to_string();
    summary.extend(paired::paired_sentences(&tables.comparisons, &shown));
    summary.extend(paired::kd_sentences(&tables.kd_comparisons, &shown));
    summary.extend(efficiency.sentence.clone());
    summary.extend(domain.sentence.clone());
    summary.extend(calibration.sentence.clone());
    summary.extend(robustness.sentence.clone());
    summary.extend(data_eff.iter().flat_map(|d| d.sentences.clone()));
    let mut extra: Vec<String> = data_eff.iter().map(|d| data_efficiency::section(d, &drawn)).collect();
    for section in [&robustness.html, &calibration.html] {
        if !section.is_empty() {
            extra.push(section.clone());
        }
    }
    let page = Page {
        title: &opts.title,
        run: &run,
        summary: &summary,
        tables: &tables,
        rows: &rows,
        best: &best,
        charts: &drawn,
        gallery: &gallery,
        missing: &col.missing,
        published: &published,
        evaluations: col.evaluations.len(),
        efficiency: &efficiency.html,
        domain: &domain.html,
        extra: &extra,
        analyses: on,
    };
    let index = out_dir.join("index.html");
    std::fs::write(&index, html::render(&page)).map_err(|e| ReportError::write(&index, e))?;
    let mut written = vec!["index.html".to_string()];
    written.extend(table_files.iter().map(|p| relative(out_dir, p)));
    for d in &drawn {
        written.push(d.png.clone());
        written.extend(d.svg.clone());
    }
    written.extend(gallery.samples.iter().chain(&gallery.images).map(|g| g.src.clone()));
    written.extend(efficiency.written.iter().cloned());
    written.extend(domain.written.iter().cloned());
    written.extend(calibration.written.iter().cloned());
    written.extend(robustness.written.iter().cloned());
    let cleanup = out.finish(&written)?;
    let mut missing = col.missing.clone();
    missing.extend(gallery.skipped.iter().cloned());
    Ok(ReportSummary {
        index,
        evaluations: col.evaluations.len(),
        missing,
        tables: table_files
            .into_iter()
            .chain(efficiency.tables)
            .chain(domain.tables)
            .chain(calibration.tables)
            .chain(robustness.tables)
            .collect(),
        charts: drawn
            .iter()
            .map(|d| out_dir.join(&d.png))
            .chain(
                efficiency
                    .written
                    .iter()
                    .chain(&domain.written)
                    .chain(&calibration.written)
                    .chain(&robustness.written)
                    .filter(|w| w.ends_with(".png"))
                    .map(|w| out_dir.join(w)),
            )
            .collect(),
        images: gallery.samples.len() + gallery.images.len(),
        summary,
        written,
        cleanup,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
