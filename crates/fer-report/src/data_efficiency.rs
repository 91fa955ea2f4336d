//! Data efficiency: test accuracy against the fraction of the training subjects a run trained on
//! (`train_fraction`), when a model has more than one on a data set: a table (mean, min..max and
//! std over runs), one chart per data set (a line per model) and one computed sentence each.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use polars::prelude::*;

use super::charts::slug;
use super::collect::Evaluation;
use super::error::ReportError;
use super::figures::{AnyChart, Drawn, Figure, Section};
use super::html::{esc, frame_table};
use super::kd::{KdChart, KdSeries};
use super::published::Published;

/// The table's file stem under `tables/`.
pub(crate) const TABLE: &str = "data_efficiency";

/// One model x data set x fraction: what its runs reached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub dataset: String,
    /// The model's name, with its other list settings when it has any (`m (lr=0.01)`).
    pub model: String,
    pub fraction: f64,
    /// Mean over the runs of the training subjects and images used (they differ by fold).
    pub subjects: Option<f64>,
    pub images: Option<f64>,
    /// Test accuracy of each run.
    pub accuracies: Vec<f64>,
}

impl Point {
    pub(crate) fn mean(&self) -> f64 {
        self.accuracies.iter().sum::<f64>() / self.accuracies.len() as f64
    }

