//! The dependency table of `docs/architecture.md` is true: every module of every crate has a
//! row, names only the modules its row allows, and the allowed imports point one way.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// One row: (crate, module) -> the modules it may import (`fer-core`: any module of fer-core).
type Table = BTreeMap<(String, String), BTreeSet<String>>;

fn table() -> Table {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md")).unwrap();
    let start = doc.find("<!-- dependency-table -->").expect("the table's start marker");
    let end = doc.find("<!-- /dependency-table -->").expect("the table's end marker");
    let mut t = Table::new();
    for line in doc[start..end].lines().filter(|l| l.starts_with("| fer-")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (krate, module, imports) = (cells[1], cells[2].trim_matches('`'), cells[3]);
        let allowed = imports.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        assert!(t.insert((krate.to_string(), module.to_string()), allowed).is_none(), "two rows for {module}");
    }
    t
}

/// Whether a code line of `text` names `token` as a path of its own (`tch::`, not `sbatch::`).
fn mentions(text: &str, token: &str) -> bool {
    code(text).any(|l| {
        l.match_indices(token)
            .any(|(i, _)| !l[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':'))
    })
}

/// The lines of `text` that are code, not comments.
fn code(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// The names `prefix` is followed by in `text` (`crate::spec::x` -> `spec`), comments left out.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code(text) {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut v: Vec<PathBuf> = fs::read_dir(path).unwrap().flatten().flat_map(|e| rust_files(&e.path())).collect();
    v.retain(|p| p.extension().is_some_and(|x| x == "rs"));
    v
}

#[test]
fn modules_obey_the_dependency_table() {
    let t = table();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for krate in ["fer-core", "fer-train", "fer-report"] {
        let src = root.join("crates").join(krate).join("src");
        let modules: BTreeSet<String> = fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().trim_end_matches(".rs").to_string())
            .filter(|m| m != "lib" && !m.contains('.'))
            .collect();
        for m in &modules {
            let Some(allowed) = t.get(&(krate.to_string(), m.clone())) else {
                problems.push(format!("{krate}/{m} has no row in the table"));
                continue;
            };
            let path = if src.join(m).is_dir() { src.join(m) } else { src.join(format!("{m}.rs")) };
            for file in rust_files(&path) {
                let text = fs::read_to_string(&file).unwrap();
                let at_root = file.parent() == Some(src.as_path());
                let mut used = names_after(&text, "crate::");
                // In a file at the crate's root `super::x` is the crate's module `x`; deeper, a
                // module's own `super::` stays inside it, and `super::super::x` leaves it.
                used.extend(names_after(&text, if at_root { "super::" } else { "super::super::" }));
                for u in used.iter().filter(|u| *u != m && modules.contains(*u)) {
                    if !allowed.contains(u) {
                        problems.push(format!("{} names `{u}`, which its row does not allow", file.display()));
                    }
                }
                let core = names_after(&text, "fer_core::");
                if !core.is_empty() && krate != "fer-core" && !allowed.contains("fer-core") {
                    problems.push(format!("{} names fer_core, which its row does not allow", file.display()));
                }
                let forbidden: &[&str] = match krate {
                    "fer-core" => &["fer_core::", "fer_train", "fer_report", "tch::", "polars", "plotters"],
                    "fer-report" => &["fer_train", "tch::"],
                    _ => &["fer_report"],
                };
                for f in forbidden.iter().filter(|f| mentions(&text, f)) {
                    problems.push(format!("{} names `{f}`: {krate} must not", file.display()));
                }
            }
        }
        for ((k, m), _) in t.iter().filter(|((k, _), _)| k == krate) {
            if !modules.contains(m) {
                problems.push(format!("the table's {k}/{m} is not a module"));
            }
        }
    }
    // The root library (the command line) never reaches LibTorch; only the worker binary does.
    for file in rust_files(&root.join("src")).into_iter().filter(|f| !f.starts_with(root.join("src/bin"))) {
        let text = fs::read_to_string(&file).unwrap();
        if mentions(&text, "fer_train") || mentions(&text, "tch::") {
            problems.push(format!("{} names LibTorch's crates; only the worker may", file.display()));
        }
    }
    // Imports point one way: no cycle among the allowed edges of a crate.
    for krate in ["fer-core", "fer-train", "fer-report"] {
        let edges: BTreeMap<&str, Vec<&str>> = t
            .iter()
            .filter(|((k, _), _)| k == krate)
            .map(|((_, m), a)| (m.as_str(), a.iter().map(String::as_str).collect()))
            .collect();
        fn visit<'a>(
            n: &'a str,
            e: &BTreeMap<&'a str, Vec<&'a str>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<String> {
            if let Some(i) = path.iter().position(|p| *p == n) {
                return Some(path[i..].join(" -> ") + " -> " + n);
            }
            if !done.insert(n) {
                return None;
            }
            path.push(n);
            for next in e.get(n).into_iter().flatten().filter(|x| e.contains_key(*x)) {
                if let Some(c) = visit(next, e, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        for n in edges.keys() {
            if let Some(cycle) = visit(n, &edges, &mut Vec::new(), &mut done) {
                problems.push(format!("{krate}: a cycle in the table: {cycle}"));
            }
        }
    }
    assert!(problems.is_empty(), "the code and docs/architecture.md disagree:\n{}", problems.join("\n"));
}
