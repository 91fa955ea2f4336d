//! Uncertainty and paired comparisons from the per-image predictions of the evaluations:
//! bootstrap intervals and calibration error per run, t-intervals per summary row, McNemar's test
//! per pair of runs on the same test images and its pooled combination, the paired accuracy
//! difference with its t-interval, and each distilled student against its plain counterpart and
//! its teacher (gain, agreement with the teacher, calibration change).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use rayon::prelude::*;

use super::collect::Evaluation;
use super::stats::{
    ece, mcnemar, mcnemar_pooled, t_interval, t_quantile, Bootstrap, Interval, McNemar, Resamples, ALPHA,
    BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, ECE_BINS,
};
use fer_core::plan::{Hyper, JobHash};
use fer_core::records::Prediction;

/// The confidence level of every interval.
pub(crate) const LEVEL: f64 = 0.95;

/// What is known of one run from its predictions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RunStats {
    /// Expected calibration error (15 bins); `None` without confidences (predictions format 1).
    pub ece: Option<f64>,
}

/// The calibration error of every evaluation with predictions, by hash.
pub(crate) fn run_stats(evals: &[Evaluation]) -> HashMap<JobHash, RunStats> {
    evals
        .par_iter()
        .filter_map(|e| {
            let p = e.predictions.as_ref()?;
            let conf: Option<Vec<f64>> = p.iter().map(|r| r.confidence).collect();
            let correct: Vec<bool> = p.iter().map(|r| r.label == r.prediction).collect();
            let ece = conf.and_then(|c| ece(&c, &correct, ECE_BINS));
            Some((e.hash, RunStats { ece }))
        })
        .collect()
}

/// The percentile bootstrap over the test images of each evaluation in `which` (the runs shown
/// alone), with the number of images: the resamples of each test-set size are drawn once and
/// shared by its runs.
pub(crate) fn bootstraps(evals: &[&Evaluation]) -> HashMap<JobHash, (Bootstrap, usize)> {
    let mut sizes: Vec<usize> = evals.iter().filter_map(|e| e.predictions.as_ref().map(|p| p.len())).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let resamples: HashMap<usize, Resamples> =
        sizes.into_par_iter().map(|n| (n, Resamples::new(n, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED))).collect();
    evals
        .par_iter()
        .filter_map(|e| {
            let p = e.predictions.as_ref()?;
            let labels: Vec<i64> = p.iter().map(|r| r.label).collect();
            let preds: Vec<i64> = p.iter().map(|r| r.prediction).collect();
            let r = resamples.get(&p.len())?;
            Some((e.hash, (r.intervals(&labels, &preds, e.result.classes, LEVEL)?, r.images())))
        })
        .collect()
}

