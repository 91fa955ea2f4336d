//! Calibration: the expected calibration error (15 bins, `stats::ece`) of every run, its mean with
//! a t-interval per model and data set, and the pooled reliability diagram per data set, from the
//! evaluations' per-image confidences (`predictions.csv`, format 2); a table of models, a table of
//! bins (CSV, Parquet), a chart per data set, the page section and one sentence. Distilled
//! students against their plain counterparts and teachers: the distillation section's
//! `kd_comparison` (its ECE columns).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::charts::slug;
use super::collect::{Collection, Evaluation};
use super::error::ReportError;
use super::html::{chart_figure, frame_table};
use super::reliability::{ReliabilityChart, ReliabilitySeries};
use super::stats::{ece, t_interval};
use super::tables::write_table;

/// Confidence bins, as the issue asks (Guo et al. use 15 too).
pub(crate) const BINS: usize = 15;

/// One model on one data set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CalibrationRow {
    pub dataset: String,
    pub model: String,
    pub runs: usize,
    pub images: usize,
    pub accuracy: f64,
    pub mean_confidence: f64,
    /// Mean ECE over the runs, and its 95 % t-interval (with two runs or more).
    pub ece: f64,
    pub ece_low: Option<f64>,
    pub ece_high: Option<f64>,
    /// Pooled over the runs: (bin, images, mean confidence, accuracy).
    pub bins: Vec<Bin>,
}

/// A confidence bin pooled over runs: (bin, images, mean confidence, accuracy).
type Bin = (usize, usize, f64, f64);

/// One run's test images: confidences and whether each prediction was right.
type Run = (Vec<f64>, Vec<bool>);

/// What the analysis wrote.
#[derive(Debug, Clone, Default)]
pub(crate) struct CalibrationOut {
    pub written: Vec<String>,
    pub tables: Vec<PathBuf>,
    pub html: String,
    pub sentence: Option<String>,
}

/// The bin of a confidence, as `stats::ece` bins it: ((m-1)/M, m/M], 0 in the first.
fn bin_of(c: f64) -> usize {
    let mut b = ((c * BINS as f64).ceil() as isize - 1).clamp(0, BINS as isize - 1) as usize;
    while b > 0 && c <= b as f64 / BINS as f64 {
        b -= 1;
    }
    while b + 1 < BINS && c > (b + 1) as f64 / BINS as f64 {
        b += 1;
    }
    b
}

/// A model's name with its setting, as the other sections show it.
fn name(e: &Evaluation) -> String {
    if e.setting.is_empty() {
        e.model().to_string()
    } else {
        format!("{} {}", e.model(), e.setting)
    }
}

/// The rows: every model and data set whose runs have confidences.
pub(crate) fn rows(evaluations: &[Evaluation]) -> Vec<CalibrationRow> {
    let mut groups: BTreeMap<(String, String), Vec<Run>> = BTreeMap::new();
    for e in evaluations {
        let Some(p) = &e.predictions else { continue };
        let conf: Vec<f64> = p.iter().filter_map(|x| x.confidence).collect();
        if conf.len() != p.len() || conf.is_empty() {
            continue;
        }
        let ok: Vec<bool> = p.iter().map(|x| x.label == x.prediction).collect();
        groups.entry((e.dataset().to_string(), name(e))).or_default().push((conf, ok));
    }
    groups
        .into_iter()
        .map(|((dataset, model), runs)| {
            let eces: Vec<f64> = runs.iter().filter_map(|(c, ok)| ece(c, ok, BINS)).collect();
            let ci = t_interval(&eces, 0.95);
            let mut count = [0usize; BINS];
            let mut conf_sum = [0.0f64; BINS];
            let mut right = [0usize; BINS];
            for (c, ok) in &runs {
                for (&c, &ok) in c.iter().zip(ok) {
                    let b = bin_of(c);
                    count[b] += 1;
                    conf_sum[b] += c;
                    right[b] += ok as usize;
                }
            }
            let images: usize = count.iter().sum();
            let bins = (0..BINS)
                .filter(|&b| count[b] > 0)
                .map(|b| (b, count[b], conf_sum[b] / count[b] as f64, right[b] as f64 / count[b] as f64))
                .collect();
            CalibrationRow {
                dataset,
                model,
                runs: runs.len(),
                images,
                accuracy: right.iter().sum::<usize>() as f64 / images.max(1) as f64,
                mean_confidence: conf_sum.iter().sum::<f64>() / images.max(1) as f64,
                ece: eces.iter().sum::<f64>() / eces.len().max(1) as f64,
                ece_low: ci.map(|i| i.low),
                ece_high: ci.map(|i| i.high),
                bins,
            }
        })
        .collect()
}

