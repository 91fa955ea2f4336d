//! Matrix expansion over typed settings: list-valued settings become axes; `zip` pairs axes;
//! `include`/`exclude` edit; each combination becomes a [`Cell`], a model's typed config.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::axis::Axis;
use super::raw::RawSettings;
use crate::arch::{deep_emotion, inception, train, Arch, ArchConfig, DistillConfig, InputNorm, Key, Optimizer};
use crate::arch::{Select, Setting, Variant};

/// The values given for one key, each checked (or why it is refused), and whether they were
/// written as a list.
#[derive(Debug, Clone)]
pub(super) struct Given {
    pub values: Vec<Result<Setting, String>>,
    pub is_list: bool,
}

/// The settings given in `s`, by key, each value checked.
pub(super) fn given(s: &RawSettings) -> BTreeMap<Key, Given> {
    fn put<T: Clone>(
        out: &mut BTreeMap<Key, Given>,
        key: Key,
        a: &Option<Axis<T>>,
        f: impl Fn(T) -> Result<Setting, String>,
    ) {
        if let Some(a) = a {
            out.insert(key, Given { values: a.values.iter().cloned().map(f).collect(), is_list: a.is_list });
        }
    }
    let mut out = BTreeMap::new();
    let o = &mut out;
    put(o, Key::Datasets, &s.datasets, |d| Ok(Setting::Dataset(d)));
    put(o, Key::Seeds, &s.seeds, |i| {
        u64::try_from(i).map(Setting::Seed).map_err(|_| format!("a seed must be >= 0, got `{i}`"))
    });
    put(o, Key::Variant, &s.variant, |v| Variant::setting(&v).map(Setting::Variant));
    put(o, Key::Epochs, &s.epochs, |v| train::epochs(v).map(Setting::Epochs));
    put(o, Key::Lr, &s.lr, |v| train::lr(v).map(Setting::Lr));
    put(o, Key::BatchSize, &s.batch_size, |v| train::batch_size(v).map(Setting::BatchSize));
    put(o, Key::Optimizer, &s.optimizer, |v| Optimizer::setting(&v).map(Setting::Optimizer));
    put(o, Key::WeightDecay, &s.weight_decay, |v| train::weight_decay(v).map(Setting::WeightDecay));
    put(o, Key::Beta1, &s.beta1, |v| train::beta(Key::Beta1, v).map(Setting::Beta1));
    put(o, Key::Beta2, &s.beta2, |v| train::beta(Key::Beta2, v).map(Setting::Beta2));
    put(o, Key::Eps, &s.eps, |v| train::eps(v).map(Setting::Eps));
    put(o, Key::Dropout, &s.dropout, |v| train::dropout(v).map(Setting::Dropout));
    put(o, Key::InputNorm, &s.input_norm, |v| InputNorm::setting(&v).map(Setting::InputNorm));
    put(o, Key::InputSize, &s.input_size, |v| inception::input_size(v).map(Setting::InputSize));
    put(o, Key::Weights, &s.weights, |v| match v.trim().is_empty() {
        true => Err("the weights file name is empty".into()),
        false => Ok(Setting::Weights(v)),
    });
    put(o, Key::MultiCrop, &s.multi_crop, |v| Ok(Setting::MultiCrop(v)));
    put(o, Key::Teacher, &s.teacher, |v| Ok(Setting::Teacher(v)));
    put(o, Key::Temperature, &s.temperature, |v| train::temperature(v).map(Setting::Temperature));
    put(o, Key::KdWeight, &s.kd_weight, |v| train::kd_weight(v).map(Setting::KdWeight));
    put(o, Key::KdT2, &s.kd_t2, |v| Ok(Setting::KdT2(v)));
    put(o, Key::Select, &s.select, |v| Select::setting(&v).map(Setting::Select));
    put(o, Key::L2, &s.l2, |v| deep_emotion::l2(v).map(Setting::L2));
    put(o, Key::TrainFraction, &s.train_fraction, |v| train::train_fraction(v).map(Setting::TrainFraction));
    out
}

/// One axis of a model's matrix: its values, each with the key path it was written at.
#[derive(Debug, Clone)]
pub(super) struct AxisValues {
    pub key: Key,
    pub values: Vec<(Setting, String)>,
    pub is_list: bool,
}

/// A combination: one value per key, with the path each came from.
pub(super) type Combo = BTreeMap<Key, (Setting, String)>;

/// One key set to one value (with its path).
type Part = (Key, (Setting, String));

