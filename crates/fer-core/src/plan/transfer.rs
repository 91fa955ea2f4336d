//! Domain shift (`analyses: {domain_shift: true}`): a `transfer` job tests a model trained on one
//! data set on another data set's test split, over the classes both share (by canonical name).
//! Data sets with a fixed split give their test split; data sets with k folds give all their
//! images (a model trained elsewhere has seen none of them).

use serde::{Deserialize, Serialize};

use super::hash::JobHash;
use crate::spec::{DatasetSpec, ModelSpec};

/// A trained model tested on another data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferSpec {
    pub model: ModelSpec,
    /// The trained model's outputs.
    pub classes: usize,
    /// The train entry (trained on data set A).
    pub weights: JobHash,
    /// The prepare entry of data set B, at the model's prepared size.
    pub data: JobHash,
    /// The shared classes (canonical names), in B's class order ...
    pub shared: Vec<String>,
    /// ... each one's index among the model's outputs ...
    pub outputs: Vec<u32>,
    /// ... and among B's labels.
    pub labels: Vec<u32>,
}

/// A data set's class names on the canonical label set, in its label order.
pub fn canonical_classes(d: &DatasetSpec) -> Vec<String> {
    match d {
        DatasetSpec::Synthetic(_) => {
            crate::data::synthetic::CLASS_NAMES[..d.classes()].iter().map(|s| s.to_string()).collect()
        }
        DatasetSpec::Real(r) => r.class_names.clone(),
    }
}

/// The classes `trained` and `tested` share: (names in `tested`'s order, index in `trained`,
/// index in `tested`).
pub fn shared_classes(trained: &[String], tested: &[String]) -> (Vec<String>, Vec<u32>, Vec<u32>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (j, c) in tested.iter().enumerate() {
        if let Some(i) = trained.iter().position(|t| t == c) {
            out.0.push(c.clone());
            out.1.push(i as u32);
            out.2.push(j as u32);
        }
    }
    out
}

/// Data sets need at least this many shared classes for a transfer job (one class is no test).
pub const MIN_SHARED: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shared_classes_follow_the_tested_sets_order_by_name() {
        let fer = names(&["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]);
        let oulu = names(&["angry", "disgust", "fear", "happy", "sad", "surprise"]);
        let ck = names(&["neutral", "angry", "contempt", "disgust", "fear", "happy", "sad", "surprise"]);
        let (s, a, b) = shared_classes(&fer, &ck);
        assert_eq!(s, names(&["neutral", "angry", "disgust", "fear", "happy", "sad", "surprise"]));
        assert_eq!((a, b), (vec![6, 0, 1, 2, 3, 4, 5], vec![0, 1, 3, 4, 5, 6, 7]));
        let (s, _, b) = shared_classes(&ck, &oulu);
        assert_eq!((s.len(), b), (6, vec![0, 1, 2, 3, 4, 5]));
        assert!(shared_classes(&names(&["x"]), &oulu).0.is_empty());
    }
}