fn models_table(rows: &[CalibrationRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("dataset".into(), rows.iter().map(|r| r.dataset.clone()).collect::<Vec<_>>()),
            Column::new("model".into(), rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
            Column::new("runs".into(), rows.iter().map(|r| r.runs as i64).collect::<Vec<_>>()),
            Column::new("test_images".into(), rows.iter().map(|r| r.images as i64).collect::<Vec<_>>()),
            Column::new("accuracy".into(), rows.iter().map(|r| r.accuracy).collect::<Vec<_>>()),
            Column::new("mean_confidence".into(), rows.iter().map(|r| r.mean_confidence).collect::<Vec<_>>()),
            Column::new("ece".into(), rows.iter().map(|r| r.ece).collect::<Vec<_>>()),
            Column::new("ece_ci_low".into(), rows.iter().map(|r| r.ece_low).collect::<Vec<_>>()),
            Column::new("ece_ci_high".into(), rows.iter().map(|r| r.ece_high).collect::<Vec<_>>()),
        ],
    )
}

fn bins_table(rows: &[CalibrationRow]) -> PolarsResult<DataFrame> {
    let flat: Vec<(&CalibrationRow, &Bin)> = rows.iter().flat_map(|r| r.bins.iter().map(move |b| (r, b))).collect();
    DataFrame::new(
        flat.len(),
        vec![
            Column::new("dataset".into(), flat.iter().map(|(r, _)| r.dataset.clone()).collect::<Vec<_>>()),
            Column::new("model".into(), flat.iter().map(|(r, _)| r.model.clone()).collect::<Vec<_>>()),
            Column::new("bin_low".into(), flat.iter().map(|(_, b)| b.0 as f64 / BINS as f64).collect::<Vec<_>>()),
            Column::new(
                "bin_high".into(),
                flat.iter().map(|(_, b)| (b.0 + 1) as f64 / BINS as f64).collect::<Vec<_>>(),
            ),
            Column::new("images".into(), flat.iter().map(|(_, b)| b.1 as i64).collect::<Vec<_>>()),
            Column::new("mean_confidence".into(), flat.iter().map(|(_, b)| b.2).collect::<Vec<_>>()),
            Column::new("accuracy".into(), flat.iter().map(|(_, b)| b.3).collect::<Vec<_>>()),
        ],
    )
}

