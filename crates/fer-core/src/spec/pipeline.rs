//! The compiled pipeline: every value resolved and checked; all that downstream code sees.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::arch::{AdamSpec, Arch, InputNorm, Network, Select, Variant};
use crate::arch::{ArchConfig, DeepEmotionConfig, InceptionV3Config, MicroExpNetConfig};

/// Which device jobs run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceRequest {
    /// CUDA when available, CPU otherwise.
    Auto,
    Cpu,
    /// CUDA; `Some(n)` pins GPU `n`.
    Cuda(Option<usize>),
}

impl DeviceRequest {
    pub fn parse(s: &str) -> Result<DeviceRequest, String> {
        match s {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" => Ok(DeviceRequest::Cuda(None)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceRequest::Cuda(Some(n))),
                _ => Err(format!("`{s}` is not a device; expected `auto`, `cpu`, `cuda` or `cuda:N`")),
            },
        }
    }
}

impl std::fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceRequest::Auto => write!(f, "auto"),
            DeviceRequest::Cpu => write!(f, "cpu"),
            DeviceRequest::Cuda(None) => write!(f, "cuda"),
            DeviceRequest::Cuda(Some(n)) => write!(f, "cuda:{n}"),
        }
    }
}

/// A compiled pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    /// The file it was read from, as given.
    pub file: String,
    /// The profile applied, if any.
    pub profile: Option<String>,
    pub store: Option<PathBuf>,
    pub device: DeviceRequest,
    pub threads: u32,
    pub jobs: Option<u32>,
    pub jobs_per_gpu: u32,
    pub deterministic: bool,
    pub datasets: BTreeMap<String, DatasetSpec>,
    pub experiments: Vec<Experiment>,
    /// Occlusion saliency for the first seed of each model and data set, unless disabled.
    pub saliency: Option<SaliencySettings>,
    /// The analyses beyond accuracy that run (`analyses:`).
    pub analyses: Analyses,
    pub slurm: SlurmSettings,
}

/// Which analyses beyond accuracy run (`analyses:` in pipeline.yaml). The four that cost no job
/// (uncertainty, calibration, distillation, data efficiency: read from the evaluations, or from
/// axes the user wrote) are on unless switched off; the three that add jobs are off unless set,
/// so pipelines written before them keep their plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analyses {
    /// 95 % intervals by the bootstrap over test images (for a row of one run) and the paired tests
    /// between models (McNemar per run and pooled, the paired difference with its interval); off,
    /// the report has no paired comparisons and only the t-intervals over runs.
    pub uncertainty: bool,
    /// Expected calibration error and reliability diagrams.
    pub calibration: bool,
    /// Each distilled student against its plain counterpart and its teacher.
    pub distillation: bool,
    /// Learning curves over `train_fraction`; off, the runs below 1.0 are not planned.
    pub data_efficiency: bool,
    /// The efficiency frontier (FLOPs, parameters, latency against accuracy) and one `throughput`
    /// job per Deep-Emotion or MicroExpNet network: images/s on the CPU at batch 1 and 64, on one
    /// thread and on all, beside MicroExpNet's published 1851 images/s.
    pub efficiency: bool,
    /// Domain shift: one `transfer` job per trained model and other data set of the pipeline
    /// sharing at least two classes with it (tested on that set's test split, shared classes only).
    pub domain_shift: bool,
    /// Robustness: one `robustness` job per trained model (six corruptions at five severities of
    /// its test split).
    pub robustness: bool,
}

impl Default for Analyses {
    /// What a pipeline without `analyses:` gets.
    fn default() -> Self {
        Analyses {
            uncertainty: true,
            calibration: true,
            distillation: true,
            data_efficiency: true,
            efficiency: false,
            domain_shift: false,
            robustness: false,
        }
    }
}

impl Analyses {
    /// Every analysis on (a report of a whole store, without a pipeline).
    pub fn all() -> Self {
        Analyses { efficiency: true, domain_shift: true, robustness: true, ..Analyses::default() }
    }
}

/// Cluster settings, resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmSettings {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub array_limit: Option<u32>,
    pub device: Option<DeviceRequest>,
    /// Retries by job kind name, or `default`.
    pub retries: BTreeMap<String, u32>,
    /// Resources by `default`, job kind, architecture or model name.
    pub resources: BTreeMap<String, Resources>,
    pub sbatch: Vec<String>,
}

