//! Unit tests of compilation through its public entry (a pipeline file loaded from a temp dir):
//! teacher resolution (the run chosen, self-teachers, cycles, ambiguity, unknown teachers) and how
//! `matrix.include` and `matrix.zip` merge with a model's axes.

use crate::spec::{load, Experiment, Overrides, Pipeline, SpecError};

/// Two synthetic data sets and a 2-fold one; model lines start at line 9.
const BASE: &str = "version: 1
name: t
seeds: [1]
datasets:
  syn: {kind: synthetic, subjects: 6, images_per_subject: 4}
  other: {kind: synthetic, subjects: 6, images_per_subject: 5}
  ck: {kind: ckplus, folds: 2}
models:
";

/// Loads `BASE` + `rest` from a file, as `fer-pipeline` does.
fn load_text(rest: &str) -> Result<Pipeline, SpecError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, format!("{BASE}{rest}")).unwrap();
    load(&path, &Overrides::default())
}

/// The diagnostics of a pipeline that must be refused: (key, message, line, column).
fn refused(rest: &str) -> Vec<(String, String, usize, usize)> {
    let err = match load_text(rest) {
        Ok(p) => panic!("accepted: {} experiments", p.experiments.len()),
        Err(e) => e,
    };
    err.diagnostics()
        .iter()
        .map(|d| match &d.origin {
            crate::spec::Origin::File { pos: Some(p), .. } => (d.key.clone(), d.message.clone(), p.line, p.col),
            other => panic!("no position: {other:?} for {d}"),
        })
        .collect()
}

/// Line and column (1-based) of the `nth` occurrence of `needle` in the whole file.
fn at(rest: &str, needle: &str, nth: usize) -> (usize, usize) {
    let text = format!("{BASE}{rest}");
    let (mut line, mut seen) = (0, 0);
    for (i, l) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(c) = l[from..].find(needle) {
            if seen == nth {
                return (i + 1, from + c + 1);
            }
            seen += 1;
            from += c + 1;
            line = i;
        }
    }
    panic!("`{needle}` #{nth} not in the file (last seen line {line})")
}

fn teacher_of<'p>(p: &'p Pipeline, e: &Experiment) -> &'p Experiment {
    &p.experiments[e.distill.expect("a student").0]
}

#[test]
fn a_student_reads_the_teacher_run_of_its_data_set_seed_and_fold() {
    let p = load_text(
        "  t: {arch: deep-emotion, datasets: [syn, other, ck], seeds: [1, 2]}\n  \
         s: {arch: microexpnet, datasets: [syn, other, ck], seeds: [1, 2], teacher: t}\n",
    )
    .unwrap();
    let students: Vec<&Experiment> = p.experiments.iter().filter(|e| e.model_name == "s").collect();
    // 2 fixed-split data sets x 2 seeds + ck's 2 folds x 2 seeds.
    assert_eq!(students.len(), 8);
    let mut seen = std::collections::BTreeSet::new();
    for s in students {
        let t = teacher_of(&p, s);
        assert_eq!(
            (t.model_name.as_str(), t.dataset.as_str(), t.seed, t.fold),
            ("t", s.dataset.as_str(), s.seed, s.fold),
            "student {s:?}"
        );
        assert!(t.distill.is_none());
        assert!(seen.insert(s.distill.unwrap().0), "each student cell has its own teacher run");
    }
}

#[test]
fn a_teacher_with_one_run_serves_every_seed_else_the_seed_must_match() {
    let p = load_text(
        "  t: {arch: deep-emotion, datasets: syn, seeds: 7}\n  \
         s: {arch: microexpnet, datasets: syn, seeds: [1, 2], teacher: t}\n",
    )
    .unwrap();
    let seeds: Vec<(u64, u64)> =
        p.experiments.iter().filter(|e| e.model_name == "s").map(|e| (e.seed, teacher_of(&p, e).seed)).collect();
    assert_eq!(seeds, vec![(1, 7), (2, 7)]);

    // Two teacher runs, neither with the student's seed: no way to choose.
    let rest = "  t: {arch: deep-emotion, datasets: syn, seeds: [5, 6]}\n  \
                s: {arch: microexpnet, datasets: syn, teacher: t}\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "models.s.teacher");
    assert!(d[0].1.contains("teacher `t` has no run with seed 1 on `syn`"), "{d:?}");
    assert_eq!((d[0].2, d[0].3), at(rest, "teacher", 0));
}

