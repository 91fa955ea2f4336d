//! `fer-pipeline gc`: keeps every entry reachable from a recorded root (each `run` and `submit`
//! records one) or from the given pipelines (every profile), lists the rest, and removes it after
//! confirmation; `--list-roots` and `--forget ROOT` manage the roots.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use super::context::store_for;
use crate::cli::PipelineArgs;
use crate::error::Error;
use fer_core::plan::{self, JobKind, Plan};
use fer_core::spec::{self, Overrides, Pipeline};
use fer_core::store::{self, GcLock, RootError, RootJob, RootKey, Store};

/// Options of `fer-pipeline gc`.
#[derive(Debug, Clone, Default)]
pub(super) struct GcArgs {
    /// Pipelines whose entries are kept too (in every profile).
    pub pipelines: Vec<PathBuf>,
    pub dry_run: bool,
    /// Remove without asking.
    pub yes: bool,
    /// Collect even when a given pipeline's data is absent here, or nothing would be kept.
    pub force: bool,
    pub list_roots: bool,
    /// Roots to drop (ids or unique prefixes).
    pub forget: Vec<String>,
}

/// Records the root of this invocation: every job of the plan whose data is here (so their
/// hashes are final). Called by `run` and `submit` before any job runs or is queued.
pub(super) fn record_root(
    store: &Store,
    args: &PipelineArgs,
    pipeline: &Pipeline,
    full: &Plan,
    missing: &[Option<String>],
    command: &str,
) -> Result<(), Error> {
    let canonical_file = std::fs::canonicalize(&args.pipeline)
        .or_else(|_| std::path::absolute(&args.pipeline))
        .unwrap_or_else(|_| args.pipeline.clone());
    let key = RootKey {
        name: pipeline.name.clone(),
        canonical_file,
        profile: pipeline.profile.clone(),
        sets: args.sets.clone(),
        skip_bad: args.skip_bad,
    };
    let jobs = full
        .jobs
        .iter()
        .zip(missing)
        .filter(|(_, m)| m.is_none())
        .map(|(j, _)| RootJob { kind: j.kind(), hash: j.hash });
    // Shared: waits while a gc is deleting, so gc never misses a root recorded mid-way.
    let _lock = GcLock::shared(store)?;
    store::record_root(store, key, &args.pipeline, command, jobs)?;
    Ok(())
}

fn root_error(e: RootError) -> Error {
    match e {
        RootError::Store(s) => Error::Store(s),
        other => Error::Usage(other.to_string()),
    }
}

/// Profiles declared in a pipeline file (read loosely: the file is compiled afterwards).
fn profile_names(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null);
    doc.get("profiles")
        .and_then(|p| p.as_mapping())
        .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// What the given pipelines refer to.
struct Given {
    store: Option<Store>,
    keep: HashSet<String>,
    /// `file: reason` of each data set absent here.
    absent: BTreeSet<String>,
}

