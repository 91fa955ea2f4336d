//! Robustness (`analyses: {robustness: true}`): each model's test accuracy under six corruptions
//! at five severities (its `robustness` jobs), averaged over runs; the relative score (mean
//! corrupted accuracy over clean accuracy, as ImageNet-C's relative measures); a table of every
//! point, a table of scores (CSV, Parquet), a chart per data set, the section and a sentence that
//! answers the review's implicit claim: does Deep-Emotion's spatial transformer make it more robust
//! to pose (rotation) and occlusion than MicroExpNet?

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::charts::slug;
use super::collect::{Collection, RobustnessRun};
use super::error::ReportError;
use super::html::{chart_figure, esc, frame_table};
use super::robustness_chart::{Panel, RobustnessChart};
use super::tables::write_table;
use fer_core::plan::robustness::Corruption;

/// One model on one data set, averaged over its runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelRobustness {
    pub dataset: String,
    pub model: String,
    /// The architecture (`deep-emotion`, `microexpnet-xxs`, ...).
    pub arch: String,
    /// Chance accuracy (one in the number of classes).
    pub chance: f64,
    pub runs: usize,
    pub clean: f64,
    /// (corruption, severity) -> mean accuracy.
    pub points: BTreeMap<(String, u32), f64>,
    /// Mean over runs of each run's relative score.
    pub relative: f64,
}

impl ModelRobustness {
    /// Whether the clean accuracy is below 1.5 times chance (losses then say little).
    pub(crate) fn near_chance(&self) -> bool {
        self.clean < 1.5 * self.chance
    }

