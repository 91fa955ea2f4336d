//! The efficiency frontier: accuracy against parameters, FLOPs (counted by
//! `fer_core::arch::flops`) and measured latency per model and data set, the Pareto front on
//! each, and MicroExpNet's published speed (1851 images/s on an Intel i7) beside this machine's
//! throughput jobs; tables (CSV, Parquet), the chart, the page section and one sentence.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::collect::{Collection, Evaluation};
use super::error::ReportError;
use super::frontier::{Frontier, FrontierPoint};
use super::html::{chart_figure, esc, frame_table};
use super::tables::write_table;
use fer_core::arch::flops;
use fer_core::records::ThroughputRecord;

/// MicroExpNet's published speed (Cugu, Sener, Akbas 2019): 1851 images per second on an Intel
/// i7 CPU, 0.54 ms per image.
pub(crate) const CLAIMED_IMAGES_PER_S: f64 = 1851.0;
/// Where the claim was measured.
pub(crate) const CLAIMED_ON: &str = "an Intel Core i7 CPU";

/// The FLOPs convention, as the page states it.
pub(crate) const CONVENTION: &str =
    "FLOPs per image at inference, 1 multiply-add = 2 FLOPs, counted from the layer shapes: \
     convolutions, linear layers and Deep-Emotion's spatial transformer (affine grid: 2 multiply-adds per coordinate; \
     bilinear sampling: 4 per output value). Bias adds, batch norm (folded into the convolution at inference), ReLU, \
     pooling, padding and dropout are not counted.";

/// One model on one data set: its mean accuracy over runs and its costs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrontRow {
    pub dataset: String,
    pub model: String,
    pub setting: String,
    pub network: String,
    pub runs: usize,
    /// Mean test accuracy over the runs, 0..1.
    pub accuracy: f64,
    pub params: f64,
    pub mflops: f64,
    /// Median over the runs of the batch-1 latency in ms, on the evaluations' device.
    pub latency_ms: f64,
    /// Median over the runs of the batch-64 latency per image in ms.
    pub latency_ms_per_image_batch64: f64,
    pub device: String,
    /// On the Pareto front of accuracy against parameters, FLOPs, latency; and against all three.
    pub front: [bool; 3],
    pub on_front: bool,
}

/// What the efficiency analysis wrote.
#[derive(Debug, Clone, Default)]
pub(crate) struct EfficiencyOut {
    /// Files written, relative to the report folder.
    pub written: Vec<String>,
    /// Table files written (absolute).
    pub tables: Vec<PathBuf>,
    /// The page's section (HTML), empty when the analysis is off.
    pub html: String,
    /// The narrative's sentence.
    pub sentence: Option<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One row per data set, model and setting, in the evaluations' order.
pub(crate) fn rows(evals: &[Evaluation]) -> Vec<FrontRow> {
    let mut groups: BTreeMap<(String, String, String), Vec<&Evaluation>> = BTreeMap::new();
    for e in evals {
        groups.entry((e.dataset().to_string(), e.model().to_string(), e.setting.clone())).or_default().push(e);
    }
    let mut out: Vec<FrontRow> = groups
        .into_iter()
        .map(|((dataset, model, setting), runs)| {
            let first = runs[0];
            let count = flops::count(first.network, first.result.classes as u32);
            let devices: std::collections::BTreeSet<&str> = runs.iter().map(|e| e.result.device.as_str()).collect();
            FrontRow {
                dataset,
                model,
                setting,
                network: first.network.display(),
                runs: runs.len(),
                accuracy: runs.iter().map(|e| e.result.test.accuracy).sum::<f64>() / runs.len() as f64,
                params: first.result.trainable_params as f64,
                mflops: count.flops() as f64 / 1e6,
                latency_ms: median(runs.iter().map(|e| e.result.latency_ms_batch1).collect()),
                latency_ms_per_image_batch64: median(runs.iter().map(|e| e.result.latency_ms_batch64 / 64.0).collect()),
                device: devices.into_iter().collect::<Vec<_>>().join(", "),
                front: [false; 3],
                on_front: false,
            }
        })
        .collect();
    mark_fronts(&mut out);
    out
}

/// Whether `a` dominates `b` on accuracy and the costs `costs` (no worse on each, better on one).
fn dominates(a: &FrontRow, b: &FrontRow, costs: &[fn(&FrontRow) -> f64]) -> bool {
    let no_worse = a.accuracy >= b.accuracy && costs.iter().all(|c| c(a) <= c(b));
    let better = a.accuracy > b.accuracy || costs.iter().any(|c| c(a) < c(b));
    no_worse && better
}

/// The cost axes, in chart order: parameters, FLOPs, latency.
const COSTS: [fn(&FrontRow) -> f64; 3] = [|r| r.params, |r| r.mflops, |r| r.latency_ms];

/// Marks, per data set, the rows no other row dominates: on each cost, and on all three at once.
fn mark_fronts(rows: &mut [FrontRow]) {
    let snapshot = rows.to_vec();
    for r in rows.iter_mut() {
        let rivals: Vec<&FrontRow> = snapshot.iter().filter(|s| s.dataset == r.dataset).collect();
        for (i, cost) in COSTS.iter().enumerate() {
            r.front[i] = !rivals.iter().any(|s| dominates(s, r, std::slice::from_ref(cost)));
        }
        r.on_front = !rivals.iter().any(|s| dominates(s, r, &COSTS));
    }
}

/// The frontier table.
pub(crate) fn frontier_table(rows: &[FrontRow]) -> PolarsResult<DataFrame> {
    let s = |f: &dyn Fn(&FrontRow) -> String| -> Vec<String> { rows.iter().map(f).collect() };
    let f = |f: &dyn Fn(&FrontRow) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
    let b = |i: usize| -> Vec<bool> { rows.iter().map(|r| r.front[i]).collect() };
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("model".into(), s(&|r| r.model.clone())),
            Column::new("dataset".into(), s(&|r| r.dataset.clone())),
            Column::new("setting".into(), s(&|r| r.setting.clone())),
            Column::new("network".into(), s(&|r| r.network.clone())),
            Column::new("runs".into(), rows.iter().map(|r| r.runs as i64).collect::<Vec<_>>()),
            Column::new("params".into(), rows.iter().map(|r| r.params as i64).collect::<Vec<_>>()),
            Column::new("mflops".into(), f(&|r| r.mflops)),
            Column::new("latency_ms_batch1".into(), f(&|r| r.latency_ms)),
            Column::new("latency_ms_per_image_batch64".into(), f(&|r| r.latency_ms_per_image_batch64)),
            Column::new("device".into(), s(&|r| r.device.clone())),
            Column::new("accuracy".into(), f(&|r| r.accuracy)),
            Column::new("on_front_params".into(), b(0)),
            Column::new("on_front_flops".into(), b(1)),
            Column::new("on_front_latency".into(), b(2)),
            Column::new("on_front".into(), rows.iter().map(|r| r.on_front).collect::<Vec<_>>()),
        ],
    )
}

