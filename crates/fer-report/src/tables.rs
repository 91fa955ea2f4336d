//! The report's tables, built with Polars in one go from the collected store and saved as CSV
//! and Parquet: per job, per model x data set x setting, published vs reproduced (with both
//! protocols), KD effects, learning curves. The best setting is chosen on validation accuracy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::collect::Evaluation;
use super::error::ReportError;
use super::paired::{self, Comparison, KdComparison, RunStats};
use super::published::Published;
use fer_core::plan::{Hyper, JobHash};
use fer_core::spec::Analyses;

/// Hyperparameter names that are a distillation temperature or weight, once KD lands in the
/// train spec (flattened names, see [`fer_core::plan::TrainJobSpec::hyperparameters`]).
const KD_TEMPERATURE: [&str; 3] = ["temperature", "kd_temperature", "distill_temperature"];
const KD_WEIGHT: [&str; 3] = ["kd_weight", "distill_weight", "kd_alpha"];

/// All tables of a report.
#[derive(Debug, Clone)]
pub struct Tables {
    /// One row per finished evaluation.
    pub jobs: DataFrame,
    /// Mean, std and n over seeds (and folds) per data set x model x setting.
    pub summary: DataFrame,
    /// Published figures joined with the reproduced means (full join: both sides kept).
    pub published: DataFrame,
    /// Accuracy by distillation temperature and weight (empty when they are not axes).
    pub kd: DataFrame,
    /// Why [`Tables::kd`] is empty, if it is.
    pub kd_note: Option<String>,
    /// Per-epoch metrics of every train job behind an evaluation.
    pub curves: DataFrame,
    /// Pairs of models on the same test images: paired difference, McNemar pooled over runs.
    pub paired: DataFrame,
    /// McNemar's test of every pair of runs behind [`Tables::paired`].
    pub paired_runs: DataFrame,
    /// Each distilled student against its plain counterpart and its teacher.
    pub kd_comparison: DataFrame,
    pub(crate) comparisons: Vec<Comparison>,
    pub(crate) kd_comparisons: Vec<KdComparison>,
    /// What could not be compared in [`Tables::kd_comparison`], and why.
    pub kd_notes: Vec<String>,
    /// Evaluations left out of the paired tests or the calibration error, and why.
    pub paired_notes: Vec<String>,
}

impl Tables {
    /// The tables with their file stems, in the order the report lists them.
    pub fn named(&self) -> [(&'static str, &DataFrame); 8] {
        [
            ("jobs", &self.jobs),
            ("summary", &self.summary),
            ("published_vs_reproduced", &self.published),
            ("paired_comparisons", &self.paired),
            ("paired_runs", &self.paired_runs),
            ("kd_effects", &self.kd),
            ("kd_comparison", &self.kd_comparison),
            ("learning_curves", &self.curves),
        ]
    }

    /// Writes every table of an analysis switched on as `<dir>/<name>.csv` and
    /// `<dir>/<name>.parquet`.
    pub fn write(&self, dir: &Path, analyses: &Analyses) -> Result<Vec<PathBuf>, ReportError> {
        let mut paths = Vec::new();
        for (name, df) in self.named() {
            let on = match name {
                "paired_comparisons" | "paired_runs" => analyses.uncertainty,
                "kd_effects" | "kd_comparison" => analyses.distillation,
                _ => true,
            };
            if !on {
                continue;
            }
            paths.extend(write_table(dir, name, df)?);
        }
        Ok(paths)
    }
}

/// Writes `df` as `<dir>/<name>.csv` and `<dir>/<name>.parquet`; returns both paths.
pub(crate) fn write_table(dir: &Path, name: &str, df: &DataFrame) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::write(dir, e))?;
    let mut df = df.clone();
    let csv = dir.join(format!("{name}.csv"));
    let mut f = File::create(&csv).map_err(|e| ReportError::write(&csv, e))?;
    CsvWriter::new(&mut f)
        .include_header(true)
        .finish(&mut df)
        .map_err(|source| ReportError::TableFile { path: csv.clone(), source })?;
    let pq = dir.join(format!("{name}.parquet"));
    let f = File::create(&pq).map_err(|e| ReportError::write(&pq, e))?;
    ParquetWriter::new(f).finish(&mut df).map_err(|source| ReportError::TableFile { path: pq.clone(), source })?;
    Ok(vec![csv, pq])
}

