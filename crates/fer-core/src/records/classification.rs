//! Classification metrics from labels and predictions: accuracy, macro-F1, per-class
//! precision/recall/F1 and the confusion matrix.

use serde::{Deserialize, Serialize};

/// Metrics of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub name: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Metrics over a test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

/// Computes metrics. Macro-F1 averages the classes that occur in the labels or predictions.
pub fn classification(labels: &[i64], preds: &[i64], class_names: &[String]) -> Classification {
    let k = class_names.len();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&y, &p) in labels.iter().zip(preds) {
        if (0..k as i64).contains(&y) && (0..k as i64).contains(&p) {
            confusion[y as usize][p as usize] += 1;
        }
    }
    let n = labels.len();
    let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
    let mut per_class = Vec::with_capacity(k);
    let mut f1s = Vec::new();
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let support: usize = confusion[c].iter().sum();
        let predicted: usize = (0..k).map(|r| confusion[r][c]).sum();
        let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        if support > 0 || predicted > 0 {
            f1s.push(f1);
        }
        per_class.push(ClassMetrics { name: class_names[c].clone(), precision, recall, f1, support });
    }
    Classification {
        n,
        accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
        macro_f1: if f1s.is_empty() { 0.0 } else { f1s.iter().sum::<f64>() / f1s.len() as f64 },
        per_class,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // a: 2 right, 1 as b; b: 1 right; c: 1 predicted as a.
        let m = classification(&[0, 0, 0, 1, 2], &[0, 0, 1, 1, 0], &names);
        assert_eq!(m.confusion, vec![vec![2, 1, 0], vec![0, 1, 0], vec![1, 0, 0]]);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        // a: p = 2/3, r = 2/3, f1 = 2/3; b: p = 1/2, r = 1, f1 = 2/3; c: 0.
        assert!((m.per_class[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.per_class[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - 4.0 / 9.0).abs() < 1e-12);
    }
}
