//! Job kinds and their fully resolved specs: each job is a pure function of its spec.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hash::{hash_canonical, JobHash};
use super::robustness::RobustnessSpec;
use super::transfer::TransferSpec;
use crate::data::loaders::{LoadOptions, LoaderKind};
use crate::data::manifest::{Preprocessing, Protocol};
use crate::digest::canonical;
use crate::spec::{DatasetSpec, DistillSpec, ModelSpec, Network, RealSpec, TrainSpec};

/// Version of the job record format written to the store.
pub const JOB_FORMAT: u32 = 1;

/// The kinds of jobs, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    Prepare,
    Train,
    DistillTargets,
    Evaluate,
    Saliency,
    Throughput,
    Transfer,
    Robustness,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::Prepare,
        JobKind::Train,
        JobKind::DistillTargets,
        JobKind::Evaluate,
        JobKind::Saliency,
        JobKind::Throughput,
        JobKind::Transfer,
        JobKind::Robustness,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Prepare => "prepare",
            JobKind::Train => "train",
            JobKind::DistillTargets => "distill-targets",
            JobKind::Evaluate => "evaluate",
            JobKind::Saliency => "saliency",
            JobKind::Throughput => "throughput",
            JobKind::Transfer => "transfer",
            JobKind::Robustness => "robustness",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Code revision of this kind: bumped when its code changes what it computes (the bytes of
    /// an artifact, for the same spec), so old store entries stop matching. Changing what is
    /// hashed changes hashes by itself; either way `tests/cli/golden/job_hashes.txt` is updated
    /// in the same commit (`FER_UPDATE_GOLDEN=1 cargo test --test cli hashing::golden`).
    pub fn revision(self) -> u32 {
        match self {
            JobKind::Prepare => 1,
            JobKind::Train => 1,
            JobKind::DistillTargets => 1,
            JobKind::Evaluate => 3,
            JobKind::Saliency => 1,
            JobKind::Throughput => 1,
            JobKind::Transfer => 1,
            JobKind::Robustness => 1,
        }
    }

    /// Whether a job of this kind runs alone on its machine (the local executor starts it when
    /// no other job runs, and starts none beside it): it measures speed.
    pub fn exclusive(self) -> bool {
        self == JobKind::Throughput
    }
}

/// Prepare: render or decode a data set at one image size into a tensor file with splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepareSpec {
    pub dataset: DatasetSpec,
    /// Image side in pixels.
    pub size: u32,
}

/// Train: one model with one seed on prepared data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainJobSpec {
    pub model: ModelSpec,
    pub train: TrainSpec,
    pub seed: u64,
    pub classes: usize,
    /// The prepare job whose data this trains on.
    pub data: JobHash,
    /// The test fold under a k-fold protocol (its train folds are trained on).
    pub fold: Option<u32>,
    /// sha256 of user-supplied initial weights (imported into the store's `blobs/`).
    pub init: Option<String>,
    /// Distillation: the teacher's logits (a distill-targets job) and the loss settings.
    pub distill: Option<KdInput>,
}

/// What a student reads from its teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KdInput {
    pub targets: JobHash,
    pub spec: DistillSpec,
}

/// Distill-targets: a trained teacher's logits on every image of a data set (the KD soft targets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsSpec {
    pub model: ModelSpec,
    pub classes: usize,
    pub weights: JobHash,
    /// The teacher's prepared data (at the teacher's input size).
    pub data: JobHash,
}

/// Saliency: occlusion maps per emotion (and the STN warp of sample faces for Deep-Emotion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaliencySpec {
    pub model: ModelSpec,
    pub classes: usize,
    pub weights: JobHash,
    pub data: JobHash,
    /// Side of the zeroed square, as a fraction of the image side.
    pub window: f64,
    /// Step between squares, as a fraction of the image side.
    pub stride: f64,
    /// Test images per emotion.
    pub per_class: u32,
    pub fold: Option<u32>,
}

/// The thread counts a throughput job measures at: one, and all the CPUs the job may use.
pub const THROUGHPUT_THREADS: [Threads; 2] = [Threads::One, Threads::All];

/// The batch sizes a throughput job measures at.
pub const THROUGHPUT_BATCHES: [u32; 2] = [1, 64];

/// A thread count of a throughput measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Threads {
    One,
    /// Every CPU the job may use (its affinity and quota), however many that is on the machine.
    All,
}

impl Threads {
    pub fn name(self) -> &'static str {
        match self {
            Threads::One => "1",
            Threads::All => "all",
        }
    }
}

/// Throughput: images per second of a network's inference on the CPU (random weights from a fixed
/// seed: speed does not depend on their values), at each batch size and thread count; what
/// MicroExpNet's 1851 images/s on an i7 is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputSpec {
    pub network: Network,
    pub classes: usize,
    pub batches: Vec<u32>,
    pub threads: Vec<Threads>,
}

/// Evaluate: trained weights on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateSpec {
    pub model: ModelSpec,
    pub classes: usize,
    pub weights: JobHash,
    pub data: JobHash,
    pub fold: Option<u32>,
}

