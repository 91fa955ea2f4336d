#!/usr/bin/env python3
"""Known answers for the report's statistics (crates/fer-report/src/stats.rs), from scipy.

Writes crates/fer-report/tests/fixtures/stats.json (or the path given as the only argument).
The Rust unit tests compare their numbers with this file, and a test runs this script again and
checks that the committed file is what it produces, so the fixture cannot drift.

    .venv/bin/python scripts/stats-fixtures.py            # rewrites the committed fixture
    .venv/bin/python scripts/stats-fixtures.py out.json   # writes elsewhere

Everything here is a pure function of the fixed inputs below: scipy.stats for the distributions
and tests; numpy for the expected calibration error and the percentile bootstrap, whose
resamples come from the same SplitMix64 generator the report uses (fer_core::rng), reimplemented
below, so that the percentile arithmetic and the resampling are checked, not only the generator.
"""

import json
import os
import sys

import numpy as np
import scipy
import scipy.stats as st

MASK = (1 << 64) - 1


class SplitMix64:
    """fer_core::rng::SplitMix64: next_u64 and below(n) = (next_u64 * n) >> 64."""

    def __init__(self, seed):
        self.x = seed & MASK

    def next_u64(self):
        self.x = (self.x + 0x9E3779B97F4A7C15) & MASK
        z = self.x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return (self.next_u64() * n) >> 64


def scores(labels, preds, classes):
    """Accuracy and macro-F1 (classes present in labels or predictions)."""
    labels = np.asarray(labels)
    preds = np.asarray(preds)
    acc = float(np.mean(labels == preds)) if len(labels) else 0.0
    f1s = []
    for c in range(classes):
        tp = int(np.sum((labels == c) & (preds == c)))
        support = int(np.sum(labels == c))
        predicted = int(np.sum(preds == c))
        if support + predicted > 0:
            f1s.append(2.0 * tp / (support + predicted))
    return acc, (float(np.mean(f1s)) if f1s else 0.0)


def bootstrap(labels, preds, classes, resamples, seed, level):
    rng = SplitMix64(seed)
    n = len(labels)
    accs, f1s = [], []
    for _ in range(resamples):
        idx = [rng.below(n) for _ in range(n)]
        a, f = scores([labels[i] for i in idx], [preds[i] for i in idx], classes)
        accs.append(a)
        f1s.append(f)
    q = [50.0 * (1 - level), 50.0 * (1 + level)]
    acc, f1 = scores(labels, preds, classes)
    lo_a, hi_a = np.percentile(accs, q)
    lo_f, hi_f = np.percentile(f1s, q)
    return {"accuracy": [acc, float(lo_a), float(hi_a)], "macro_f1": [f1, float(lo_f), float(hi_f)]}