/// What the paired tests and the calibration error leave out: evaluations without readable
/// per-image predictions, and those whose predictions have no confidences (format 1, written
/// before `predictions_format` 2): their entries must be evaluated again.
pub(crate) fn prediction_notes(evals: &[Evaluation]) -> Vec<String> {
    let mut out: Vec<String> = evals
        .iter()
        .filter_map(|e| {
            let why = e.predictions_note.as_ref()?;
            Some(format!(
                "evaluate/{} ({}) is left out of the paired tests: {why}; evaluate it again (`fer-pipeline run`)",
                e.hash.short(),
                e.label.describe()
            ))
        })
        .collect();
    let old = evals
        .iter()
        .filter(|e| e.predictions.as_ref().is_some_and(|p| p.iter().any(|r| r.confidence.is_none())))
        .count();
    if old > 0 {
        out.push(format!(
            "{old} evaluation{} recorded per-image predictions without confidences (predictions format 1, before \
             evaluate revision 3): they are paired, but have no calibration error; `fer-pipeline run` evaluates \
             them again",
            if old == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The 95 % intervals of a summary row: t over its runs, or the bootstrap of its only run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RowIntervals {
    pub accuracy: Option<(f64, f64)>,
    pub macro_f1: Option<(f64, f64)>,
    /// How they were obtained, in words (`t over 3 runs`, `bootstrap over 840 test images`).
    pub method: String,
}

/// The t-interval half width of a mean of `n` values with standard deviation `sd`.
fn t_half(n: i64, sd: Option<f64>) -> Option<f64> {
    let sd = sd.filter(|s| s.is_finite())?;
    (n >= 2).then(|| t_quantile(0.5 + LEVEL / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt())
}

/// The intervals of one summary group: `n` runs with means and standard deviations; `only` is the
/// bootstrap of its run when it has one run.
pub(crate) fn row_intervals(
    n: i64,
    (acc, acc_sd): (f64, Option<f64>),
    (f1, f1_sd): (f64, Option<f64>),
    only: Option<(Bootstrap, usize)>,
) -> RowIntervals {
    if let (Some(ha), Some(hf)) = (t_half(n, acc_sd), t_half(n, f1_sd)) {
        return RowIntervals {
            accuracy: Some((acc - ha, acc + ha)),
            macro_f1: Some((f1 - hf, f1 + hf)),
            method: format!("t over {n} runs"),
        };
    }
    match only {
        Some((b, images)) if n == 1 => RowIntervals {
            accuracy: Some((b.accuracy.low, b.accuracy.high)),
            macro_f1: Some((b.macro_f1.low, b.macro_f1.high)),
            method: format!("bootstrap over {images} test images (1 run)"),
        },
        _ => RowIntervals { method: "none".into(), ..Default::default() },
    }
}

/// The counts of two runs on the test images they share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PairCounts {
    pub images: u64,
    pub a_right: u64,
    pub b_right: u64,
    /// Images only the first run classified correctly (McNemar's b), and only the second (c).
    pub a_only: u64,
    pub b_only: u64,
    /// Images where both predicted the same class.
    pub agree: u64,
}

impl PairCounts {
    fn accuracy_a(&self) -> f64 {
        self.a_right as f64 / self.images.max(1) as f64
    }
    fn accuracy_b(&self) -> f64 {
        self.b_right as f64 / self.images.max(1) as f64
    }
    fn difference(&self) -> f64 {
        self.accuracy_a() - self.accuracy_b()
    }
}

/// Pairs two runs' predictions by image index; `None` when they share no image or disagree on a
/// label (not the same test images).
pub(crate) fn pair_counts(a: &[Prediction], b: &[Prediction]) -> Option<PairCounts> {
    let mut a: Vec<&Prediction> = a.iter().collect();
    let mut b: Vec<&Prediction> = b.iter().collect();
    a.sort_by_key(|p| p.index);
    b.sort_by_key(|p| p.index);
    let (mut i, mut j) = (0, 0);
    let mut c = PairCounts::default();
    while i < a.len() && j < b.len() {
        match a[i].index.cmp(&b[j].index) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let (x, y) = (a[i], b[j]);
                if x.label != y.label {
                    return None;
                }
                let (ra, rb) = (x.prediction == x.label, y.prediction == y.label);
                c.images += 1;
                c.a_right += ra as u64;
                c.b_right += rb as u64;
                c.a_only += (ra && !rb) as u64;
                c.b_only += (rb && !ra) as u64;
                c.agree += (x.prediction == y.prediction) as u64;
                i += 1;
                j += 1;
            }
        }
    }
    (c.images > 0).then_some(c)
}

/// One pair of runs of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunPair {
    pub a: JobHash,
    pub b: JobHash,
    pub seed_a: Option<u64>,
    pub seed_b: Option<u64>,
    pub fold: Option<String>,
    pub counts: PairCounts,
    pub test: McNemar,
}

/// What the combined test says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    ABetter,
    BBetter,
    CannotTell,
}

/// Two models (each one setting) compared on the same test images over their paired runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    pub dataset: String,
    pub protocol: String,
    pub a: String,
    pub a_setting: String,
    pub b: String,
    pub b_setting: String,
    pub runs: Vec<RunPair>,
    /// Mean accuracies over the paired runs.
    pub accuracy_a: f64,
    pub accuracy_b: f64,
    /// Mean paired difference a - b (fraction) and its t-interval over runs (two runs or more).
    pub difference: f64,
    pub interval: Option<Interval>,
    /// McNemar's test on the discordant images pooled over runs (Mantel-Haenszel).
    pub pooled: McNemar,
    /// Runs whose own exact McNemar test is significant.
    pub runs_significant: usize,
    /// Mean fraction of images on which both predict the same class.
    pub agreement: f64,
    /// Mean calibration error of each side over the paired runs (when every run has one).
    pub ece_a: Option<f64>,
    pub ece_b: Option<f64>,
    pub verdict: Verdict,
}