/// Builds every table.
///
/// `analyses.uncertainty` off: no bootstrap and no paired comparisons; `analyses.distillation`
/// off: no students against their counterparts.
pub(crate) fn build(evals: &[Evaluation], published: &Published, analyses: &Analyses) -> Result<Tables, ReportError> {
    let stats = paired::run_stats(evals);
    let jobs = jobs_table(evals, &stats).map_err(|e| ReportError::table("jobs", e))?;
    let summary = summary_table(&jobs)
        .and_then(|s| with_intervals(s, evals, analyses.uncertainty))
        .map_err(|e| ReportError::table("summary", e))?;
    let published =
        published_table(&summary, published).map_err(|e| ReportError::table("published_vs_reproduced", e))?;
    let (kd, kd_note) = kd_table(&jobs).map_err(|e| ReportError::table("kd_effects", e))?;
    let curves = curves_table(evals).map_err(|e| ReportError::table("learning_curves", e))?;
    let best = best_settings(&summary_rows(&summary).map_err(|e| ReportError::table("summary", e))?);
    let candidates: Vec<paired::Candidate> = best
        .iter()
        .map(|r| paired::Candidate {
            dataset: r.dataset.clone(),
            model: r.model.clone(),
            setting: r.setting.clone(),
            protocol: r.protocol.clone(),
            accuracy: r.accuracy_mean,
        })
        .collect();
    let comparisons = if analyses.uncertainty { paired::pairwise(evals, &candidates, &stats) } else { Vec::new() };
    let (kd_comparisons, kd_notes) =
        if analyses.distillation { paired::distillation(evals, &stats) } else { (Vec::new(), Vec::new()) };
    Ok(Tables {
        jobs,
        summary,
        published,
        kd,
        kd_note,
        curves,
        paired: paired::comparisons_table(&comparisons).map_err(|e| ReportError::table("paired_comparisons", e))?,
        paired_runs: paired::runs_table(&comparisons).map_err(|e| ReportError::table("paired_runs", e))?,
        kd_comparison: paired::kd_table(&kd_comparisons).map_err(|e| ReportError::table("kd_comparison", e))?,
        comparisons,
        kd_comparisons,
        kd_notes,
        paired_notes: paired::prediction_notes(evals),
    })
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// One column of hyperparameter values, typed by what its values are.
fn hyper_column(name: &str, values: Vec<Option<&Hyper>>) -> Column {
    let present: Vec<&Hyper> = values.iter().flatten().copied().collect();
    let name: PlSmallStr = name.into();
    if present.iter().all(|h| matches!(h, Hyper::Int(_))) {
        let v: Vec<Option<i64>> =
            values.iter().map(|h| h.and_then(|h| if let Hyper::Int(i) = h { Some(*i) } else { None })).collect();
        Column::new(name, v)
    } else if present.iter().all(|h| matches!(h, Hyper::Int(_) | Hyper::Float(_))) {
        let v: Vec<Option<f64>> = values.iter().map(|h| h.and_then(Hyper::as_f64)).collect();
        Column::new(name, v)
    } else if present.iter().all(|h| matches!(h, Hyper::Bool(_))) {
        let v: Vec<Option<bool>> =
            values.iter().map(|h| h.and_then(|h| if let Hyper::Bool(b) = h { Some(*b) } else { None })).collect();
        Column::new(name, v)
    } else {
        let v: Vec<Option<String>> = values.iter().map(|h| h.map(Hyper::display)).collect();
        Column::new(name, v)
    }
}

/// The per-job table: labels, every hyperparameter, metrics (with the calibration error), cost,
/// provenance and hashes.
pub(crate) fn jobs_table(evals: &[Evaluation], stats: &HashMap<JobHash, RunStats>) -> PolarsResult<DataFrame> {
    let s = |f: &dyn Fn(&Evaluation) -> String| -> Vec<String> { evals.iter().map(f).collect() };
    let mut cols = vec![
        Column::new("dataset".into(), s(&|e| e.dataset().to_string())),
        Column::new("model".into(), s(&|e| e.model().to_string())),
        Column::new("family".into(), s(&|e| e.family.clone())),
        Column::new("arch".into(), s(&|e| e.arch().to_string())),
        Column::new("variant".into(), evals.iter().map(|e| e.variant.clone()).collect::<Vec<_>>()),
        Column::new("setting".into(), s(&|e| e.setting.clone())),
        Column::new("fold".into(), evals.iter().map(|e| e.fold.clone()).collect::<Vec<Option<String>>>()),
        Column::new("seed".into(), evals.iter().map(|e| opt_i64(e.label.seed)).collect::<Vec<_>>()),
    ];
    // Hyperparameters: the union of names, in first-seen order.
    let mut names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for e in evals {
        for (k, _) in e.train.iter().flat_map(|t| &t.hyper) {
            if seen.insert(k.clone()) {
                names.push(k.clone());
            }
        }
    }
    let taken: HashSet<String> = cols.iter().map(|c| c.name().to_string()).collect();
    for name in &names {
        let values: Vec<Option<&Hyper>> = evals
            .iter()
            .map(|e| e.train.as_ref().and_then(|t| t.hyper.iter().find(|(k, _)| k == name).map(|(_, v)| v)))
            .collect();
        // `variant` is a column of its own already (from the model spec).
        if name == "variant" {
            continue;
        }
        let col_name = if taken.contains(name) { format!("hp_{name}") } else { name.clone() };
        cols.push(hyper_column(&col_name, values));
    }
    let f = |f: &dyn Fn(&Evaluation) -> f64| -> Vec<f64> { evals.iter().map(f).collect() };
    let train_prov = |e: &Evaluation| e.train.as_ref().and_then(|t| t.provenance.clone());
    cols.extend([
        Column::new("accuracy".into(), f(&|e| e.result.test.accuracy)),
        Column::new("macro_f1".into(), f(&|e| e.result.test.macro_f1)),
        Column::new("ece".into(), evals.iter().map(|e| stats.get(&e.hash).and_then(|s| s.ece)).collect::<Vec<_>>()),
        Column::new(
            "val_accuracy".into(),
            evals.iter().map(|e| e.result.val.as_ref().map(|v| v.accuracy)).collect::<Vec<_>>(),
        ),
        Column::new(
            "val_images".into(),
            evals.iter().map(|e| e.result.val.as_ref().map(|v| v.n as i64)).collect::<Vec<_>>(),
        ),
        Column::new(
            "protocol".into(),
            s(&|e| protocol_of(e).map(|p| p.kind.clone()).unwrap_or_else(|| "unknown".into())),
        ),
        Column::new(
            "protocol_description".into(),
            s(&|e| protocol_of(e).map(|p| p.description.clone()).unwrap_or_else(|| "not recorded".into())),
        ),
        Column::new(
            "subject_independent".into(),
            evals.iter().map(|e| protocol_of(e).and_then(|p| p.subject_independent)).collect::<Vec<_>>(),
        ),
        Column::new(
            "train_images".into(),
            evals.iter().map(|e| protocol_of(e).map(|p| p.train.images as i64)).collect::<Vec<_>>(),
        ),
        Column::new(
            "train_subjects".into(),
            evals.iter().map(|e| protocol_of(e).map(|p| p.train.subjects as i64)).collect::<Vec<_>>(),
        ),
        Column::new("test_images".into(), evals.iter().map(|e| e.result.test.n as i64).collect::<Vec<_>>()),
        Column::new("trainable_params".into(), evals.iter().map(|e| e.result.trainable_params).collect::<Vec<_>>()),
        Column::new(
            "weights_bytes".into(),
            evals.iter().map(|e| opt_i64(Some(e.result.weights_bytes))).collect::<Vec<_>>(),
        ),
        Column::new("latency_ms_b1".into(), f(&|e| e.result.latency_ms_batch1)),
        Column::new("latency_ms_b64".into(), f(&|e| e.result.latency_ms_batch64)),
        Column::new("train_seconds".into(), evals.iter().map(|e| train_prov(e).map(|p| p.seconds)).collect::<Vec<_>>()),
        Column::new("train_device".into(), evals.iter().map(|e| train_prov(e).map(|p| p.device)).collect::<Vec<_>>()),
        Column::new(
            "train_threads".into(),
            evals.iter().map(|e| train_prov(e).map(|p| p.threads as i64)).collect::<Vec<_>>(),
        ),
        Column::new("device".into(), s(&|e| e.result.device.clone())),
        Column::new("threads".into(), evals.iter().map(|e| e.result.threads as i64).collect::<Vec<_>>()),
        Column::new(
            "libtorch".into(),
            evals.iter().map(|e| e.provenance.as_ref().map(|p| p.libtorch.clone())).collect::<Vec<_>>(),
        ),
        Column::new("started_at".into(), evals.iter().map(|e| train_prov(e).map(|p| p.started_at)).collect::<Vec<_>>()),
        Column::new(
            "finished_at".into(),
            evals.iter().map(|e| e.provenance.as_ref().map(|p| p.finished_at.clone())).collect::<Vec<_>>(),
        ),
        Column::new("hash".into(), s(&|e| e.hash.hex())),
        Column::new("train_hash".into(), s(&|e| e.weights.hex())),
        Column::new("data_hash".into(), s(&|e| e.data.hex())),
    ]);
    DataFrame::new(evals.len(), cols)
}

/// The summary with 95 % intervals of accuracy and macro-F1 (`accuracy_ci_low`, ...): a t-interval
/// over the runs of a row, or, for a row of one run, the bootstrap over its test images;
/// `ci_method` says which.
fn with_intervals(mut summary: DataFrame, evals: &[Evaluation], bootstrap: bool) -> PolarsResult<DataFrame> {
    let by_hex: HashMap<String, &Evaluation> = evals.iter().map(|e| (e.hash.hex(), e)).collect();
    let (n, first) = (ints(&summary, "n")?, strings(&summary, "first_hash")?);
    // The bootstrap only where a single run stands for its row.
    let alone: Vec<&Evaluation> = (0..summary.height())
        .filter(|&i| bootstrap && n[i] == Some(1))
        .filter_map(|i| by_hex.get(&first[i]).copied())
        .collect();
    let boots = paired::bootstraps(&alone);
    let (am, asd, fm, fsd) = (
        floats(&summary, "accuracy_mean")?,
        floats(&summary, "accuracy_std")?,
        floats(&summary, "macro_f1_mean")?,
        floats(&summary, "macro_f1_std")?,
    );
    let rows: Vec<paired::RowIntervals> = (0..summary.height())
        .map(|i| {
            let only = by_hex.get(&first[i]).and_then(|e| boots.get(&e.hash).copied());
            paired::row_intervals(
                n[i].unwrap_or(0),
                (am[i].unwrap_or(f64::NAN), asd[i]),
                (fm[i].unwrap_or(f64::NAN), fsd[i]),
                only,
            )
        })
        .collect();
    let col = |name: &str, f: &dyn Fn(&paired::RowIntervals) -> Option<f64>| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    for c in [
        col("accuracy_ci_low", &|r| r.accuracy.map(|v| v.0)),
        col("accuracy_ci_high", &|r| r.accuracy.map(|v| v.1)),
        col("macro_f1_ci_low", &|r| r.macro_f1.map(|v| v.0)),
        col("macro_f1_ci_high", &|r| r.macro_f1.map(|v| v.1)),
        Column::new("ci_method".into(), rows.iter().map(|r| r.method.clone()).collect::<Vec<_>>()),
    ] {
        summary.with_column(c)?;
    }
    Ok(summary)
}

fn protocol_of(e: &Evaluation) -> Option<&fer_core::records::ProtocolRecord> {
    e.result.protocol.as_ref()
}

/// Mean, std and n over seeds and folds per data set x model x setting (and protocol: results of
/// different protocols are never pooled).
pub(crate) fn summary_table(jobs: &DataFrame) -> PolarsResult<DataFrame> {
    let keys = ["dataset", "model", "family", "arch", "setting", "protocol"];
    jobs.clone()
        .lazy()
        .group_by_stable(keys.map(col))
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("seed").n_unique().cast(DataType::Int64).alias("seeds"),
            col("fold").n_unique().cast(DataType::Int64).alias("folds"),
            col("accuracy").mean().alias("accuracy_mean"),
            col("accuracy").std(1).alias("accuracy_std"),
            col("val_accuracy").mean().alias("val_accuracy_mean"),
            col("val_accuracy").count().cast(DataType::Int64).alias("val_n"),
            col("protocol_description").first().alias("protocol_description"),
            col("macro_f1").mean().alias("macro_f1_mean"),
            col("macro_f1").std(1).alias("macro_f1_std"),
            col("trainable_params").first().alias("trainable_params"),
            col("weights_bytes").first().alias("weights_bytes"),
            col("latency_ms_b1").mean().alias("latency_ms_b1"),
            col("latency_ms_b64").mean().alias("latency_ms_b64"),
            col("train_seconds").mean().alias("train_seconds_mean"),
            col("hash").sort(SortOptions::default()).first().alias("first_hash"),
        ])
        .sort(keys, SortMultipleOptions::default())
        .collect()
}

