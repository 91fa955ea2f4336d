//! The statistics behind the report's uncertainty and paired tests, with no dependency: Student-t
//! intervals over runs (the t quantile from the regularised incomplete beta function), a
//! percentile bootstrap over test images (seeded), McNemar's exact and chi-square tests, their
//! pooled (Mantel-Haenszel) combination over runs, and the expected calibration error. Checked
//! against scipy's answers in `tests/fixtures/stats.json` (`scripts/stats-fixtures.py`).

use fer_core::rng::SplitMix64;

/// The level of every test in the report.
pub(crate) const ALPHA: f64 = 0.05;
/// Bootstrap resamples per run.
pub(crate) const BOOTSTRAP_RESAMPLES: usize = 1000;
/// The bootstrap's seed (the same for every run, so runs on the same images share resamples).
pub(crate) const BOOTSTRAP_SEED: u64 = 2019;
/// Bins of the expected calibration error.
pub(crate) const ECE_BINS: usize = 15;

const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + LANCZOS_G + 0.5;
    let a = LANCZOS[1..].iter().enumerate().fold(LANCZOS[0], |a, (i, c)| a + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function and its complement, `(I_x(a, b), 1 - I_x(a, b))`,
/// each computed directly where it is the small one.
pub(crate) fn beta_inc_pair(a: f64, b: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x >= 1.0 {
        return (1.0, 0.0);
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        let v = front * beta_cf(a, b, x) / a;
        (v, 1.0 - v)
    } else {
        let v = front * beta_cf(b, a, 1.0 - x) / b;
        (1.0 - v, v)
    }
}

/// The regularised incomplete beta function I_x(a, b).
pub(crate) fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    beta_inc_pair(a, b, x).0
}

/// The regularised upper incomplete gamma function Q(a, x) (series below a + 1, continued
/// fraction above).
pub(crate) fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let ln_front = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let (mut ap, mut sum) = (a, 1.0 / a);
        let mut del = sum;
        for _ in 0..100_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * ln_front.exp()
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        ln_front.exp() * h
    }
}

/// The chi-square distribution's survival function P(X > x) with `df` degrees of freedom.
pub(crate) fn chi2_sf(x: f64, df: f64) -> f64 {
    gamma_q(df / 2.0, x / 2.0)
}

/// Student's t distribution function P(T <= t) with `df` degrees of freedom (checked against
/// scipy with the quantile it inverts).
#[cfg(test)]
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    let (tail, _) = beta_inc_pair(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail / 2.0
    } else {
        tail / 2.0
    }
}

/// The upper tail P(T > t) for t >= 0.
fn t_upper(t: f64, df: f64) -> f64 {
    beta_inc_pair(df / 2.0, 0.5, df / (df + t * t)).0 / 2.0
}

/// The quantile of Student's t: the t with P(T <= t) = p (0 < p < 1), by bisection on the upper
/// tail to machine precision.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    let valid = p > 0.0 && p < 1.0 && df > 0.0;
    if !valid {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    let q = if p > 0.5 { 1.0 - p } else { p };
    let mut hi = 1.0;
    while t_upper(hi, df) > q {
        hi *= 2.0;
        if hi > 1e300 {
            break;
        }
    }
    let mut lo = 0.0;
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if t_upper(mid, df) > q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    if p > 0.5 {
        t
    } else {
        -t
    }
}

/// A mean with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether the interval excludes `v`.
    pub(crate) fn excludes(&self, v: f64) -> bool {
        v < self.low || v > self.high
    }
}

/// The mean of `values` with its Student-t interval at `level` (e.g. 0.95): mean ± t(n-1) s/√n;
/// `None` with fewer than two values.
pub(crate) fn t_interval(values: &[f64], level: f64) -> Option<Interval> {
    let n = values.len();
    if n < 2 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(0.5 + level / 2.0, (n - 1) as f64) * (var / n as f64).sqrt();
    Some(Interval { estimate: mean, low: mean - half, high: mean + half })
}

/// The two-sided exact binomial test of k successes in n trials at p = 1/2 (scipy's
/// `binomtest(k, n, 0.5)`): 2 P(X <= min(k, n - k)), at most 1.
pub(crate) fn binom_test_half(k: u64, n: u64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let m = k.min(n - k);
    if 2 * m >= n {
        return 1.0;
    }
    // P(X <= m) = I_{1/2}(n - m, m + 1).
    let cdf = beta_inc((n - m) as f64, (m + 1) as f64, 0.5);
    (2.0 * cdf).min(1.0)
}

