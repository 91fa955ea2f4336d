//! The nested training subsets of a `train_fraction` run: a fraction of the training split's
//! subjects (for data without subjects, each image is its own subject), the same for every model
//! and seed, and nested: the subjects kept at a smaller fraction are among those kept at a larger.

use std::collections::BTreeSet;

use crate::rng::derive;

const SUBSET_TAG: u64 = 0x5_0B5E7;

/// How many of `n` subjects a fraction keeps: `round(fraction x n)`, at least one (when there is
/// one) and at most `n`. Grows with the fraction, so the subsets nest.
pub fn kept_count(n: usize, fraction: f64) -> usize {
    if n == 0 {
        return 0;
    }
    ((n as f64 * fraction).round() as usize).clamp(1, n)
}

/// The subjects kept from `subjects` (the distinct subjects of a training split) at `fraction`:
/// the first [`kept_count`] in an order fixed by `seed` and each subject's id alone (not by which
/// other subjects are there), so every fraction's subjects are among a larger fraction's.
pub fn kept_subjects(subjects: &BTreeSet<i64>, fraction: f64, seed: u64) -> BTreeSet<i64> {
    let mut order: Vec<(u64, i64)> = subjects.iter().map(|&s| (derive(seed, &[SUBSET_TAG, s as u64]), s)).collect();
    order.sort_unstable();
    order.into_iter().take(kept_count(subjects.len(), fraction)).map(|(_, s)| s).collect()
}

/// The positions in `items` (the subject of each training item, in order) that a run at
/// `fraction` trains on, with the subjects kept; every item at fraction 1.
pub fn kept_items(items: &[i64], fraction: f64, seed: u64) -> (Vec<usize>, BTreeSet<i64>) {
    let all: BTreeSet<i64> = items.iter().copied().collect();
    let kept = if fraction >= 1.0 { all } else { kept_subjects(&all, fraction, seed) };
    let positions = items.iter().enumerate().filter(|(_, s)| kept.contains(s)).map(|(i, _)| i).collect();
    (positions, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(r: std::ops::Range<i64>) -> BTreeSet<i64> {
        r.collect()
    }

    #[test]
    fn subsets_nest_and_grow_with_the_fraction() {
        let all = set(0..40);
        let fractions = [0.05, 0.1, 0.25, 0.5, 0.75, 1.0];
        let subsets: Vec<BTreeSet<i64>> = fractions.iter().map(|&f| kept_subjects(&all, f, 7)).collect();
        let sizes: Vec<usize> = subsets.iter().map(BTreeSet::len).collect();
        assert_eq!(sizes, [2, 4, 10, 20, 30, 40]);
        for w in subsets.windows(2) {
            assert!(w[0].is_subset(&w[1]), "{:?} not inside {:?}", w[0], w[1]);
        }
        assert_eq!(subsets[5], all);
        // Not simply the lowest ids.
        assert_ne!(subsets[2], set(0..10));
    }

    #[test]
    fn the_choice_is_deterministic_and_seeded_by_the_data_set() {
        let all = set(0..30);
        assert_eq!(kept_subjects(&all, 0.3, 2019), kept_subjects(&all, 0.3, 2019));
        assert_ne!(kept_subjects(&all, 0.3, 2019), kept_subjects(&all, 0.3, 2020));
        // A subject's rank does not depend on the other subjects present: the kept subjects of
        // a smaller training split (another fold) are chosen in the same order.
        let part: BTreeSet<i64> = (0..30).filter(|s| s % 3 != 0).collect();
        let order = |s: &BTreeSet<i64>| kept_subjects(s, 1.0 / s.len() as f64, 5);
        let first_all = order(&all);
        let first_part = order(&part);
        assert_eq!(first_part.len(), 1);
        if first_all.iter().all(|s| part.contains(s)) {
            assert_eq!(first_all, first_part);
        }
    }

    #[test]
    fn at_least_one_subject_is_kept() {
        assert_eq!(kept_count(27, 0.001), 1);
        assert_eq!(kept_count(27, 0.1), 3);
        assert_eq!(kept_count(1, 0.5), 1);
        assert_eq!(kept_count(0, 0.5), 0);
        assert_eq!(kept_subjects(&set(0..5), 0.01, 1).len(), 1);
        // 0.1 x 30 is 3.0000000000000004 in floating point: still 3.
        assert_eq!(kept_count(30, 0.1), 3);
    }

    #[test]
    fn images_without_subjects_are_kept_by_fraction_of_images() {
        // FER2013-like: every image is its own subject.
        let items: Vec<i64> = (100..300).collect();
        let (quarter, who) = kept_items(&items, 0.25, 3);
        assert_eq!((quarter.len(), who.len()), (50, 50));
        let (half, _) = kept_items(&items, 0.5, 3);
        assert_eq!(half.len(), 100);
        assert!(quarter.iter().all(|i| half.contains(i)), "nested");
        let (all, _) = kept_items(&items, 1.0, 3);
        assert_eq!(all, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn items_follow_their_subjects() {
        // 10 subjects with 4 images each, interleaved.
        let items: Vec<i64> = (0..40).map(|i| i % 10).collect();
        let (pos, who) = kept_items(&items, 0.3, 11);
        assert_eq!(who.len(), 3);
        assert_eq!(pos.len(), 12);
        assert!(pos.iter().all(|&i| who.contains(&items[i])));
        assert!(items.iter().enumerate().all(|(i, s)| !who.contains(s) || pos.contains(&i)));
    }
}