/// Resources of a task; unset fields fall back to less specific entries, then to Slurm's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resources {
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    pub time: Option<String>,
    pub gpus: Option<u32>,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub sbatch: Vec<String>,
}

impl Resources {
    /// `other`'s values where set, ours otherwise.
    pub fn overlay(&self, other: &Resources) -> Resources {
        Resources {
            cpus: other.cpus.or(self.cpus),
            memory: other.memory.clone().or_else(|| self.memory.clone()),
            time: other.time.clone().or_else(|| self.time.clone()),
            gpus: other.gpus.or(self.gpus),
            partition: other.partition.clone().or_else(|| self.partition.clone()),
            account: other.account.clone().or_else(|| self.account.clone()),
            sbatch: self.sbatch.iter().chain(&other.sbatch).cloned().collect(),
        }
    }
}

impl SlurmSettings {
    /// Resources of a job: `default`, then its kind, its architecture, its model name.
    pub fn resources_for(&self, kind: &str, arch: &str, model: &str) -> Resources {
        let mut r = Resources::default();
        for key in ["default", kind, arch, model] {
            if let Some(x) = self.resources.get(key) {
                r = r.overlay(x);
            }
        }
        r
    }

    pub fn retries_for(&self, kind: &str) -> u32 {
        self.retries.get(kind).or_else(|| self.retries.get("default")).copied().unwrap_or(0)
    }
}

/// How occlusion saliency is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaliencySettings {
    pub window: f64,
    pub stride: f64,
    pub per_class: u32,
}

/// The networks `throughput` jobs measure: each distinct Deep-Emotion or MicroExpNet network with
/// its data set's class count, in the order the experiments first use them (the teacher,
/// Inception_v3, is not one of the compared models).
pub fn throughput_networks(
    experiments: &[Experiment],
    datasets: &BTreeMap<String, DatasetSpec>,
) -> Vec<(Network, usize)> {
    let mut out: Vec<(Network, usize)> = Vec::new();
    for e in experiments.iter().filter(|e| e.model.arch() != Arch::InceptionV3) {
        let Some(d) = datasets.get(&e.dataset) else { continue };
        let key = (e.model.network(), d.classes());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

impl Pipeline {
    /// [`throughput_networks`] of this pipeline when its efficiency analysis is on; none otherwise.
    pub fn throughput_networks(&self) -> Vec<(Network, usize)> {
        if self.analyses.efficiency {
            throughput_networks(&self.experiments, &self.datasets)
        } else {
            Vec::new()
        }
    }
}

/// A data set, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // a handful per pipeline; boxing would only add noise at every match
pub enum DatasetSpec {
    Synthetic(SyntheticSpec),
    /// A real data set read through its manifest.
    Real(RealSpec),
}

/// A real data set: its manifest (protocol, labels, options), the content hash of its files and
/// the canonical classes it maps onto. Its location is not part of job hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealSpec {
    pub manifest: crate::data::manifest::Manifest,
    /// sha256 over the files' relative paths and contents; `None` when the data is absent here.
    pub content_sha256: Option<String>,
    pub skip_bad: bool,
    pub class_names: Vec<String>,
    /// Files the manifest lists that are not in the data folder: the data set is incomplete and
    /// cannot be used until they are restored or `data hash` accepts the data as it is now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl RealSpec {
    /// Where the data lives on this machine (`$FER_DATA_DIR/<name>` or the manifest's location).
    pub fn root(&self) -> PathBuf {
        crate::data::location::data_root(&self.manifest.name, Some(&self.manifest))
    }
}

/// The built-in synthetic common data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    pub seed: u64,
    pub subjects: u32,
    pub images_per_subject: u32,
    pub contempt: bool,
    pub difficulty: f64,
    pub val_fraction: f64,
    pub test_fraction: f64,
    /// Not written when `mixed` (the default), so the hashes of older pipelines stand.
    #[serde(default, skip_serializing_if = "crate::data::style::Style::is_mixed")]
    pub style: crate::data::style::Style,
}