#[test]
fn a_model_cannot_be_its_own_teacher() {
    let rest = "  s: {arch: microexpnet, datasets: syn, teacher: s}\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "models.s.teacher");
    assert_eq!(d[0].1, "model `s` cannot be its own teacher");
    assert_eq!((d[0].2, d[0].3), (9, at(rest, "teacher", 0).1));
}

#[test]
fn two_students_that_teach_each_other_are_refused_at_both_keys() {
    let rest = "  a: {arch: microexpnet, datasets: syn, teacher: b}\n  \
                b: {arch: microexpnet, datasets: syn, teacher: a}\n";
    let d = refused(rest);
    let mut keys: Vec<(&str, usize)> = d.iter().map(|x| (x.0.as_str(), x.2)).collect();
    keys.sort();
    assert_eq!(keys, vec![("models.a.teacher", 9), ("models.b.teacher", 10)], "{d:?}");
    assert!(d.iter().all(|x| x.1.contains("are each other's teachers")), "{d:?}");
}

#[test]
fn a_longer_cycle_of_teachers_is_refused() {
    let rest = "  a: {arch: microexpnet, datasets: syn, teacher: b}\n  \
                b: {arch: microexpnet, datasets: syn, teacher: c}\n  \
                c: {arch: deep-emotion, datasets: syn, teacher: a}\n";
    // Reported once, at the first model of the cycle (the cycle is cut there).
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("models.a.teacher", "the teachers of `a` form a cycle"));
    assert_eq!((d[0].2, d[0].3), at(rest, "teacher", 0));
}

#[test]
fn a_teacher_with_several_runs_of_the_same_seed_is_ambiguous() {
    let rest = "  t: {arch: deep-emotion, datasets: syn, lr: [0.1, 0.01]}\n  \
                s: {arch: microexpnet, datasets: syn, teacher: t}\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "models.s.teacher");
    assert!(d[0].1.starts_with("teacher `t` is ambiguous: it has several runs with seed 1 on `syn`"), "{d:?}");
    assert_eq!((d[0].2, d[0].3), at(rest, "teacher", 0));
    // One value per setting is enough, even with other models' list axes around.
    assert!(load_text(
        "  t: {arch: deep-emotion, datasets: syn, lr: 0.1}\n  s: {arch: microexpnet, datasets: syn, teacher: t, lr: [0.1, 0.2]}\n"
    )
    .is_ok());
}

#[test]
fn an_unknown_teacher_or_one_on_another_data_set_is_refused() {
    let rest = "  s: {arch: microexpnet, datasets: syn, teacher: ghost}\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "models.s.teacher");
    assert_eq!(d[0].1, "unknown teacher `ghost`: no model of that name in this pipeline");
    assert_eq!((d[0].2, d[0].3), at(rest, "teacher", 0));

    let rest =
        "  t: {arch: deep-emotion, datasets: syn}\n  s: {arch: microexpnet, datasets: [syn, other], teacher: t}\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].1, "teacher `t` does not train on data set `other`");
}

/// (model, lr, epochs, batch size, seed) of every experiment, sorted.
fn cells(p: &Pipeline) -> Vec<(String, String, u32, u32, u64)> {
    let mut v: Vec<_> = p
        .experiments
        .iter()
        .map(|e| (e.model_name.clone(), e.train.lr.to_string(), e.train.epochs, e.train.batch_size, e.seed))
        .collect();
    v.sort();
    v
}

