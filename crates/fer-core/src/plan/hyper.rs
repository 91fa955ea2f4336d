//! A train job's hyperparameters as named scalars (`adam.beta1` -> `adam_beta1`), for tables:
//! taken from the typed spec's own serialized form, so a field added to the spec appears here
//! without code changes, under the name it is hashed under.

use std::collections::HashSet;

use serde_json::Value;

use super::job::TrainJobSpec;

/// One hyperparameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Hyper {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Hyper {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Hyper::Int(i) => Some(*i as f64),
            Hyper::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn display(&self) -> String {
        match self {
            Hyper::Int(i) => i.to_string(),
            Hyper::Float(f) => f.to_string(),
            Hyper::Bool(b) => b.to_string(),
            Hyper::Text(s) => s.clone(),
        }
    }
}

/// Train-spec fields that are not hyperparameters (inputs, or columns of their own).
const NOT_HYPER: [&str; 6] = ["kind", "model", "train", "seed", "classes", "data"];

/// The order of the usual hyperparameters in tables; any other follows in spec order.
pub const HYPER_ORDER: [&str; 17] = [
    "epochs",
    "lr",
    "batch_size",
    "adam_beta1",
    "adam_beta2",
    "adam_eps",
    "adam_weight_decay",
    "dropout",
    "variant",
    "input_size",
    "input_norm",
    "multi_crop",
    "select",
    "distill_temperature",
    "distill_weight",
    "distill_t2",
    "distill_targets",
];

impl TrainJobSpec {
    /// The `train` and `model` fields (and any further non-input field) as named scalars, the
    /// usual ones first in [`HYPER_ORDER`].
    pub fn hyperparameters(&self) -> Vec<(String, Hyper)> {
        let spec = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut out = Vec::new();
        if let Some(train) = spec.get("train") {
            flatten("", train, &mut out);
        }
        if let Some(Value::Object(model)) = spec.get("model") {
            for (k, v) in model.iter().filter(|(k, _)| k.as_str() != "arch") {
                flatten(k, v, &mut out);
            }
        }
        if let Value::Object(top) = &spec {
            for (k, v) in top.iter().filter(|(k, _)| !NOT_HYPER.contains(&k.as_str())) {
                flatten(k, v, &mut out);
            }
        }
        let mut seen = HashSet::new();
        out.retain(|(k, _)| seen.insert(k.clone()));
        out.sort_by_key(|(k, _)| HYPER_ORDER.iter().position(|o| o == k).unwrap_or(HYPER_ORDER.len()));
        out
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Hyper)>) {
    let name = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}_{k}") };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                // A nested `spec` adds nothing to a name: `distill.spec.temperature` -> `distill_temperature`.
                let next = if k == "spec" { prefix.to_string() } else { name(k) };
                flatten(&next, v, out);
            }
        }
        Value::Number(n) => {
            let h = match n.as_i64() {
                Some(i) => Hyper::Int(i),
                None => Hyper::Float(n.as_f64().unwrap_or(f64::NAN)),
            };
            out.push((prefix.to_string(), h));
        }
        Value::Bool(b) => out.push((prefix.to_string(), Hyper::Bool(*b))),
        Value::String(s) => out.push((prefix.to_string(), Hyper::Text(s.clone()))),
        Value::Null | Value::Array(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{JobSpec, KdInput};
    use crate::spec::{load_str, DistillSpec, Overrides};

    /// A student's train spec from a real pipeline.
    fn student() -> TrainJobSpec {
        let text =
            "version: 1\nname: h\nseeds: [1]\ndatasets:\n  d: {kind: synthetic, subjects: 6, images_per_subject: 4}\n\
                    models:\n  t: {arch: deep-emotion, datasets: d, epochs: 1}\n  \
                    s: {arch: microexpnet, datasets: d, epochs: 1, teacher: t}\n";
        let p = load_str("h.yaml", text, &Overrides::default()).unwrap();
        let plan = crate::plan::build(&p);
        plan.jobs
            .iter()
            .find_map(|j| match &j.spec {
                JobSpec::Train(t) if t.distill.is_some() => Some(t.clone()),
                _ => None,
            })
            .expect("a student")
    }

    #[test]
    fn every_ordered_name_is_one_a_spec_produces() {
        let mut s = student();
        s.distill = Some(KdInput { targets: s.data, spec: DistillSpec { temperature: 8.0, weight: 0.5, t2: false } });
        let names: Vec<String> = s.hyperparameters().into_iter().map(|(k, _)| k).collect();
        // MicroExpNet has no input_size, and `select` is left out of the spec at its default
        // (`last`, so that older hashes hold): every other ordered name comes from a real spec.
        for o in HYPER_ORDER.iter().filter(|o| !matches!(**o, "input_size" | "select")) {
            assert!(names.iter().any(|n| n == o), "`{o}` is ordered but not produced: {names:?}");
        }
        assert_eq!(names[..3], ["epochs", "lr", "batch_size"]);
        let h = s.hyperparameters();
        assert_eq!(h.iter().find(|(k, _)| k == "variant").map(|(_, v)| v.clone()), Some(Hyper::Text("xxs".into())));
        assert_eq!(h.iter().find(|(k, _)| k == "epochs").map(|(_, v)| v.clone()), Some(Hyper::Int(1)));
    }
}