/// A job's resolved parameters, including the hashes of its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobSpec {
    Prepare(PrepareSpec),
    Train(TrainJobSpec),
    DistillTargets(TargetsSpec),
    Evaluate(EvaluateSpec),
    Saliency(SaliencySpec),
    Throughput(ThroughputSpec),
    Transfer(TransferSpec),
    Robustness(RobustnessSpec),
}

/// What is hashed: format, kind, code revision and spec (a real data set as [`HashedReal`]).
#[derive(Serialize)]
struct Hashed {
    format: u32,
    revision: u32,
    job: serde_json::Value,
}

/// What of a real data set enters the hash of its prepare job: what changes the prepared tensors.
///
/// Not hashed: the manifest's `files:` list (its hashes enter through `content_sha256`, which
/// covers exactly the files the loader reads), `location:` (where the data is), `name`,
/// `format_version`, comments and key order. `skip_bad` is a loader option and is hashed (the
/// pipeline's `skip_bad`, `--skip-bad` and the manifest's option are one setting): an entry built
/// by dropping bad items is never taken for the strict job, which fails on them.
#[derive(Serialize)]
struct HashedReal<'a> {
    kind: &'static str,
    loader: LoaderKind,
    options: LoadOptions,
    classes: &'a [String],
    label_map: &'a BTreeMap<String, String>,
    protocol: &'a Protocol,
    preprocessing: &'a Preprocessing,
    content_sha256: &'a Option<String>,
    class_names: &'a [String],
}

/// The hashed form of a real data set.
fn hashed_real(r: &RealSpec) -> HashedReal<'_> {
    let m = &r.manifest;
    HashedReal {
        kind: "real",
        loader: m.loader,
        options: LoadOptions { skip_bad: r.skip_bad || m.options.skip_bad, ..m.options.clone() },
        classes: &m.classes,
        label_map: &m.label_map,
        protocol: &m.protocol,
        preprocessing: &m.preprocessing,
        content_sha256: &r.content_sha256,
        class_names: &r.class_names,
    }
}

impl JobSpec {
    /// The trained weights (a train job) this job reads, if it reads any.
    pub fn weights(&self) -> Option<JobHash> {
        match self {
            JobSpec::DistillTargets(t) => Some(t.weights),
            JobSpec::Saliency(s) => Some(s.weights),
            JobSpec::Evaluate(e) => Some(e.weights),
            JobSpec::Transfer(t) => Some(t.weights),
            JobSpec::Robustness(r) => Some(r.weights),
            JobSpec::Prepare(_) | JobSpec::Train(_) | JobSpec::Throughput(_) => None,
        }
    }

    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Prepare(_) => JobKind::Prepare,
            JobSpec::Train(_) => JobKind::Train,
            JobSpec::DistillTargets(_) => JobKind::DistillTargets,
            JobSpec::Evaluate(_) => JobKind::Evaluate,
            JobSpec::Saliency(_) => JobKind::Saliency,
            JobSpec::Throughput(_) => JobKind::Throughput,
            JobSpec::Transfer(_) => JobKind::Transfer,
            JobSpec::Robustness(_) => JobKind::Robustness,
        }
    }

    /// The canonical text that is hashed.
    pub fn canonical(&self) -> String {
        let job = match self {
            JobSpec::Prepare(PrepareSpec { dataset: DatasetSpec::Real(r), size }) => {
                serde_json::json!({"kind": "prepare", "size": size, "dataset": hashed_real(r)})
            }
            _ => serde_json::to_value(self).expect("job specs serialize to JSON"),
        };
        canonical(&Hashed { format: JOB_FORMAT, revision: self.kind().revision(), job })
    }

    pub fn hash(&self) -> JobHash {
        hash_canonical(&self.canonical())
    }

    /// The model this job trains or uses, if any.
    pub fn model(&self) -> Option<&ModelSpec> {
        match self {
            JobSpec::Prepare(_) | JobSpec::Throughput(_) => None,
            JobSpec::Train(t) => Some(&t.model),
            JobSpec::DistillTargets(t) => Some(&t.model),
            JobSpec::Evaluate(e) => Some(&e.model),
            JobSpec::Saliency(s) => Some(&s.model),
            JobSpec::Transfer(t) => Some(&t.model),
            JobSpec::Robustness(r) => Some(&r.model),
        }
    }

    /// Hashes of the jobs this one reads.
    pub fn inputs(&self) -> Vec<JobHash> {
        match self {
            JobSpec::Prepare(_) | JobSpec::Throughput(_) => vec![],
            JobSpec::Train(t) => std::iter::once(t.data).chain(t.distill.as_ref().map(|d| d.targets)).collect(),
            JobSpec::DistillTargets(t) => vec![t.weights, t.data],
            JobSpec::Evaluate(e) => vec![e.weights, e.data],
            JobSpec::Saliency(s) => vec![s.weights, s.data],
            JobSpec::Transfer(t) => vec![t.weights, t.data],
            JobSpec::Robustness(r) => vec![r.weights, r.data],
        }
    }
}