/// McNemar's test on the discordant pairs of paired predictions: `b` images only the first model
/// got right, `c` only the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct McNemar {
    pub b: u64,
    pub c: u64,
    /// Exact: the two-sided binomial test of b in b + c at 1/2.
    pub p_exact: f64,
    /// (|b - c| - 1)^2 / (b + c), with the continuity correction (0 when |b - c| <= 1).
    pub chi2: f64,
    /// The chi-square statistic's p-value with 1 degree of freedom.
    pub p_chi2: f64,
}

/// McNemar's exact and chi-square (continuity-corrected) tests.
pub(crate) fn mcnemar(b: u64, c: u64) -> McNemar {
    let n = b + c;
    let chi2 = if n == 0 {
        0.0
    } else {
        let d = ((b as f64 - c as f64).abs() - 1.0).max(0.0);
        d * d / n as f64
    };
    McNemar { b, c, p_exact: binom_test_half(b, n), chi2, p_chi2: if n == 0 { 1.0 } else { chi2_sf(chi2, 1.0) } }
}

/// McNemar's test combined over runs (strata) by pooling their discordant pairs: the
/// Mantel-Haenszel test for matched pairs, whose statistic (Σb - Σc)^2 / Σ(b + c) is McNemar's
/// on the summed counts; the exact version is the binomial test of Σb in Σ(b + c). Runs in
/// which the models disagree in direction cancel, unlike a combination of per-run p-values.
pub(crate) fn mcnemar_pooled(runs: &[(u64, u64)]) -> McNemar {
    let (b, c) = runs.iter().fold((0, 0), |(b, c), (x, y)| (b + x, c + y));
    mcnemar(b, c)
}

/// Accuracy and macro-F1 of predictions (macro-F1 over the classes that occur in the labels or
/// predictions, as `fer_core::records::classification`).
pub(crate) fn accuracy_and_macro_f1(labels: &[i64], preds: &[i64], classes: usize) -> (f64, f64) {
    let mut confusion = vec![0u64; classes * classes];
    let mut n = 0u64;
    for (&y, &p) in labels.iter().zip(preds) {
        if (0..classes as i64).contains(&y) && (0..classes as i64).contains(&p) {
            confusion[y as usize * classes + p as usize] += 1;
        }
        n += 1;
    }
    scores(&confusion, classes, n)
}

/// Accuracy and macro-F1 of a confusion matrix (row-major, `k` x `k`) over `n` images.
fn scores(confusion: &[u64], k: usize, n: u64) -> (f64, f64) {
    let mut correct = 0u64;
    let (mut f1_sum, mut f1_n) = (0.0, 0u32);
    for c in 0..k {
        let tp = confusion[c * k + c];
        correct += tp;
        let support: u64 = confusion[c * k..(c + 1) * k].iter().sum();
        let predicted: u64 = (0..k).map(|r| confusion[r * k + c]).sum();
        if support > 0 || predicted > 0 {
            // F1 = 2 tp / (support + predicted).
            f1_sum += 2.0 * tp as f64 / (support + predicted) as f64;
            f1_n += 1;
        }
    }
    let acc = if n > 0 { correct as f64 / n as f64 } else { 0.0 };
    (acc, if f1_n > 0 { f1_sum / f1_n as f64 } else { 0.0 })
}

/// The `q`-th percentile (0..=100) of sorted values, interpolated linearly between the closest
/// ranks (numpy's default).
pub(crate) fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// Percentile-bootstrap intervals of accuracy and macro-F1 over the test images of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bootstrap {
    pub accuracy: Interval,
    pub macro_f1: Interval,
}

/// The resamples of a bootstrap over n images: how often each image is drawn in each resample
/// (n draws with replacement per resample, image = `SplitMix64::below(n)` from the seed, in
/// order). They depend only on n and the seed, so the runs on one test set share them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resamples {
    n: usize,
    resamples: usize,
    /// `counts[b * n + i]`: draws of image i in resample b.
    counts: Vec<u32>,
}