def ece(confidence, correct, bins):
    """Guo et al. (2017): bins ((m-1)/M, m/M]; a confidence of 0 in the first bin."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    n = len(confidence)
    total = 0.0
    for m in range(bins):
        lo, hi = m / bins, (m + 1) / bins
        mask = (confidence > lo) & (confidence <= hi)
        if m == 0:
            mask |= confidence <= 0.0
        k = int(mask.sum())
        if k:
            total += k / n * abs(correct[mask].mean() - confidence[mask].mean())
    return total


def mcnemar(b, c):
    n = b + c
    if n == 0:
        return {"b": b, "c": c, "p_exact": 1.0, "chi2": 0.0, "p_chi2": 1.0}
    chi2 = max(abs(b - c) - 1, 0) ** 2 / n
    return {
        "b": b,
        "c": c,
        "p_exact": float(st.binomtest(b, n, 0.5).pvalue),
        "chi2": float(chi2),
        "p_chi2": float(st.chi2.sf(chi2, 1)),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "crates", "fer-report", "tests", "fixtures", "stats.json"
    )
    rng = np.random.default_rng(14)
    fx = {"generated_by": "scripts/stats-fixtures.py", "scipy": scipy.__version__}

    fx["t_quantile"] = [
        {"p": p, "df": df, "value": float(st.t.ppf(p, df))}
        for p in [0.975, 0.995, 0.9, 0.025, 0.6]
        for df in [1, 2, 3, 4, 5, 9, 29, 100, 1000, 2.5]
    ]
    fx["t_cdf"] = [
        {"t": t, "df": df, "value": float(st.t.cdf(t, df))}
        for t in [-8.0, -3.5, -1.0, 0.3, 2.0, 12.0]
        for df in [1, 2.5, 7, 30]
    ]
    fx["beta_inc"] = [
        {"a": a, "b": b, "x": x, "value": float(scipy.special.betainc(a, b, x))}
        for (a, b, x) in [
            (2, 3, 0.4),
            (0.5, 0.5, 0.1),
            (10, 0.5, 0.9),
            (0.5, 10, 0.02),
            (500, 501, 0.5),
            (4000, 3, 0.5),
            (7.5, 2.25, 0.75),
            (30, 40, 0.45),
        ]
    ]
    fx["chi2_sf"] = [
        {"x": x, "df": df, "value": float(st.chi2.sf(x, df))}
        for x in [0.001, 0.5, 1.0, 3.841458820694124, 10.0, 50.0]
        for df in [1, 2, 5]
    ]
    intervals = [
        [0.41, 0.44, 0.46],
        [0.25, 0.3],
        [0.51, 0.49, 0.55, 0.47, 0.5, 0.52, 0.53, 0.48, 0.5, 0.46],
        [-0.02, 0.013, 0.031, -0.005, 0.0],
        [float(v) for v in np.round(rng.normal(0.6, 0.05, 30), 6)],
    ]
    fx["t_interval"] = []
    for v in intervals:
        lo, hi = st.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=st.sem(v))
        fx["t_interval"].append({"values": v, "level": 0.95, "mean": float(np.mean(v)), "low": float(lo), "high": float(hi)})
    fx["binom_test"] = [
        {"k": k, "n": n, "p": float(st.binomtest(k, n, 0.5).pvalue)}
        for (k, n) in [(3, 10), (0, 5), (5, 10), (6, 10), (1, 20), (19, 20), (40, 100), (180, 400), (2000, 4500), (1, 1)]
    ]
    fx["mcnemar"] = [mcnemar(b, c) for (b, c) in [(0, 0), (5, 0), (10, 12), (30, 12), (3, 9), (120, 80), (1, 2), (7, 7)]]
    pooled = [[(10, 4), (8, 6), (12, 3)], [(5, 9), (9, 5)], [(40, 31), (22, 30), (35, 28), (0, 0)]]
    fx["mcnemar_pooled"] = []
    for runs in pooled:
        b = sum(r[0] for r in runs)
        c = sum(r[1] for r in runs)
        fx["mcnemar_pooled"].append({"runs": [list(r) for r in runs], **mcnemar(b, c)})

    fx["ece"] = []
    hand_conf = [0.95, 0.9, 0.6, 0.55, 0.3]
    hand_ok = [True, False, True, True, False]
    fx["ece"].append({"confidence": hand_conf, "correct": hand_ok, "bins": 15, "value": ece(hand_conf, hand_ok, 15)})
    conf = [float(v) for v in np.round(rng.uniform(1 / 7, 1.0, 200), 6)]
    ok = [bool(u < c) for u, c in zip(rng.uniform(0, 1, 200), conf)]
    fx["ece"].append({"confidence": conf, "correct": ok, "bins": 15, "value": ece(conf, ok, 15)})
    fx["ece"].append({"confidence": conf, "correct": ok, "bins": 10, "value": ece(conf, ok, 10)})

    labels = [int(v) for v in rng.integers(0, 4, 60)]
    preds = [y if u < 0.6 else int(r) for y, u, r in zip(labels, rng.uniform(0, 1, 60), rng.integers(0, 4, 60))]
    fx["bootstrap"] = [
        {"labels": labels, "preds": preds, "classes": 4, "resamples": 300, "seed": 2019, "level": 0.95,
         **bootstrap(labels, preds, 4, 300, 2019, 0.95)},
        {"labels": labels[:25], "preds": preds[:25], "classes": 5, "resamples": 101, "seed": 7, "level": 0.9,
         **bootstrap(labels[:25], preds[:25], 5, 101, 7, 0.9)},
    ]

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(fx, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