/// The throughput table: one row per network, batch size and thread count, with the claim
/// beside MicroExpNet's rows.
pub(crate) fn throughput_table(records: &[ThroughputRecord]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&ThroughputRecord, &fer_core::records::SpeedRow)> =
        records.iter().flat_map(|t| t.measurements.iter().map(move |m| (t, m))).collect();
    let claim = |t: &ThroughputRecord| t.network.starts_with("microexpnet").then_some(CLAIMED_IMAGES_PER_S);
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("network".into(), rows.iter().map(|(t, _)| t.network.clone()).collect::<Vec<_>>()),
            Column::new("batch".into(), rows.iter().map(|(_, m)| m.batch as i64).collect::<Vec<_>>()),
            Column::new("threads".into(), rows.iter().map(|(_, m)| m.threads.clone()).collect::<Vec<_>>()),
            Column::new("thread_count".into(), rows.iter().map(|(_, m)| m.thread_count as i64).collect::<Vec<_>>()),
            Column::new("images_per_s".into(), rows.iter().map(|(_, m)| m.images_per_s).collect::<Vec<_>>()),
            Column::new("ms_per_image".into(), rows.iter().map(|(_, m)| m.ms_per_image).collect::<Vec<_>>()),
            Column::new("best_images_per_s".into(), rows.iter().map(|(_, m)| m.best_images_per_s).collect::<Vec<_>>()),
            Column::new("claimed_images_per_s".into(), rows.iter().map(|(t, _)| claim(t)).collect::<Vec<_>>()),
            Column::new(
                "measured_over_claimed".into(),
                rows.iter().map(|(t, m)| claim(t).map(|c| m.images_per_s / c)).collect::<Vec<_>>(),
            ),
            Column::new("cpu_model".into(), rows.iter().map(|(t, _)| t.cpu_model.clone()).collect::<Vec<_>>()),
            Column::new("machine_cpus".into(), rows.iter().map(|(t, _)| t.machine_cpus as i64).collect::<Vec<_>>()),
        ],
    )
}