    /// Mean accuracy under `c` over its severities, relative to clean.
    pub(crate) fn relative_to(&self, c: &str) -> f64 {
        let v: Vec<f64> = self.points.iter().filter(|((k, _), _)| k == c).map(|(_, a)| *a).collect();
        if v.is_empty() || self.clean <= 0.0 {
            return f64::NAN;
        }
        v.iter().sum::<f64>() / v.len() as f64 / self.clean
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RobustnessOut {
    pub written: Vec<String>,
    pub tables: Vec<PathBuf>,
    pub html: String,
    pub sentence: Option<String>,
}

/// A model's name with its setting, as the other sections show it.
fn name(r: &RobustnessRun) -> String {
    super::collect::named(&r.label.model, &r.label.axes)
}

pub(crate) fn models(runs: &[RobustnessRun]) -> Vec<ModelRobustness> {
    let mut groups: BTreeMap<(String, String), Vec<&RobustnessRun>> = BTreeMap::new();
    for r in runs {
        groups.entry((r.label.dataset.clone(), name(r))).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|((dataset, model), v)| {
            let k = v.len() as f64;
            let mut sums: BTreeMap<(String, u32), (f64, usize)> = BTreeMap::new();
            for r in &v {
                for row in &r.record.rows {
                    let e = sums.entry((row.corruption.clone(), row.severity)).or_default();
                    e.0 += row.accuracy;
                    e.1 += 1;
                }
            }
            ModelRobustness {
                dataset,
                model,
                arch: v[0].label.arch.clone(),
                chance: 1.0 / v[0].record.classes.max(1) as f64,
                runs: v.len(),
                clean: v.iter().map(|r| r.record.clean_accuracy).sum::<f64>() / k,
                points: sums.into_iter().map(|(key, (s, n))| (key, s / n as f64)).collect(),
                relative: v.iter().map(|r| r.record.relative).sum::<f64>() / k,
            }
        })
        .collect()
}

fn scores_table(m: &[ModelRobustness]) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        Column::new("dataset".into(), m.iter().map(|r| r.dataset.clone()).collect::<Vec<_>>()),
        Column::new("model".into(), m.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
        Column::new("runs".into(), m.iter().map(|r| r.runs as i64).collect::<Vec<_>>()),
        Column::new("clean_accuracy".into(), m.iter().map(|r| r.clean).collect::<Vec<_>>()),
        Column::new("relative_score".into(), m.iter().map(|r| r.relative).collect::<Vec<_>>()),
    ];
    for c in Corruption::ALL {
        cols.push(Column::new(
            format!("relative_{}", c.name()).into(),
            m.iter().map(|r| r.relative_to(c.name())).collect::<Vec<_>>(),
        ));
    }
    DataFrame::new(m.len(), cols)
}

fn points_table(m: &[ModelRobustness]) -> PolarsResult<DataFrame> {
    let flat: Vec<(&ModelRobustness, &(String, u32), f64)> =
        m.iter().flat_map(|r| r.points.iter().map(move |(k, a)| (r, k, *a))).collect();
    DataFrame::new(
        flat.len(),
        vec![
            Column::new("dataset".into(), flat.iter().map(|f| f.0.dataset.clone()).collect::<Vec<_>>()),
            Column::new("model".into(), flat.iter().map(|f| f.0.model.clone()).collect::<Vec<_>>()),
            Column::new("corruption".into(), flat.iter().map(|f| f.1 .0.clone()).collect::<Vec<_>>()),
            Column::new("severity".into(), flat.iter().map(|f| f.1 .1 as i64).collect::<Vec<_>>()),
            Column::new("accuracy".into(), flat.iter().map(|f| f.2).collect::<Vec<_>>()),
            Column::new("clean_accuracy".into(), flat.iter().map(|f| f.0.clean).collect::<Vec<_>>()),
        ],
    )
}

/// The sentence: per data set, each model's relative score, and the spatial-transformer question
/// on rotation and occlusion when both architectures are there.
pub(crate) fn sentence(m: &[ModelRobustness]) -> Option<String> {
    let mut by_set: BTreeMap<&str, Vec<&ModelRobustness>> = BTreeMap::new();
    for r in m {
        by_set.entry(r.dataset.as_str()).or_default().push(r);
    }
    let parts: Vec<String> = by_set
        .into_iter()
        .map(|(d, v)| {
            let scores: Vec<String> = v
                .iter()
                .map(|r| {
                    let note = if r.near_chance() { " (near chance: its relative score says little)" } else { "" };
                    format!("{} keeps {:.0} % of its clean {:.1} %{note}", r.model, r.relative * 100.0, r.clean * 100.0)
                })
                .collect();
            let mut s = format!("on {d}, {}", scores.join(", "));
            let de = v.iter().find(|r| r.arch.starts_with("deep-emotion"));
            let me = v.iter().find(|r| r.arch.starts_with("microexpnet"));
            if let (Some(de), Some(me)) = (de, me) {
                if de.near_chance() || me.near_chance() {
                    s.push_str(
                        "; whether the spatial transformer makes Deep-Emotion more robust to rotation and occlusion \
                         cannot be judged here: a model is near chance",
                    );
                    return s;
                }
                let (dr, mr) = (de.relative_to("rotation"), me.relative_to("rotation"));
                let (dox, mo) = (de.relative_to("occlusion"), me.relative_to("occlusion"));
                let verdict = if dr > mr && dox > mo {
                    "more robust to both, as the review implies"
                } else if dr <= mr && dox <= mo {
                    "not more robust to either, against the review's implication"
                } else {
                    "more robust to one of them only"
                };
                let _ = write!(
                    s,
                    "; under rotation Deep-Emotion keeps {:.0} % and MicroExpNet {:.0} %, under occlusion {:.0} % and {:.0} %: the spatial transformer's model is {verdict} (relative to clean accuracy, averaged over severities; no test of significance)",
                    dr * 100.0,
                    mr * 100.0,
                    dox * 100.0,
                    mo * 100.0
                );
            }
            s
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Robustness: {}.", parts.join("; ")))
}

pub(crate) fn write(col: &Collection, out_dir: &Path, svg: bool) -> Result<RobustnessOut, ReportError> {
    if !col.robustness_on {
        return Ok(RobustnessOut::default());
    }
    let m = models(&col.robustness);
    let scores = scores_table(&m).map_err(|e| ReportError::table("robustness", e))?;
    let points = points_table(&m).map_err(|e| ReportError::table("robustness_points", e))?;
    let dir = out_dir.join("tables");
    let mut tables = write_table(&dir, "robustness", &scores)?;
    tables.extend(write_table(&dir, "robustness_points", &points)?);
    let mut written: Vec<String> = ["robustness", "robustness_points"]
        .iter()
        .flat_map(|n| [format!("tables/{n}.csv"), format!("tables/{n}.parquet")])
        .collect();
    let mut h = String::from("<h2 id=\"robustness\">Robustness to corruptions</h2>\n");
    let sev: Vec<String> = Corruption::ALL.iter().map(|c| format!("{}: {}", c.name(), c.describe(5))).collect();
    let _ = writeln!(
        h,
        "<p class=\"muted\">Each trained model on corrupted copies of its test split: six corruptions at five \
         severities, every image corrupted the same way for every model and run (severity 5: {}). The relative score \
         is the mean corrupted accuracy over every corruption and severity divided by the clean accuracy (in the \
         manner of ImageNet-C); 100 % means no loss.</p>",
        esc(&sev.join("; "))
    );
    if m.is_empty() {
        h.push_str("<p class=\"note\">No finished robustness job in this report's scope.</p>\n");
    } else {
        let mut datasets: Vec<&str> = m.iter().map(|r| r.dataset.as_str()).collect();
        datasets.dedup();
        for d in datasets {
            let rows: Vec<&ModelRobustness> = m.iter().filter(|r| r.dataset == d).collect();
            let chart = RobustnessChart {
                title: format!("Robustness on {d}: accuracy against severity"),
                subtitle: "mean over runs; severity 0 is the clean test split".into(),
                models: rows.iter().map(|r| r.model.clone()).collect(),
                panels: Corruption::ALL
                    .iter()
                    .map(|c| Panel {
                        corruption: c.name().to_string(),
                        lines: rows
                            .iter()
                            .enumerate()
                            .map(|(i, r)| {
                                let mut pts = vec![(0.0, r.clean * 100.0)];
                                pts.extend(
                                    r.points
                                        .iter()
                                        .filter(|((k, _), _)| k == c.name())
                                        .map(|((_, s), a)| (*s as f64, a * 100.0)),
                                );
                                (i, pts)
                            })
                            .collect(),
                    })
                    .collect(),
            };
            let stem = format!("robustness-{}", slug(d));
            chart_figure(&chart, &chart.title, out_dir, &stem, svg, &mut written, &mut h)?;
        }
        frame_table(&mut h, &scores, &[]);
    }
    Ok(RobustnessOut { written, tables, html: h, sentence: sentence(&m) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, clean: f64, rotation: f64, occlusion: f64) -> ModelRobustness {
        let mut points = BTreeMap::new();
        for s in 1..=5 {
            points.insert(("rotation".to_string(), s), rotation);
            points.insert(("occlusion".to_string(), s), occlusion);
        }
        ModelRobustness {
            dataset: "common".into(),
            model: name.into(),
            arch: name.into(),
            chance: 1.0 / 7.0,
            runs: 3,
            clean,
            points,
            relative: 0.8,
        }
    }

    #[test]
    fn relative_scores_and_the_transformer_question_are_computed() {
        let de = model("deep-emotion", 0.6, 0.3, 0.45);
        let me = model("microexpnet", 0.5, 0.35, 0.3);
        assert!((de.relative_to("rotation") - 0.5).abs() < 1e-12);
        assert!((me.relative_to("rotation") - 0.7).abs() < 1e-12);
        assert!(de.relative_to("blur").is_nan());
        let s = sentence(&[de.clone(), me.clone()]).unwrap();
        assert!(s.contains("under rotation Deep-Emotion keeps 50 % and MicroExpNet 70 %"), "{s}");
        assert!(s.contains("under occlusion 75 % and 60 %"), "{s}");
        assert!(s.contains("more robust to one of them only"), "{s}");
        let s = sentence(&[model("deep-emotion", 0.6, 0.5, 0.5), me.clone()]).unwrap();
        assert!(s.contains("more robust to both"), "{s}");
        // Near chance (1/7 = 14.3 %; below 21.4 %): no verdict.
        let s = sentence(&[model("deep-emotion", 0.2, 0.2, 0.2), me]).unwrap();
        assert!(
            s.contains("(near chance: its relative score says little)") && s.contains("cannot be judged here"),
            "{s}"
        );
    }
}