    pub(crate) fn min(&self) -> f64 {
        self.accuracies.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub(crate) fn max(&self) -> f64 {
        self.accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The sample standard deviation; `None` for one run.
    pub(crate) fn std(&self) -> Option<f64> {
        let n = self.accuracies.len();
        (n > 1).then(|| {
            let m = self.mean();
            (self.accuracies.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        })
    }
}

/// The section's content.
#[derive(Debug, Clone)]
pub(crate) struct DataEfficiency {
    /// By data set, model, fraction.
    pub points: Vec<Point>,
    pub table: DataFrame,
    /// One sentence per data set.
    pub sentences: Vec<String>,
}

/// The model as the section names it: with its list settings other than `train_fraction`.
fn model_of(e: &Evaluation) -> String {
    let rest: Vec<&str> =
        e.setting.split(", ").filter(|s| !s.is_empty() && !s.starts_with("train_fraction=")).collect();
    if rest.is_empty() {
        e.model().to_string()
    } else {
        format!("{} ({})", e.model(), rest.join(", "))
    }
}

/// The points of every model that has more than one fraction on a data set.
pub(crate) fn points(evals: &[Evaluation]) -> Vec<Point> {
    let mut runs: BTreeMap<(String, String), BTreeMap<u64, Vec<&Evaluation>>> = BTreeMap::new();
    for e in evals {
        let key = (e.dataset().to_string(), model_of(e));
        runs.entry(key).or_default().entry(e.train_fraction().to_bits()).or_default().push(e);
    }
    let mut out = Vec::new();
    for ((dataset, model), by_fraction) in runs.into_iter().filter(|(_, f)| f.len() > 1) {
        for (bits, es) in by_fraction {
            let mean = |f: &dyn Fn(&Evaluation) -> Option<usize>| {
                let v: Vec<f64> = es.iter().filter_map(|e| f(e)).map(|x| x as f64).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            out.push(Point {
                dataset: dataset.clone(),
                model: model.clone(),
                fraction: f64::from_bits(bits),
                subjects: mean(&|e| e.result.protocol.as_ref().map(|p| p.train.subjects)),
                images: mean(&|e| e.result.protocol.as_ref().map(|p| p.train.images)),
                accuracies: es.iter().map(|e| e.result.test.accuracy).collect(),
            });
        }
    }
    out.sort_by(|a, b| (&a.dataset, &a.model, a.fraction).partial_cmp(&(&b.dataset, &b.model, b.fraction)).unwrap());
    out
}

/// The section, or `None` when no model has more than one fraction on a data set.
pub(crate) fn build(evals: &[Evaluation]) -> Result<Option<DataEfficiency>, ReportError> {
    let points = points(evals);
    if points.is_empty() {
        return Ok(None);
    }
    let table = table(&points).map_err(|e| ReportError::table(TABLE, e))?;
    let mut datasets: Vec<&str> = points.iter().map(|p| p.dataset.as_str()).collect();
    datasets.dedup();
    let sentences = datasets.iter().map(|d| sentence(d, &points)).collect();
    Ok(Some(DataEfficiency { points, table, sentences }))
}

fn table(points: &[Point]) -> PolarsResult<DataFrame> {
    let col = |f: &dyn Fn(&Point) -> Option<f64>| points.iter().map(f).collect::<Vec<Option<f64>>>();
    let round = |v: Option<f64>| v.map(|x| x.round() as i64);
    DataFrame::new(
        points.len(),
        vec![
            Column::new("model".into(), points.iter().map(|p| p.model.clone()).collect::<Vec<_>>()),
            Column::new("dataset".into(), points.iter().map(|p| p.dataset.clone()).collect::<Vec<_>>()),
            Column::new("train_fraction".into(), points.iter().map(|p| p.fraction).collect::<Vec<_>>()),
            Column::new("train_subjects".into(), points.iter().map(|p| round(p.subjects)).collect::<Vec<_>>()),
            Column::new("train_images".into(), points.iter().map(|p| round(p.images)).collect::<Vec<_>>()),
            Column::new("runs".into(), points.iter().map(|p| p.accuracies.len() as i64).collect::<Vec<_>>()),
            Column::new("accuracy_mean".into(), col(&|p| Some(p.mean()))),
            Column::new("accuracy_min".into(), col(&|p| Some(p.min()))),
            Column::new("accuracy_max".into(), col(&|p| Some(p.max()))),
            Column::new("accuracy_std".into(), col(&Point::std)),
        ],
    )
}

/// `25 %` of the training subjects.
fn share(f: f64) -> String {
    format!("{} %", (f * 1000.0).round() / 10.0)
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// One plain sentence about data set `dataset`, computed from its points: how accuracy grows with
/// the training subjects, and, with several models, which reaches the weaker model's full-data
/// accuracy with fewer subjects, and whether the runs' ranges (min..max) ever separate them.
fn sentence(dataset: &str, points: &[Point]) -> String {
    let here: Vec<&Point> = points.iter().filter(|p| p.dataset == dataset).collect();
    let mut models: Vec<&str> = here.iter().map(|p| p.model.as_str()).collect();
    models.dedup();
    let of = |m: &str| -> Vec<&Point> { here.iter().copied().filter(|p| p.model == m).collect() };
    if models.len() == 1 {
        let ps = of(models[0]);
        let (lo, hi) = (ps[0], ps[ps.len() - 1]);
        return format!(
            "Data efficiency on {dataset}: {} reaches {} mean test accuracy with {} of the training subjects \
             and {} with {} (runs: {}..{} and {}..{}).",
            models[0],
            pct(lo.mean()),
            share(lo.fraction),
            pct(hi.mean()),
            share(hi.fraction),
            pct(lo.min()),
            pct(lo.max()),
            pct(hi.min()),
            pct(hi.max())
        );
    }
    // Fractions every model ran at.
    let mut common: BTreeSet<u64> = of(models[0]).iter().map(|p| p.fraction.to_bits()).collect();
    for m in &models[1..] {
        let mine: BTreeSet<u64> = of(m).iter().map(|p| p.fraction.to_bits()).collect();
        common = common.intersection(&mine).copied().collect();
    }
    let Some(&top) = common.iter().max_by(|a, b| f64::from_bits(**a).total_cmp(&f64::from_bits(**b))) else {
        return format!(
            "Data efficiency on {dataset}: the models were not trained on a common fraction of the subjects."
        );
    };
    let at = |m: &str, bits: u64| of(m).into_iter().find(|p| p.fraction.to_bits() == bits);
    let target = models.iter().filter_map(|m| at(m, top)).map(|p| p.mean()).fold(f64::INFINITY, f64::min);
    let mut fractions: Vec<f64> = common.iter().map(|b| f64::from_bits(*b)).collect();
    fractions.sort_by(f64::total_cmp);
    let needs: Vec<String> = models
        .iter()
        .map(|m| {
            let first = fractions.iter().find(|&&f| at(m, f.to_bits()).is_some_and(|p| p.mean() >= target));
            match first {
                Some(f) => format!("{m} needs {}", share(*f)),
                None => format!("{m} does not reach it"),
            }
        })
        .collect();
    // Where two models' run ranges do not overlap.
    let mut apart = Vec::new();
    for &f in &fractions {
        for (i, a) in models.iter().enumerate() {
            for b in &models[i + 1..] {
                let (Some(pa), Some(pb)) = (at(a, f.to_bits()), at(b, f.to_bits())) else { continue };
                if pa.min() > pb.max() {
                    apart.push(format!("{a} above {b} at {}", share(f)));
                } else if pb.min() > pa.max() {
                    apart.push(format!("{b} above {a} at {}", share(f)));
                }
            }
        }
    }
    let verdict = if apart.is_empty() {
        "but their runs' accuracy ranges overlap at every fraction, so these runs cannot tell the models' data \
         efficiency apart"
            .to_string()
    } else {
        format!("the runs' ranges do not overlap for {}", apart.join("; "))
    };
    format!(
        "Data efficiency on {dataset}: to reach {} mean test accuracy (the weaker model's with {} of the training \
         subjects), {}; {verdict}.",
        pct(target),
        share(f64::from_bits(top)),
        needs.join(" and ")
    )
}

/// One chart per data set: mean test accuracy (± std) against the fraction, a line per model.
pub(crate) fn figures(de: &DataEfficiency, published: &Published) -> Vec<Figure> {
    let mut by_dataset: BTreeMap<&str, BTreeMap<&str, Vec<&Point>>> = BTreeMap::new();
    for p in &de.points {
        by_dataset.entry(&p.dataset).or_default().entry(&p.model).or_default().push(p);
    }
    by_dataset
        .into_iter()
        .map(|(dataset, models)| {
            let shown = published.dataset_name(dataset).to_string();
            let series = models
                .into_iter()
                .map(|(m, ps)| KdSeries {
                    name: m.to_string(),
                    points: ps.iter().map(|p| (p.fraction, p.mean() * 100.0, p.std().map(|s| s * 100.0))).collect(),
                })
                .collect();
            let chart = KdChart {
                title: format!("Data efficiency on {shown}"),
                subtitle: "mean test accuracy ± std over runs (seeds and folds) against the fraction of training \
                           subjects (nested subsets); min..max in the table"
                    .into(),
                x_desc: "fraction of the training subjects".into(),
                series,
            };
            Figure {
                section: Section::DataEfficiency,
                stem: format!("data-efficiency-{}", slug(dataset)),
                alt: format!("Test accuracy against the fraction of training subjects on {shown}, one line per model"),
                chart: AnyChart::Kd(chart),
            }
        })
        .collect()
}

/// The page's section: the sentences, the table, the charts.
pub(crate) fn section(de: &DataEfficiency, charts: &[Drawn]) -> String {
    let mut h = String::from("<h2 id=\"data-efficiency\">Data efficiency</h2>\n");
    h.push_str(
        "<p class=\"muted\">Each run trains on a fraction of the training split's subjects (<code>train_fraction</code>), \
         nested and the same for every model and seed; validation and test splits are unchanged.</p>\n",
    );
    for s in &de.sentences {
        let _ = writeln!(h, "<p>{}</p>", esc(s));
    }
    frame_table(&mut h, &de.table, &[]);
    h.push_str("<div class=\"grid\">\n");
    for c in charts.iter().filter(|c| c.section == Section::DataEfficiency) {
        let _ = write!(
            h,
            "<figure><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\"><figcaption>{} (<a href=\"{}\">PNG</a>",
            esc(&c.png),
            c.width,
            c.height,
            esc(&c.alt),
            esc(&c.alt),
            esc(&c.png)
        );
        if let Some(svg) = &c.svg {
            let _ = write!(h, ", <a href=\"{}\">SVG</a>", esc(svg));
        }
        h.push_str(")</figcaption></figure>\n");
    }
    h.push_str("</div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(model: &str, fraction: f64, acc: &[f64]) -> Point {
        Point {
            dataset: "d".into(),
            model: model.into(),
            fraction,
            subjects: Some(10.0 * fraction),
            images: Some(100.0 * fraction),
            accuracies: acc.to_vec(),
        }
    }

    #[test]
    fn statistics_are_computed_from_the_runs() {
        let p = point("a", 0.5, &[0.2, 0.4, 0.6]);
        assert!((p.mean() - 0.4).abs() < 1e-12);
        assert_eq!((p.min(), p.max()), (0.2, 0.6));
        assert!((p.std().unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(point("a", 1.0, &[0.3]).std(), None);
        let t = table(&[p, point("a", 1.0, &[0.5, 0.7])]).unwrap();
        assert_eq!(t.height(), 2);
        let names: Vec<&str> = t.get_column_names().into_iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "model",
                "dataset",
                "train_fraction",
                "train_subjects",
                "train_images",
                "runs",
                "accuracy_mean",
                "accuracy_min",
                "accuracy_max",
                "accuracy_std"
            ]
        );
    }

    #[test]
    fn the_sentence_says_who_needs_fewer_subjects_and_whether_runs_separate_them() {
        // `a` reaches b's full-data mean (60 %) at half the subjects; ranges never overlap.
        let pts = vec![
            point("a", 0.25, &[0.50, 0.52]),
            point("a", 0.5, &[0.61, 0.63]),
            point("a", 1.0, &[0.70, 0.72]),
            point("b", 0.25, &[0.30, 0.32]),
            point("b", 0.5, &[0.40, 0.42]),
            point("b", 1.0, &[0.59, 0.61]),
        ];
        let s = sentence("d", &pts);
        assert!(s.contains("to reach 60.0 % mean test accuracy"), "{s}");
        assert!(s.contains("a needs 50 % and b needs 100 %"), "{s}");
        assert!(s.contains("a above b at 25 %"), "{s}");
        // Overlapping runs: cannot be told apart.
        let pts = vec![
            point("a", 0.5, &[0.40, 0.60]),
            point("a", 1.0, &[0.55, 0.75]),
            point("b", 0.5, &[0.45, 0.55]),
            point("b", 1.0, &[0.55, 0.65]),
        ];
        let s = sentence("d", &pts);
        assert!(s.contains("cannot tell the models' data efficiency apart"), "{s}");
        assert!(s.contains("a needs 100 % and b needs 100 %"), "{s}");
        // One model: its curve in numbers.
        let s = sentence("d", &[point("a", 0.5, &[0.4]), point("a", 1.0, &[0.6])]);
        assert!(
            s.contains("a reaches 40.0 % mean test accuracy with 50 % of the training subjects and 60.0 % with 100 %"),
            "{s}"
        );
    }
}