/// The sentence: the front on FLOPs per data set, and MicroExpNet's measured speed against the claim.
pub(crate) fn sentence(rows: &[FrontRow], records: &[ThroughputRecord]) -> Option<String> {
    let mut parts = Vec::new();
    let datasets: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    for d in datasets {
        let mut front: Vec<&FrontRow> = rows.iter().filter(|r| r.dataset == d && r.front[1]).collect();
        front.sort_by(|a, b| a.mflops.total_cmp(&b.mflops));
        let named: Vec<String> = front
            .iter()
            .map(|r| format!("{} ({:.2} MFLOPs, {:.1} %)", r.model, r.mflops, r.accuracy * 100.0))
            .collect();
        let total = rows.iter().filter(|r| r.dataset == d).count();
        parts.push(format!(
            "on {d}, {} of {total} model{} {} on the front of accuracy against FLOPs: {}",
            front.len(),
            if total == 1 { "" } else { "s" },
            if front.len() == 1 { "is" } else { "are" },
            named.join(", ")
        ));
    }
    let speed = records.iter().filter(|t| t.network.starts_with("microexpnet")).find_map(|t| {
        let at = |batch: u32, threads: &str| {
            t.measurements.iter().find(|m| m.batch == batch && m.threads == threads).map(|m| m.images_per_s)
        };
        let one = at(1, "1")?;
        let all = t.measurements.iter().filter(|m| m.threads == "all").max_by(|a, b| a.images_per_s.total_cmp(&b.images_per_s))?;
        Some(format!(
            "{} ran {:.0} images/s at batch 1 on one thread ({:.2}x the published {:.0} on {CLAIMED_ON}) and {:.0} at batch {} on {} thread{} of this {}",
            t.network,
            one,
            one / CLAIMED_IMAGES_PER_S,
            CLAIMED_IMAGES_PER_S,
            all.images_per_s,
            all.batch,
            all.thread_count,
            if all.thread_count == 1 { "" } else { "s" },
            t.cpu_model
        ))
    });
    parts.extend(speed);
    if parts.is_empty() {
        return None;
    }
    Some(format!("Efficiency: {}.", parts.join("; ")))
}

/// The chart of the rows: three panels sharing the accuracy axis.
fn chart(rows: &[FrontRow]) -> Frontier {
    let models: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for r in rows {
            if !v.contains(&r.model) {
                v.push(r.model.clone());
            }
        }
        v
    };
    let datasets: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for r in rows {
            if !v.contains(&r.dataset) {
                v.push(r.dataset.clone());
            }
        }
        v
    };
    let devices: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.device.as_str()).collect();
    let points = rows
        .iter()
        .map(|r| FrontierPoint {
            x: [r.params, r.mflops, r.latency_ms],
            y: r.accuracy * 100.0,
            color: models.iter().position(|m| *m == r.model).unwrap_or(0),
            shape: datasets.iter().position(|d| *d == r.dataset).unwrap_or(0),
            group: datasets.iter().position(|d| *d == r.dataset).unwrap_or(0),
            front: r.front,
        })
        .collect();
    Frontier {
        title: "Efficiency frontier: accuracy against size, FLOPs and latency".into(),
        subtitle: format!(
            "mean test accuracy over runs; line and ring: the Pareto front per data set; latency at batch 1 on {}",
            devices.into_iter().collect::<Vec<_>>().join(", ")
        ),
        x_desc: [
            "trainable parameters".into(),
            "MFLOPs per image (1 multiply-add = 2 FLOPs)".into(),
            "latency at batch 1 (ms)".into(),
        ],
        colors: models,
        shapes: datasets,
        points,
    }
}