fn cell(m: &str, lr: &str, epochs: u32, batch: u32, seed: u64) -> (String, String, u32, u32, u64) {
    (m.to_string(), lr.to_string(), epochs, batch, seed)
}

#[test]
fn include_adds_runs_overriding_only_the_keys_it_gives() {
    let p = load_text(
        "  m: {arch: deep-emotion, datasets: syn, epochs: 2, batch_size: 16, lr: [0.1, 0.01]}\n  \
         n: {arch: deep-emotion, datasets: syn, epochs: 5, batch_size: 8, lr: 0.2}\n\
         matrix:\n  include:\n    - {model: m, lr: 0.5, epochs: 3}\n    - {batch_size: 4}\n    - {model: n, lr: 0.2}\n",
    )
    .unwrap();
    assert_eq!(
        cells(&p),
        vec![
            cell("m", "0.01", 2, 4, 1), // `batch_size: 4` applies to every model, over each list value
            cell("m", "0.01", 2, 16, 1),
            cell("m", "0.1", 2, 4, 1),
            cell("m", "0.1", 2, 16, 1),
            cell("m", "0.5", 3, 16, 1),
            cell("n", "0.2", 5, 4, 1),
            cell("n", "0.2", 5, 8, 1), // its include repeats the model's own run: once
        ]
    );
}

#[test]
fn zip_pairs_axes_and_include_follows_the_zip() {
    let p = load_text(
        "  m: {arch: deep-emotion, datasets: syn, seeds: [1, 2], lr: [0.1, 0.01], epochs: [1, 2]}\n\
         matrix:\n  zip: [[lr, epochs]]\n  include: [{lr: [0.3, 0.4], epochs: [3, 4], seed: 9}]\n",
    )
    .unwrap();
    assert_eq!(
        cells(&p),
        vec![
            cell("m", "0.01", 2, 128, 1),
            cell("m", "0.01", 2, 128, 2),
            cell("m", "0.1", 1, 128, 1),
            cell("m", "0.1", 1, 128, 2),
            cell("m", "0.3", 3, 128, 9),
            cell("m", "0.4", 4, 128, 9),
        ]
    );
    // Zipped lists of different lengths: refused at `matrix.zip`, or at the include entry.
    let rest = "  m: {arch: deep-emotion, datasets: syn, lr: [0.1, 0.01], epochs: [1, 2, 3]}\nmatrix:\n  zip: [[lr, epochs]]\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "matrix.zip");
    assert!(d[0].1.contains("pairs axes of different lengths: `epochs` has 3 values, `lr` has 2"), "{d:?}");
    assert_eq!((d[0].2, d[0].3), at(rest, "zip", 0));
    let rest = "  m: {arch: deep-emotion, datasets: syn, lr: [0.1, 0.01], epochs: [1, 2]}\n\
                matrix:\n  zip: [[lr, epochs]]\n  include: [{lr: [0.3, 0.4, 0.5]}]\n";
    let d = refused(rest);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "matrix.include[0]");
    assert!(d[0].1.contains("`epochs` has 2 values, `lr` has 3"), "{d:?}");
}

#[test]
fn exclude_drops_included_runs_too_and_an_empty_matrix_is_refused() {
    let p = load_text(
        "  m: {arch: deep-emotion, datasets: syn, lr: [0.1, 0.01]}\n\
         matrix:\n  include: [{lr: 0.5}, {lr: 0.7}]\n  exclude: [{lr: [0.5, 0.01]}]\n",
    )
    .unwrap();
    let lrs: Vec<String> = cells(&p).into_iter().map(|c| c.1).collect();
    assert_eq!(lrs, vec!["0.1", "0.7"]);
    let d = refused("  m: {arch: deep-emotion, datasets: syn, lr: [0.1, 0.01]}\nmatrix:\n  exclude: [{model: m}]\n");
    assert!(d.iter().any(|x| x.1.contains("expands to zero jobs")), "{d:?}");
}