/// The published figures joined (full join) with the reproduced means of every setting of the
/// same architecture family and data set; accuracies in percent.
pub(crate) fn published_table(summary: &DataFrame, published: &Published) -> PolarsResult<DataFrame> {
    let figs = &published.figures;
    let pubs = DataFrame::new(
        figs.len(),
        vec![
            Column::new("family".into(), figs.iter().map(|f| f.model.clone()).collect::<Vec<_>>()),
            Column::new("dataset".into(), figs.iter().map(|f| f.dataset.clone()).collect::<Vec<_>>()),
            Column::new(
                "source".into(),
                figs.iter().map(|f| published.source_name(&f.source).to_string()).collect::<Vec<_>>(),
            ),
            Column::new("published_pct".into(), figs.iter().map(|f| f.accuracy).collect::<Vec<_>>()),
            Column::new("published_protocol".into(), figs.iter().map(|f| f.protocol.clone()).collect::<Vec<_>>()),
            Column::new("published_split".into(), figs.iter().map(|f| f.split.clone()).collect::<Vec<_>>()),
        ],
    )?;
    let reproduced = summary.clone().lazy().select([
        col("family"),
        col("dataset"),
        col("model"),
        col("arch"),
        col("setting"),
        col("protocol").alias("reproduced_protocol"),
        col("protocol_description").alias("reproduced_split"),
        col("n"),
        (col("accuracy_mean") * lit(100.0)).alias("reproduced_pct"),
        (col("accuracy_std") * lit(100.0)).alias("reproduced_std_pp"),
        (col("accuracy_ci_low") * lit(100.0)).alias("reproduced_ci_low_pct"),
        (col("accuracy_ci_high") * lit(100.0)).alias("reproduced_ci_high_pct"),
        col("ci_method"),
    ]);
    pubs.lazy()
        .join(
            reproduced,
            [col("family"), col("dataset")],
            [col("family"), col("dataset")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .with_columns([
            (col("reproduced_pct") - col("published_pct")).alias("difference_pp"),
            col("published_protocol").eq(col("reproduced_protocol")).alias("same_protocol"),
        ])
        .select([
            col("dataset"),
            col("family"),
            col("source"),
            col("published_pct"),
            col("published_protocol"),
            col("published_split"),
            col("model"),
            col("arch"),
            col("setting"),
            col("reproduced_protocol"),
            col("reproduced_split"),
            col("same_protocol"),
            col("n"),
            col("reproduced_pct"),
            col("reproduced_std_pp"),
            col("reproduced_ci_low_pct"),
            col("reproduced_ci_high_pct"),
            col("ci_method"),
            col("difference_pp"),
        ])
        .sort(["dataset", "family", "source", "model", "setting"], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
}

/// The flattened names of the distillation temperature and weight, when present.
fn kd_names(jobs: &DataFrame) -> (Option<String>, Option<String>) {
    let names: Vec<String> = jobs.get_column_names().iter().map(|n| n.to_string()).collect();
    let find = |cands: &[&str]| names.iter().find(|n| cands.contains(&n.as_str())).cloned();
    (find(&KD_TEMPERATURE), find(&KD_WEIGHT))
}

/// Accuracy of the distilled students by temperature and weight (empty, with a note, when no job
/// learnt from a teacher).
pub(crate) fn kd_table(jobs: &DataFrame) -> PolarsResult<(DataFrame, Option<String>)> {
    let (t, w) = kd_names(jobs);
    let present = |name: &Option<String>| -> PolarsResult<bool> {
        match name {
            Some(n) => Ok(jobs.column(n)?.as_materialized_series().null_count() < jobs.height()),
            None => Ok(false),
        }
    };
    // Students are the jobs with a temperature or weight (a teacher); the T/w table is for them
    // whether or not T or w vary (the charts against T or w need them to).
    if !present(&t)? && !present(&w)? {
        let empty = DataFrame::new(
            0,
            vec![
                Column::new_empty("dataset".into(), &DataType::String),
                Column::new_empty("model".into(), &DataType::String),
                Column::new_empty("arch".into(), &DataType::String),
                Column::new_empty("temperature".into(), &DataType::Float64),
                Column::new_empty("kd_weight".into(), &DataType::Float64),
                Column::new_empty("n".into(), &DataType::Int64),
                Column::new_empty("accuracy_mean".into(), &DataType::Float64),
                Column::new_empty("accuracy_std".into(), &DataType::Float64),
            ],
        )?;
        let note = "no knowledge-distillation runs: no job in this report learnt from a teacher".to_string();
        return Ok((empty, Some(note)));
    }
    let pick = |name: &Option<String>, alias: &str| match name {
        Some(n) => col(n.as_str()).cast(DataType::Float64).alias(alias),
        None => lit(NULL).cast(DataType::Float64).alias(alias),
    };
    let df = jobs
        .clone()
        .lazy()
        .with_columns([pick(&t, "temperature"), pick(&w, "kd_weight")])
        .filter(col("temperature").is_not_null().or(col("kd_weight").is_not_null()))
        .group_by_stable([col("dataset"), col("model"), col("arch"), col("temperature"), col("kd_weight")])
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("accuracy").mean().alias("accuracy_mean"),
            col("accuracy").std(1).alias("accuracy_std"),
        ])
        .sort(["dataset", "model", "arch", "temperature", "kd_weight"], SortMultipleOptions::default())
        .collect()?;
    Ok((df, None))
}

/// Per-epoch metrics of every train job behind an evaluation, in one frame.
pub(crate) fn curves_table(evals: &[Evaluation]) -> PolarsResult<DataFrame> {
    let mut dataset = Vec::new();
    let mut model = Vec::new();
    let mut setting = Vec::new();
    let mut seed = Vec::new();
    let mut hash = Vec::new();
    let mut epoch = Vec::new();
    let (mut tl, mut ta, mut vl, mut va) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for e in evals {
        let Some(t) = &e.train else { continue };
        if !seen.insert(t.hash) {
            continue;
        }
        for m in &t.curve {
            dataset.push(e.dataset().to_string());
            model.push(e.model().to_string());
            setting.push(e.setting.clone());
            seed.push(opt_i64(e.label.seed));
            hash.push(t.hash.hex());
            epoch.push(m.epoch as i64);
            tl.push(m.train_loss);
            ta.push(m.train_acc);
            vl.push(m.val_loss);
            va.push(m.val_acc);
        }
    }
    DataFrame::new(
        epoch.len(),
        vec![
            Column::new("dataset".into(), dataset),
            Column::new("model".into(), model),
            Column::new("setting".into(), setting),
            Column::new("seed".into(), seed),
            Column::new("train_hash".into(), hash),
            Column::new("epoch".into(), epoch),
            Column::new("train_loss".into(), tl),
            Column::new("train_acc".into(), ta),
            Column::new("val_loss".into(), vl),
            Column::new("val_acc".into(), va),
        ],
    )
}

/// A row of the summary table, for charts and text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SummaryRow {
    pub dataset: String,
    pub model: String,
    pub family: String,
    pub arch: String,
    pub setting: String,
    pub n: i64,
    /// Distinct seeds and folds pooled in `n` (0 when not known).
    pub seeds: i64,
    pub folds: i64,
    /// The protocol's kind (`subject-kfold`, `random`, ...) and description.
    pub protocol: String,
    pub protocol_description: String,
    /// Mean test accuracy: what is reported.
    pub accuracy_mean: f64,
    pub accuracy_std: Option<f64>,
    /// Mean validation accuracy: what the best setting is chosen by (`None` when not recorded).
    pub val_accuracy_mean: Option<f64>,
    pub macro_f1_mean: f64,
    pub macro_f1_std: Option<f64>,
    /// 95 % intervals (t over runs, or the bootstrap of a single run) and how they were made.
    pub accuracy_ci: Option<(f64, f64)>,
    pub macro_f1_ci: Option<(f64, f64)>,
    pub ci_method: String,
    pub trainable_params: Option<i64>,
    pub latency_ms_b1: Option<f64>,
    pub latency_ms_b64: Option<f64>,
    pub train_seconds_mean: Option<f64>,
}

