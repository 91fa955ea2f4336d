//! The generated summary: which model wins on which data set and by how much (each model's best
//! setting, chosen on validation accuracy), with the spread across the runs it pools (seeds and
//! folds), the cost of each model, and the gap to the published figures with both protocols.

use std::collections::BTreeMap;

use super::published::{subject_independent, Figure, Published};
use super::tables::SummaryRow;

/// `12.3 %`.
pub(crate) fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// `+1.2 pp` / `−3.4 pp` from a difference in percentage points.
pub(crate) fn pp(v: f64) -> String {
    if v < 0.0 {
        format!("\u{2212}{:.1} pp", -v)
    } else {
        format!("+{v:.1} pp")
    }
}

/// The mean accuracy with its spread and the runs it pools: `90.0 % ± 1.0 pp over 3 runs`.
fn spread(r: &SummaryRow) -> String {
    match r.accuracy_std {
        Some(s) if s.is_finite() => {
            format!("{} ± {:.1} pp over {} runs{}", pct(r.accuracy_mean), s * 100.0, r.n, runs_of(r))
        }
        _ => format!("{} from {} run{}{}", pct(r.accuracy_mean), r.n, if r.n == 1 { "" } else { "s" }, runs_of(r)),
    }
}

/// ` (3 seeds x 10 folds)` when folds are pooled with seeds; empty otherwise.
fn runs_of(r: &SummaryRow) -> String {
    if r.folds > 1 {
        format!(" ({} seed{} x {} folds)", r.seeds.max(1), if r.seeds > 1 { "s" } else { "" }, r.folds)
    } else {
        String::new()
    }
}

/// What a standard deviation is over: `seeds`, `folds` or `seeds and folds`.
pub(crate) fn pooled(rows: &[&SummaryRow]) -> &'static str {
    let folds = rows.iter().any(|r| r.folds > 1);
    let seeds = rows.iter().any(|r| r.seeds > 1);
    match (seeds, folds) {
        (true, true) => "seeds and folds",
        (false, true) => "folds",
        _ => "seeds",
    }
}

/// A protocol in words for the narrative: its description, or its kind.
fn protocol_words(r: &SummaryRow) -> String {
    if r.protocol_description.is_empty() {
        r.protocol.clone()
    } else {
        r.protocol_description.clone()
    }
}

/// The model with its setting: `deep-emotion (lr=0.01)`.
fn named(r: &SummaryRow) -> String {
    if r.setting.is_empty() {
        r.model.clone()
    } else {
        format!("{} ({})", r.model, r.setting)
    }
}

/// Thousands separators: 66877 -> 66,877.
pub(crate) fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The summary sentences, from each data set x model's best setting: one ranking per data set,
/// the cost, the gap to each published figure, the figures without a reproduction, and whether
/// the report is partial.
pub(crate) fn summarise(best: &[SummaryRow], published: &Published, missing: usize) -> Vec<String> {
    let mut out = Vec::new();
    if best.is_empty() {
        out.push("No finished evaluation is in the scope of this report yet.".to_string());
    }
    for (dataset, rows) in by_dataset(best) {
        out.extend(ranking(published.dataset_name(dataset), &rows));
    }
    out.extend(cost(best));
    let (reproductions, not_run) = against_published(best, published);
    out.extend(reproductions);
    out.extend(not_reproduced(&not_run));
    out.extend(partial(missing));
    out
}

/// The rows of each data set, the most accurate first.
fn by_dataset(best: &[SummaryRow]) -> BTreeMap<&str, Vec<&SummaryRow>> {
    let mut by_dataset: BTreeMap<&str, Vec<&SummaryRow>> = BTreeMap::new();
    for r in best {
        by_dataset.entry(r.dataset.as_str()).or_default().push(r);
    }
    for rows in by_dataset.values_mut() {
        rows.sort_by(|a, b| b.accuracy_mean.total_cmp(&a.accuracy_mean));
    }
    by_dataset
}