/// The sentence: per data set, the best and worst calibrated model, and whether models are over-
/// or under-confident on the whole.
pub(crate) fn sentence(rows: &[CalibrationRow]) -> Option<String> {
    let mut by_set: BTreeMap<&str, Vec<&CalibrationRow>> = BTreeMap::new();
    for r in rows {
        by_set.entry(r.dataset.as_str()).or_default().push(r);
    }
    let parts: Vec<String> = by_set
        .into_iter()
        .map(|(d, mut v)| {
            v.sort_by(|a, b| a.ece.total_cmp(&b.ece));
            let describe = |r: &CalibrationRow| {
                let how = if r.mean_confidence > r.accuracy { "over" } else { "under" };
                format!(
                    "{} ECE {:.3}, {how}-confident overall (mean confidence {:.1} % against accuracy {:.1} %)",
                    r.model,
                    r.ece,
                    r.mean_confidence * 100.0,
                    r.accuracy * 100.0
                )
            };
            match v.as_slice() {
                [only] => format!("on {d}, {}", describe(only)),
                [best, .., worst] => format!("on {d}, best calibrated {}; worst {}", describe(best), describe(worst)),
                [] => String::new(),
            }
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Calibration (15 bins): {}.", parts.join("; ")))
}

/// Writes the tables and one reliability diagram per data set, and renders the section; nothing
/// when no evaluation in scope has per-image confidences.
pub(crate) fn write(col: &Collection, out_dir: &Path, svg: bool) -> Result<CalibrationOut, ReportError> {
    let rows = rows(&col.evaluations);
    if rows.is_empty() {
        return Ok(CalibrationOut::default());
    }
    let models = models_table(&rows).map_err(|e| ReportError::table("calibration", e))?;
    let bins = bins_table(&rows).map_err(|e| ReportError::table("reliability", e))?;
    let dir = out_dir.join("tables");
    let mut tables = write_table(&dir, "calibration", &models)?;
    tables.extend(write_table(&dir, "reliability", &bins)?);
    let mut written: Vec<String> = ["calibration", "reliability"]
        .iter()
        .flat_map(|n| [format!("tables/{n}.csv"), format!("tables/{n}.parquet")])
        .collect();
    let mut h = String::from("<h2 id=\"calibration\">Calibration</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">Expected calibration error over {BINS} equal-width bins of the confidence (the softmax \
         probability of the predicted class) on the test split: per run, then its mean over the runs with a 95 % \
         t-interval. The diagrams pool every run's test images. Each distilled student's calibration against its \
         plain counterpart and its teacher is in the distillation section's table.</p>"
    );
    let datasets: Vec<&str> = {
        let mut v: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
        v.dedup();
        v
    };
    for d in datasets {
        let c = ReliabilityChart {
            title: format!("Reliability on {d}"),
            subtitle: "accuracy against confidence per bin; dashed: perfect calibration".into(),
            series: rows
                .iter()
                .filter(|r| r.dataset == d)
                .map(|r| ReliabilitySeries {
                    name: format!("{} (ECE {:.3})", r.model, r.ece),
                    points: r.bins.iter().map(|b| (b.2, b.3)).collect(),
                })
                .collect(),
        };
        let stem = format!("reliability-{}", slug(d));
        chart_figure(&c, &c.title, out_dir, &stem, svg, &mut written, &mut h)?;
    }
    frame_table(&mut h, &models, &[]);
    Ok(CalibrationOut { written, tables, html: h, sentence: sentence(&rows) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_those_of_the_ece() {
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(1.0 / 15.0), 0, "upper edges belong to their bin");
        assert_eq!(bin_of(1.0 / 15.0 + 1e-12), 1);
        assert_eq!(bin_of(1.0), 14);
        // The pooled bins reproduce the ECE of one run: sum of |bin| / n * |accuracy - confidence|.
        let conf = [0.95, 0.9, 0.6, 0.55, 0.3];
        let ok = [true, false, true, true, false];
        let mut e = 0.0;
        let mut seen = BTreeMap::new();
        for (&c, &k) in conf.iter().zip(&ok) {
            let s = seen.entry(bin_of(c)).or_insert((0usize, 0.0f64, 0usize));
            s.0 += 1;
            s.1 += c;
            s.2 += k as usize;
        }
        for (n, cs, r) in seen.values() {
            e += *n as f64 / 5.0 * (*r as f64 / *n as f64 - cs / *n as f64).abs();
        }
        assert!((e - ece(&conf, &ok, BINS).unwrap()).abs() < 1e-12 && (e - 0.42).abs() < 1e-12);
    }

    #[test]
    fn the_sentence_names_the_best_and_worst_calibrated() {
        let row = |model: &str, ece: f64, conf: f64, acc: f64| CalibrationRow {
            dataset: "common".into(),
            model: model.into(),
            runs: 3,
            images: 300,
            accuracy: acc,
            mean_confidence: conf,
            ece,
            ece_low: None,
            ece_high: None,
            bins: vec![],
        };
        let s = sentence(&[row("a", 0.2, 0.9, 0.7), row("b", 0.05, 0.4, 0.45)]).unwrap();
        assert!(s.contains("best calibrated b ECE 0.050, under-confident overall"), "{s}");
        assert!(
            s.contains("worst a ECE 0.200, over-confident overall (mean confidence 90.0 % against accuracy 70.0 %)"),
            "{s}"
        );
        assert!(sentence(&[]).is_none());
    }
}
