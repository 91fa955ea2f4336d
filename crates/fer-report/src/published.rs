//! The published accuracies and the protocols they were obtained under, loaded from the one data
//! file `src/report/published.yaml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::ReportError;

/// Where the figures live in the repository (for messages).
pub const PUBLISHED_PATH: &str = "src/report/published.yaml";

static PUBLISHED_YAML: &str = include_str!("published.yaml");

/// One published figure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Architecture family: `deep-emotion` or `microexpnet`.
    pub model: String,
    /// The store's data set name, e.g. `fer2013`.
    pub dataset: String,
    /// Test accuracy in percent.
    pub accuracy: f64,
    /// Key into [`Published::sources`].
    pub source: String,
    /// The protocol of the figure, as a manifest names it (`random`, `subject-kfold`, `usage`, ...),
    /// so it can be set beside this program's.
    pub protocol: String,
    /// The paper's split in words (fractions, counts, subject-dependent or not).
    pub split: String,
}

/// The protocol kinds a figure may name (a manifest's, plus `unknown`).
pub(crate) const PROTOCOL_KINDS: [&str; 5] = ["usage", "subject-kfold", "stratified", "random", "unknown"];

/// Whether a protocol kind keeps every subject in one split (`None`: not known).
pub(crate) fn subject_independent(kind: &str) -> Option<bool> {
    match kind {
        "subject-kfold" | "subject-holdout" => Some(true),
        "random" | "stratified" => Some(false),
        _ => None,
    }
}

/// The published figures with display names for models, data sets and sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    pub models: BTreeMap<String, String>,
    pub datasets: BTreeMap<String, String>,
    pub sources: BTreeMap<String, String>,
    pub figures: Vec<Figure>,
}

impl Published {
    /// The figures shipped with the program.
    pub fn load() -> Result<Published, ReportError> {
        Published::parse(PUBLISHED_YAML, PUBLISHED_PATH)
    }

    /// Parses and checks a published-figures file.
    pub fn parse(text: &str, path: &str) -> Result<Published, ReportError> {
        let err = |message: String| ReportError::Published { path: path.to_string(), message };
        let p: Published = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (i, f) in p.figures.iter().enumerate() {
            if !p.sources.contains_key(&f.source) {
                return Err(err(format!("figure {} names the unknown source `{}`", i + 1, f.source)));
            }
            if !PROTOCOL_KINDS.contains(&f.protocol.as_str()) {
                return Err(err(format!(
                    "figure {} names the unknown protocol `{}`; known: {}",
                    i + 1,
                    f.protocol,
                    PROTOCOL_KINDS.join(", ")
                )));
            }
            if !(0.0..=100.0).contains(&f.accuracy) {
                return Err(err(format!("figure {} has accuracy {} outside 0..100 %", i + 1, f.accuracy)));
            }
        }
        Ok(p)
    }

    /// A data set's display name (`ckplus` -> `CK+`), or its store name.
    pub fn dataset_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.datasets.get(name).map(String::as_str).unwrap_or(name)
    }

    /// A model family's display name, or the family itself.
    pub fn model_name<'a>(&'a self, family: &'a str) -> &'a str {
        self.models.get(family).map(String::as_str).unwrap_or(family)
    }

    pub fn source_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.sources.get(key).map(String::as_str).unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_figures_load_with_both_fer2013_sources() {
        let p = Published::load().unwrap();
        let fer: Vec<_> = p.figures.iter().filter(|f| f.model == "deep-emotion" && f.dataset == "fer2013").collect();
        assert_eq!(fer.len(), 2);
        assert!(fer.iter().all(|f| f.accuracy == 70.02));
        assert_eq!(p.dataset_name("ckplus"), "CK+");
        assert_eq!(p.dataset_name("mystery"), "mystery");
        // Every figure carries its protocol: Deep-Emotion's CK+, JAFFE and FERG are random splits.
        for d in ["ckplus", "jaffe", "ferg"] {
            let f = p.figures.iter().find(|f| f.model == "deep-emotion" && f.dataset == d).unwrap();
            assert_eq!((f.protocol.as_str(), subject_independent(&f.protocol)), ("random", Some(false)), "{d}");
        }
        let text = "models: {}\ndatasets: {}\nsources: {a: A}\n\
                    figures: [{model: m, dataset: d, accuracy: 1, source: a, protocol: loo, split: s}]";
        let e = Published::parse(text, "x.yaml").unwrap_err().to_string();
        assert!(e.contains("unknown protocol `loo`"), "{e}");
    }

    #[test]
    fn unknown_source_is_named() {
        let text = "models: {}\ndatasets: {}\nsources: {a: A}\n\
                    figures: [{model: m, dataset: d, accuracy: 1, source: b, protocol: random, split: s}]";
        let e = Published::parse(text, "x.yaml").unwrap_err().to_string();
        assert!(e.contains("x.yaml") && e.contains("`b`"), "{e}");
    }
}