/// Which model wins on data set `shown` (rows sorted, most accurate first): the only one, a tie,
/// or the leader with its gap to the second and whether the gap is beyond the spread.
fn ranking(shown: &str, rows: &[&SummaryRow]) -> Option<String> {
    match rows {
        [] => None,
        [only] => Some(format!("On {shown}, only {} was evaluated: {}.", named(only), spread(only))),
        [first, second, rest @ ..] => {
            let gap = (first.accuracy_mean - second.accuracy_mean) * 100.0;
            let mut s = if gap < 0.05 {
                format!(
                    "On {shown}, {} and {} tie: {} and {}.",
                    named(first),
                    named(second),
                    spread(first),
                    spread(second)
                )
            } else {
                format!(
                    "On {shown}, {} leads with {}, {:.1} pp ahead of {} ({}), {}.",
                    named(first),
                    spread(first),
                    gap,
                    named(second),
                    spread(second),
                    verdict(first, second, gap)
                )
            };
            for r in rest {
                s.push_str(&format!(" {} follows with {}.", named(r), spread(r)));
            }
            Some(s)
        }
    }
}

/// Whether a leader's `gap` (pp) over the second is beyond the larger of their standard deviations.
fn verdict(first: &SummaryRow, second: &SummaryRow, gap: f64) -> String {
    let noise = first.accuracy_std.unwrap_or(0.0).max(second.accuracy_std.unwrap_or(0.0)) * 100.0;
    let over = pooled(&[first, second]);
    if first.n < 2 || second.n < 2 {
        "with too few runs to judge the spread".to_string()
    } else if gap > 2.0 * noise {
        format!("well beyond the spread across {over} (largest std {noise:.1} pp)")
    } else if gap > noise {
        format!("more than the spread across {over} (largest std {noise:.1} pp), if not by much")
    } else {
        format!("within the spread across {over} (largest std {noise:.1} pp): no clear winner")
    }
}

/// Parameters and latency per architecture, when there are at least two architectures.
fn cost(best: &[SummaryRow]) -> Option<String> {
    let mut cost: BTreeMap<&str, (Option<i64>, Vec<f64>)> = BTreeMap::new();
    for r in best {
        let e = cost.entry(r.arch.as_str()).or_insert((r.trainable_params, Vec::new()));
        e.1.extend(r.latency_ms_b1);
    }
    if cost.len() < 2 {
        return None;
    }
    let parts: Vec<String> = cost
        .iter()
        .map(|(arch, (params, lat))| {
            let p = params.map(thousands).unwrap_or_else(|| "?".into());
            let l = if lat.is_empty() {
                "?".to_string()
            } else {
                format!("{:.2} ms", lat.iter().sum::<f64>() / lat.len() as f64)
            };
            format!("{arch} has {p} trainable parameters and answers in {l} per image at batch 1")
        })
        .collect();
    Some(format!("Cost: {}.", parts.join("; ")))
}

/// The gap to the published figures: one sentence per reproduction of a published model x data
/// set, and the model x data sets (`Model on Data`) that have figures but no reproduction.
fn against_published(best: &[SummaryRow], published: &Published) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut not_run: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &published.figures {
        if !seen.insert((f.model.as_str(), f.dataset.as_str())) {
            continue;
        }
        let model = published.model_name(&f.model);
        let shown = published.dataset_name(&f.dataset);
        let reproduced: Vec<&SummaryRow> =
            best.iter().filter(|r| r.family == f.model && r.dataset == f.dataset).collect();
        if reproduced.is_empty() {
            not_run.push(format!("{model} on {shown}"));
            continue;
        }
        let figures: Vec<&Figure> =
            published.figures.iter().filter(|g| g.model == f.model && g.dataset == f.dataset).collect();
        let protocols = protocols_of(&figures);
        let values = values_of(&figures, published);
        for r in reproduced {
            out.push(reproduction(&format!("{model} on {shown}"), r, &values, &protocols));
        }
    }
    (out, not_run)
}

