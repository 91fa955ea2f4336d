//! Subject-independent folds (validation drawn from the training subjects of each fold), stratified and
//! random (subject-dependent) splits, and the train / validation / test split of a loaded data set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::loaders::Loaded;
use super::manifest::Protocol;
use crate::rng::{derive, SplitMix64};

/// Which part of the data an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Split {
    Train = 0,
    Val = 1,
    Test = 2,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Assigns each subject to a split: a seeded shuffle, test first, then validation, then train.
pub fn subject_split(subjects: u32, seed: u64, val: f64, test: f64) -> Vec<Split> {
    let mut order: Vec<u32> = (0..subjects).collect();
    SplitMix64::new(derive(seed, &[0x5_9117])).shuffle(&mut order);
    let n = subjects as f64;
    let n_test = ((n * test).round() as usize).max(1);
    let n_val = if val > 0.0 { ((n * val).round() as usize).max(1) } else { 0 };
    let mut out = vec![Split::Train; subjects as usize];
    for (rank, &subj) in order.iter().enumerate() {
        out[subj as usize] = if rank < n_test {
            Split::Test
        } else if rank < n_test + n_val {
            Split::Val
        } else {
            Split::Train
        };
    }
    out
}

const FOLDS_TAG: u64 = 0xF01D5;
const STRATIFIED_TAG: u64 = 0x57A7;
const KFOLD_VAL_TAG: u64 = 0x7A11D;
const RANDOM_TAG: u64 = 0x2A4D0;

/// Assigns every distinct subject to one of `k` folds and returns the fold of each item.
///
/// No subject is in two folds. Balanced by images: subjects, in a seeded shuffle and then by
/// decreasing number of images, each go to the fold with the fewest images so far (ties: fewest
/// subjects, then lowest fold). Deterministic for given (subjects, k, seed), whatever the item order.
pub fn subject_folds(subjects: &[String], k: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for s in subjects {
        *count.entry(s.as_str()).or_default() += 1;
    }
    if k < 2 {
        return Err(DataError::Split(format!("`{k}` folds: at least 2 are needed")));
    }
    if count.len() < k {
        return Err(DataError::Split(format!(
            "`{k}` subject folds need at least `{k}` subjects, found `{}`",
            count.len()
        )));
    }
    let mut order: Vec<(&str, usize)> = count.into_iter().collect();
    SplitMix64::new(derive(seed, &[FOLDS_TAG, k as u64])).shuffle(&mut order);
    order.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let mut images = vec![0usize; k];
    let mut members = vec![0usize; k];
    let mut fold_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, n) in order {
        let f = (0..k).min_by_key(|&f| (images[f], members[f], f)).unwrap_or(0);
        images[f] += n;
        members[f] += 1;
        fold_of.insert(s, f);
    }
    Ok(subjects.iter().map(|s| fold_of[s.as_str()]).collect())
}

/// The split of each item when fold `test_fold` of `k` is the test set: every other fold trains,
/// except `max(1, round(val x n))` of their `n` subjects, drawn by a seeded shuffle (per fold), which
/// validate. Subject-independent: no subject is in two splits. Needs two subjects outside the test fold.
pub fn kfold_split(
    subjects: &[String],
    folds: &[usize],
    k: usize,
    test_fold: usize,
    val: f64,
    seed: u64,
) -> Result<Vec<Split>, DataError> {
    let training: std::collections::BTreeSet<&str> =
        subjects.iter().zip(folds).filter(|(_, &f)| f != test_fold).map(|(s, _)| s.as_str()).collect();
    if training.len() < 2 {
        return Err(DataError::Split(format!(
            "fold `{test_fold}` of `{k}` leaves `{}` subject(s) to train and validate on; at least 2 are needed",
            training.len()
        )));
    }
    let mut order: Vec<&str> = training.into_iter().collect();
    SplitMix64::new(derive(seed, &[KFOLD_VAL_TAG, k as u64, test_fold as u64])).shuffle(&mut order);
    let n_val = kfold_val_subjects(order.len(), val);
    let validating: std::collections::BTreeSet<&str> = order[..n_val].iter().copied().collect();
    Ok(subjects
        .iter()
        .zip(folds)
        .map(|(s, &f)| {
            if f == test_fold {
                Split::Test
            } else if validating.contains(s.as_str()) {
                Split::Val
            } else {
                Split::Train
            }
        })
        .collect())
}

