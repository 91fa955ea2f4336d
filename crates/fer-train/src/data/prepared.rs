//! Prepared data: one tensor file per (data set, image size) holding images, labels, subjects and
//! the split of every image; written by `prepare` jobs and read by every job downstream.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use fer_core::data::assemble::assemble;
use fer_core::data::content::{self, first_few};
use fer_core::data::crop::Cropped;
use fer_core::data::error::DataError;
use fer_core::data::loaders::SkipKind;
use fer_core::data::manifest::Protocol;
use fer_core::data::splits::{kfold_split, subject_folds};
use fer_core::data::synthetic::{self, SyntheticParams, CLASS_NAMES};
use fer_core::data::{subject_split, CropSummary, Split, Summary};
use fer_core::spec::{DatasetSpec, RealSpec, SyntheticSpec};
use fer_core::store::StoreError;

use crate::tensor_file;

/// A data set in memory, ready for training.
pub struct Prepared {
    /// N x 1 x S x S, u8.
    pub images: Tensor,
    /// N, i64 class ids.
    pub labels: Tensor,
    /// N, i64 subject ids.
    pub subjects: Tensor,
    /// N, u8 [`Split`] ids (for a fixed split).
    pub split: Tensor,
    /// N, u8 fold ids and the number of folds (for a subject k-fold protocol).
    pub folds: Option<(Tensor, u32)>,
    /// k x N, u8 [`Split`] ids of every image when fold `f` (row `f`) tests (for a k-fold protocol).
    pub fold_splits: Option<Tensor>,
    pub class_names: Vec<String>,
}

