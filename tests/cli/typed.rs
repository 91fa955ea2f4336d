//! Typed model configs: every setting an architecture does not use is refused with its position;
//! `matrix.include` entries set what they name.

use super::*;

const HEAD: &str = "version: 1\nname: typed\nseeds: [1]\nsaliency: {enabled: false}\n\
                    datasets:\n  d: {kind: synthetic, subjects: 6, images_per_subject: 10}\nmodels:\n";

/// `plan` and `run` of `HEAD` + `rest`: (exit code, output), both commands agreeing; nothing is
/// written to the store when the pipeline is refused.
fn plan(rest: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pipeline.yaml");
    fs::write(&p, format!("{HEAD}{rest}")).unwrap();
    let store = dir.path().join("store");
    let o = run(&["--store", &store_arg(&store), "plan", "--json", p.to_str().unwrap()]);
    let code = o.status.code();
    if code == Some(2) {
        let r = run(&["--store", &store_arg(&store), "run", p.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(2), "run: {}", text(&r));
        assert!(!store.exists(), "a refused pipeline wrote to the store");
    }
    (code, text(&o))
}

/// Refused with exit 2, naming `pipeline.yaml:line:col`, the key path and `why`.
fn refused(rest: &str, line: usize, key: &str, why: &str) {
    let (code, out) = plan(rest);
    assert_eq!(code, Some(2), "{rest}: {out}");
    assert!(out.contains(&format!("pipeline.yaml:{line}:")), "{rest}: expected line {line}: {out}");
    assert!(out.contains(&format!("key `{key}`")), "{rest}: expected key `{key}`: {out}");
    assert!(out.contains(why), "{rest}: expected `{why}`: {out}");
    assert!(!out.contains("panicked"), "{out}");
}

/// Train jobs of a planned pipeline, each with its settings.
fn trains(rest: &str) -> Vec<serde_json::Value> {
    let (code, out) = plan(rest);
    assert_eq!(code, Some(0), "{out}");
    let start = out.find('{').expect("a JSON document");
    let doc: serde_json::Value = serde_json::from_str(&out[start..]).expect("plan --json");
    doc["jobs"].as_array().unwrap().iter().filter(|j| j["kind"] == "train").cloned().collect()
}

#[test]
fn multi_crop_is_refused_on_architectures_without_the_crops_whatever_its_value() {
    for arch in ["deep-emotion", "inception-v3"] {
        for v in ["false", "true", "[false]"] {
            refused(
                &format!("  m:\n    arch: {arch}\n    datasets: d\n    multi_crop: {v}\n"),
                11,
                "models.m.multi_crop",
                &format!("`{arch}` does not use it"),
            );
        }
    }
    // In a profile or a `--set`, too.
    refused(
        "  m: {arch: deep-emotion, datasets: d}\nprofiles:\n  p:\n    models:\n      m:\n        multi_crop: false\n",
        13,
        "models.m.multi_crop",
        "does not use it",
    );
    // MicroExpNet takes both.
    assert_eq!(trains("  m: {arch: microexpnet, datasets: d, multi_crop: [true, false]}\n").len(), 2);
}

#[test]
fn distillation_settings_of_an_include_entry_need_a_teacher() {
    for key in ["temperature: 4", "kd_weight: 0.2", "kd_t2: true"] {
        let name = key.split(':').next().unwrap();
        refused(
            &format!("  m: {{arch: deep-emotion, datasets: d}}\nmatrix:\n  include:\n    - model: m\n      {key}\n"),
            12,
            &format!("matrix.include[0].{name}"),
            "needs a `teacher`",
        );
    }
    // An entry without `model` reaches every model: the students take it, the others refuse it.
    refused(
        "  t: {arch: deep-emotion, datasets: d}\n  s: {arch: microexpnet, datasets: d, teacher: t}\n\
         matrix:\n  include:\n    - {kd_weight: 0.1}\n",
        12,
        "matrix.include[0].kd_weight",
        "needs a `teacher`",
    );
}

#[test]
fn an_include_entry_sets_every_key_it_names() {
    let base = "  t: {arch: deep-emotion, datasets: d, epochs: 1}\n  \
                s: {arch: microexpnet, datasets: d, epochs: 1, teacher: t}\nmatrix:\n  include:\n";
    // A temperature for a student whose own comes from its data set: a second student.
    let jobs = trains(&format!("{base}    - {{model: s, temperature: 2}}\n"));
    assert_eq!(jobs.len(), 3, "{jobs:#?}");
    // The same value as the default adds nothing.
    assert_eq!(trains(&format!("{base}    - {{model: s, temperature: 8}}\n")).len(), 2);
    // A teacher for a model that has none: a distilled run besides the plain one.
    let base = base.replace("\nmatrix:", "\n  u: {arch: deep-emotion, datasets: d, epochs: 3}\nmatrix:");
    assert_eq!(trains(&format!("{base}    - {{model: u, epochs: 2}}\n")).len(), 4);
    let jobs = trains(&format!("{base}    - {{model: u, teacher: t}}\n"));
    assert_eq!(jobs.len(), 4, "{jobs:#?}");
}