/// String values of a column (nulls as empty).
pub(crate) fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.unwrap_or("").to_string()).collect())
}

/// f64 values of a column.
pub(crate) fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// i64 values of a column.
pub(crate) fn ints(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    Ok(c.i64()?.iter().collect())
}

/// Values of a column that older tables may lack (then all null / empty).
fn optional<T: Clone>(
    df: &DataFrame,
    name: &str,
    read: fn(&DataFrame, &str) -> PolarsResult<Vec<T>>,
    none: T,
) -> PolarsResult<Vec<T>> {
    if df.get_column_names().iter().any(|n| n.as_str() == name) {
        read(df, name)
    } else {
        Ok(vec![none; df.height()])
    }
}

/// The summary table as rows.
pub(crate) fn summary_rows(summary: &DataFrame) -> PolarsResult<Vec<SummaryRow>> {
    let (dataset, model, family, arch, setting) = (
        strings(summary, "dataset")?,
        strings(summary, "model")?,
        strings(summary, "family")?,
        strings(summary, "arch")?,
        strings(summary, "setting")?,
    );
    let n = ints(summary, "n")?;
    let (seeds, folds) = (optional(summary, "seeds", ints, None)?, optional(summary, "folds", ints, None)?);
    let (protocol, described) = (
        optional(summary, "protocol", strings, String::new())?,
        optional(summary, "protocol_description", strings, String::new())?,
    );
    let val = optional(summary, "val_accuracy_mean", floats, None)?;
    let (am, asd, fm, fsd) = (
        floats(summary, "accuracy_mean")?,
        floats(summary, "accuracy_std")?,
        floats(summary, "macro_f1_mean")?,
        floats(summary, "macro_f1_std")?,
    );
    let params = ints(summary, "trainable_params")?;
    let ci = |name: &str| optional(summary, name, floats, None);
    let (al, ah, fl, fh) =
        (ci("accuracy_ci_low")?, ci("accuracy_ci_high")?, ci("macro_f1_ci_low")?, ci("macro_f1_ci_high")?);
    let method = optional(summary, "ci_method", strings, String::new())?;
    let (b1, b64, secs) =
        (floats(summary, "latency_ms_b1")?, floats(summary, "latency_ms_b64")?, floats(summary, "train_seconds_mean")?);
    Ok((0..summary.height())
        .map(|i| SummaryRow {
            dataset: dataset[i].clone(),
            model: model[i].clone(),
            family: family[i].clone(),
            arch: arch[i].clone(),
            setting: setting[i].clone(),
            n: n[i].unwrap_or(0),
            seeds: seeds[i].unwrap_or(0),
            folds: folds[i].unwrap_or(0),
            protocol: protocol[i].clone(),
            protocol_description: described[i].clone(),
            accuracy_mean: am[i].unwrap_or(f64::NAN),
            accuracy_std: asd[i],
            val_accuracy_mean: val[i].filter(|v| v.is_finite()),
            macro_f1_mean: fm[i].unwrap_or(f64::NAN),
            macro_f1_std: fsd[i],
            accuracy_ci: al[i].zip(ah[i]),
            macro_f1_ci: fl[i].zip(fh[i]),
            ci_method: method[i].clone(),
            trainable_params: params[i],
            latency_ms_b1: b1[i],
            latency_ms_b64: b64[i],
            train_seconds_mean: secs[i],
        })
        .collect())
}

