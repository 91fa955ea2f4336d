//! Prepared data: one tensor file per (data set, image size) holding images, labels, subjects and
//! the split of every image; written by `prepare` jobs and read by every job downstream.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::synthetic::{self, SyntheticParams, CLASS_NAMES};
use crate::rng::{derive, SplitMix64};
use crate::spec::{DatasetSpec, SyntheticSpec};
use crate::store::{tensor_file, StoreError};

/// File names in a prepare entry.
pub const DATA_FILE: &str = "data.safetensors";
pub const SUMMARY_FILE: &str = "summary.json";
pub const SAMPLES_FILE: &str = "samples.png";

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

/// A data set in memory, ready for training.
pub struct Prepared {
    /// N x 1 x S x S, u8.
    pub images: Tensor,
    /// N, i64 class ids.
    pub labels: Tensor,
    /// N, i64 subject ids.
    pub subjects: Tensor,
    /// N, u8 [`Split`] ids.
    pub split: Tensor,
    pub class_names: Vec<String>,
}

/// Counts written beside the data (`summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub images: usize,
    pub size: u32,
    pub class_names: Vec<String>,
    /// split -> class -> count.
    pub counts: BTreeMap<String, Vec<usize>>,
    /// split -> number of subjects.
    pub subjects: BTreeMap<String, usize>,
    pub protocol: String,
}

impl Prepared {
    /// Indices of the images in `split` (i64 tensor on the CPU).
    pub fn indices(&self, split: Split) -> Tensor {
        self.split.eq(split as i64).nonzero().squeeze_dim(1)
    }

    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Builds a data set in memory.
pub fn build(dataset: &DatasetSpec, size: u32) -> (Prepared, Summary) {
    match dataset {
        DatasetSpec::Synthetic(s) => build_synthetic(s, size),
    }
}

fn build_synthetic(s: &SyntheticSpec, size: u32) -> (Prepared, Summary) {
    let params = SyntheticParams {
        seed: s.seed,
        subjects: s.subjects,
        images_per_subject: s.images_per_subject,
        with_contempt: s.contempt,
        difficulty: s.difficulty as f32,
    };
    let set = synthetic::generate(&params, size);
    let n = set.labels.len();
    let subject_split = subject_split(s.subjects, s.seed, s.val_fraction, s.test_fraction);
    let split: Vec<u8> = set.subjects.iter().map(|&subj| subject_split[subj as usize] as u8).collect();
    let class_names: Vec<String> = CLASS_NAMES[..params.classes()].iter().map(|s| s.to_string()).collect();
    let prepared = Prepared {
        images: Tensor::from_slice(&set.pixels).reshape([n as i64, 1, size as i64, size as i64]),
        labels: Tensor::from_slice(&set.labels).to_kind(Kind::Int64),
        subjects: Tensor::from_slice(&set.subjects.iter().map(|&x| x as i64).collect::<Vec<_>>()),
        split: Tensor::from_slice(&split),
        class_names: class_names.clone(),
    };
    let mut counts = BTreeMap::new();
    let mut subjects = BTreeMap::new();
    for sp in Split::ALL {
        let mut c = vec![0usize; class_names.len()];
        for i in 0..n {
            if split[i] == sp as u8 {
                c[set.labels[i] as usize] += 1;
            }
        }
        counts.insert(sp.name().to_string(), c);
        subjects.insert(sp.name().to_string(), subject_split.iter().filter(|x| **x == sp).count());
    }
    let summary = Summary {
        format_version: 1,
        images: n,
        size,
        class_names,
        counts,
        subjects,
        protocol: format!(
            "subject-independent hold-out: {:.0} % of subjects for validation, {:.0} % for test",
            s.val_fraction * 100.0,
            s.test_fraction * 100.0
        ),
    };
    (prepared, summary)
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

/// Writes a prepared data set to `path`.
pub fn write(path: &Path, p: &Prepared) -> Result<(), StoreError> {
    let meta = BTreeMap::from([
        ("format_version".to_string(), "1".to_string()),
        ("class_names".to_string(), p.class_names.join(",")),
    ]);
    let tensors = vec![
        ("images".to_string(), p.images.shallow_clone()),
        ("labels".to_string(), p.labels.shallow_clone()),
        ("subjects".to_string(), p.subjects.shallow_clone()),
        ("split".to_string(), p.split.shallow_clone()),
    ];
    tensor_file::write(path, &tensors, &meta)
}

/// Reads a prepared data set.
pub fn read(path: &Path) -> Result<Prepared, StoreError> {
    let f = tensor_file::read(path)?;
    let get = |name: &str| {
        f.get(name)
            .map(|t| t.to_device(Device::Cpu))
            .ok_or_else(|| StoreError::format(path, format!("missing tensor `{name}`")))
    };
    Ok(Prepared {
        images: get("images")?,
        labels: get("labels")?,
        subjects: get("subjects")?,
        split: get("split")?,
        class_names: f
            .metadata
            .get("class_names")
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_subject_independent_and_sized() {
        let s = subject_split(20, 3, 0.15, 0.2);
        assert_eq!(s.iter().filter(|x| **x == Split::Test).count(), 4);
        assert_eq!(s.iter().filter(|x| **x == Split::Val).count(), 3);
        assert_eq!(s, subject_split(20, 3, 0.15, 0.2));
        assert_ne!(s, subject_split(20, 4, 0.15, 0.2));
    }
}