/// How many of `n` training subjects validate under a k-fold protocol with fraction `val`: at least
/// one, and at least one is left to train.
pub fn kfold_val_subjects(n: usize, val: f64) -> usize {
    ((n as f64 * val).round() as usize).max(1).min(n.saturating_sub(1))
}

/// Refuses fractions that cannot split anything.
fn check_fractions(val: f64, test: f64) -> Result<(), DataError> {
    if !(0.0..1.0).contains(&val) || !(0.0..1.0).contains(&test) || val + test >= 1.0 {
        return Err(DataError::Split(format!("fractions val `{val}` and test `{test}` must be in 0..1 with sum < 1")));
    }
    Ok(())
}

/// Deals the shuffled items `idx`: the first `round(n * test)` to test, the next `round(n * val)`
/// to validation, the rest to train.
fn deal(idx: &[usize], val: f64, test: f64, out: &mut [Split]) {
    let n = idx.len() as f64;
    let n_test = (n * test).round() as usize;
    let n_val = ((n * val).round() as usize).min(idx.len() - n_test);
    for (rank, &i) in idx.iter().enumerate() {
        out[i] = if rank < n_test {
            Split::Test
        } else if rank < n_test + n_val {
            Split::Val
        } else {
            Split::Train
        };
    }
}

/// A random, subject-dependent split (the Deep-Emotion paper's): one seeded shuffle of all items,
/// then `round(n * test)` to test, `round(n * val)` to validation, the rest to train.
pub fn random_split(n: usize, val: f64, test: f64, seed: u64) -> Result<Vec<Split>, DataError> {
    check_fractions(val, test)?;
    let mut idx: Vec<usize> = (0..n).collect();
    SplitMix64::new(derive(seed, &[RANDOM_TAG])).shuffle(&mut idx);
    let mut out = vec![Split::Train; n];
    deal(&idx, val, test, &mut out);
    Ok(out)
}

/// A fixed split stratified by class: per class, a seeded shuffle, then `round(n * test)` items to
/// test, `round(n * val)` to validation, the rest to train.
pub fn stratified_split(labels: &[usize], val: f64, test: f64, seed: u64) -> Result<Vec<Split>, DataError> {
    check_fractions(val, test)?;
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i);
    }
    let mut out = vec![Split::Train; labels.len()];
    for (class, mut idx) in by_class {
        SplitMix64::new(derive(seed, &[STRATIFIED_TAG, class as u64])).shuffle(&mut idx);
        deal(&idx, val, test, &mut out);
    }
    Ok(out)
}

