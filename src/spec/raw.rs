//! The raw, serde-level shape of `pipeline.yaml`: what the user wrote, before defaults and checks.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::axis::Axis;

/// The top level of `pipeline.yaml` (profiles removed: they are overlays applied before this).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
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
    /// Profile applied when none is named on the command line.
    #[serde(default)]
    pub default_profile: Option<String>,
    pub seeds: Axis<i64>,
    pub datasets: BTreeMap<String, RawDataset>,
    pub models: BTreeMap<String, RawSettings>,
    #[serde(default)]
    pub matrix: RawMatrix,
}

/// A data set declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// `synthetic` (built in).
    pub kind: String,
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
pub struct RawSettings {
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
}

/// `matrix:`: how model settings combine.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatrix {
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