impl Resamples {
    pub(crate) fn new(n: usize, resamples: usize, seed: u64) -> Resamples {
        let mut rng = SplitMix64::new(seed);
        let mut counts = vec![0u32; n * resamples];
        for b in 0..resamples {
            let row = &mut counts[b * n..(b + 1) * n];
            for _ in 0..n {
                row[rng.below(n as u64) as usize] += 1;
            }
        }
        Resamples { n, resamples, counts }
    }

    pub(crate) fn images(&self) -> usize {
        self.n
    }

    /// The percentile intervals at `level` of accuracy and macro-F1 of these predictions over the
    /// resamples (between the (1 - level)/2 and (1 + level)/2 percentiles); the estimate is the
    /// score of the predictions themselves. `None` unless there are n > 0 predictions.
    pub(crate) fn intervals(&self, labels: &[i64], preds: &[i64], classes: usize, level: f64) -> Option<Bootstrap> {
        let n = self.n;
        if n == 0 || labels.len() != n || preds.len() != n || classes == 0 || self.resamples == 0 {
            return None;
        }
        let k = classes;
        // Images outside the classes count as wrong and in no cell (as `classification` does).
        let cell: Vec<usize> = labels
            .iter()
            .zip(preds)
            .map(|(&y, &p)| {
                if (0..k as i64).contains(&y) && (0..k as i64).contains(&p) {
                    y as usize * k + p as usize
                } else {
                    k * k
                }
            })
            .collect();
        let mut confusion = vec![0u64; k * k + 1];
        let (mut accs, mut f1s) = (Vec::with_capacity(self.resamples), Vec::with_capacity(self.resamples));
        for row in self.counts.chunks_exact(n) {
            confusion.iter_mut().for_each(|v| *v = 0);
            for (&c, &m) in cell.iter().zip(row) {
                confusion[c] += m as u64;
            }
            let (a, f) = scores(&confusion[..k * k], k, n as u64);
            accs.push(a);
            f1s.push(f);
        }
        accs.sort_by(f64::total_cmp);
        f1s.sort_by(f64::total_cmp);
        let (lo_q, hi_q) = (50.0 * (1.0 - level), 50.0 * (1.0 + level));
        let (acc, f1) = accuracy_and_macro_f1(labels, preds, k);
        Some(Bootstrap {
            accuracy: Interval {
                estimate: acc,
                low: percentile_sorted(&accs, lo_q),
                high: percentile_sorted(&accs, hi_q),
            },
            macro_f1: Interval {
                estimate: f1,
                low: percentile_sorted(&f1s, lo_q),
                high: percentile_sorted(&f1s, hi_q),
            },
        })
    }
}

/// The percentile bootstrap at `level` over images: `resamples` resamples of the n images drawn
/// with replacement from `seed` ([`Resamples`]), each scored (accuracy, macro-F1).
#[cfg(test)]
pub(crate) fn bootstrap(
    labels: &[i64],
    preds: &[i64],
    classes: usize,
    resamples: usize,
    seed: u64,
    level: f64,
) -> Option<Bootstrap> {
    let n = labels.len().min(preds.len());
    Resamples::new(n, resamples, seed).intervals(&labels[..n], &preds[..n], classes, level)
}

/// The expected calibration error over `bins` equal-width bins of confidence ((m-1)/M, m/M]
/// (a confidence of 0 in the first): Σ_m |B_m|/n |accuracy(B_m) - mean confidence(B_m)| (Guo et
/// al., 2017). `None` without images.
pub(crate) fn ece(confidence: &[f64], correct: &[bool], bins: usize) -> Option<f64> {
    let n = confidence.len().min(correct.len());
    if n == 0 || bins == 0 {
        return None;
    }
    let mut count = vec![0u64; bins];
    let mut conf_sum = vec![0.0; bins];
    let mut right = vec![0u64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = bin_of(c, bins);
        count[b] += 1;
        conf_sum[b] += c;
        right[b] += ok as u64;
    }
    let mut e = 0.0;
    for b in 0..bins {
        if count[b] > 0 {
            let k = count[b] as f64;
            e += k / n as f64 * (right[b] as f64 / k - conf_sum[b] / k).abs();
        }
    }
    Some(e)
}