impl Comparison {
    pub(crate) fn images(&self) -> u64 {
        self.runs.iter().map(|r| r.counts.images).max().unwrap_or(0)
    }

    pub(crate) fn significant(&self) -> bool {
        self.verdict != Verdict::CannotTell
    }
}

/// Builds a comparison from its paired runs; `None` without any.
fn compare(
    (a, a_setting): (&str, &str),
    (b, b_setting): (&str, &str),
    dataset: &str,
    protocol: &str,
    runs: Vec<RunPair>,
    stats: &HashMap<JobHash, RunStats>,
) -> Option<Comparison> {
    if runs.is_empty() {
        return None;
    }
    let k = runs.len() as f64;
    let diffs: Vec<f64> = runs.iter().map(|r| r.counts.difference()).collect();
    let difference = diffs.iter().sum::<f64>() / k;
    let interval = t_interval(&diffs, LEVEL);
    let pooled = mcnemar_pooled(&runs.iter().map(|r| (r.counts.a_only, r.counts.b_only)).collect::<Vec<_>>());
    let mean_ece = |pick: &dyn Fn(&RunPair) -> JobHash| -> Option<f64> {
        let v: Option<Vec<f64>> = runs.iter().map(|r| stats.get(&pick(r)).and_then(|s| s.ece)).collect();
        v.map(|v| v.iter().sum::<f64>() / v.len() as f64)
    };
    // Better only when the pooled test is significant and, over two runs or more, the interval
    // of the paired difference excludes zero.
    let significant = pooled.p_exact < ALPHA && interval.is_none_or(|i| i.excludes(0.0));
    let verdict = match (significant, pooled.b > pooled.c) {
        (false, _) => Verdict::CannotTell,
        (true, true) => Verdict::ABetter,
        (true, false) => Verdict::BBetter,
    };
    Some(Comparison {
        dataset: dataset.to_string(),
        protocol: protocol.to_string(),
        a: a.to_string(),
        a_setting: a_setting.to_string(),
        b: b.to_string(),
        b_setting: b_setting.to_string(),
        accuracy_a: runs.iter().map(|r| r.counts.accuracy_a()).sum::<f64>() / k,
        accuracy_b: runs.iter().map(|r| r.counts.accuracy_b()).sum::<f64>() / k,
        difference,
        interval,
        pooled,
        runs_significant: runs.iter().filter(|r| r.test.p_exact < ALPHA).count(),
        agreement: runs.iter().map(|r| r.counts.agree as f64 / r.counts.images.max(1) as f64).sum::<f64>() / k,
        ece_a: mean_ece(&|r| r.a),
        ece_b: mean_ece(&|r| r.b),
        verdict,
        runs,
    })
}

/// A run pair of two evaluations, when they share test images.
fn run_pair(a: &Evaluation, b: &Evaluation) -> Option<RunPair> {
    let counts = pair_counts(a.predictions.as_deref()?, b.predictions.as_deref()?)?;
    Some(RunPair {
        a: a.hash,
        b: b.hash,
        seed_a: a.label.seed,
        seed_b: b.label.seed,
        fold: a.fold.clone(),
        counts,
        test: mcnemar(counts.a_only, counts.b_only),
    })
}

/// Pairs the runs of two models: a side with a single run per fold (a shared teacher, say) is
/// paired with every run of the other side on that fold; otherwise runs pair by seed and fold.
fn pair_runs(a: &[&Evaluation], b: &[&Evaluation]) -> Vec<RunPair> {
    let single = |side: &[&Evaluation]| {
        let mut per_fold: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for e in side {
            *per_fold.entry(e.fold.as_deref()).or_default() += 1;
        }
        !per_fold.is_empty() && per_fold.values().all(|n| *n == 1)
    };
    let mut out = Vec::new();
    for x in a {
        for y in b.iter().filter(|y| y.fold == x.fold) {
            let pair = if single(a) || single(b) { true } else { x.label.seed == y.label.seed };
            if pair {
                out.extend(run_pair(x, y));
            }
        }
    }
    out
}