/// The best setting of each data set x model, by data set then model: the highest mean
/// **validation** accuracy (never the test accuracy, which is then reported for it); ties and
/// settings without a validation accuracy keep the first in table order.
pub(crate) fn best_settings(rows: &[SummaryRow]) -> Vec<SummaryRow> {
    let mut best: BTreeMap<(String, String), SummaryRow> = BTreeMap::new();
    // Runs on part of the training subjects (`train_fraction` below 1) are for the data-efficiency
    // section: a model's best setting is one trained on all of them, when it has one.
    let full =
        |r: &SummaryRow| !r.setting.split(", ").any(|s| s.starts_with("train_fraction=") && s != "train_fraction=1");
    let score = |r: &SummaryRow| (full(r), r.val_accuracy_mean.unwrap_or(f64::NEG_INFINITY));
    for r in rows {
        let k = (r.dataset.clone(), r.model.clone());
        match best.get(&k) {
            Some(b) if score(b) >= score(r) => {}
            _ => {
                best.insert(k, r.clone());
            }
        }
    }
    best.into_values().collect()
}

/// Mean learning curve per data set x model x setting and epoch (over seeds).
pub(crate) fn curve_means(curves: &DataFrame) -> PolarsResult<DataFrame> {
    let keys = ["dataset", "model", "setting", "epoch"];
    curves
        .clone()
        .lazy()
        .group_by_stable(keys.map(col))
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("train_loss").mean(),
            col("train_acc").mean(),
            col("val_loss").mean(),
            col("val_acc").mean(),
        ])
        .sort(keys, SortMultipleOptions::default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two settings of one model where validation and test disagree: the best setting is the
    /// one with the better validation accuracy, and its test accuracy is what is reported.
    #[test]
    fn best_setting_is_chosen_on_validation_not_test() {
        let summary = df!(
            "dataset" => ["ckplus", "ckplus"],
            "model" => ["de", "de"],
            "family" => ["deep-emotion", "deep-emotion"],
            "arch" => ["deep-emotion", "deep-emotion"],
            "setting" => ["lr=0.005", "lr=0.001"],
            "n" => [3i64, 3],
            "accuracy_mean" => [0.90, 0.80],
            "accuracy_std" => [0.01, 0.01],
            "val_accuracy_mean" => [0.70, 0.85],
            "macro_f1_mean" => [0.9, 0.8],
            "macro_f1_std" => [0.01, 0.01],
            "trainable_params" => [1i64, 1],
            "latency_ms_b1" => [0.1, 0.1],
            "latency_ms_b64" => [1.0, 1.0],
            "train_seconds_mean" => [1.0, 1.0],
            "protocol" => ["subject-kfold", "subject-kfold"],
            "seeds" => [1i64, 1],
            "folds" => [3i64, 3]
        )
        .unwrap();
        let best = best_settings(&summary_rows(&summary).unwrap());
        assert_eq!(best.len(), 1);
        assert_eq!(best[0].setting, "lr=0.001", "chosen by validation accuracy");
        assert_eq!(best[0].accuracy_mean, 0.80, "and its test accuracy is reported");
    }

    /// Two students distilled at the default temperature and weight (neither is an axis) next to
    /// a plain model: they are distillation runs, not "no knowledge-distillation runs".
    #[test]
    fn students_without_t_or_w_axes_are_distillation_runs() {
        let jobs = df!(
            "dataset" => ["common", "common", "common"],
            "model" => ["men", "men-kd", "men-kd-de"],
            "arch" => ["microexpnet-xxs", "microexpnet-xxs", "microexpnet-xxs"],
            "distill_temperature" => [None, Some(8.0), Some(8.0)],
            "distill_weight" => [None, Some(0.5), Some(0.5)],
            "accuracy" => [0.42, 0.44, 0.46]
        )
        .unwrap();
        let (kd, note) = kd_table(&jobs).unwrap();
        assert_eq!(note, None, "{kd}");
        assert_eq!(strings(&kd, "model").unwrap(), ["men-kd", "men-kd-de"]);
        let plain = jobs.head(Some(1));
        let (kd, note) = kd_table(&plain).unwrap();
        assert_eq!(kd.height(), 0);
        assert!(note.unwrap().starts_with("no knowledge-distillation runs"));
    }
}