impl DatasetSpec {
    pub fn classes(&self) -> usize {
        match self {
            DatasetSpec::Synthetic(s) => {
                if s.contempt {
                    8
                } else {
                    7
                }
            }
            DatasetSpec::Real(r) => r.class_names.len(),
        }
    }

    /// The seed the nested `train_fraction` subsets of its training subjects are drawn with: the
    /// synthetic set's seed, or the protocol's (0 for a split fixed by the data, e.g. FER2013's usage).
    pub fn subset_seed(&self) -> u64 {
        use crate::data::manifest::Protocol;
        match self {
            DatasetSpec::Synthetic(s) => s.seed,
            DatasetSpec::Real(r) => match r.manifest.protocol {
                Protocol::SubjectKfold { seed, .. }
                | Protocol::Stratified { seed, .. }
                | Protocol::Random { seed, .. } => seed,
                Protocol::Usage => 0,
            },
        }
    }

    /// Folds of a subject-independent k-fold protocol; `None` for a fixed split.
    pub fn folds(&self) -> Option<u32> {
        match self {
            DatasetSpec::Real(r) => match r.manifest.protocol {
                crate::data::manifest::Protocol::SubjectKfold { folds, .. } => Some(folds as u32),
                _ => None,
            },
            DatasetSpec::Synthetic(_) => None,
        }
    }

    /// Why the data cannot be used here (absent, or files the manifest lists are missing), if so.
    pub fn unavailable(&self) -> Option<String> {
        match self {
            DatasetSpec::Real(r) if r.content_sha256.is_some() && !r.missing.is_empty() => {
                Some(crate::data::content::incomplete(&r.manifest, &r.root(), &r.missing))
            }
            DatasetSpec::Real(r) if r.content_sha256.is_none() => Some(format!(
                "data set `{}` is not here: put it in `{}` ({}), or set FER_DATA_DIR or the manifest's `location`",
                r.manifest.name,
                r.root().display(),
                r.manifest.loader.layout()
            )),
            _ => None,
        }
    }
}

/// A model architecture with its structural options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum ModelSpec {
    DeepEmotion {
        dropout: f64,
        input_norm: InputNorm,
    },
    #[serde(rename = "microexpnet")]
    MicroExpNet {
        variant: Variant,
        dropout: f64,
        input_norm: InputNorm,
    },
    /// Grayscale replicated to 3 channels; `input_size` from 75 (its minimum) to 299.
    InceptionV3 {
        input_size: u32,
        dropout: f64,
        input_norm: InputNorm,
    },
}

/// The network a config builds (what its jobs hash and the models read).
impl From<&ArchConfig> for ModelSpec {
    fn from(c: &ArchConfig) -> ModelSpec {
        match *c {
            ArchConfig::DeepEmotion(c) => ModelSpec::DeepEmotion { dropout: c.dropout, input_norm: c.input_norm },
            ArchConfig::MicroExpNet(c) => {
                ModelSpec::MicroExpNet { variant: c.variant, dropout: c.dropout, input_norm: c.input_norm }
            }
            ArchConfig::InceptionV3(c) => {
                ModelSpec::InceptionV3 { input_size: c.input_size, dropout: c.dropout, input_norm: c.input_norm }
            }
        }
    }
}

/// How a config trains (what its train jobs hash).
impl From<&ArchConfig> for TrainSpec {
    fn from(c: &ArchConfig) -> TrainSpec {
        let t = c.train();
        TrainSpec {
            epochs: t.epochs,
            lr: t.lr,
            batch_size: t.batch_size,
            adam: t.adam,
            multi_crop: c.multi_crop(),
            select: t.select,
            l2: c.l2(),
            train_fraction: t.train_fraction,
        }
    }
}

impl ModelSpec {
    /// Deep-Emotion as published.
    pub fn deep_emotion() -> ModelSpec {
        (&ArchConfig::DeepEmotion(DeepEmotionConfig::default())).into()
    }

    /// MicroExpNet of a size, as published.
    pub fn microexpnet(variant: Variant) -> ModelSpec {
        (&ArchConfig::MicroExpNet(MicroExpNetConfig { variant, ..Default::default() })).into()
    }

    /// Inception_v3 at an input size.
    pub fn inception_v3(input_size: u32) -> ModelSpec {
        (&ArchConfig::InceptionV3(InceptionV3Config { input_size, ..Default::default() })).into()
    }

