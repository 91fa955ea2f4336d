//! Property test of matrix expansion: random pipelines (list axes, `zip`, `include`, `exclude`,
//! two models) are compiled through `load_str` and their runs compared, as a set, with a naive
//! model of the documented semantics written here.

use std::collections::BTreeSet;

use crate::rng::SplitMix64;
use crate::spec::{load_str, Overrides};

/// The keys varied, and the values each may take (as written in YAML and as compiled back).
const KEYS: [(&str, &[&str]); 5] = [
    ("datasets", &["a", "b", "c"]),
    ("seeds", &["1", "2", "3", "4"]),
    ("epochs", &["1", "2", "3"]),
    ("batch_size", &["8", "16", "32"]),
    ("lr", &["0.1", "0.01", "0.001"]),
];
const MODELS: [&str; 2] = ["m1", "m2"];

/// A setting as written: one value, or a list (an axis, even of one value).
#[derive(Debug, Clone)]
enum Setting {
    One(String),
    List(Vec<String>),
}

impl Setting {
    fn values(&self) -> Vec<String> {
        match self {
            Setting::One(v) => vec![v.clone()],
            Setting::List(v) => v.clone(),
        }
    }

    fn yaml(&self) -> String {
        match self {
            Setting::One(v) => v.clone(),
            Setting::List(v) => format!("[{}]", v.join(", ")),
        }
    }

    /// A member of a zip group: a list of more than one value.
    fn zipped_len(&self) -> Option<usize> {
        match self {
            Setting::List(v) if v.len() > 1 => Some(v.len()),
            _ => None,
        }
    }
}

/// Settings by key index (`None`: not given).
type Settings = [Option<Setting>; 5];

/// A matrix entry: an optional model and some settings.
#[derive(Debug, Clone)]
struct Entry {
    model: Option<&'static str>,
    settings: Settings,
}

#[derive(Debug, Clone)]
struct Case {
    seeds: Setting,
    models: [Settings; 2],
    zip: Option<[usize; 2]>,
    include: Vec<Entry>,
    exclude: Vec<Entry>,
}

/// One run: model and the value of every key.
type Run = (String, [String; 5]);

fn pick(r: &mut SplitMix64, n: usize) -> usize {
    r.below(n as u64) as usize
}

/// `len` distinct values of key `k`.
fn distinct(r: &mut SplitMix64, k: usize, len: usize) -> Vec<String> {
    let mut pool: Vec<&str> = KEYS[k].1.to_vec();
    r.shuffle(&mut pool);
    pool[..len.min(pool.len())].iter().map(|s| s.to_string()).collect()
}

fn setting(r: &mut SplitMix64, k: usize, len: Option<usize>) -> Setting {
    if len.is_none() && pick(r, 3) == 0 {
        return Setting::One(distinct(r, k, 1).remove(0));
    }
    let len = len.unwrap_or_else(|| 1 + pick(r, 3));
    Setting::List(distinct(r, k, len))
}

fn entry(r: &mut SplitMix64, min_keys: usize) -> Entry {
    let model = match pick(r, 3) {
        0 => Some(MODELS[0]),
        1 => Some(MODELS[1]),
        _ => None,
    };
    let mut settings: Settings = Default::default();
    let n = min_keys + pick(r, 3 - min_keys);
    for _ in 0..n {
        let k = pick(r, 5);
        settings[k] = Some(setting(r, k, None));
    }
    Entry { model, settings }
}

fn case(r: &mut SplitMix64) -> Case {
    let zip = (pick(r, 2) == 0).then(|| {
        let a = pick(r, 5);
        [a, (a + 1 + pick(r, 4)) % 5]
    });
    let mut models: [Settings; 2] = Default::default();
    for m in &mut models {
        for (k, slot) in m.iter_mut().enumerate() {
            // Seeds fall back to the pipeline's; everything else is given.
            if k == 1 && pick(r, 2) == 0 {
                continue;
            }
            *slot = Some(setting(r, k, None));
        }
        // Zipped lists mostly of one length, sometimes not (an error).
        if let Some([a, b]) = zip {
            if let (Some(len), true) = (m[a].as_ref().and_then(Setting::zipped_len), pick(r, 5) != 0) {
                m[b] = Some(setting(r, b, Some(len)));
            }
        }
    }
    let include = (0..pick(r, 3)).map(|_| entry(r, 0)).collect();
    let exclude = (0..pick(r, 3)).map(|_| entry(r, 1)).collect();
    Case { seeds: setting(r, 1, None), models, zip, include, exclude }
}

