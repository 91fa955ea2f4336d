//! Chooses the charts of a report, feeds them from the tables and the collected store, and draws
//! them (in parallel) to `charts/*.png` and `*.svg`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};
use rayon::prelude::*;

use super::bars::{AccuracyBars, Bar, BarGroup};
use super::charts::{render, slug, Chart};
use super::collect::{Collection, Evaluation};
use super::confusion::ConfusionChart;
use super::curves::{CurveSeries, LearningCurves};
use super::error::ReportError;
use super::forest::{ForestChart, ForestRow};
use super::kd::{KdChart, KdSeries};
use super::published::Published;
use super::scatter::{Scatter, ScatterPoint};
use super::tables::{best_settings, curve_means, floats, ints, strings, summary_rows, SummaryRow, Tables};
use fer_core::records::EpochRow;

/// Where a chart goes in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Accuracy,
    Cost,
    Curves,
    Confusion,
    Kd,
    Paired,
    DataEfficiency,
}

/// Any chart of the report.
#[derive(Debug, Clone)]
pub(crate) enum AnyChart {
    Bars(AccuracyBars),
    Scatter(Scatter),
    Curves(LearningCurves),
    Confusion(ConfusionChart),
    Kd(KdChart),
    Forest(ForestChart),
}

impl Chart for AnyChart {
    fn size(&self) -> (u32, u32) {
        match self {
            AnyChart::Bars(c) => c.size(),
            AnyChart::Scatter(c) => c.size(),
            AnyChart::Curves(c) => c.size(),
            AnyChart::Confusion(c) => c.size(),
            AnyChart::Kd(c) => c.size(),
            AnyChart::Forest(c) => c.size(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match self {
            AnyChart::Bars(c) => c.draw(root),
            AnyChart::Scatter(c) => c.draw(root),
            AnyChart::Curves(c) => c.draw(root),
            AnyChart::Confusion(c) => c.draw(root),
            AnyChart::Kd(c) => c.draw(root),
            AnyChart::Forest(c) => c.draw(root),
        }
    }
}

/// A chart to draw: its section, file stem (under `charts/`) and alt text.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub section: Section,
    pub stem: String,
    pub alt: String,
    pub chart: AnyChart,
}

/// A drawn chart, paths relative to the report folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawn {
    pub section: Section,
    pub png: String,
    pub svg: Option<String>,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

/// Draws every figure into `<out_dir>/charts/`.
pub(crate) fn draw_all(figures: &[Figure], out_dir: &Path, svg: bool) -> Result<Vec<Drawn>, ReportError> {
    let dir = out_dir.join("charts");
    std::fs::create_dir_all(&dir).map_err(|e| ReportError::write(&dir, e))?;
    figures
        .par_iter()
        .map(|f| {
            render(&f.chart, &dir.join(&f.stem), svg)?;
            let (width, height) = f.chart.size();
            Ok(Drawn {
                section: f.section,
                png: format!("charts/{}.png", f.stem),
                svg: svg.then(|| format!("charts/{}.svg", f.stem)),
                alt: f.alt.clone(),
                width,
                height,
            })
        })
        .collect()
}

/// Everything the charts are drawn from.
pub(crate) struct Inputs<'a> {
    pub collection: &'a Collection,
    pub tables: &'a Tables,
    pub published: &'a Published,
}

/// The charts of a report.
pub(crate) fn plan(inp: &Inputs) -> Result<Vec<Figure>, ReportError> {
    fn table_err(name: &'static str) -> impl Fn(polars::prelude::PolarsError) -> ReportError {
        move |e| ReportError::table(name, e)
    }
    let rows = summary_rows(&inp.tables.summary).map_err(table_err("summary"))?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let best = best_settings(&rows);
    let mut figs = Vec::new();
    let models = model_names(&best);
    figs.push(bars(inp, &best, &models));
    figs.extend(scatters(inp, &best, &models));
    figs.extend(curves(inp).map_err(table_err("learning_curves"))?);
    figs.extend(confusions(inp, &best));
    figs.extend(kd(inp).map_err(table_err("kd_effects"))?);
    figs.extend(paired_charts(inp));
    figs.extend(kd_comparison_charts(inp));
    Ok(figs)
}

/// Distinct models in order, with their legend names.
fn model_names(best: &[SummaryRow]) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for r in best {
        let name = if r.model == r.arch { r.model.clone() } else { format!("{} ({})", r.model, r.arch) };
        out.entry(r.model.clone()).or_insert(name);
    }
    out.into_iter().collect()
}

fn model_index(models: &[(String, String)], model: &str) -> usize {
    models.iter().position(|(m, _)| m == model).unwrap_or(0)
}