/// The split of each item of `loaded` under `protocol`; `fold` (0-based) is required for subject k-fold.
pub fn assign_splits(protocol: &Protocol, loaded: &Loaded, fold: Option<usize>) -> Result<Vec<Split>, DataError> {
    match *protocol {
        Protocol::Usage => loaded
            .items
            .iter()
            .map(|it| {
                it.usage.map(|u| u.split()).ok_or_else(|| {
                    DataError::Split(format!(
                        "protocol `usage` needs a `Usage` column, and `{}` has none (Kaggle's `train.csv`?); \
                         use `fer2013.csv` or `icml_face_data.csv`, or the `stratified` protocol",
                        it.source
                    ))
                })
            })
            .collect(),
        Protocol::SubjectKfold { folds: k, seed, val } => {
            let f = fold.ok_or_else(|| DataError::Split(format!("protocol `subject-kfold` needs a fold in 0..{k}")))?;
            if f >= k {
                return Err(DataError::Split(format!("fold `{f}` is out of range 0..{k}")));
            }
            let subjects = loaded.subjects();
            let folds = subject_folds(&subjects, k, seed)?;
            kfold_split(&subjects, &folds, k, f, val, seed)
        }
        Protocol::Stratified { val, test, seed } => stratified_split(&loaded.labels(), val, test, seed),
        Protocol::Random { val, test, seed } => random_split(loaded.items.len(), val, test, seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(spec: &[(&str, usize)]) -> Vec<String> {
        spec.iter().flat_map(|&(s, n)| std::iter::repeat_n(s.to_string(), n)).collect()
    }

    #[test]
    fn folds_are_subject_independent_balanced_and_deterministic() {
        let spec: Vec<(String, usize)> = (0..23).map(|i| (format!("S{i:03}"), 1 + (i * 7) % 5)).collect();
        let spec_ref: Vec<(&str, usize)> = spec.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        let subj = subjects(&spec_ref);
        let a = subject_folds(&subj, 5, 42).unwrap();
        assert_eq!(a, subject_folds(&subj, 5, 42).unwrap());
        assert_ne!(a, subject_folds(&subj, 5, 43).unwrap());
        // No subject in two folds.
        let mut fold_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (s, &f) in subj.iter().zip(&a) {
            assert_eq!(*fold_of.entry(s.as_str()).or_insert(f), f, "subject {s} in two folds");
        }
        // Every fold used; image counts within the largest subject's size of each other.
        let mut per = vec![0; 5];
        for &f in &a {
            per[f] += 1;
        }
        assert!(per.iter().all(|&n| n > 0));
        assert!(per.iter().max().unwrap() - per.iter().min().unwrap() <= 5, "{per:?}");
        // The same subjects in another item order get the same folds.
        let mut rev = subj.clone();
        rev.reverse();
        let b = subject_folds(&rev, 5, 42).unwrap();
        for (s, f) in rev.iter().zip(b) {
            assert_eq!(fold_of[s.as_str()], f);
        }
        assert!(subject_folds(&subjects(&[("a", 1), ("b", 1)]), 3, 0).is_err());
        assert!(subject_folds(&subj, 1, 0).is_err());
    }

    /// 20 subjects in 4 folds of 5: fold 2 tests; of the 15 others, round(0.1 x 15) = 2 validate
    /// (not a whole fold, as before) and 13 train; no subject is in two splits.
    #[test]
    fn kfold_validation_is_drawn_from_the_training_subjects() {
        let subj: Vec<String> = (0..20).flat_map(|i| std::iter::repeat_n(format!("S{i:02}"), 3)).collect();
        let folds: Vec<usize> = (0..60).map(|i| (i / 3) % 4).collect();
        let s = kfold_split(&subj, &folds, 4, 2, 0.1, 0).unwrap();
        let who = |sp: Split| -> std::collections::BTreeSet<&str> {
            subj.iter().zip(&s).filter(|(_, x)| **x == sp).map(|(n, _)| n.as_str()).collect()
        };
        assert_eq!((who(Split::Test).len(), who(Split::Val).len(), who(Split::Train).len()), (5, 2, 13));
        assert!(subj.iter().zip(&folds).zip(&s).all(|((_, &f), &x)| (f == 2) == (x == Split::Test)));
        assert!(who(Split::Val).is_disjoint(&who(Split::Train)));
        assert_eq!(s, kfold_split(&subj, &folds, 4, 2, 0.1, 0).unwrap(), "deterministic");
        let other_fold = kfold_split(&subj, &folds, 4, 1, 0.1, 0).unwrap();
        assert_eq!(other_fold.iter().filter(|x| **x == Split::Test).count(), 15);
        // JAFFE-like: 10 subjects, one per fold: one validates, 8 train; the fraction is a setting.
        assert_eq!(kfold_val_subjects(9, 0.1), 1);
        assert_eq!(kfold_val_subjects(15, 0.34), 5);
        assert_eq!(kfold_val_subjects(1, 0.1), 0);
        let two = ["a", "a", "b"].map(String::from);
        assert!(kfold_split(&two, &[0, 0, 1], 2, 1, 0.1, 0).unwrap_err().to_string().contains("at least 2"));
    }

    #[test]
    fn random_split_is_sized_seeded_and_subject_dependent() {
        let s = random_split(42, 0.1, 0.2, 3).unwrap();
        let n = |sp: Split| s.iter().filter(|x| **x == sp).count();
        assert_eq!((n(Split::Train), n(Split::Val), n(Split::Test)), (30, 4, 8));
        assert_eq!(s, random_split(42, 0.1, 0.2, 3).unwrap());
        assert_ne!(s, random_split(42, 0.1, 0.2, 4).unwrap());
        assert!(random_split(10, 0.6, 0.5, 0).is_err());
    }

    #[test]
    fn stratified_is_per_class_and_deterministic() {
        let labels: Vec<usize> = (0..200).map(|i| if i < 150 { 0 } else { 1 }).collect();
        let s = stratified_split(&labels, 0.1, 0.2, 7).unwrap();
        assert_eq!(s, stratified_split(&labels, 0.1, 0.2, 7).unwrap());
        let count = |c: usize, sp: Split| labels.iter().zip(&s).filter(|(l, x)| **l == c && **x == sp).count();
        assert_eq!((count(0, Split::Test), count(0, Split::Val), count(0, Split::Train)), (30, 15, 105));
        assert_eq!((count(1, Split::Test), count(1, Split::Val), count(1, Split::Train)), (10, 5, 35));
        assert!(stratified_split(&labels, 0.5, 0.5, 0).is_err());
    }
}