/// The protocol kind of an evaluation, as the summary table names it.
fn protocol(e: &Evaluation) -> &str {
    e.result.protocol.as_ref().map(|p| p.kind.as_str()).unwrap_or("unknown")
}

/// One model's setting on a data set (a row of the summary table) to compare.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub dataset: String,
    pub model: String,
    pub setting: String,
    pub protocol: String,
    /// Mean test accuracy over its runs (the more accurate is `a` of a comparison).
    pub accuracy: f64,
}

/// The runs of one candidate.
fn runs_of<'e>(evals: &'e [Evaluation], r: &Candidate) -> Vec<&'e Evaluation> {
    evals
        .iter()
        .filter(|e| {
            e.dataset() == r.dataset && e.model() == r.model && e.setting == r.setting && protocol(e) == r.protocol
        })
        .collect()
}

/// Every pair of models on each data set (their best settings, same protocol), the more accurate
/// first, compared on the same test images.
pub(crate) fn pairwise(
    evals: &[Evaluation],
    best: &[Candidate],
    stats: &HashMap<JobHash, RunStats>,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (i, x) in best.iter().enumerate() {
        for y in &best[i + 1..] {
            if x.dataset != y.dataset || x.protocol != y.protocol {
                continue;
            }
            let (a, b) = if y.accuracy > x.accuracy { (y, x) } else { (x, y) };
            let runs = pair_runs(&runs_of(evals, a), &runs_of(evals, b));
            out.extend(compare((&a.model, &a.setting), (&b.model, &b.setting), &a.dataset, &a.protocol, runs, stats));
        }
    }
    out
}

/// A distilled student against a reference model: its plain counterpart or its teacher.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KdComparison {
    /// `plain` or `teacher`.
    pub role: &'static str,
    /// The student is `a`, the reference `b`.
    pub cmp: Comparison,
}

/// The hyperparameters that define a model apart from distillation.
fn plain_settings(e: &Evaluation) -> Vec<(String, Hyper)> {
    e.train
        .as_ref()
        .map(|t| t.hyper.iter().filter(|(k, _)| !k.starts_with("distill")).cloned().collect())
        .unwrap_or_default()
}