fn settings_note(best: &[SummaryRow]) -> &'static str {
    if best.iter().any(|r| !r.setting.is_empty()) {
        "; each model's best setting (chosen on validation)"
    } else {
        ""
    }
}

fn bars(inp: &Inputs, best: &[SummaryRow], models: &[(String, String)]) -> Figure {
    let mut groups: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for r in best {
        let mut published: Vec<f64> = inp
            .published
            .figures
            .iter()
            .filter(|f| f.model == r.family && f.dataset == r.dataset)
            .map(|f| f.accuracy)
            .collect();
        published.sort_by(f64::total_cmp);
        published.dedup();
        groups.entry(r.dataset.clone()).or_default().push(Bar {
            series: model_index(models, &r.model),
            mean: r.accuracy_mean * 100.0,
            std: r.accuracy_std.map(|s| s * 100.0),
            n: r.n,
            published,
        });
    }
    let groups = groups
        .into_iter()
        .map(|(d, mut bars)| {
            bars.sort_by_key(|b| b.series);
            BarGroup { name: inp.published.dataset_name(&d).to_string(), bars }
        })
        .collect();
    let chart = AccuracyBars {
        title: "Test accuracy by model and data set".into(),
        subtitle: format!("mean over runs (seeds and folds), error bars ±1 std{}", settings_note(best)),
        series: models.iter().map(|(_, n)| n.clone()).collect(),
        groups,
    };
    Figure {
        section: Section::Accuracy,
        stem: "accuracy-by-model-and-dataset".into(),
        alt: "Grouped bar chart of test accuracy per model and data set".into(),
        chart: AnyChart::Bars(chart),
    }
}

fn scatters(inp: &Inputs, best: &[SummaryRow], models: &[(String, String)]) -> Vec<Figure> {
    let datasets: Vec<String> = {
        let mut d: Vec<String> = best.iter().map(|r| r.dataset.clone()).collect();
        d.sort();
        d.dedup();
        d
    };
    let devices = devices(&inp.collection.evaluations);
    let point = |r: &SummaryRow, x: Option<f64>| {
        x.map(|x| ScatterPoint {
            x,
            y: r.accuracy_mean * 100.0,
            y_std: r.accuracy_std.map(|s| s * 100.0),
            color: model_index(models, &r.model),
            shape: datasets.iter().position(|d| *d == r.dataset).unwrap_or(0),
            label: r.model.clone(),
        })
    };
    let make = |stem: &str, title: &str, x_desc: &str, subtitle: String, pick: &dyn Fn(&SummaryRow) -> Option<f64>| {
        let chart = Scatter {
            title: title.into(),
            subtitle,
            x_desc: x_desc.into(),
            colors: models.iter().map(|(_, n)| n.clone()).collect(),
            shapes: datasets.iter().map(|d| inp.published.dataset_name(d).to_string()).collect(),
            points: best.iter().filter_map(|r| point(r, pick(r))).collect(),
        };
        Figure {
            section: Section::Cost,
            stem: stem.into(),
            alt: format!("{title} (log scale)"),
            chart: AnyChart::Scatter(chart),
        }
    };
    let note = settings_note(best);
    vec![
        make(
            "accuracy-vs-parameters",
            "Accuracy against trainable parameters",
            "trainable parameters (log scale)",
            format!("one point per model variant and data set; mean ± std over runs (seeds and folds){note}"),
            &|r| r.trainable_params.map(|p| p as f64),
        ),
        make(
            "accuracy-vs-latency",
            "Accuracy against inference latency",
            "latency per image at batch 1, ms (log scale)",
            format!("median latency at batch 1 on {devices}{note}"),
            &|r| r.latency_ms_b1,
        ),
    ]
}

/// The devices and thread counts evaluations ran on, e.g. `cpu (1 thread)`.
pub(crate) fn devices(evals: &[Evaluation]) -> String {
    let mut d: Vec<String> = evals
        .iter()
        .map(|e| {
            let t = e.result.threads;
            format!("{} ({t} thread{})", e.result.device, if t == 1 { "" } else { "s" })
        })
        .collect();
    d.sort();
    d.dedup();
    if d.is_empty() {
        "unknown device".into()
    } else {
        d.join(", ")
    }
}

type GroupKey = (String, String);

