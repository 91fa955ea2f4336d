//! Domain shift (`analyses: {domain_shift: true}`): each model trained on one data set and tested
//! on another (its `transfer` jobs, over the classes both share) beside its accuracy on its own
//! test split; a table (CSV, Parquet), one accuracy matrix per model, the page section and one
//! sentence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::collect::{Collection, Evaluation, TransferRun};
use super::error::ReportError;
use super::html::{chart_figure, frame_table};
use super::tables::write_table;
use super::transfer_chart::TransferChart;

/// One model trained on one data set and tested on one (the same: its own test split).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShiftRow {
    pub model: String,
    pub trained_on: String,
    pub tested_on: String,
    pub runs: usize,
    /// Mean, lowest and highest test accuracy over the runs, 0..1.
    pub accuracy: f64,
    pub lowest: f64,
    pub highest: f64,
    pub macro_f1: f64,
    /// Classes compared (all of the data set's on the diagonal, the shared ones elsewhere).
    pub classes: usize,
    /// Test images per run (mean).
    pub images: f64,
}

/// What the analysis wrote.
#[derive(Debug, Clone, Default)]
pub(crate) struct DomainOut {
    pub written: Vec<String>,
    pub tables: Vec<PathBuf>,
    pub html: String,
    pub sentence: Option<String>,
}

/// (accuracy, macro-F1, classes, images) of each run, grouped.
type Runs = BTreeMap<(String, String, String), Vec<(f64, f64, usize, usize)>>;

/// The rows: every transfer, and each transferred model's evaluations on its own data set.
pub(crate) fn rows(evaluations: &[Evaluation], transfers: &[TransferRun]) -> Vec<ShiftRow> {
    let mut runs: Runs = BTreeMap::new();
    for t in transfers {
        let tested = t.label.axes.iter().find(|(k, _)| k == "tested_on").map(|(_, v)| v.clone()).unwrap_or_default();
        let key = (super::collect::named(&t.label.model, &t.label.axes), t.label.dataset.clone(), tested);
        let r = &t.record;
        runs.entry(key).or_default().push((r.test.accuracy, r.test.macro_f1, r.shared.len(), r.test.n));
    }
    let transferred: std::collections::BTreeSet<(String, String)> =
        runs.keys().map(|(m, a, _)| (m.clone(), a.clone())).collect();
    for e in evaluations {
        let key = (super::collect::named(e.model(), &e.label.axes), e.dataset().to_string());
        if transferred.contains(&key) {
            let r = &e.result;
            runs.entry((key.0, key.1.clone(), key.1)).or_default().push((
                r.test.accuracy,
                r.test.macro_f1,
                r.classes,
                r.test.n,
            ));
        }
    }
    runs.into_iter()
        .map(|((model, trained_on, tested_on), v)| {
            let n = v.len() as f64;
            ShiftRow {
                model,
                trained_on,
                tested_on,
                runs: v.len(),
                accuracy: v.iter().map(|r| r.0).sum::<f64>() / n,
                lowest: v.iter().map(|r| r.0).fold(f64::INFINITY, f64::min),
                highest: v.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max),
                macro_f1: v.iter().map(|r| r.1).sum::<f64>() / n,
                classes: v.iter().map(|r| r.2).max().unwrap_or(0),
                images: v.iter().map(|r| r.3 as f64).sum::<f64>() / n,
            }
        })
        .collect()
}

pub(crate) fn table(rows: &[ShiftRow]) -> PolarsResult<DataFrame> {
    let col =
        |name: &str, f: &dyn Fn(&ShiftRow) -> f64| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("model".into(), rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
            Column::new("trained_on".into(), rows.iter().map(|r| r.trained_on.clone()).collect::<Vec<_>>()),
            Column::new("tested_on".into(), rows.iter().map(|r| r.tested_on.clone()).collect::<Vec<_>>()),
            Column::new("in_domain".into(), rows.iter().map(|r| r.trained_on == r.tested_on).collect::<Vec<_>>()),
            Column::new("runs".into(), rows.iter().map(|r| r.runs as i64).collect::<Vec<_>>()),
            Column::new("classes".into(), rows.iter().map(|r| r.classes as i64).collect::<Vec<_>>()),
            col("test_images", &|r| r.images),
            col("accuracy", &|r| r.accuracy),
            col("accuracy_lowest", &|r| r.lowest),
            col("accuracy_highest", &|r| r.highest),
            col("macro_f1", &|r| r.macro_f1),
        ],
    )
}

