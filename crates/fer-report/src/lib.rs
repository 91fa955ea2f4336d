//! The report: reads finished evaluations from the store, aggregates them with Polars, draws
//! charts with Plotters and writes an offline HTML page (`reports/index.html`).

mod annotate;
mod bars;
mod calibration;
mod charts;
mod collect;
mod confusion;
mod curves;
mod data_efficiency;
mod domain;
mod efficiency;
mod error;
mod figures;
mod font;
mod forest;
mod frontier;
mod gallery;
mod generate;
mod html;
mod kd;
mod narrative;
mod output;
mod paired;
mod provenance;
mod published;
mod reliability;
mod robustness;
mod robustness_chart;
mod scatter;
mod stats;
mod tables;
mod text;
mod transfer_chart;

pub use annotate::{annotate, Mark};
pub use collect::{scope_of, Collection, Evaluation, Missing, ScopeJob};
pub use error::ReportError;
pub use fer_core::store::Verify;
pub use generate::{write_report, ReportOptions, ReportSummary, DEFAULT_REPORT_DIR};
pub use output::{Cleanup, WrittenFile, MANIFEST_FILE, MANIFEST_FORMAT};
pub use provenance::RunInfo;
pub use published::{Figure, Published, PUBLISHED_PATH};
pub use tables::Tables;