/// Expands axes into combinations: the product of all axes, where each `zip` group is one
/// dimension advancing its axes together. Errors name the zip group at fault.
pub(super) fn expand(axes: &[AxisValues], zip: &[Vec<Key>]) -> Result<Vec<Combo>, String> {
    // Each dimension lists its alternatives; each alternative sets one or more keys.
    let mut dims: Vec<Vec<Vec<Part>>> = Vec::new();
    let mut zipped: Vec<Key> = Vec::new();
    for group in zip {
        let members: Vec<&AxisValues> =
            axes.iter().filter(|a| group.contains(&a.key) && a.is_list && a.values.len() > 1).collect();
        if members.is_empty() {
            continue;
        }
        let n = members[0].values.len();
        if let Some(bad) = members.iter().find(|m| m.values.len() != n) {
            let names: Vec<&str> = group.iter().map(|k| k.name()).collect();
            return Err(format!(
                "zip group [{}] pairs axes of different lengths: `{}` has {} values, `{}` has {}",
                names.join(", "),
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
pub(super) fn count(axes: &[AxisValues], zip: &[Vec<Key>]) -> u64 {
    let mut n: u64 = 1;
    let mut zipped: Vec<Key> = Vec::new();
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

/// One combination, typed: the model's config with the combination's settings applied, where
/// it runs, its initial weights and what it learns from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cell {
    pub dataset: String,
    pub seed: u64,
    pub config: ArchConfig,
    /// The weights file, as written (relative to the pipeline file).
    pub weights: Option<String>,
    /// The teacher model's name.
    pub teacher: Option<String>,
    /// How a student learns from its teacher (its temperature chosen: the data set's by default).
    pub distill: DistillConfig,
}

impl Cell {
    /// The architecture's defaults with the combination's settings applied; `None` without a data
    /// set or a seed. A student's temperature, unless set, is `temperature(dataset)`, so that
    /// `exclude` entries see the value the job uses.
    pub(super) fn new(arch: Arch, combo: &Combo, temperature: impl Fn(&str) -> f64) -> Option<Cell> {
        let (mut dataset, mut seed) = (None, None);
        let mut cell = Cell {
            dataset: String::new(),
            seed: 0,
            config: ArchConfig::new(arch),
            weights: None,
            teacher: None,
            distill: DistillConfig::default(),
        };
        for (s, _) in combo.values() {
            match s {
                Setting::Dataset(d) => dataset = Some(d.clone()),
                Setting::Seed(i) => seed = Some(*i),
                Setting::Weights(w) => cell.weights = Some(w.clone()),
                Setting::Teacher(t) => cell.teacher = Some(t.clone()),
                s => {
                    // The keys are checked against the architecture before they reach an axis.
                    let applied = cell.distill.set(s) || cell.config.set(s);
                    debug_assert!(applied, "`{}` reached a `{}` cell", s.key(), arch.name());
                }
            }
        }
        (cell.dataset, cell.seed) = (dataset?, seed?);
        if cell.teacher.is_some() && cell.distill.temperature.is_none() {
            cell.distill.temperature = Some(temperature(&cell.dataset));
        }
        Some(cell)
    }

    /// The value of `key` in this cell: what `exclude` entries match. Distillation settings exist
    /// only for students; `multi_crop` is off for every architecture but MicroExpNet.
    pub(super) fn value(&self, key: Key) -> Option<Setting> {
        match key {
            Key::Datasets => Some(Setting::Dataset(self.dataset.clone())),
            Key::Seeds => Some(Setting::Seed(self.seed)),
            Key::Weights => self.weights.clone().map(Setting::Weights),
            Key::Teacher => self.teacher.clone().map(Setting::Teacher),
            Key::Temperature | Key::KdWeight | Key::KdT2 => self.teacher.as_ref().and(self.distill.value(key)),
            Key::MultiCrop => Some(Setting::MultiCrop(self.config.multi_crop())),
            key => self.config.value(key),
        }
    }
}

/// Cells are compared by value (their checked settings are never NaN).
impl Eq for Cell {}

/// Hashes every value [`Cell::value`] reports: equal cells hash alike.
impl Hash for Cell {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.config.arch().hash(h);
        for key in Key::ALL {
            self.value(key).hash(h);
        }
    }
}

/// A `matrix.exclude` entry: the models it names (all when `None`) and the values it matches.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    pub models: Option<Vec<String>>,
    pub given: BTreeMap<Key, Given>,
}

impl Filter {
    pub(super) fn new(entry: &RawSettings) -> Filter {
        Filter { models: entry.model.as_ref().map(|m| m.values.clone()), given: given(entry) }
    }

    /// True when `cell` of `model` has one of the entry's values for every key it gives (a key
    /// the cell does not have never matches).
    pub(super) fn matches(&self, model: &str, cell: &Cell) -> bool {
        if self.models.as_ref().is_some_and(|m| !m.iter().any(|x| x == model)) {
            return false;
        }
        self.given.iter().all(|(k, g)| match cell.value(*k) {
            Some(v) => g.values.iter().any(|x| x.as_ref() == Ok(&v)),
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(key: Key, v: &[u32], is_list: bool) -> AxisValues {
        AxisValues { key, values: v.iter().map(|x| (Setting::Epochs(*x), key.to_string())).collect(), is_list }
    }

    #[test]
    fn product_and_zip() {
        let axes = [
            axis(Key::Seeds, &[1, 2, 3], true),
            axis(Key::Epochs, &[1, 2], true),
            axis(Key::BatchSize, &[10, 20], true),
        ];
        assert_eq!(expand(&axes, &[]).unwrap().len(), 12);
        let z = expand(&axes, &[vec![Key::Epochs, Key::BatchSize]]).unwrap();
        assert_eq!(z.len(), 6);
        assert!(z.iter().all(|c| match (&c[&Key::Epochs].0, &c[&Key::BatchSize].0) {
            (Setting::Epochs(e), Setting::Epochs(b)) => *b == e * 10,
            _ => false,
        }));
        assert_eq!(count(&axes, &[]), 12);
        assert_eq!(count(&axes, &[vec![Key::Epochs, Key::BatchSize]]), 6);
        let bad = [axis(Key::Epochs, &[1, 2], true), axis(Key::BatchSize, &[1, 2, 3], true)];
        let e = expand(&bad, &[vec![Key::Epochs, Key::BatchSize]]).unwrap_err();
        assert!(e.contains("[epochs, batch_size] pairs axes of different lengths"), "{e}");
    }

    fn combo(settings: &[Setting]) -> Combo {
        settings.iter().map(|s| (s.key(), (s.clone(), s.key().to_string()))).collect()
    }

    fn base() -> Vec<Setting> {
        vec![Setting::Dataset("d".into()), Setting::Seed(2)]
    }

    #[test]
    fn a_cell_is_the_architecture_s_defaults_with_the_combination_applied() {
        let c = Cell::new(Arch::DeepEmotion, &combo(&[base(), vec![Setting::Lr(0.1)]].concat()), |_| 8.0).unwrap();
        let mut want = ArchConfig::new(Arch::DeepEmotion);
        want.set(&Setting::Lr(0.1));
        assert_eq!((c.dataset.as_str(), c.seed, c.config), ("d", 2, want));
        assert_eq!((&c.teacher, &c.weights, c.value(Key::Temperature)), (&None, &None, None));
        // A student's temperature is its data set's unless set.
        let s = [base(), vec![Setting::Teacher("t".into())]].concat();
        let c = Cell::new(Arch::MicroExpNet, &combo(&s), |d| if d == "d" { 4.0 } else { 8.0 }).unwrap();
        assert_eq!(c.value(Key::Temperature), Some(Setting::Temperature(4.0)));
        assert_eq!(c.value(Key::KdWeight), Some(Setting::KdWeight(0.5)));
        let s = [s, vec![Setting::Temperature(2.0)]].concat();
        assert_eq!(Cell::new(Arch::MicroExpNet, &combo(&s), |_| 4.0).unwrap().distill.temperature, Some(2.0));
        assert!(Cell::new(Arch::MicroExpNet, &combo(&[Setting::Seed(1)]), |_| 4.0).is_none());
    }

    #[test]
    fn exclude_matching() {
        let cell = |seed| {
            Cell::new(Arch::DeepEmotion, &combo(&[Setting::Dataset("d".into()), Setting::Seed(seed)]), |_| 8.0).unwrap()
        };
        let f = |s: RawSettings| Filter::new(&s);
        let seed2 = f(RawSettings { seeds: Some(Axis::one(2)), ..Default::default() });
        assert!(seed2.matches("m", &cell(2)) && !seed2.matches("m", &cell(1)));
        let other = f(RawSettings { model: Some(Axis::one("other".to_string())), ..Default::default() });
        assert!(!other.matches("m", &cell(1)));
        // Defaults are matched; a key the architecture does not have never matches.
        assert!(f(RawSettings { epochs: Some(Axis::one(500)), ..Default::default() }).matches("m", &cell(1)));
        assert!(!f(RawSettings { variant: Some(Axis::one("xxs".into())), ..Default::default() }).matches("m", &cell(1)));
        assert!(f(RawSettings { multi_crop: Some(Axis::one(false)), ..Default::default() }).matches("m", &cell(1)));
        assert!(!f(RawSettings { temperature: Some(Axis::one(8.0)), ..Default::default() }).matches("m", &cell(1)));
        // A value that is not valid matches nothing.
        assert!(!f(RawSettings { seeds: Some(Axis::one(-1)), ..Default::default() }).matches("m", &cell(1)));
    }

    #[test]
    fn equal_cells_hash_alike_and_differ_by_any_setting() {
        use std::collections::HashSet;
        let mk =
            |extra: Vec<Setting>| Cell::new(Arch::MicroExpNet, &combo(&[base(), extra].concat()), |_| 8.0).unwrap();
        let set: HashSet<Cell> = [
            mk(vec![]),
            mk(vec![Setting::Epochs(3000)]),
            mk(vec![Setting::WeightDecay(-0.0)]),
            mk(vec![Setting::Dropout(0.1)]),
            mk(vec![Setting::Teacher("t".into())]),
            mk(vec![Setting::Teacher("t".into()), Setting::Temperature(8.0)]),
            mk(vec![Setting::Teacher("t".into()), Setting::KdT2(true)]),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 4, "{set:#?}");
    }
}
#[cfg(test)]
#[path = "matrix_props.rs"]
mod props;
