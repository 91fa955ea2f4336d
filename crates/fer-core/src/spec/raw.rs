//! The raw, serde-level shape of `pipeline.yaml`: what the user wrote, before defaults and checks.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::axis::Axis;

/// The default of `max_jobs`.
pub(super) const DEFAULT_MAX_JOBS: u64 = 100_000;

/// The top level of `pipeline.yaml` (profiles removed: they are overlays applied before this).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    /// Format version of the file; only 1 exists.
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Store folder, relative to the current directory.
    #[serde(default)]
    pub store: Option<String>,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default)]
    pub device: Option<String>,
    /// Intra-op threads per job on CPU.
    #[serde(default)]
    pub threads: Option<i64>,
    /// Jobs at once (default: cores / threads on CPU).
    #[serde(default)]
    pub jobs: Option<i64>,
    /// Jobs sharing one GPU at once.
    #[serde(default)]
    pub jobs_per_gpu: Option<i64>,
    /// On CUDA: deterministic kernels (cudnn deterministic, no benchmark) or fast ones.
    #[serde(default)]
    pub deterministic: Option<bool>,
    /// Most jobs a plan may have (default [`DEFAULT_MAX_JOBS`]); checked before the matrix expands.
    #[serde(default)]
    pub max_jobs: Option<i64>,
    /// Profile applied when none is named on the command line.
    #[serde(default)]
    pub default_profile: Option<String>,
    pub seeds: Axis<i64>,
    pub datasets: BTreeMap<String, RawDataset>,
    pub models: BTreeMap<String, RawSettings>,
    #[serde(default)]
    pub matrix: RawMatrix,
    /// Occlusion saliency maps per model and data set.
    #[serde(default)]
    pub saliency: Option<RawSaliency>,
    /// Cluster submission settings.
    #[serde(default)]
    pub slurm: Option<RawSlurm>,
    /// Which analyses beyond accuracy run.
    #[serde(default)]
    pub analyses: Option<RawAnalyses>,
}

/// `analyses:` switches.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnalyses {
    /// Bootstrap intervals and paired tests between models (report only).
    #[serde(default)]
    pub uncertainty: Option<bool>,
    /// Calibration error and reliability diagrams (report only).
    #[serde(default)]
    pub calibration: Option<bool>,
    /// Students against their plain counterparts and teachers (report only).
    #[serde(default)]
    pub distillation: Option<bool>,
    /// Learning curves: the `train_fraction` runs below 1.0.
    #[serde(default)]
    pub data_efficiency: Option<bool>,
    /// The efficiency frontier and the `throughput` jobs (MicroExpNet's speed claim).
    #[serde(default)]
    pub efficiency: Option<bool>,
    /// Domain shift: every trained model tested on every other data set (`transfer` jobs).
    #[serde(default)]
    pub domain_shift: Option<bool>,
    /// Robustness: every trained model on corrupted copies of its test split (`robustness` jobs).
    #[serde(default)]
    pub robustness: Option<bool>,
}

/// `slurm:` settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlurm {
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// At most this many tasks of one array run at once (`%K`).
    #[serde(default)]
    pub array_limit: Option<i64>,
    /// Device argument of the tasks (`auto`, `cpu`, `cuda`).
    #[serde(default)]
    pub device: Option<String>,
    /// Retries after a failure, by job kind (`train: 2`) or `default`.
    #[serde(default)]
    pub retries: std::collections::BTreeMap<String, i64>,
    /// Resources by `default`, job kind, architecture or model name (later ones win).
    #[serde(default)]
    pub resources: std::collections::BTreeMap<String, RawResources>,
    /// Extra sbatch options for every task, e.g. `--qos=normal`.
    #[serde(default)]
    pub sbatch: Vec<String>,
}

/// Resources of a class of tasks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResources {
    #[serde(default)]
    pub cpus: Option<i64>,
    /// Memory per task, e.g. `4G`.
    #[serde(default)]
    pub memory: Option<String>,
    /// Time limit, e.g. `02:00:00` or `1-00:00:00`.
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub gpus: Option<i64>,
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub sbatch: Vec<String>,
}

/// `saliency:` settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSaliency {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Side of the zeroed square as a fraction of the image side.
    #[serde(default)]
    pub window: Option<f64>,
    /// Step between squares as a fraction of the image side.
    #[serde(default)]
    pub stride: Option<f64>,
    #[serde(default)]
    pub images_per_class: Option<i64>,
}