fn curves(inp: &Inputs) -> polars::prelude::PolarsResult<Vec<Figure>> {
    let means = curve_means(&inp.tables.curves)?;
    let (d, m, s) = (strings(&means, "dataset")?, strings(&means, "model")?, strings(&means, "setting")?);
    let epoch = ints(&means, "epoch")?;
    let (tl, ta, vl, va) = (
        floats(&means, "train_loss")?,
        floats(&means, "train_acc")?,
        floats(&means, "val_loss")?,
        floats(&means, "val_acc")?,
    );
    let mut mean_of: HashMap<(String, String, String), Vec<EpochRow>> = HashMap::new();
    for i in 0..means.height() {
        mean_of.entry((d[i].clone(), m[i].clone(), s[i].clone())).or_default().push(EpochRow {
            epoch: epoch[i].unwrap_or(0) as u32,
            train_loss: tl[i].unwrap_or(f64::NAN),
            train_acc: ta[i].unwrap_or(f64::NAN),
            val_loss: vl[i].unwrap_or(f64::NAN),
            val_acc: va[i].unwrap_or(f64::NAN),
        });
    }
    // Per data set x model: settings in order, each with its seeds' curves.
    let mut groups: BTreeMap<GroupKey, BTreeMap<String, Vec<Vec<EpochRow>>>> = BTreeMap::new();
    let mut arch: HashMap<GroupKey, String> = HashMap::new();
    for e in &inp.collection.evaluations {
        let Some(t) = e.train.as_ref().filter(|t| !t.curve.is_empty()) else { continue };
        let key = (e.dataset().to_string(), e.model().to_string());
        arch.entry(key.clone()).or_insert_with(|| e.arch().to_string());
        groups.entry(key).or_default().entry(e.setting.clone()).or_default().push(t.curve.clone());
    }
    Ok(groups
        .into_iter()
        .map(|((dataset, model), settings)| {
            let n: usize = settings.values().map(Vec::len).sum();
            let series = settings
                .into_iter()
                .map(|(setting, seeds)| {
                    let mean =
                        mean_of.get(&(dataset.clone(), model.clone(), setting.clone())).cloned().unwrap_or_default();
                    CurveSeries { setting, seeds, mean }
                })
                .collect();
            let a = arch.get(&(dataset.clone(), model.clone())).cloned().unwrap_or_default();
            let shown = inp.published.dataset_name(&dataset).to_string();
            let chart = LearningCurves {
                title: format!("Learning curves: {model} on {shown}"),
                subtitle: format!(
                    "{a}; {n} training run{}; validation split after every epoch",
                    if n == 1 { "" } else { "s" }
                ),
                series,
            };
            Figure {
                section: Section::Curves,
                stem: format!("curves-{}-{}", slug(&model), slug(&dataset)),
                alt: format!("Loss and accuracy per epoch of {model} on {shown}"),
                chart: AnyChart::Curves(chart),
            }
        })
        .collect())
}

fn confusions(inp: &Inputs, best: &[SummaryRow]) -> Vec<Figure> {
    best.iter()
        .filter_map(|r| {
            let evals: Vec<&Evaluation> = inp
                .collection
                .evaluations
                .iter()
                .filter(|e| e.dataset() == r.dataset && e.model() == r.model && e.setting == r.setting)
                .collect();
            let first = evals.first()?;
            let classes: Vec<String> = first.result.test.per_class.iter().map(|c| c.name.clone()).collect();
            let k = first.result.test.confusion.len();
            if k == 0 {
                return None;
            }
            let mut counts = vec![vec![0u64; k]; k];
            let mut used = 0;
            for e in &evals {
                let m = &e.result.test.confusion;
                if m.len() != k || m.iter().any(|row| row.len() != k) {
                    continue;
                }
                used += 1;
                for (i, row) in m.iter().enumerate() {
                    for (j, c) in row.iter().enumerate() {
                        counts[i][j] += *c as u64;
                    }
                }
            }
            let classes = if classes.len() == k { classes } else { (0..k).map(|i| format!("class {i}")).collect() };
            let shown = inp.published.dataset_name(&r.dataset).to_string();
            let setting = if r.setting.is_empty() { String::new() } else { format!("{}; ", r.setting) };
            let chart = ConfusionChart {
                title: format!("Confusion matrix: {} on {shown}", r.model),
                subtitle: format!(
                    "{setting}test split, counts summed over {used} seed{}; rows normalised to 1",
                    if used == 1 { "" } else { "s" }
                ),
                classes,
                counts,
            };
            Some(Figure {
                section: Section::Confusion,
                stem: format!("confusion-{}-{}", slug(&r.model), slug(&r.dataset)),
                alt: format!("Normalised confusion matrix of {} on {shown}", r.model),
                chart: AnyChart::Confusion(chart),
            })
        })
        .collect()
}

