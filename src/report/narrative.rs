//! The generated summary: which model wins on which data set and by how much, with the spread
//! across seeds, the cost of each model, and the gap to the published figures.

use std::collections::BTreeMap;

use super::published::Published;
use super::tables::SummaryRow;

/// `12.3 %`.
pub fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// `+1.2 pp` / `−3.4 pp` from a difference in percentage points.
pub fn pp(v: f64) -> String {
    if v < 0.0 {
        format!("\u{2212}{:.1} pp", -v)
    } else {
        format!("+{v:.1} pp")
    }
}

fn spread(r: &SummaryRow) -> String {
    match r.accuracy_std {
        Some(s) if s.is_finite() => format!("{} ± {:.1} pp over {} runs", pct(r.accuracy_mean), s * 100.0, r.n),
        _ => format!("{} from {} run{}", pct(r.accuracy_mean), r.n, if r.n == 1 { "" } else { "s" }),
    }
}

fn named(r: &SummaryRow) -> String {
    if r.setting.is_empty() {
        r.model.clone()
    } else {
        format!("{} ({})", r.model, r.setting)
    }
}

/// Thousands separators: 66877 -> 66,877.
pub fn thousands(n: i64) -> String {
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

/// The summary sentences, from each data set x model's best setting.
pub fn summarise(best: &[SummaryRow], published: &Published, missing: usize) -> Vec<String> {
    let mut out = Vec::new();
    if best.is_empty() {
        out.push("No finished evaluation is in the scope of this report yet.".to_string());
    }
    let mut by_dataset: BTreeMap<&str, Vec<&SummaryRow>> = BTreeMap::new();
    for r in best {
        by_dataset.entry(r.dataset.as_str()).or_default().push(r);
    }
    for (dataset, mut rows) in by_dataset {
        rows.sort_by(|a, b| b.accuracy_mean.total_cmp(&a.accuracy_mean));
        let shown = published.dataset_name(dataset);
        match rows.as_slice() {
            [] => {}
            [only] => out.push(format!("On {shown}, only {} was evaluated: {}.", named(only), spread(only))),
            [first, second, rest @ ..] => {
                let gap = (first.accuracy_mean - second.accuracy_mean) * 100.0;
                if gap < 0.05 {
                    let mut s = format!(
                        "On {shown}, {} and {} tie: {} and {}.",
                        named(first),
                        named(second),
                        spread(first),
                        spread(second)
                    );
                    for r in rest {
                        s.push_str(&format!(" {} follows with {}.", named(r), spread(r)));
                    }
                    out.push(s);
                    continue;
                }
                let noise = first.accuracy_std.unwrap_or(0.0).max(second.accuracy_std.unwrap_or(0.0)) * 100.0;
                let verdict = if first.n < 2 || second.n < 2 {
                    "with too few seeds to judge the spread".to_string()
                } else if gap > 2.0 * noise {
                    format!("well beyond the spread across seeds (largest std {noise:.1} pp)")
                } else if gap > noise {
                    format!("more than the spread across seeds (largest std {noise:.1} pp), if not by much")
                } else {
                    format!("within the spread across seeds (largest std {noise:.1} pp): no clear winner")
                };
                let mut s = format!(
                    "On {shown}, {} leads with {}, {:.1} pp ahead of {} ({}), {verdict}.",
                    named(first),
                    spread(first),
                    gap,
                    named(second),
                    spread(second)
                );
                for r in rest {
                    s.push_str(&format!(" {} follows with {}.", named(r), spread(r)));
                }
                out.push(s);
            }
        }
    }
    // Cost: parameters and latency per architecture.
    let mut cost: BTreeMap<&str, (Option<i64>, Vec<f64>)> = BTreeMap::new();
    for r in best {
        let e = cost.entry(r.arch.as_str()).or_insert((r.trainable_params, Vec::new()));
        e.1.extend(r.latency_ms_b1);
    }
    if cost.len() >= 2 {
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
        out.push(format!("Cost: {}.", parts.join("; ")));
    }
    // The gap to the published figures.
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
        // One value per distinct figure, naming every source that prints it.
        let mut values: Vec<(f64, Vec<&str>)> = Vec::new();
        for g in published.figures.iter().filter(|g| g.model == f.model && g.dataset == f.dataset) {
            match values.iter_mut().find(|(v, _)| *v == g.accuracy) {
                Some((_, sources)) => sources.push(published.source_name(&g.source)),
                None => values.push((g.accuracy, vec![published.source_name(&g.source)])),
            }
        }
        let printed: Vec<String> =
            values.iter().map(|(v, sources)| format!("{v:.2} % ({})", sources.join("; "))).collect();
        for r in reproduced {
            let diffs: Vec<String> = values.iter().map(|(v, _)| pp(r.accuracy_mean * 100.0 - v)).collect();
            out.push(format!(
                "{model} on {shown}: {} reproduced ({}) against {} published: {}.",
                pct(r.accuracy_mean),
                named(r),
                printed.join(" and "),
                diffs.join(" and ")
            ));
        }
    }
    if !not_run.is_empty() {
        out.push(format!(
            "Published figures without a reproduction in this report: {} (their data sets were not evaluated).",
            not_run.join(", ")
        ));
    }
    if missing > 0 {
        out.push(format!(
            "This report is partial: {missing} job{} of its scope {} missing or unfinished (listed below).",
            if missing == 1 { "" } else { "s" },
            if missing == 1 { "is" } else { "are" }
        ));
    }
    out
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
            accuracy_mean: mean,
            accuracy_std: std,
            macro_f1_mean: mean,
            macro_f1_std: std,
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

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(66877), "66,877");
        assert_eq!(thousands(900920), "900,920");
        assert_eq!(thousands(12), "12");
    }
}