/// The bin of confidence `c`: the m with (m/M < c <= (m+1)/M), edges compared as `m / M`.
fn bin_of(c: f64, bins: usize) -> usize {
    let guess = ((c * bins as f64).ceil() as isize - 1).clamp(0, bins as isize - 1) as usize;
    // Settle the float rounding of c * M against the edges m / M themselves.
    let mut b = guess;
    while b > 0 && c <= b as f64 / bins as f64 {
        b -= 1;
    }
    while b + 1 < bins && c > (b + 1) as f64 / bins as f64 {
        b += 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../tests/fixtures/stats.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).expect("tests/fixtures/stats.json parses")
    }

    fn f(v: &Value, k: &str) -> f64 {
        v[k].as_f64().unwrap_or_else(|| panic!("`{k}` in {v}"))
    }

    fn u(v: &Value, k: &str) -> u64 {
        v[k].as_u64().unwrap_or_else(|| panic!("`{k}` in {v}"))
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    }

    fn ints(v: &Value) -> Vec<i64> {
        v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
    }

    /// `ours` within `rel` of scipy's `theirs` (relative, or absolute below 1e-300).
    fn close(ours: f64, theirs: f64, rel: f64, what: &str) {
        let tol = rel * theirs.abs().max(1e-300);
        assert!((ours - theirs).abs() <= tol, "{what}: ours {ours:e}, scipy {theirs:e} (rel {rel:e})");
    }

    #[test]
    fn t_quantiles_and_cdf_match_scipy() {
        let fx = fixture();
        for c in fx["t_quantile"].as_array().unwrap() {
            let (p, df) = (f(c, "p"), f(c, "df"));
            close(t_quantile(p, df), f(c, "value"), 1e-10, &format!("t quantile p={p} df={df}"));
        }
        for c in fx["t_cdf"].as_array().unwrap() {
            let (t, df) = (f(c, "t"), f(c, "df"));
            close(t_cdf(t, df), f(c, "value"), 1e-10, &format!("t cdf t={t} df={df}"));
        }
        assert_eq!(t_quantile(0.5, 3.0), 0.0);
        assert!(t_quantile(1.0, 3.0).is_nan() && t_quantile(0.9, 0.0).is_nan());
    }

    #[test]
    fn incomplete_beta_and_chi_square_match_scipy() {
        let fx = fixture();
        for c in fx["beta_inc"].as_array().unwrap() {
            let (a, b, x) = (f(c, "a"), f(c, "b"), f(c, "x"));
            close(beta_inc(a, b, x), f(c, "value"), 1e-10, &format!("I_{x}({a}, {b})"));
        }
        for c in fx["chi2_sf"].as_array().unwrap() {
            let (x, df) = (f(c, "x"), f(c, "df"));
            close(chi2_sf(x, df), f(c, "value"), 1e-10, &format!("chi2 sf x={x} df={df}"));
        }
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-14, "ln Γ(1/2)");
        close(ln_gamma(10.0), 362_880f64.ln(), 1e-14, "ln Γ(10)");
    }

    #[test]
    fn t_intervals_match_scipy() {
        let fx = fixture();
        for c in fx["t_interval"].as_array().unwrap() {
            let v = floats(&c["values"]);
            let i = t_interval(&v, f(c, "level")).unwrap();
            close(i.estimate, f(c, "mean"), 1e-12, "mean");
            close(i.low, f(c, "low"), 1e-9, &format!("low of {v:?}"));
            close(i.high, f(c, "high"), 1e-9, &format!("high of {v:?}"));
        }
        assert_eq!(t_interval(&[0.5], 0.95), None, "one run has no t-interval");
        let i = t_interval(&[0.4, 0.6], 0.95).unwrap();
        assert!(i.excludes(-7.0) && !i.excludes(0.5));
    }

    #[test]
    fn binomial_and_mcnemar_tests_match_scipy() {
        let fx = fixture();
        for c in fx["binom_test"].as_array().unwrap() {
            let (k, n) = (u(c, "k"), u(c, "n"));
            close(binom_test_half(k, n), f(c, "p"), 1e-10, &format!("binomtest({k}, {n})"));
        }
        let check = |m: McNemar, c: &Value, what: &str| {
            assert_eq!((m.b, m.c), (u(c, "b"), u(c, "c")), "{what}");
            close(m.p_exact, f(c, "p_exact"), 1e-10, &format!("{what} exact"));
            close(m.chi2, f(c, "chi2"), 1e-12, &format!("{what} chi2"));
            close(m.p_chi2, f(c, "p_chi2"), 1e-10, &format!("{what} p chi2"));
        };
        for c in fx["mcnemar"].as_array().unwrap() {
            check(mcnemar(u(c, "b"), u(c, "c")), c, "mcnemar");
        }
        for c in fx["mcnemar_pooled"].as_array().unwrap() {
            let runs: Vec<(u64, u64)> = c["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()))
                .collect();
            check(mcnemar_pooled(&runs), c, "pooled");
        }
    }

    #[test]
    fn ece_matches_the_reference() {
        let fx = fixture();
        for c in fx["ece"].as_array().unwrap() {
            let conf = floats(&c["confidence"]);
            let ok: Vec<bool> = c["correct"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
            let bins = u(c, "bins") as usize;
            close(ece(&conf, &ok, bins).unwrap(), f(c, "value"), 1e-12, &format!("ece ({} images)", conf.len()));
        }
        // By hand: (|1 - 0.95| + |0 - 0.9| + 2 |1 - 0.575| + |0 - 0.3|) / 5 = 0.42.
        close(ece(&[0.95, 0.9, 0.6, 0.55, 0.3], &[true, false, true, true, false], 15).unwrap(), 0.42, 1e-12, "hand");
        assert_eq!(ece(&[1.0, 1.0], &[true, true], 15), Some(0.0), "perfectly calibrated");
        assert_eq!(ece(&[], &[], 15), None);
    }

    #[test]
    fn bootstrap_matches_the_reference_and_is_deterministic() {
        let fx = fixture();
        for c in fx["bootstrap"].as_array().unwrap() {
            let (labels, preds) = (ints(&c["labels"]), ints(&c["preds"]));
            let b = bootstrap(
                &labels,
                &preds,
                u(c, "classes") as usize,
                u(c, "resamples") as usize,
                u(c, "seed"),
                f(c, "level"),
            )
            .unwrap();
            for (name, i) in [("accuracy", b.accuracy), ("macro_f1", b.macro_f1)] {
                let want = floats(&c[name]);
                close(i.estimate, want[0], 1e-12, &format!("{name} estimate"));
                close(i.low, want[1], 1e-9, &format!("{name} low"));
                close(i.high, want[2], 1e-9, &format!("{name} high"));
            }
            let again = bootstrap(
                &labels,
                &preds,
                u(c, "classes") as usize,
                u(c, "resamples") as usize,
                u(c, "seed"),
                f(c, "level"),
            );
            assert_eq!(again, Some(b), "same seed, same interval");
        }
        // All right: the interval is the point.
        let all = bootstrap(&[0, 1, 2, 1], &[0, 1, 2, 1], 3, 200, 1, 0.95).unwrap();
        assert_eq!((all.accuracy.low, all.accuracy.high), (1.0, 1.0));
        assert_eq!(bootstrap(&[], &[], 3, 200, 1, 0.95), None);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&v, 100.0), 8.0);
        assert_eq!(percentile_sorted(&v, 50.0), 3.0);
        assert!((percentile_sorted(&v, 2.5) - 1.075).abs() < 1e-12);
    }

    /// The committed fixture is exactly what `scripts/stats-fixtures.py` computes (needs the
    /// venv's scipy: `scripts/setup --test` installs it), so it cannot drift from scipy.
    #[test]
    fn fixture_is_what_the_script_produces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = std::env::var_os("FER_BENCH_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("stats.json");
        let o = std::process::Command::new(&python)
            .arg(root.join("scripts/stats-fixtures.py"))
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("failed to run `{}` (scripts/setup --test makes it): {e}", python.display()));
        assert!(
            o.status.success(),
            "scripts/stats-fixtures.py failed (it needs scipy: scripts/setup --test installs it): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let fresh: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let mut committed = fixture();
        // Only the version line may differ; every number must agree to the last few bits.
        committed["scipy"] = fresh["scipy"].clone();
        same(&committed, &fresh, "$");
    }

    fn same(a: &Value, b: &Value, path: &str) {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
                close(x.as_f64().unwrap(), y.as_f64().unwrap(), 1e-13, path);
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}: lengths differ");
                for (i, (x, y)) in x.iter().zip(y).enumerate() {
                    same(x, y, &format!("{path}[{i}]"));
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{path}: keys differ");
                for (k, v) in x {
                    same(v, &y[k], &format!("{path}.{k}"));
                }
            }
            _ => assert_eq!(a, b, "{path}: the committed fixture differs from the script's output"),
        }
    }
}
