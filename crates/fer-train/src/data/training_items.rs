//! The training items of a `train_fraction` run: the nested subset of the training split's
//! subjects (`fer_core::data::subset`) as indices into a prepared data set.

use std::collections::BTreeSet;

use tch::Tensor;

use super::prepared::Prepared;
use fer_core::data::subset::kept_items;
use fer_core::data::Split;
use fer_core::records::{TrainSubset, SUBSET_FORMAT};

impl Prepared {
    /// The indices (i64, CPU) of the training items a run at `fraction` trains on under `fold`,
    /// and what they are: the subjects kept at `fraction` (drawn with `seed`, the data set's) and
    /// all their training images.
    pub fn train_subset(&self, fold: Option<u32>, fraction: f64, seed: u64) -> Result<(Tensor, TrainSubset), String> {
        let idx = self.indices(Split::Train, fold)?;
        let positions: Vec<i64> = Vec::try_from(&idx).map_err(|e: tch::TchError| e.to_string())?;
        let subject_of: Vec<i64> = Vec::try_from(&self.subjects).map_err(|e: tch::TchError| e.to_string())?;
        let items: Vec<i64> = positions.iter().map(|&i| subject_of[i as usize]).collect();
        let (keep, kept) = kept_items(&items, fraction, seed);
        let all: BTreeSet<i64> = items.iter().copied().collect();
        let chosen: Vec<i64> = keep.iter().map(|&k| positions[k]).collect();
        let record = TrainSubset {
            format_version: SUBSET_FORMAT,
            fraction,
            subjects: kept.len(),
            of_subjects: all.len(),
            images: chosen.len(),
            of_images: positions.len(),
            subject_ids: kept.into_iter().collect(),
        };
        Ok((Tensor::from_slice(&chosen), record))
    }
}

#[cfg(test)]
mod tests {
    use fer_core::spec::{DatasetSpec, SyntheticSpec};

    #[test]
    fn fractions_take_nested_subjects_with_all_their_training_images() {
        let spec = DatasetSpec::Synthetic(SyntheticSpec {
            seed: 3,
            subjects: 20,
            images_per_subject: 5,
            contempt: false,
            difficulty: 0.5,
            val_fraction: 0.15,
            test_fraction: 0.2,
            style: fer_core::data::style::Style::Mixed,
        });
        let data = crate::data::build(&spec, 48).unwrap().0;
        let (all, full) = data.train_subset(None, 1.0, 3).unwrap();
        assert_eq!((full.subjects, full.images), (13, 65));
        assert_eq!((full.of_subjects, full.of_images), (13, 65));
        assert_eq!(all.size()[0], 65);
        let (quarter_idx, quarter) = data.train_subset(None, 0.25, 3).unwrap();
        let (_, half) = data.train_subset(None, 0.5, 3).unwrap();
        assert_eq!((quarter.subjects, quarter.images, half.subjects, half.images), (3, 15, 7, 35));
        assert!(quarter.subject_ids.iter().all(|s| half.subject_ids.contains(s)), "nested");
        assert!(half.subject_ids.iter().all(|s| full.subject_ids.contains(s)));
        // Every kept index is a training image of a kept subject.
        let subjects: Vec<i64> = Vec::try_from(&data.subjects).unwrap();
        let split: Vec<u8> = Vec::try_from(&data.split).unwrap();
        for i in Vec::<i64>::try_from(&quarter_idx).unwrap() {
            assert!(quarter.subject_ids.contains(&subjects[i as usize]));
            assert_eq!(split[i as usize], fer_core::data::Split::Train as u8);
        }
        assert_eq!(data.train_subset(None, 0.25, 3).unwrap().1, quarter, "deterministic");
    }
}