    pub fn input_norm(&self) -> InputNorm {
        match self {
            ModelSpec::DeepEmotion { input_norm, .. }
            | ModelSpec::MicroExpNet { input_norm, .. }
            | ModelSpec::InceptionV3 { input_norm, .. } => *input_norm,
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            ModelSpec::DeepEmotion { .. } => Arch::DeepEmotion,
            ModelSpec::MicroExpNet { .. } => Arch::MicroExpNet,
            ModelSpec::InceptionV3 { .. } => Arch::InceptionV3,
        }
    }

    /// Side of the square grayscale input.
    pub fn input_size(&self) -> u32 {
        match self {
            ModelSpec::DeepEmotion { .. } => DeepEmotionConfig::INPUT,
            ModelSpec::MicroExpNet { .. } => MicroExpNetConfig::INPUT,
            ModelSpec::InceptionV3 { input_size, .. } => *input_size,
        }
    }

    /// The network's structure (what its FLOPs, parameters and speed depend on).
    pub fn network(&self) -> Network {
        match *self {
            ModelSpec::DeepEmotion { .. } => Network::DeepEmotion,
            ModelSpec::MicroExpNet { variant, .. } => Network::MicroExpNet { variant },
            ModelSpec::InceptionV3 { input_size, .. } => Network::InceptionV3 { input_size },
        }
    }

    /// A short display name, e.g. `microexpnet-xxs`.
    pub fn display(&self) -> String {
        match self {
            ModelSpec::DeepEmotion { .. } => "deep-emotion".into(),
            ModelSpec::MicroExpNet { variant, .. } => format!("microexpnet-{}", variant.name()),
            ModelSpec::InceptionV3 { .. } => "inception-v3".into(),
        }
    }
}

/// Training hyperparameters, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    pub epochs: u32,
    pub lr: f64,
    pub batch_size: u32,
    pub adam: AdamSpec,
    /// MicroExpNet's published crops: 256 px faces, all 8 crops in training, the (32, 32) one at test.
    pub multi_crop: bool,
    /// Which weights the run keeps (`last` is not written, so older hashes stand).
    #[serde(default, skip_serializing_if = "Select::is_last")]
    pub select: Select,
    /// Weight of the L2 penalty on the last two linear layers' weights (Deep-Emotion's paper);
    /// left out of job hashes when 0, so runs without it keep their hashes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub l2: f64,
    /// The fraction of the training split's subjects trained on (see
    /// `fer_core::data::subset`); left out of job hashes when 1, so full runs keep their hashes.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub train_fraction: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// Knowledge distillation from a teacher's logits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DistillSpec {
    /// Temperature T.
    pub temperature: f64,
    /// Weight w of the soft term: L = (1 - w) CE(y, z_s) + w CE(softmax(z_t / T), softmax(z_s / T)).
    pub weight: f64,
    /// Multiply the soft term by T^2 (Hinton's form).
    pub t2: bool,
}

/// One cell of the matrix: a model trained on a data set with one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The model's name in the pipeline.
    pub model_name: String,
    pub dataset: String,
    pub seed: u64,
    pub model: ModelSpec,
    pub train: TrainSpec,
    /// The test fold under a k-fold protocol.
    pub fold: Option<u32>,
    /// Initial weights: the file and its sha256 (only the sha256 is hashed).
    pub init: Option<InitWeights>,
    /// The teacher (an index into [`Pipeline::experiments`]) and how to distil from it.
    pub distill: Option<(usize, DistillSpec)>,
    /// Values along the model's list axes, for display (`lr=0.01`).
    pub axes: Vec<(String, String)>,
}

/// Side of the face MicroExpNet's published crops are cut from (`multi_crop`).
pub const MULTI_CROP_FACE: u32 = 256;

impl Experiment {
    /// Side of the prepared images this run reads: the model's input, or with MicroExpNet's
    /// published crops the 256 px face they are cut from.
    pub fn prepared_size(&self) -> u32 {
        match self.model {
            ModelSpec::MicroExpNet { .. } if self.train.multi_crop => MULTI_CROP_FACE,
            _ => self.model.input_size(),
        }
    }
}

/// A user-supplied weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct InitWeights {
    pub path: PathBuf,
    pub sha256: String,
}