fn kd(inp: &Inputs) -> polars::prelude::PolarsResult<Vec<Figure>> {
    let df = &inp.tables.kd;
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let (d, m) = (strings(df, "dataset")?, strings(df, "model")?);
    let (t, w) = (floats(df, "temperature")?, floats(df, "kd_weight")?);
    let (mean, sd) = (floats(df, "accuracy_mean")?, floats(df, "accuracy_std")?);
    let mut by_group: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for i in 0..df.height() {
        by_group.entry((d[i].clone(), m[i].clone())).or_default().push(i);
    }
    let label = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "—".into());
    let mut figs = Vec::new();
    for ((dataset, model), idx) in by_group {
        let shown = inp.published.dataset_name(&dataset).to_string();
        let distinct = |col: &[Option<f64>]| {
            let mut v: Vec<String> = idx.iter().map(|&i| label(col[i])).collect();
            v.sort();
            v.dedup();
            v.len()
        };
        for (x_col, other, x_desc, other_name, stem) in
            [(&t, &w, "distillation temperature T", "w", "t"), (&w, &t, "distillation weight w", "T", "w")]
        {
            if distinct(x_col) < 2 {
                continue;
            }
            let mut lines: BTreeMap<String, Vec<(f64, f64, Option<f64>)>> = BTreeMap::new();
            for &i in &idx {
                if let (Some(x), Some(y)) = (x_col[i], mean[i]) {
                    lines.entry(format!("{other_name} = {}", label(other[i]))).or_default().push((
                        x,
                        y * 100.0,
                        sd[i].map(|s| s * 100.0),
                    ));
                }
            }
            let chart = KdChart {
                title: format!("Distillation: {model} on {shown}"),
                subtitle: "mean test accuracy ± std over runs (seeds and folds; y axis zoomed to the data)".into(),
                x_desc: x_desc.into(),
                series: lines.into_iter().map(|(name, points)| KdSeries { name, points }).collect(),
            };
            figs.push(Figure {
                section: Section::Kd,
                stem: format!("kd-{stem}-{}-{}", slug(&model), slug(&dataset)),
                alt: format!("Accuracy of {model} on {shown} against the {x_desc}"),
                chart: AnyChart::Kd(chart),
            });
        }
    }
    Ok(figs)
}

/// One comparison's row of a forest chart: its difference in points, interval and significance.
fn forest_row(c: &super::paired::Comparison, label: String) -> ForestRow {
    ForestRow {
        label,
        estimate: c.difference * 100.0,
        interval: c.interval.map(|i| (i.low * 100.0, i.high * 100.0)),
        significant: c.significant(),
    }
}

/// The paired differences of each data set's model pairs, with their intervals.
fn paired_charts(inp: &Inputs) -> Vec<Figure> {
    let mut by_dataset: BTreeMap<&str, Vec<ForestRow>> = BTreeMap::new();
    for c in &inp.tables.comparisons {
        by_dataset.entry(c.dataset.as_str()).or_default().push(forest_row(c, format!("{} \u{2212} {}", c.a, c.b)));
    }
    by_dataset
        .into_iter()
        .map(|(d, rows)| {
            let shown = inp.published.dataset_name(d).to_string();
            Figure {
                section: Section::Paired,
                stem: format!("paired-{}", slug(d)),
                alt: format!("Paired accuracy differences between the models on {shown}, with 95 % intervals"),
                chart: AnyChart::Forest(ForestChart {
                    title: format!("Paired accuracy differences on {shown}"),
                    subtitle: "same test images; mean difference over paired runs, 95 % t-interval over runs; colour: \
                               McNemar pooled over runs significant"
                        .into(),
                    x_desc: "accuracy difference (pp)".into(),
                    rows,
                }),
            }
        })
        .collect()
}

/// Each distilled student's gain over its plain counterpart and over its teacher.
fn kd_comparison_charts(inp: &Inputs) -> Vec<Figure> {
    let mut by_dataset: BTreeMap<&str, Vec<ForestRow>> = BTreeMap::new();
    for k in &inp.tables.kd_comparisons {
        let c = &k.cmp;
        by_dataset
            .entry(c.dataset.as_str())
            .or_default()
            .push(forest_row(c, format!("{} \u{2212} {} ({})", c.a, c.b, k.role)));
    }
    by_dataset
        .into_iter()
        .map(|(d, rows)| {
            let shown = inp.published.dataset_name(d).to_string();
            Figure {
                section: Section::Kd,
                stem: format!("kd-gain-{}", slug(d)),
                alt: format!(
                    "Accuracy gain of each distilled student over its plain counterpart and its teacher on {shown}"
                ),
                chart: AnyChart::Forest(ForestChart {
                    title: format!("Distillation: student against plain model and teacher on {shown}"),
                    subtitle: "paired on the same test images; 95 % t-interval over runs".into(),
                    x_desc: "accuracy gain of the student (pp)".into(),
                    rows,
                }),
            }
        })
        .collect()
}