/// Writes the analysis's tables and chart into `out_dir` and renders its page section; nothing
/// when the analysis is off.
pub(crate) fn write(col: &Collection, out_dir: &Path, svg: bool) -> Result<EfficiencyOut, ReportError> {
    if !col.efficiency {
        return Ok(EfficiencyOut::default());
    }
    let rows = rows(&col.evaluations);
    let frontier = frontier_table(&rows).map_err(|e| ReportError::table("efficiency_frontier", e))?;
    let speed = throughput_table(&col.throughputs).map_err(|e| ReportError::table("throughput", e))?;
    let dir = out_dir.join("tables");
    let mut tables = write_table(&dir, "efficiency_frontier", &frontier)?;
    tables.extend(write_table(&dir, "throughput", &speed)?);
    let mut written: Vec<String> = ["efficiency_frontier", "throughput"]
        .iter()
        .flat_map(|n| [format!("tables/{n}.csv"), format!("tables/{n}.parquet")])
        .collect();
    let mut h = String::from("<h2 id=\"efficiency\">Efficiency frontier</h2>\n");
    let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(CONVENTION));
    if rows.is_empty() {
        h.push_str("<p class=\"note\">No finished evaluation to place on the frontier.</p>\n");
    } else {
        let c = chart(&rows);
        chart_figure(&c, &c.title, out_dir, "efficiency_frontier", svg, &mut written, &mut h)?;
        frame_table(&mut h, &frontier, &[]);
    }
    h.push_str("<h3>Throughput against MicroExpNet's claim</h3>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">MicroExpNet's paper reports {CLAIMED_IMAGES_PER_S:.0} images/s ({:.2} ms per image) on \
         {CLAIMED_ON}. Measured here on the CPU by the throughput jobs (each run alone by <code>fer-pipeline run</code>): images/s \
         from the median time of forward passes on random inputs (random weights, evaluation mode), at batch 1 and 64, \
         on one thread and on every CPU the job could use; best images/s from the fastest pass, what the CPU does \
         when nothing else on the machine competes for it.</p>",
        1000.0 / CLAIMED_IMAGES_PER_S
    );
    if col.throughputs.is_empty() {
        h.push_str("<p class=\"note\">No finished throughput job in this report's scope.</p>\n");
    } else {
        frame_table(&mut h, &speed, &[]);
    }
    Ok(EfficiencyOut { written, tables, html: h, sentence: sentence(&rows, &col.throughputs) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dataset: &str, model: &str, accuracy: f64, params: f64, mflops: f64, latency_ms: f64) -> FrontRow {
        FrontRow {
            dataset: dataset.into(),
            model: model.into(),
            setting: String::new(),
            network: model.into(),
            runs: 3,
            accuracy,
            params,
            mflops,
            latency_ms,
            latency_ms_per_image_batch64: latency_ms / 10.0,
            device: "cpu".into(),
            front: [false; 3],
            on_front: false,
        }
    }

    #[test]
    fn the_front_holds_the_rows_nothing_dominates() {
        let mut rows = vec![
            // a: small, slow, fair.   b: big, fast, best.   c: dominated by a on every cost.
            row("d", "a", 0.40, 1e4, 5.0, 2.0),
            row("d", "b", 0.50, 1e5, 8.0, 1.0),
            row("d", "c", 0.35, 2e4, 6.0, 3.0),
            // Another data set is its own front, even though `b` beats it.
            row("e", "x", 0.30, 1e6, 100.0, 10.0),
        ];
        mark_fronts(&mut rows);
        let fronts: Vec<([bool; 3], bool)> = rows.iter().map(|r| (r.front, r.on_front)).collect();
        assert_eq!(
            fronts,
            [
                ([true, true, false], true),
                ([true, true, true], true),
                ([false, false, false], false),
                ([true; 3], true)
            ]
        );
        // A tie on everything dominates neither.
        let mut tie = vec![row("d", "a", 0.4, 1.0, 1.0, 1.0), row("d", "b", 0.4, 1.0, 1.0, 1.0)];
        mark_fronts(&mut tie);
        assert!(tie.iter().all(|r| r.on_front && r.front == [true; 3]));
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    fn record() -> ThroughputRecord {
        use fer_core::records::SpeedRow;
        ThroughputRecord {
            format_version: 1,
            network: "microexpnet-xxs".into(),
            classes: 7,
            device: "cpu".into(),
            cpu_model: "Test CPU".into(),
            machine_cpus: 2,
            measurements: vec![
                SpeedRow::new(1, "1", 1, 200, 0.25, 0.25),
                SpeedRow::new(64, "1", 1, 30, 8.0, 8.0),
                SpeedRow::new(1, "all", 2, 200, 0.5, 0.5),
                SpeedRow::new(64, "all", 2, 30, 4.0, 4.0),
            ],
        }
    }

    #[test]
    fn the_sentence_is_computed_from_the_rows_and_the_measurements() {
        let mut rows =
            vec![row("common", "de", 0.46, 66_877.0, 7.87, 0.9), row("common", "me", 0.44, 65_000.0, 5.71, 0.2)];
        mark_fronts(&mut rows);
        let s = sentence(&rows, &[record()]).unwrap();
        // 0.25 ms per image: 4000 images/s, 2.16x 1851; batch 64 on 2 threads: 64 / 4 ms = 16000.
        assert_eq!(
            s,
            "Efficiency: on common, 2 of 2 models are on the front of accuracy against FLOPs: me (5.71 MFLOPs, \
             44.0 %), de (7.87 MFLOPs, 46.0 %); microexpnet-xxs ran 4000 images/s at batch 1 on one thread (2.16x \
             the published 1851 on an Intel Core i7 CPU) and 16000 at batch 64 on 2 threads of this Test CPU."
        );
        assert_eq!(sentence(&[], &[]), None);
    }

    #[test]
    fn the_throughput_table_puts_the_claim_beside_microexpnet_only() {
        let mut other = record();
        other.network = "deep-emotion".into();
        let df = throughput_table(&[record(), other]).unwrap();
        assert_eq!(df.height(), 8);
        let claimed = df.column("claimed_images_per_s").unwrap().f64().unwrap().clone();
        assert_eq!(claimed.get(0), Some(1851.0));
        assert_eq!(claimed.get(7), None);
        let ratio = df.column("measured_over_claimed").unwrap().f64().unwrap().get(0).unwrap();
        assert!((ratio - 4000.0 / 1851.0).abs() < 1e-9);
    }
}