/// Each distilled student (per data set, model and setting) against its plain counterpart (same
/// architecture, variant, data set, protocol and settings, no teacher; runs paired by seed and
/// fold) and against the teacher each of its runs learnt from; plus notes on what could not be
/// compared.
pub(crate) fn distillation(
    evals: &[Evaluation],
    stats: &HashMap<JobHash, RunStats>,
) -> (Vec<KdComparison>, Vec<String>) {
    let mut students: BTreeMap<(String, String, String, String), Vec<&Evaluation>> = BTreeMap::new();
    for e in evals.iter().filter(|e| e.distilled()) {
        let key = (e.dataset().to_string(), e.model().to_string(), e.setting.clone(), protocol(e).to_string());
        students.entry(key).or_default().push(e);
    }
    let by_weights: HashMap<JobHash, &Evaluation> = evals.iter().map(|e| (e.weights, e)).collect();
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    for ((dataset, model, setting, proto), runs) in students {
        let first = runs[0];
        let settings = plain_settings(first);
        let mut plain: BTreeMap<(String, String), Vec<&Evaluation>> = BTreeMap::new();
        for e in evals.iter().filter(|e| {
            !e.distilled()
                && e.dataset() == dataset
                && protocol(e) == proto
                && e.family == first.family
                && e.variant == first.variant
                && plain_settings(e) == settings
        }) {
            plain.entry((e.model().to_string(), e.setting.clone())).or_default().push(e);
        }
        let named = if setting.is_empty() { model.clone() } else { format!("{model} ({setting})") };
        match plain.iter().next() {
            Some(((p, ps), plain_runs)) => {
                let pairs = pair_runs(&runs, plain_runs);
                match compare((&model, &setting), (p, ps), &dataset, &proto, pairs, stats) {
                    Some(cmp) => out.push(KdComparison { role: "plain", cmp }),
                    None => notes.push(format!(
                        "{named} on {dataset}: no run pairs with its plain counterpart {p} on the same test images"
                    )),
                }
            }
            None => notes.push(format!(
                "{named} on {dataset}: no plain counterpart (the same architecture, variant and settings without a \
                 teacher) in this report"
            )),
        }
        // Each run against the teacher run that taught it.
        let mut teacher_name: Option<(String, String)> = None;
        let mut pairs = Vec::new();
        for s in &runs {
            let Some(t) = s.train.as_ref().and_then(|t| t.teacher).and_then(|h| by_weights.get(&h)) else { continue };
            teacher_name.get_or_insert_with(|| (t.model().to_string(), t.setting.clone()));
            pairs.extend(run_pair(s, t));
        }
        match teacher_name {
            Some((t, ts)) => match compare((&model, &setting), (&t, &ts), &dataset, &proto, pairs, stats) {
                Some(cmp) => out.push(KdComparison { role: "teacher", cmp }),
                None => notes.push(format!("{named} on {dataset}: its teacher {t} shares no test images with it")),
            },
            None => notes.push(format!(
                "{named} on {dataset}: its teacher's evaluation is not in this report (no agreement or gain over the \
                 teacher)"
            )),
        }
    }
    (out, notes)
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// The interval's ends in percentage points.
fn pp_bounds(c: &Comparison) -> (Option<f64>, Option<f64>) {
    (c.interval.map(|i| i.low * 100.0), c.interval.map(|i| i.high * 100.0))
}

fn verdict_words(c: &Comparison) -> String {
    match c.verdict {
        Verdict::ABetter => format!("{} better", c.a),
        Verdict::BBetter => format!("{} better", c.b),
        Verdict::CannotTell => "cannot tell apart".into(),
    }
}

/// `paired_comparisons`: one row per pair of models and data set.
pub(crate) fn comparisons_table(cmps: &[Comparison]) -> PolarsResult<DataFrame> {
    let s = |f: &dyn Fn(&Comparison) -> String| -> Vec<String> { cmps.iter().map(f).collect() };
    let f = |f: &dyn Fn(&Comparison) -> f64| -> Vec<f64> { cmps.iter().map(f).collect() };
    let i = |f: &dyn Fn(&Comparison) -> u64| -> Vec<i64> { cmps.iter().map(|c| f(c) as i64).collect() };
    let (lo, hi): (Vec<Option<f64>>, Vec<Option<f64>>) = cmps.iter().map(pp_bounds).unzip();
    DataFrame::new(
        cmps.len(),
        vec![
            Column::new("dataset".into(), s(&|c| c.dataset.clone())),
            Column::new("protocol".into(), s(&|c| c.protocol.clone())),
            Column::new("model_a".into(), s(&|c| c.a.clone())),
            Column::new("setting_a".into(), s(&|c| c.a_setting.clone())),
            Column::new("model_b".into(), s(&|c| c.b.clone())),
            Column::new("setting_b".into(), s(&|c| c.b_setting.clone())),
            Column::new("runs".into(), i(&|c| c.runs.len() as u64)),
            Column::new("test_images".into(), i(&|c| c.images())),
            Column::new("accuracy_a".into(), f(&|c| c.accuracy_a)),
            Column::new("accuracy_b".into(), f(&|c| c.accuracy_b)),
            Column::new("difference_pp".into(), f(&|c| c.difference * 100.0)),
            Column::new("difference_ci_low_pp".into(), lo),
            Column::new("difference_ci_high_pp".into(), hi),
            Column::new("only_a_right".into(), i(&|c| c.pooled.b)),
            Column::new("only_b_right".into(), i(&|c| c.pooled.c)),
            Column::new("p_exact".into(), f(&|c| c.pooled.p_exact)),
            Column::new("chi2".into(), f(&|c| c.pooled.chi2)),
            Column::new("p_chi2".into(), f(&|c| c.pooled.p_chi2)),
            Column::new("runs_significant".into(), i(&|c| c.runs_significant as u64)),
            Column::new("agreement".into(), f(&|c| c.agreement)),
            Column::new("verdict".into(), s(&verdict_words)),
        ],
    )
}

/// `paired_runs`: McNemar's test of every pair of runs behind the comparisons.
pub(crate) fn runs_table(cmps: &[Comparison]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&Comparison, &RunPair)> = cmps.iter().flat_map(|c| c.runs.iter().map(move |r| (c, r))).collect();
    let s =
        |f: &dyn Fn(&Comparison, &RunPair) -> String| -> Vec<String> { rows.iter().map(|(c, r)| f(c, r)).collect() };
    let f = |f: &dyn Fn(&RunPair) -> f64| -> Vec<f64> { rows.iter().map(|(_, r)| f(r)).collect() };
    let i = |f: &dyn Fn(&RunPair) -> u64| -> Vec<i64> { rows.iter().map(|(_, r)| f(r) as i64).collect() };
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("dataset".into(), s(&|c, _| c.dataset.clone())),
            Column::new("model_a".into(), s(&|c, _| c.a.clone())),
            Column::new("model_b".into(), s(&|c, _| c.b.clone())),
            Column::new("seed_a".into(), rows.iter().map(|(_, r)| opt_i64(r.seed_a)).collect::<Vec<_>>()),
            Column::new("seed_b".into(), rows.iter().map(|(_, r)| opt_i64(r.seed_b)).collect::<Vec<_>>()),
            Column::new("fold".into(), rows.iter().map(|(_, r)| r.fold.clone()).collect::<Vec<_>>()),
            Column::new("test_images".into(), i(&|r| r.counts.images)),
            Column::new("accuracy_a".into(), f(&|r| r.counts.accuracy_a())),
            Column::new("accuracy_b".into(), f(&|r| r.counts.accuracy_b())),
            Column::new("difference_pp".into(), f(&|r| r.counts.difference() * 100.0)),
            Column::new("only_a_right".into(), i(&|r| r.counts.a_only)),
            Column::new("only_b_right".into(), i(&|r| r.counts.b_only)),
            Column::new("p_exact".into(), f(&|r| r.test.p_exact)),
            Column::new("chi2".into(), f(&|r| r.test.chi2)),
            Column::new("p_chi2".into(), f(&|r| r.test.p_chi2)),
            Column::new("agreement".into(), f(&|r| r.counts.agree as f64 / r.counts.images.max(1) as f64)),
            Column::new("hash_a".into(), s(&|_, r| r.a.hex())),
            Column::new("hash_b".into(), s(&|_, r| r.b.hex())),
        ],
    )
}