/// The protocols of the figures: one `(kind, split in words)` per distinct kind, first seen first.
fn protocols_of<'p>(figures: &[&'p Figure]) -> Vec<(&'p str, &'p str)> {
    let mut protocols: Vec<(&str, &str)> = Vec::new();
    for g in figures {
        if !protocols.iter().any(|(k, _)| *k == g.protocol) {
            protocols.push((g.protocol.as_str(), g.split.as_str()));
        }
    }
    protocols
}

/// One value per distinct figure, naming every source that prints it.
fn values_of<'p>(figures: &[&'p Figure], published: &'p Published) -> Vec<(f64, Vec<&'p str>)> {
    let mut values: Vec<(f64, Vec<&str>)> = Vec::new();
    for g in figures {
        match values.iter_mut().find(|(v, _)| *v == g.accuracy) {
            Some((_, sources)) => sources.push(published.source_name(&g.source)),
            None => values.push((g.accuracy, vec![published.source_name(&g.source)])),
        }
    }
    values
}

/// One reproduction `r` of `what` (`Model on Data`) against the published `values`, with a
/// sentence for each published protocol that differs from its own.
fn reproduction(what: &str, r: &SummaryRow, values: &[(f64, Vec<&str>)], protocols: &[(&str, &str)]) -> String {
    let printed: Vec<String> = values.iter().map(|(v, sources)| format!("{v:.2} % ({})", sources.join("; "))).collect();
    let diffs: Vec<String> = values.iter().map(|(v, _)| pp(r.accuracy_mean * 100.0 - v)).collect();
    let mut s = format!(
        "{what}: {} reproduced ({}) against {} published: {}.",
        pct(r.accuracy_mean),
        named(r),
        printed.join(" and "),
        diffs.join(" and ")
    );
    for (kind, split) in protocols {
        if r.protocol.is_empty() || *kind == r.protocol {
            continue;
        }
        s.push_str(&format!(
            " Protocols differ: the published figure comes from {split} (`{kind}`); this one from {} (`{}`).{}",
            protocol_words(r),
            r.protocol,
            dependence(kind, &r.protocol)
        ));
    }
    s
}

/// Why a published figure of protocol `published` and a reproduction of protocol `reproduced`
/// are not directly comparable (which one tests on people it never trained on).
fn dependence(published: &str, reproduced: &str) -> &'static str {
    match (subject_independent(published), subject_independent(reproduced)) {
        (Some(false), Some(true)) => {
            " The published figure lets one person's images be in training and test \
             (subject-dependent); this reproduction tests on people it never trained on \
             (subject-independent), which is harder, so the figures are not directly comparable."
        }
        (Some(true), Some(false)) => {
            " The published figure tests on people it never trained on (subject-independent); \
             this reproduction does not (subject-dependent), so the figures are not directly comparable."
        }
        _ => " The figures are not directly comparable.",
    }
}

/// The published model x data sets (`not_run`) without a reproduction, when there are any.
fn not_reproduced(not_run: &[String]) -> Option<String> {
    (!not_run.is_empty()).then(|| {
        format!(
            "Published figures without a reproduction in this report: {} (their data sets were not evaluated).",
            not_run.join(", ")
        )
    })
}