/// Human labels of a job (not hashed: renaming a model does not invalidate results).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobLabel {
    pub model: String,
    pub arch: String,
    pub dataset: String,
    pub seed: Option<u64>,
    /// The test fold under a k-fold protocol.
    #[serde(default)]
    pub fold: Option<u32>,
    /// Values along list axes, e.g. `lr=0.01`.
    pub axes: Vec<(String, String)>,
}

impl JobLabel {
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if !self.model.is_empty() {
            s.push_str(&self.model);
        }
        if !self.dataset.is_empty() {
            if !s.is_empty() {
                s.push_str(" on ");
            }
            s.push_str(&self.dataset);
        }
        for (k, v) in &self.axes {
            s.push_str(&format!(" {k}={v}"));
        }
        if let Some(fold) = self.fold {
            s.push_str(&format!(" fold={fold}"));
        }
        if let Some(seed) = self.seed {
            s.push_str(&format!(" seed={seed}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::decode::CropPolicy;
    use crate::data::manifest::{tests::minimal, FileHash};
    use crate::spec::SyntheticSpec;

    fn real() -> RealSpec {
        let mut m = minimal("jaffe");
        m.protocol = Protocol::SubjectKfold { folds: 3, seed: 0, val: 0.1 };
        RealSpec {
            manifest: m,
            content_sha256: Some("ab".repeat(32)),
            skip_bad: false,
            class_names: vec!["angry".into(), "happy".into()],
            missing: vec![],
        }
    }

    fn hash(r: &RealSpec) -> JobHash {
        JobSpec::Prepare(PrepareSpec { dataset: DatasetSpec::Real(r.clone()), size: 48 }).hash()
    }

    #[test]
    fn real_data_hashes_content_and_settings_not_how_the_manifest_is_written() {
        let base = hash(&real());
        let same: [fn(&mut RealSpec); 4] = [
            |r| r.manifest.files = vec![FileHash { path: "a.tiff".into(), sha256: Some("cd".repeat(32)) }],
            |r| r.manifest.location = Some("/elsewhere/jaffe".into()),
            |r| r.manifest.name = "jaffe-copy".into(),
            |r| r.manifest.format_version = 2,
        ];
        for (i, change) in same.iter().enumerate() {
            let mut r = real();
            change(&mut r);
            assert_eq!(hash(&r), base, "change {i} must not change the hash");
        }
        let differ: [fn(&mut RealSpec); 9] = [
            |r| r.skip_bad = true,
            |r| r.manifest.options.skip_bad = true,
            |r| r.content_sha256 = Some("cd".repeat(32)),
            |r| r.content_sha256 = None,
            |r| drop(r.manifest.label_map.insert("surprise".into(), "drop".into())),
            |r| r.manifest.protocol = Protocol::SubjectKfold { folds: 4, seed: 0, val: 0.1 },
            |r| r.manifest.preprocessing.crop = Some(CropPolicy::None),
            |r| r.manifest.options.peak_frames = 1,
            |r| {
                r.class_names.pop();
            },
        ];
        for (i, change) in differ.iter().enumerate() {
            let mut r = real();
            change(&mut r);
            assert_ne!(hash(&r), base, "change {i} must change the hash");
        }
        // `--skip-bad` and the manifest's `skip_bad: true` are one setting: one hash.
        let (mut a, mut b) = (real(), real());
        a.skip_bad = true;
        b.manifest.options.skip_bad = true;
        assert_eq!(hash(&a), hash(&b));
        let other_size = JobSpec::Prepare(PrepareSpec { dataset: DatasetSpec::Real(real()), size: 84 }).hash();
        assert_ne!(other_size, base);
    }

    #[test]
    fn synthetic_prepare_hashes_its_whole_spec() {
        let s = SyntheticSpec {
            seed: 7,
            subjects: 12,
            images_per_subject: 40,
            contempt: false,
            difficulty: 0.5,
            val_fraction: 0.2,
            test_fraction: 0.25,
            style: crate::data::style::Style::Mixed,
        };
        let spec = JobSpec::Prepare(PrepareSpec { dataset: DatasetSpec::Synthetic(s.clone()), size: 48 });
        assert_eq!(
            spec.canonical(),
            r#"{"format":1,"job":{"dataset":{"contempt":false,"difficulty":0.5,"images_per_subject":40,"kind":"synthetic","seed":7,"subjects":12,"test_fraction":0.25,"val_fraction":0.2},"kind":"prepare","size":48},"revision":1}"#
        );
        // A style other than the default is hashed; `mixed` is not written (older hashes stand).
        let wild = SyntheticSpec { style: crate::data::style::Style::Wild, ..s };
        let spec = JobSpec::Prepare(PrepareSpec { dataset: DatasetSpec::Synthetic(wild), size: 48 });
        assert!(spec.canonical().contains(r#""style":"wild""#), "{}", spec.canonical());
    }
}