fn given(store_flag: &Option<PathBuf>, pipelines: &[PathBuf]) -> Result<Given, Error> {
    let mut g = Given { store: None, keep: HashSet::new(), absent: BTreeSet::new() };
    for path in pipelines {
        let mut profiles: Vec<Option<String>> = vec![None, Some("none".into())];
        profiles.extend(profile_names(path).into_iter().map(Some));
        for profile in profiles {
            let p = spec::load(path, &Overrides { profile, ..Default::default() })?;
            if g.store.is_none() {
                g.store = Some(store_for(store_flag, Some(&p)));
            }
            let plan = plan::build(&p);
            let missing = plan::unavailable(&plan);
            for (job, why) in plan.jobs.iter().zip(&missing) {
                match why {
                    None => {
                        g.keep.insert(format!("{}/{}", job.kind().name(), job.hash.short()));
                    }
                    Some(why) if job.kind() == JobKind::Prepare => {
                        g.absent.insert(format!("`{}`: {why}", path.display()));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(g)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn list_roots_text(store: &Store) -> Result<String, Error> {
    let roots = store::list_roots(store)?;
    if roots.is_empty() {
        return Ok(format!("no roots in `{}`\n", store.root().display()));
    }
    let mut out = format!(
        "{:<16}  {:<16} {:<10} {:>6}  {:<20}  {:<7} {}\n",
        "ROOT", "NAME", "PROFILE", "JOBS", "UPDATED", "BY", "FILE [SETS]"
    );
    for r in &roots {
        let gone = if r.key.canonical_file.exists() { "" } else { " (file gone)" };
        let sets = if r.key.sets.is_empty() && !r.key.skip_bad {
            String::new()
        } else {
            let mut s: Vec<String> = r.key.sets.iter().map(|s| format!("--set {s}")).collect();
            if r.key.skip_bad {
                s.push("--skip-bad".into());
            }
            format!(" [{}]", s.join(" "))
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<16} {:<10} {:>6}  {:<20}  {:<7} {}{gone}{sets}",
            r.id,
            r.key.name,
            r.key.profile.as_deref().unwrap_or("-"),
            r.jobs.len(),
            r.updated_at,
            r.command,
            r.key.canonical_file.display(),
        );
    }
    Ok(out)
}

/// Every entry id a root names.
fn root_ids(store: &Store) -> Result<(HashSet<String>, usize), Error> {
    let roots = store::list_roots(store)?;
    let ids = roots.iter().flat_map(|r| r.jobs.iter().map(RootJob::entry_id)).collect();
    Ok((ids, roots.len()))
}

/// Asks on the terminal; true for `y` or `yes`.
fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `fer-pipeline gc`.
pub(super) fn gc_cmd(store_flag: &Option<PathBuf>, a: &GcArgs) -> Result<String, Error> {
    let g = given(store_flag, &a.pipelines)?;
    let store = g.store.clone().unwrap_or_else(|| store_for(store_flag, None));
    store.check()?;
    if a.list_roots {
        return list_roots_text(&store);
    }
    if !a.forget.is_empty() {
        let mut out = String::new();
        for id in &a.forget {
            let r = store::forget_root(&store, id).map_err(root_error)?;
            let _ = writeln!(
                out,
                "forgot root {} ({}, {}, {} jobs): its entries stay until a gc finds nothing else keeps them",
                r.id,
                r.key.name,
                r.key.canonical_file.display(),
                r.jobs.len()
            );
        }
        return Ok(out);
    }
    if !g.absent.is_empty() && !a.force {
        let list: Vec<String> = g.absent.iter().map(|s| format!("  {s}")).collect();
        return Err(Error::Usage(format!(
            "failed to collect garbage: data given pipelines use is absent here, so their jobs cannot be \
             hashed and their entries would look unreferenced:\n{}\nrun gc where the data is, or pass --force \
             (entries named by a recorded root are kept either way)",
            list.join("\n")
        )));
    }
    if !store.root().join("store.json").exists() {
        return Ok(format!("nothing to remove: `{}` is not a store yet\n", store.root().display()));
    }
    let (roots, n_roots) = root_ids(&store)?;
    if n_roots == 0 && a.pipelines.is_empty() && !a.force {
        return Err(Error::Usage(format!(
            "failed to collect garbage: `{}` has no recorded roots and no pipeline was given, so every entry \
             would be removed; name the pipelines to keep, or pass --force",
            store.root().display()
        )));
    }
    let keep_of = |roots: HashSet<String>| -> HashSet<String> { roots.union(&g.keep).cloned().collect() };
    let plan = store::plan_gc(&store, &keep_of(roots))?;
    let mut list = String::new();
    for c in &plan.remove {
        let _ = writeln!(list, "would remove {} ({})", c.dir.display(), mb(c.bytes));
    }
    for p in &plan.running {
        let _ = writeln!(list, "kept (running) {}", p.display());
    }
    let summary = format!(
        "would remove {} entries ({}), kept {} ({} root(s), {} pipeline file(s))\n",
        plan.remove.len(),
        mb(plan.bytes()),
        plan.kept + plan.running.len(),
        n_roots,
        a.pipelines.len()
    );
    if a.dry_run || plan.remove.is_empty() {
        return Ok(format!("{list}{summary}"));
    }
    // Shown before the question, which reads the answer from the terminal.
    #[allow(clippy::print_stdout)]
    {
        print!("{list}{summary}");
    }
    let _ = std::io::stdout().flush();
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(format!(
                "refusing to remove {} entries without confirmation: stdin is not a terminal; pass --yes to \
                 remove them (--dry-run only lists them)",
                plan.remove.len()
            )));
        }
        if !confirm(&format!("remove these {} entries ({})?", plan.remove.len(), mb(plan.bytes()))) {
            return Ok("nothing removed\n".into());
        }
    }
    // Roots are read again under the lock: one recorded since the listing keeps its entries.
    let _lock = GcLock::exclusive(&store)?;
    let (roots, _) = root_ids(&store)?;
    let report = store::run_gc(&store, &plan.remove, &keep_of(roots))?;
    let mut out = String::new();
    for p in &report.skipped_running {
        let _ = writeln!(out, "kept (started running meanwhile) {}", p.display());
    }
    for p in &report.now_referenced {
        let _ = writeln!(out, "kept (referenced by a root recorded meanwhile) {}", p.display());
    }
    let _ = writeln!(out, "removed {} entries ({})", report.removed.len(), mb(report.bytes));
    Ok(out)
}