/// The sentence: per model and pair of data sets, the accuracy at home and away, computed.
pub(crate) fn sentence(rows: &[ShiftRow]) -> Option<String> {
    let home: BTreeMap<(&str, &str), f64> = rows
        .iter()
        .filter(|r| r.trained_on == r.tested_on)
        .map(|r| ((r.model.as_str(), r.trained_on.as_str()), r.accuracy))
        .collect();
    let parts: Vec<String> = rows
        .iter()
        .filter(|r| r.trained_on != r.tested_on)
        .filter_map(|r| {
            let at_home = home.get(&(r.model.as_str(), r.trained_on.as_str()))?;
            Some(format!(
                "{} trained on {} scores {:.1} % on its own test split and {:.1} % on {} ({:+.1} points, {} shared classes)",
                r.model,
                r.trained_on,
                at_home * 100.0,
                r.accuracy * 100.0,
                r.tested_on,
                (r.accuracy - at_home) * 100.0,
                r.classes
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Domain shift: {}.", parts.join("; ")))
}

/// The chart: one matrix per model over the data sets its rows name.
fn chart(rows: &[ShiftRow]) -> TransferChart {
    let mut datasets: Vec<String> = Vec::new();
    let mut models: Vec<String> = Vec::new();
    for r in rows {
        for d in [&r.trained_on, &r.tested_on] {
            if !datasets.contains(d) {
                datasets.push(d.clone());
            }
        }
        if !models.contains(&r.model) {
            models.push(r.model.clone());
        }
    }
    let panels = models
        .iter()
        .map(|m| {
            let cell = |a: &String, b: &String| {
                rows.iter().find(|r| &r.model == m && &r.trained_on == a && &r.tested_on == b).map(|r| r.accuracy)
            };
            (m.clone(), datasets.iter().map(|a| datasets.iter().map(|b| cell(a, b)).collect()).collect())
        })
        .collect();
    TransferChart {
        title: "Domain shift: trained on one data set, tested on another".into(),
        subtitle: "mean test accuracy over runs; off the diagonal over the shared classes only".into(),
        datasets,
        panels,
    }
}

/// Writes the table and chart into `out_dir` and renders the page section; nothing when the
/// analysis is off.
pub(crate) fn write(col: &Collection, out_dir: &Path, svg: bool) -> Result<DomainOut, ReportError> {
    if !col.domain_shift {
        return Ok(DomainOut::default());
    }
    let rows = rows(&col.evaluations, &col.transfers);
    let df = table(&rows).map_err(|e| ReportError::table("domain_shift", e))?;
    let tables = write_table(&out_dir.join("tables"), "domain_shift", &df)?;
    let mut written = vec!["tables/domain_shift.csv".to_string(), "tables/domain_shift.parquet".to_string()];
    let mut h = String::from("<h2 id=\"domain-shift\">Domain shift</h2>\n");
    h.push_str(
        "<p class=\"muted\">Each model trained on one data set and tested on every other data set of the pipeline \
         (its test split; every image of a data set with k folds), over the classes both share, predicting the most \
         probable shared class. The diagonal is the model's own test split, over all its classes.</p>\n",
    );
    if rows.iter().all(|r| r.trained_on == r.tested_on) {
        h.push_str("<p class=\"note\">No finished transfer job in this report's scope.</p>\n");
    } else {
        let c = chart(&rows);
        chart_figure(&c, &c.title, out_dir, "domain_shift", svg, &mut written, &mut h)?;
    }
    frame_table(&mut h, &df, &[]);
    Ok(DomainOut { written, tables, html: h, sentence: sentence(&rows) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, a: &str, b: &str, acc: f64) -> ShiftRow {
        ShiftRow {
            model: model.into(),
            trained_on: a.into(),
            tested_on: b.into(),
            runs: 2,
            accuracy: acc,
            lowest: acc - 0.01,
            highest: acc + 0.01,
            macro_f1: acc,
            classes: 7,
            images: 100.0,
        }
    }

    #[test]
    fn the_sentence_and_the_matrix_come_from_the_rows() {
        let rows = vec![
            row("de", "posed", "posed", 0.9),
            row("de", "posed", "wild", 0.4),
            row("de", "wild", "wild", 0.6),
            row("de", "wild", "posed", 0.7),
        ];
        let s = sentence(&rows).unwrap();
        assert!(
            s.contains("de trained on posed scores 90.0 % on its own test split and 40.0 % on wild (-50.0 points"),
            "{s}"
        );
        assert!(
            s.contains("de trained on wild scores 60.0 % on its own test split and 70.0 % on posed (+10.0 points"),
            "{s}"
        );
        let c = chart(&rows);
        assert_eq!(c.datasets, ["posed", "wild"]);
        assert_eq!(c.panels[0].1, vec![vec![Some(0.9), Some(0.4)], vec![Some(0.7), Some(0.6)]]);
        assert!(sentence(&rows[..1]).is_none(), "no transfer, no sentence");
        let df = table(&rows).unwrap();
        assert_eq!(df.height(), 4);
    }
}
