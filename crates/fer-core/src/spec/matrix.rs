//! Matrix expansion: list-valued settings become axes; `zip` pairs axes; `include`/`exclude` edit.

use std::collections::BTreeMap;
use std::fmt;

use super::axis::Axis;
use super::raw::RawSettings;

/// One resolved setting value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => write!(f, "{x}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Str(s) => write!(f, "{s}"),
        }
    }
}

/// The keys a model's settings may vary over, in axis order.
pub const KEYS: [&str; 22] = [
    "datasets",
    "seeds",
    "variant",
    "epochs",
    "lr",
    "batch_size",
    "optimizer",
    "weight_decay",
    "beta1",
    "beta2",
    "eps",
    "dropout",
    "input_norm",
    "input_size",
    "weights",
    "multi_crop",
    "teacher",
    "temperature",
    "kd_weight",
    "kd_t2",
    "select",
    "l2",
];

/// Accepts the singular spelling used in `zip`, `include` and `exclude` (`seed`, `dataset`).
pub fn canonical_key(k: &str) -> Option<&'static str> {
    let k = match k {
        "seed" => "seeds",
        "dataset" => "datasets",
        other => other,
    };
    KEYS.into_iter().find(|x| *x == k)
}

fn vals<T: Clone>(a: &Option<Axis<T>>, f: impl Fn(T) -> Val) -> Option<(Vec<Val>, bool)> {
    a.as_ref().map(|a| (a.values.iter().cloned().map(f).collect(), a.is_list))
}

/// The settings given in `s`, by key (values, written as a list).
pub fn given(s: &RawSettings) -> BTreeMap<&'static str, (Vec<Val>, bool)> {
    let pairs = [
        ("datasets", vals(&s.datasets, Val::Str)),
        ("seeds", vals(&s.seeds, Val::Int)),
        ("variant", vals(&s.variant, Val::Str)),
        ("epochs", vals(&s.epochs, Val::Int)),
        ("lr", vals(&s.lr, Val::Float)),
        ("batch_size", vals(&s.batch_size, Val::Int)),
        ("optimizer", vals(&s.optimizer, Val::Str)),
        ("weight_decay", vals(&s.weight_decay, Val::Float)),
        ("beta1", vals(&s.beta1, Val::Float)),
        ("beta2", vals(&s.beta2, Val::Float)),
        ("eps", vals(&s.eps, Val::Float)),
        ("dropout", vals(&s.dropout, Val::Float)),
        ("input_norm", vals(&s.input_norm, Val::Str)),
        ("input_size", vals(&s.input_size, Val::Int)),
        ("weights", vals(&s.weights, Val::Str)),
        ("multi_crop", vals(&s.multi_crop, Val::Bool)),
        ("teacher", vals(&s.teacher, Val::Str)),
        ("temperature", vals(&s.temperature, Val::Float)),
        ("kd_weight", vals(&s.kd_weight, Val::Float)),
        ("kd_t2", vals(&s.kd_t2, Val::Bool)),
        ("select", vals(&s.select, Val::Str)),
        ("l2", vals(&s.l2, Val::Float)),
    ];
    pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect()
}

/// One axis of a model's matrix: its values, each with the key path it was written at.
#[derive(Debug, Clone)]
pub struct AxisValues {
    pub key: &'static str,
    pub values: Vec<(Val, String)>,
    pub is_list: bool,
}