/// `kd_comparison`: each student against its plain counterpart and its teacher.
pub(crate) fn kd_table(kd: &[KdComparison]) -> PolarsResult<DataFrame> {
    let s = |f: &dyn Fn(&KdComparison) -> String| -> Vec<String> { kd.iter().map(f).collect() };
    let f = |f: &dyn Fn(&Comparison) -> f64| -> Vec<f64> { kd.iter().map(|k| f(&k.cmp)).collect() };
    let o = |f: &dyn Fn(&Comparison) -> Option<f64>| -> Vec<Option<f64>> { kd.iter().map(|k| f(&k.cmp)).collect() };
    let (lo, hi): (Vec<Option<f64>>, Vec<Option<f64>>) = kd.iter().map(|k| pp_bounds(&k.cmp)).unzip();
    DataFrame::new(
        kd.len(),
        vec![
            Column::new("dataset".into(), s(&|k| k.cmp.dataset.clone())),
            Column::new("student".into(), s(&|k| k.cmp.a.clone())),
            Column::new("setting".into(), s(&|k| k.cmp.a_setting.clone())),
            Column::new("reference_role".into(), s(&|k| k.role.to_string())),
            Column::new("reference".into(), s(&|k| k.cmp.b.clone())),
            Column::new("runs".into(), kd.iter().map(|k| k.cmp.runs.len() as i64).collect::<Vec<_>>()),
            Column::new("test_images".into(), kd.iter().map(|k| k.cmp.images() as i64).collect::<Vec<_>>()),
            Column::new("accuracy_student".into(), f(&|c| c.accuracy_a)),
            Column::new("accuracy_reference".into(), f(&|c| c.accuracy_b)),
            Column::new("gain_pp".into(), f(&|c| c.difference * 100.0)),
            Column::new("gain_ci_low_pp".into(), lo),
            Column::new("gain_ci_high_pp".into(), hi),
            Column::new("p_exact".into(), f(&|c| c.pooled.p_exact)),
            Column::new("p_chi2".into(), f(&|c| c.pooled.p_chi2)),
            Column::new("verdict".into(), s(&|k| verdict_words(&k.cmp))),
            Column::new("agreement".into(), f(&|c| c.agreement)),
            Column::new("ece_student".into(), o(&|c| c.ece_a)),
            Column::new("ece_reference".into(), o(&|c| c.ece_b)),
            Column::new("ece_change".into(), o(&|c| c.ece_a.zip(c.ece_b).map(|(a, b)| a - b))),
            Column::new(
                "teacher_weaker".into(),
                kd.iter()
                    .map(|k| (k.role == "teacher").then_some(k.cmp.accuracy_b < k.cmp.accuracy_a))
                    .collect::<Vec<_>>(),
            ),
        ],
    )
}