/// That the report is partial, when `missing` jobs of its scope are missing or unfinished.
fn partial(missing: usize) -> Option<String> {
    (missing > 0).then(|| {
        format!(
            "This report is partial: {missing} job{} of its scope {} missing or unfinished (listed below).",
            if missing == 1 { "" } else { "s" },
            if missing == 1 { "is" } else { "are" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, mean: f64, std: Option<f64>, n: i64) -> SummaryRow {
        SummaryRow {
            dataset: "ckplus".into(),
            model: model.into(),
            family: model.into(),
            arch: model.into(),
            setting: String::new(),
            n,
            seeds: n,
            folds: 1,
            protocol: "random".into(),
            protocol_description: "random split".into(),
            accuracy_mean: mean,
            accuracy_std: std,
            val_accuracy_mean: Some(mean),
            macro_f1_mean: mean,
            macro_f1_std: std,
            accuracy_ci: None,
            macro_f1_ci: None,
            ci_method: String::new(),
            trainable_params: Some(65000),
            latency_ms_b1: Some(0.5),
            latency_ms_b64: Some(5.0),
            train_seconds_mean: Some(1.0),
        }
    }

    #[test]
    fn names_the_winner_gap_and_spread() {
        let p = Published::load().unwrap();
        let best = vec![row("deep-emotion", 0.90, Some(0.01), 3), row("microexpnet", 0.80, Some(0.02), 3)];
        let text = summarise(&best, &p, 0).join("\n");
        assert!(text.contains("On CK+, deep-emotion leads with 90.0 %"), "{text}");
        assert!(text.contains("10.0 pp ahead of microexpnet"), "{text}");
        assert!(text.contains("well beyond the spread"), "{text}");
        assert!(text.contains("Deep-Emotion on CK+: 90.0 % reproduced (deep-emotion) against 98.00 %"), "{text}");
        assert!(text.contains("\u{2212}8.0 pp"), "{text}");
        assert!(text.contains("Deep-Emotion on FER2013"), "{text}");
        let fer = Published::load().unwrap();
        let best = vec![SummaryRow { dataset: "fer2013".into(), ..row("deep-emotion", 0.5, None, 1) }];
        let text = summarise(&best, &fer, 0).join("\n");
        assert!(text.contains("against 70.02 % (Deep-Emotion paper"), "{text}");
        assert!(text.contains("; compared review) published: \u{2212}20.0 pp."), "{text}");
    }

    #[test]
    fn close_results_are_no_clear_winner_and_partial_is_said() {
        let p = Published::load().unwrap();
        let best = vec![row("deep-emotion", 0.50, Some(0.05), 3), row("microexpnet", 0.49, Some(0.04), 3)];
        let text = summarise(&best, &p, 2).join("\n");
        assert!(text.contains("no clear winner"), "{text}");
        assert!(text.contains("partial: 2 jobs"), "{text}");
    }

    #[test]
    fn equal_results_tie() {
        let p = Published::load().unwrap();
        let best = vec![row("deep-emotion", 0.5, None, 1), row("microexpnet", 0.5, None, 1)];
        let text = summarise(&best, &p, 0).join("\n");
        assert!(text.contains("On CK+, deep-emotion and microexpnet tie: 50.0 % from 1 run"), "{text}");
    }

    /// Deep-Emotion's CK+ figure is a random, subject-dependent split: a subject-independent
    /// reproduction says the protocols differ; a matching one does not; pooled folds are named.
    #[test]
    fn differing_protocols_are_said_and_folds_are_named_in_the_spread() {
        let p = Published::load().unwrap();
        let kfold = SummaryRow {
            protocol: "subject-kfold".into(),
            protocol_description: "subject-independent 10-fold cross-validation".into(),
            seeds: 3,
            folds: 10,
            n: 30,
            ..row("deep-emotion", 0.9, Some(0.02), 30)
        };
        let other = SummaryRow { model: "microexpnet".into(), family: "microexpnet".into(), ..kfold.clone() };
        let text = summarise(&[kfold.clone(), SummaryRow { accuracy_mean: 0.5, ..other }], &p, 0).join("\n");
        assert!(
            text.contains("Protocols differ: the published figure comes from a random, subject-dependent"),
            "{text}"
        );
        assert!(text.contains("(`random`); this one from subject-independent 10-fold"), "{text}");
        assert!(text.contains("not directly comparable"), "{text}");
        assert!(text.contains("over 30 runs (3 seeds x 10 folds)"), "{text}");
        assert!(text.contains("spread across seeds and folds"), "{text}");
        let random = SummaryRow { protocol: "random".into(), folds: 1, ..kfold };
        let text = summarise(&[random], &p, 0).join("\n");
        assert!(text.contains("Deep-Emotion on CK+") && !text.contains("Protocols differ"), "{text}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(66877), "66,877");
        assert_eq!(thousands(900920), "900,920");
        assert_eq!(thousands(12), "12");
    }
}