/// One key set to one value (with its path).
type Setting = (&'static str, (Val, String));

/// A combination: one value per key, with the path each came from.
pub type Combo = BTreeMap<&'static str, (Val, String)>;

/// Expands axes into combinations: the product of all axes, where each `zip` group is one
/// dimension advancing its axes together. Errors name the zip group at fault.
pub fn expand(axes: &[AxisValues], zip: &[Vec<&'static str>]) -> Result<Vec<Combo>, String> {
    // Dimensions: each a list of partial combos.
    // Each dimension lists its alternatives; each alternative sets one or more keys.
    let mut dims: Vec<Vec<Vec<Setting>>> = Vec::new();
    let mut zipped: Vec<&'static str> = Vec::new();
    for group in zip {
        let members: Vec<&AxisValues> =
            axes.iter().filter(|a| group.contains(&a.key) && a.is_list && a.values.len() > 1).collect();
        if members.is_empty() {
            continue;
        }
        let n = members[0].values.len();
        if let Some(bad) = members.iter().find(|m| m.values.len() != n) {
            return Err(format!(
                "zip group [{}] pairs axes of different lengths: `{}` has {} values, `{}` has {}",
                group.join(", "),
                members[0].key,
                n,
                bad.key,
                bad.values.len()
            ));
        }
        let dim = (0..n).map(|i| members.iter().map(|m| (m.key, m.values[i].clone())).collect()).collect();
        dims.push(dim);
        zipped.extend(members.iter().map(|m| m.key));
    }
    for a in axes.iter().filter(|a| !zipped.contains(&a.key)) {
        dims.push(a.values.iter().map(|v| vec![(a.key, v.clone())]).collect());
    }
    let mut combos: Vec<Combo> = vec![Combo::new()];
    for dim in dims {
        let mut next = Vec::with_capacity(combos.len() * dim.len());
        for c in &combos {
            for part in &dim {
                let mut c2 = c.clone();
                c2.extend(part.iter().cloned());
                next.push(c2);
            }
        }
        combos = next;
    }
    Ok(combos)
}

/// How many combinations [`expand`] makes from `axes`, without making them (saturating).
pub fn count(axes: &[AxisValues], zip: &[Vec<&'static str>]) -> u64 {
    let mut n: u64 = 1;
    let mut zipped: Vec<&'static str> = Vec::new();
    for group in zip {
        let members: Vec<&AxisValues> =
            axes.iter().filter(|a| group.contains(&a.key) && a.is_list && a.values.len() > 1).collect();
        // Axes of different lengths are an error of `expand`; the longest bounds the count.
        if let Some(len) = members.iter().map(|m| m.values.len()).max() {
            n = n.saturating_mul(len as u64);
            zipped.extend(members.iter().map(|m| m.key));
        }
    }
    for a in axes.iter().filter(|a| !zipped.contains(&a.key)) {
        n = n.saturating_mul(a.values.len() as u64);
    }
    n
}

/// True when `combo` matches every key given in an exclude entry (a list matches any of its values).
pub fn matches(combo: &Combo, model: &str, filter: &RawSettings) -> bool {
    if let Some(m) = &filter.model {
        if !m.values.iter().any(|x| x == model) {
            return false;
        }
    }
    given(filter).iter().all(|(k, (vals, _))| match combo.get(k) {
        Some((v, _)) => vals.iter().any(|x| same(x, v)),
        None => false,
    })
}

/// Equality that treats `5` and `5.0` as the same number.
fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Float(y)) | (Val::Float(y), Val::Int(x)) => (*x as f64) == *y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(key: &'static str, v: &[i64], is_list: bool) -> AxisValues {
        AxisValues { key, values: v.iter().map(|x| (Val::Int(*x), key.to_string())).collect(), is_list }
    }

    #[test]
    fn product_and_zip() {
        let axes =
            [axis("seeds", &[1, 2, 3], true), axis("epochs", &[1, 2], true), axis("batch_size", &[10, 20], true)];
        assert_eq!(expand(&axes, &[]).unwrap().len(), 12);
        let z = expand(&axes, &[vec!["epochs", "batch_size"]]).unwrap();
        assert_eq!(z.len(), 6);
        assert!(z.iter().all(|c| match (&c["epochs"].0, &c["batch_size"].0) {
            (Val::Int(e), Val::Int(b)) => *b == e * 10,
            _ => false,
        }));
        assert_eq!(count(&axes, &[]), 12);
        assert_eq!(count(&axes, &[vec!["epochs", "batch_size"]]), 6);
        let bad = [axis("epochs", &[1, 2], true), axis("batch_size", &[1, 2, 3], true)];
        assert!(expand(&bad, &[vec!["epochs", "batch_size"]]).unwrap_err().contains("different lengths"));
    }

    #[test]
    fn exclude_matching() {
        let c = expand(&[axis("seeds", &[1, 2], true), axis("epochs", &[5], false)], &[]).unwrap();
        let f = RawSettings { seeds: Some(Axis::one(2)), ..Default::default() };
        assert_eq!(c.iter().filter(|c| matches(c, "m", &f)).count(), 1);
        let f2 = RawSettings { model: Some(Axis::one("other".to_string())), ..Default::default() };
        assert!(!matches(&c[0], "m", &f2));
        let f3 = RawSettings { lr: Some(Axis::one(5.0)), ..Default::default() };
        assert!(!matches(&c[0], "m", &f3), "absent key never matches");
        let f4 = RawSettings { epochs: Some(Axis::one(5)), ..Default::default() };
        assert!(matches(&c[0], "m", &f4));
    }
}
#[cfg(test)]
#[path = "matrix_props.rs"]
mod props;