/// `12.3 %`.
fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// A signed difference in percentage points from a fraction: `+1.2 pp`, `−3.4 pp`.
fn signed_pp(v: f64) -> String {
    let v = v * 100.0;
    if v < 0.0 {
        format!("\u{2212}{:.1} pp", -v)
    } else {
        format!("+{v:.1} pp")
    }
}

/// `p = 0.012` or `p < 0.001`.
fn p_words(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// `95 % CI −1.0 to +2.0 pp, p = 0.41, 3 runs`.
fn evidence(c: &Comparison) -> String {
    let runs = c.runs.len();
    let ci = match c.interval {
        Some(i) => format!("95 % CI {} to {}, ", signed_pp(i.low), signed_pp(i.high)),
        None => String::new(),
    };
    format!("{}{}, {runs} run{}", ci, p_words(c.pooled.p_exact), if runs == 1 { "" } else { "s" })
}

/// The name with its setting: `deep-emotion (lr=0.01)`.
fn named(model: &str, setting: &str) -> String {
    if setting.is_empty() {
        model.to_string()
    } else {
        format!("{model} ({setting})")
    }
}

/// One sentence per data set: which model is better where the combined test is significant, and
/// which pairs the data cannot tell apart.
pub(crate) fn paired_sentences(cmps: &[Comparison], dataset_name: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut by_dataset: BTreeMap<&str, Vec<&Comparison>> = BTreeMap::new();
    for c in cmps {
        by_dataset.entry(c.dataset.as_str()).or_default().push(c);
    }
    by_dataset
        .into_iter()
        .map(|(d, cs)| {
            let parts: Vec<String> = cs
                .iter()
                .map(|c| {
                    let (a, b) = (named(&c.a, &c.a_setting), named(&c.b, &c.b_setting));
                    match c.verdict {
                        Verdict::ABetter => format!(
                            "{a} is better than {b} by {} ({})",
                            signed_pp(c.difference).trim_start_matches('+'),
                            evidence(c)
                        ),
                        Verdict::BBetter => format!(
                            "{b} is better than {a} by {} ({})",
                            signed_pp(-c.difference).trim_start_matches('+'),
                            evidence(c)
                        ),
                        Verdict::CannotTell => format!(
                            "the data cannot tell {a} and {b} apart ({} for {a}; {})",
                            signed_pp(c.difference),
                            evidence(c)
                        ),
                    }
                })
                .collect();
            format!(
                "Paired on the same test images of {} (McNemar's exact test on the discordant images pooled over \
                 runs, at alpha {ALPHA}, with the 95 % t-interval of the paired difference over runs): {}.",
                dataset_name(d),
                parts.join("; ")
            )
        })
        .collect()
}

/// One sentence per distilled student: its gain over the plain model, its agreement with its
/// teacher, the calibration change, and plainly when the teacher is the weaker model.
pub(crate) fn kd_sentences(kd: &[KdComparison], dataset_name: &dyn Fn(&str) -> String) -> Vec<String> {
    // (data set, student, setting) -> (against plain, against teacher).
    type Both<'c> = (Option<&'c Comparison>, Option<&'c Comparison>);
    let mut students: BTreeMap<(&str, &str, &str), Both> = BTreeMap::new();
    for k in kd {
        let e = students.entry((k.cmp.dataset.as_str(), k.cmp.a.as_str(), k.cmp.a_setting.as_str())).or_default();
        if k.role == "plain" {
            e.0 = Some(&k.cmp);
        } else {
            e.1 = Some(&k.cmp);
        }
    }
    students
        .into_iter()
        .map(|((d, model, setting), (plain, teacher))| {
            let student = named(model, setting);
            let mut s = format!("Distillation on {}: {student}", dataset_name(d));
            if let Some(t) = teacher {
                s.push_str(&format!(" (taught by {})", t.b));
            }
            match plain {
                Some(p) => {
                    let outcome = match p.verdict {
                        Verdict::ABetter => "distillation helped".to_string(),
                        Verdict::BBetter => "distillation hurt".to_string(),
                        Verdict::CannotTell => "the data cannot tell it from the plain model".to_string(),
                    };
                    s.push_str(&format!(
                        " against plain {}: {} ({}): {outcome}",
                        p.b,
                        signed_pp(p.difference),
                        evidence(p)
                    ));
                    if let (Some(a), Some(b)) = (p.ece_a, p.ece_b) {
                        s.push_str(&format!(
                            "; calibration error (ECE, 15 bins) {a:.3} against {b:.3} without distillation ({}{:.3})",
                            if a - b < 0.0 { "\u{2212}" } else { "+" },
                            (a - b).abs()
                        ));
                    }
                }
                None => s.push_str(": no plain counterpart to compare with"),
            }
            if let Some(t) = teacher {
                s.push_str(&format!("; it agrees with its teacher on {} of test images", pct(t.agreement)));
                if t.accuracy_b < t.accuracy_a {
                    s.push_str(&format!(
                        ". The teacher is weaker than the student: {} against {} on the same images ({}), so this \
                         tests distillation from a weaker model",
                        pct(t.accuracy_b),
                        pct(t.accuracy_a),
                        match t.verdict {
                            Verdict::CannotTell => "though the data cannot tell them apart".to_string(),
                            _ => p_words(t.pooled.p_exact),
                        }
                    ));
                }
            }
            s.push('.');
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(rows: &[(u64, i64, i64)]) -> Vec<Prediction> {
        rows.iter()
            .map(|&(index, label, prediction)| Prediction { index, label, prediction, confidence: None })
            .collect()
    }

    #[test]
    fn pairs_by_image_index_and_counts_discordant_images() {
        // Image 4 only a has; image 9 only b. a right on 1, 2; b right on 2, 3.
        let a = preds(&[(2, 1, 1), (1, 0, 0), (3, 2, 0), (4, 1, 1)]);
        let b = preds(&[(1, 0, 5), (2, 1, 1), (3, 2, 2), (9, 0, 0)]);
        let c = pair_counts(&a, &b).unwrap();
        assert_eq!(c, PairCounts { images: 3, a_right: 2, b_right: 2, a_only: 1, b_only: 1, agree: 1 });
        // A label that differs: not the same test images.
        assert_eq!(pair_counts(&a, &preds(&[(1, 3, 3)])), None);
        assert_eq!(pair_counts(&a, &preds(&[(7, 0, 0)])), None);
    }

    #[test]
    fn row_intervals_are_t_over_runs_or_the_bootstrap_of_one_run() {
        let r = row_intervals(3, (0.5, Some(0.1)), (0.4, Some(0.2)), None);
        // t(0.975, 2) = 4.302652729749462 (scipy).
        let h = 4.302652729749462 * 0.1 / 3f64.sqrt();
        let (lo, hi) = r.accuracy.unwrap();
        assert!((lo - (0.5 - h)).abs() < 1e-12 && (hi - (0.5 + h)).abs() < 1e-12, "{r:?}");
        assert_eq!(r.method, "t over 3 runs");
        let b = Bootstrap {
            accuracy: Interval { estimate: 0.5, low: 0.45, high: 0.55 },
            macro_f1: Interval { estimate: 0.4, low: 0.35, high: 0.45 },
        };
        let r = row_intervals(1, (0.5, None), (0.4, None), Some((b, 840)));
        assert_eq!(r.accuracy, Some((0.45, 0.55)));
        assert_eq!(r.method, "bootstrap over 840 test images (1 run)");
        assert_eq!(row_intervals(1, (0.5, None), (0.4, None), None).accuracy, None);
    }
}