/// A data set declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDataset {
    /// `synthetic` (built in), or a loader: `fer2013`, `ferg`, `jaffe`, `ckplus`, `oulu-casia`, `image-folder`.
    pub kind: String,
    /// The manifest of a real data set (default `data-manifests/<kind>.yaml`), relative to the pipeline file.
    #[serde(default)]
    pub manifest: Option<String>,
    /// Skip corrupt images and bad rows (counted in the report) instead of failing.
    #[serde(default)]
    pub skip_bad: Option<bool>,
    /// Subject-independent folds (overrides the manifest's `folds`): every model runs once per fold.
    #[serde(default)]
    pub folds: Option<i64>,
    #[serde(default)]
    pub seed: Option<i64>,
    #[serde(default)]
    pub subjects: Option<i64>,
    #[serde(default)]
    pub images_per_subject: Option<i64>,
    #[serde(default)]
    pub contempt: Option<bool>,
    #[serde(default)]
    pub difficulty: Option<f64>,
    /// How posed or "in the wild" the synthetic faces are: `mixed` (default), `posed`, `wild`.
    #[serde(default)]
    pub style: Option<String>,
    /// Fraction of subjects held out for validation.
    #[serde(default)]
    pub val_fraction: Option<f64>,
    /// Fraction of subjects held out for the test.
    #[serde(default)]
    pub test_fraction: Option<f64>,
}

/// Model settings: used for `models.<name>` and for `matrix.include`/`exclude` entries.
/// Every hyperparameter may be a list, which becomes a matrix axis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    /// Architecture (`deep-emotion`, `microexpnet`); only under `models`.
    #[serde(default)]
    pub arch: Option<String>,
    /// Model name; only in `matrix.include`/`exclude` entries.
    #[serde(default)]
    pub model: Option<Axis<String>>,
    #[serde(default, alias = "dataset")]
    pub datasets: Option<Axis<String>>,
    #[serde(default, alias = "seed")]
    pub seeds: Option<Axis<i64>>,
    #[serde(default)]
    pub variant: Option<Axis<String>>,
    #[serde(default)]
    pub epochs: Option<Axis<i64>>,
    #[serde(default)]
    pub lr: Option<Axis<f64>>,
    #[serde(default)]
    pub batch_size: Option<Axis<i64>>,
    #[serde(default)]
    pub optimizer: Option<Axis<String>>,
    #[serde(default)]
    pub weight_decay: Option<Axis<f64>>,
    #[serde(default)]
    pub beta1: Option<Axis<f64>>,
    #[serde(default)]
    pub beta2: Option<Axis<f64>>,
    #[serde(default)]
    pub eps: Option<Axis<f64>>,
    #[serde(default)]
    pub dropout: Option<Axis<f64>>,
    /// Pixel scaling: `raw` (0..255), `centered` ([-1, 1]) or `standardize` (per image).
    #[serde(default)]
    pub input_norm: Option<Axis<String>>,
    /// Input side for architectures that take several (Inception_v3: 75..=299).
    #[serde(default)]
    pub input_size: Option<Axis<i64>>,
    /// Initial weights (safetensors, names as the PyTorch reference), relative to the pipeline file.
    #[serde(default)]
    pub weights: Option<Axis<String>>,
    /// Another model of the pipeline to distil from.
    #[serde(default)]
    pub teacher: Option<Axis<String>>,
    /// Distillation temperature T.
    #[serde(default)]
    pub temperature: Option<Axis<f64>>,
    /// Distillation weight w of the soft term.
    #[serde(default)]
    pub kd_weight: Option<Axis<f64>>,
    /// Multiply the soft term by T^2 (Hinton's form).
    #[serde(default)]
    pub kd_t2: Option<Axis<bool>>,
    /// MicroExpNet's multi-crop augmentation (8 fixed crops).
    #[serde(default)]
    pub multi_crop: Option<Axis<bool>>,
    /// Which weights a run keeps: `last` (the last epoch's) or `best-val` (the best validation epoch's).
    #[serde(default)]
    pub select: Option<Axis<String>>,
    /// Deep-Emotion's L2 penalty on the last two linear layers' weights (its weight).
    #[serde(default)]
    pub l2: Option<Axis<f64>>,
    /// The fraction of the training split's subjects to train on, in (0, 1] (nested subsets).
    #[serde(default)]
    pub train_fraction: Option<Axis<f64>>,
}

/// `matrix:`: how model settings combine.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatrix {
    /// Groups of axes that advance together instead of forming a product.
    #[serde(default)]
    pub zip: Vec<Vec<String>>,
    /// Extra combinations.
    #[serde(default)]
    pub include: Vec<RawSettings>,
    /// Combinations to drop: every entry whose given keys all match.
    #[serde(default)]
    pub exclude: Vec<RawSettings>,
}