impl Prepared {
    /// Indices of the images in `split` (i64 tensor on the CPU); under k folds, fold `f` is the
    /// test set and the split of the others is row `f` of `fold_splits` (see `splits::kfold_split`).
    pub fn indices(&self, split: Split, fold: Option<u32>) -> Result<Tensor, String> {
        let mask = match (&self.folds, fold) {
            (None, None) => self.split.eq(split as i64),
            (Some((_, k)), Some(f)) if f < *k => match &self.fold_splits {
                Some(rows) => rows.get(f as i64).eq(split as i64),
                None => return Err("this prepared data set has folds but no per-fold splits".to_string()),
            },
            (Some((_, k)), f) => return Err(format!("this data set has {k} folds; fold `{f:?}` is not one of them")),
            (None, Some(f)) => return Err(format!("this data set has a fixed split, not fold `{f}`")),
        };
        Ok(mask.nonzero().squeeze_dim(1))
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
pub fn build(dataset: &DatasetSpec, size: u32) -> Result<(Prepared, Summary), DataError> {
    match dataset {
        DatasetSpec::Synthetic(s) => Ok(build_synthetic(s, size)),
        DatasetSpec::Real(r) => build_real(r, size),
    }
}

/// Reads a real data set through its manifest, after checking it is the content that was planned.
fn build_real(r: &RealSpec, size: u32) -> Result<(Prepared, Summary), DataError> {
    let root = r.root();
    let m = &r.manifest;
    let (found, files, gone) = content::on_disk(m, &root)?;
    if !gone.is_empty() {
        return Err(DataError::Split(content::incomplete(m, &root, &gone)));
    }
    if r.content_sha256.as_deref() != Some(found.as_str()) {
        let why = content::differences(m, &files);
        let why = if why.is_empty() { String::new() } else { format!(": {}", first_few(&why)) };
        return Err(DataError::Split(format!(
            "data set `{}` in `{}` is not the content that was planned (sha256 `{found}`){why}; plan again, \
             and see `fer-pipeline data verify {}`",
            m.name,
            root.display(),
            m.name
        )));
    }
    let k = match m.protocol {
        Protocol::SubjectKfold { folds, seed, val } => Some((folds, seed, val)),
        _ => None,
    };
    let a = assemble(m, &root, size, k.map(|_| 0), r.skip_bad)?;
    let n = a.len() as i64;
    let (folds, fold_splits) = match k {
        Some((k, seed, val)) => {
            let names: Vec<String> = a.subjects.iter().map(|&s| a.subject_names[s as usize].clone()).collect();
            let fold_of = subject_folds(&names, k, seed)?;
            let mut rows: Vec<u8> = Vec::with_capacity(k * names.len());
            for f in 0..k {
                rows.extend(kfold_split(&names, &fold_of, k, f, val, seed)?.into_iter().map(|s| s as u8));
            }
            let f: Vec<u8> = fold_of.into_iter().map(|x| x as u8).collect();
            (Some((Tensor::from_slice(&f), k as u32)), Some(Tensor::from_slice(&rows).reshape([k as i64, n])))
        }
        None => (None, None),
    };
    let split: Vec<u8> = a.split.iter().map(|s| *s as u8).collect();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for s in &a.skipped {
        *skipped.entry(format!("{:?}", s.kind).to_lowercase()).or_default() += 1;
    }
    let prepared = Prepared {
        images: Tensor::from_slice(&a.pixels).reshape([n, 1, size as i64, size as i64]),
        labels: Tensor::from_slice(&a.labels),
        subjects: Tensor::from_slice(&a.subjects),
        split: Tensor::from_slice(&split),
        folds,
        fold_splits,
        class_names: a.class_names.clone(),
    };
    let mut summary = summarize(&prepared, size, m.protocol.describe());
    summary.skipped = skipped;
    let mut faces = CropSummary { policy: a.crop.clone(), ..CropSummary::default() };
    for c in &a.crops {
        *faces.counts.entry(c.name().to_string()).or_default() += 1;
    }
    // The sources of the centre-cropped ones and of the skipped ones, merged in source order.
    let mut no_face: Vec<(&str, &str)> = a
        .sources
        .iter()
        .zip(&a.crops)
        .filter(|(_, c)| **c == Cropped::NoFace)
        .map(|(s, _)| (s.as_str(), "centre-cropped"))
        .chain(a.skipped.iter().filter(|s| s.kind == SkipKind::NoFace).map(|s| (s.source.as_str(), "skipped")))
        .collect();
    no_face.sort();
    faces.no_face = no_face.into_iter().map(|(s, what)| format!("{s}: {what}")).collect();
    summary.faces = Some(Box::new(faces));
    Ok((prepared, summary))
}

/// Counts per split (or per fold) and class, and subjects per split.
fn summarize(p: &Prepared, size: u32, protocol: String) -> Summary {
    let labels: Vec<i64> = Vec::try_from(&p.labels).unwrap_or_default();
    let subjects: Vec<i64> = Vec::try_from(&p.subjects).unwrap_or_default();
    let groups: Vec<(String, Vec<u8>)> = match &p.folds {
        Some((f, k)) => {
            let f: Vec<u8> = Vec::try_from(f).unwrap_or_default();
            (0..*k).map(|i| (format!("fold{i}"), f.iter().map(|&x| u8::from(x as u32 == i)).collect())).collect()
        }
        None => {
            let s: Vec<u8> = Vec::try_from(&p.split).unwrap_or_default();
            Split::ALL
                .iter()
                .map(|sp| (sp.name().to_string(), s.iter().map(|&x| u8::from(x == *sp as u8)).collect()))
                .collect()
        }
    };
    let mut counts = BTreeMap::new();
    let mut subj = BTreeMap::new();
    for (name, member) in groups {
        let mut c = vec![0usize; p.class_names.len()];
        let mut who = std::collections::BTreeSet::new();
        for i in 0..labels.len() {
            if member[i] == 1 {
                c[labels[i] as usize] += 1;
                who.insert(subjects[i]);
            }
        }
        counts.insert(name.clone(), c);
        subj.insert(name, who.len());
    }
    Summary {
        format_version: 1,
        images: labels.len(),
        size,
        class_names: p.class_names.clone(),
        counts,
        subjects: subj,
        protocol,
        skipped: BTreeMap::new(),
        faces: None,
    }
}

fn build_synthetic(s: &SyntheticSpec, size: u32) -> (Prepared, Summary) {
    let params = SyntheticParams {
        seed: s.seed,
        subjects: s.subjects,
        images_per_subject: s.images_per_subject,
        with_contempt: s.contempt,
        difficulty: s.difficulty as f32,
        style: s.style,
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
        folds: None,
        fold_splits: None,
        class_names,
    };
    let protocol = format!(
        "subject-independent hold-out: {:.0} % of subjects for validation, {:.0} % for test",
        s.val_fraction * 100.0,
        s.test_fraction * 100.0
    );
    let summary = summarize(&prepared, size, protocol);
    (prepared, summary)
}

/// Writes a prepared data set to `path`.
pub fn write(path: &Path, p: &Prepared) -> Result<(), StoreError> {
    let mut meta = BTreeMap::from([
        ("format_version".to_string(), "1".to_string()),
        ("class_names".to_string(), p.class_names.join(",")),
    ]);
    let mut tensors = vec![
        ("images".to_string(), p.images.shallow_clone()),
        ("labels".to_string(), p.labels.shallow_clone()),
        ("subjects".to_string(), p.subjects.shallow_clone()),
        ("split".to_string(), p.split.shallow_clone()),
    ];
    if let Some((folds, k)) = &p.folds {
        tensors.push(("folds".to_string(), folds.shallow_clone()));
        meta.insert("folds".to_string(), k.to_string());
    }
    if let Some(rows) = &p.fold_splits {
        tensors.push(("fold_splits".to_string(), rows.shallow_clone()));
    }
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
        folds: match (f.get("folds"), f.metadata.get("folds").and_then(|k| k.parse::<u32>().ok())) {
            (Some(t), Some(k)) => Some((t.to_device(Device::Cpu), k)),
            _ => None,
        },
        fold_splits: f.get("fold_splits").map(|t| t.to_device(Device::Cpu)),
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