fn yaml(c: &Case) -> String {
    let fields = |s: &Settings| {
        s.iter()
            .enumerate()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{}: {}", KEYS[k].0, v.yaml())))
            .collect::<Vec<_>>()
    };
    let entry = |e: &Entry| {
        let mut f = fields(&e.settings);
        if let Some(m) = e.model {
            f.insert(0, format!("model: {m}"));
        }
        format!("{{{}}}", f.join(", "))
    };
    let mut y = format!(
        "version: 1\nname: props\nseeds: {}\ndatasets:\n  a: {{kind: synthetic, subjects: 4}}\n  \
         b: {{kind: synthetic, subjects: 5}}\n  c: {{kind: synthetic, subjects: 6}}\nmodels:\n",
        c.seeds.yaml()
    );
    for (name, s) in MODELS.iter().zip(&c.models) {
        let mut f = fields(s);
        f.insert(0, "arch: deep-emotion".into());
        y.push_str(&format!("  {name}: {{{}}}\n", f.join(", ")));
    }
    y.push_str("matrix:\n");
    if let Some([a, b]) = c.zip {
        y.push_str(&format!("  zip: [[{}, {}]]\n", KEYS[a].0, KEYS[b].0));
    }
    for (kind, list) in [("include", &c.include), ("exclude", &c.exclude)] {
        let items: Vec<String> = list.iter().map(entry).collect();
        y.push_str(&format!("  {kind}: [{}]\n", items.join(", ")));
    }
    y
}

/// The naive model: the product of the axes, where a zip group's lists of more than one value
/// advance together; `None` when zipped lists differ in length.
fn expand(axes: &[Setting; 5], zip: Option<[usize; 2]>) -> Option<Vec<[String; 5]>> {
    let zipped: Vec<usize> =
        zip.map(|z| z.into_iter().filter(|&k| axes[k].zipped_len().is_some()).collect()).unwrap_or_default();
    let lens: BTreeSet<usize> = zipped.iter().filter_map(|&k| axes[k].zipped_len()).collect();
    if lens.len() > 1 {
        return None;
    }
    let mut out = Vec::new();
    let pairs = lens.into_iter().next().unwrap_or(1);
    for i in 0..pairs {
        let mut partial: Vec<[String; 5]> = vec![Default::default()];
        for (k, axis) in axes.iter().enumerate() {
            let choices = if zipped.contains(&k) { vec![axis.values()[i].clone()] } else { axis.values() };
            partial = partial
                .into_iter()
                .flat_map(|p| {
                    choices.iter().map(move |v| {
                        let mut p = p.clone();
                        p[k] = v.clone();
                        p
                    })
                })
                .collect();
        }
        out.extend(partial);
    }
    Some(out)
}

fn applies(e: &Entry, model: &str) -> bool {
    e.model.is_none_or(|m| m == model)
}

/// The runs `c` should compile to, or `None` when it should be refused.
fn naive(c: &Case) -> Option<BTreeSet<Run>> {
    let mut runs = BTreeSet::new();
    for (name, s) in MODELS.iter().zip(&c.models) {
        let axes: [Setting; 5] = std::array::from_fn(|k| {
            s[k].clone().unwrap_or_else(|| if k == 1 { c.seeds.clone() } else { unreachable!() })
        });
        let mut combos = expand(&axes, c.zip)?;
        for inc in c.include.iter().filter(|e| applies(e, name)) {
            let merged: [Setting; 5] = std::array::from_fn(|k| inc.settings[k].clone().unwrap_or(axes[k].clone()));
            combos.extend(expand(&merged, c.zip)?);
        }
        for combo in combos {
            let excluded = c.exclude.iter().any(|e| {
                applies(e, name)
                    && e.settings
                        .iter()
                        .enumerate()
                        .all(|(k, s)| s.as_ref().is_none_or(|s| s.values().contains(&combo[k])))
            });
            if !excluded {
                runs.insert((name.to_string(), combo));
            }
        }
    }
    (!runs.is_empty()).then_some(runs)
}

#[test]
fn expansion_matches_the_naive_model() {
    let mut r = SplitMix64::new(0x6d61_7472_6978);
    let (mut accepted, mut refused, mut zipped, mut included, mut excluded) = (0, 0, 0, 0, 0);
    for i in 0..400 {
        let c = case(&mut r);
        let text = yaml(&c);
        let want = naive(&c);
        let got = load_str("props.yaml", &text, &Overrides::default());
        match (&want, got) {
            (None, Err(_)) => refused += 1,
            (Some(want), Ok(p)) => {
                let got: BTreeSet<Run> = p
                    .experiments
                    .iter()
                    .map(|e| {
                        let t = &e.train;
                        let v = [
                            e.dataset.clone(),
                            e.seed.to_string(),
                            t.epochs.to_string(),
                            t.batch_size.to_string(),
                            t.lr.to_string(),
                        ];
                        (e.model_name.clone(), v)
                    })
                    .collect();
                assert_eq!(&got, want, "case {i}:\n{text}");
                assert_eq!(got.len(), p.experiments.len(), "case {i}: a run twice:\n{text}");
                accepted += 1;
                zipped += usize::from(c.zip.is_some());
                included += usize::from(!c.include.is_empty());
                excluded += usize::from(!c.exclude.is_empty());
            }
            (None, Ok(p)) => {
                panic!("case {i}: accepted with {} runs, expected a refusal:\n{text}", p.experiments.len())
            }
            (Some(w), Err(e)) => panic!("case {i}: refused ({e}), expected {} runs:\n{text}", w.len()),
        }
    }
    // The generator reaches every feature, and both outcomes.
    assert!(accepted > 200 && refused > 10, "accepted {accepted}, refused {refused}");
    assert!(zipped > 50 && included > 100 && excluded > 100, "{zipped} {included} {excluded}");
}
