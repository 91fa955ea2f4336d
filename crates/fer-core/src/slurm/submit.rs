//! Submission of a plan to Slurm: the jobs not yet in the store become one array per stage and
//! resource class, chained with `afterok` dependencies; nothing stays alive on the login node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ctl::{self, SlurmError};
use super::record::SlurmRecord;
use super::script::{self, ScriptSpec};
use crate::plan::Plan;
use crate::spec::{Resources, SlurmSettings};
use crate::store::{write_atomic, EntryState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Slurm(#[from] SlurmError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Command-line choices of a submission.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub array_limit: Option<u32>,
    pub dry_run: bool,
    /// The binary the tasks run (must be reachable from the compute nodes).
    pub exe: PathBuf,
    /// Device argument of the tasks.
    pub device: String,
}

/// One array: a stage, a resource class, its tasks (entry ids).
#[derive(Debug, Clone)]
pub struct ArrayPlan {
    pub name: String,
    pub level: usize,
    pub kind: String,
    pub resources: Resources,
    pub retries: u32,
    /// Plan indices of the jobs, in task order.
    pub jobs: Vec<usize>,
    /// Arrays (indices into the list) this one waits for.
    pub after: Vec<usize>,
    pub script: String,
    pub script_path: PathBuf,
    pub tasks_path: PathBuf,
    pub log_pattern: PathBuf,
}

/// One array as submitted (or, in a dry run, as it would be).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayReport {
    /// `<stage>-<kind>-<n>`, also the name of its script.
    pub name: String,
    /// Slurm's job id (none in a dry run).
    pub job_id: Option<String>,
    pub tasks: usize,
    /// The earlier arrays of this submission it waits for (`afterok`), by name.
    pub after: Vec<String>,
    /// Its `--dependency=afterok:` job ids (the arrays above, and tasks still queued from an
    /// earlier submission); empty in a dry run.
    pub afterok: Vec<String>,
}

/// What `submit` did.
#[derive(Debug, Default)]
pub struct SubmitReport {
    pub arrays: Vec<ArrayReport>,
    pub already_done: usize,
    pub already_queued: usize,
    pub scripts: Vec<(PathBuf, String)>,
    pub folder: PathBuf,
}

/// Groups the jobs to run into arrays: by stage (depth among the jobs to run), job kind and
/// resources; arrays are split at `max_array`.
#[allow(clippy::too_many_arguments)]
pub fn arrays(
    plan: &Plan,
    to_run: &[usize],
    settings: &SlurmSettings,
    opts: &SubmitOptions,
    store: &Store,
    folder: &Path,
    max_array: usize,
) -> Vec<ArrayPlan> {
    let run_set: HashSet<usize> = to_run.iter().copied().collect();
    let mut level: HashMap<usize, usize> = HashMap::new();
    for &i in to_run {
        // Plan order is topological: inputs have their levels already.
        let l = plan.jobs[i].deps.iter().filter(|d| run_set.contains(d)).map(|d| level[d] + 1).max().unwrap_or(0);
        level.insert(i, l);
    }
    let mut groups: BTreeMap<(usize, String, Resources), Vec<usize>> = BTreeMap::new();
    for &i in to_run {
        let job = &plan.jobs[i];
        let kind = job.kind().name().to_string();
        let arch = job.spec.model().map(|m| m.arch().name()).unwrap_or_default();
        let mut r = settings.resources_for(&kind, arch, &job.label.model);
        r.partition = opts.partition.clone().or(r.partition).or_else(|| settings.partition.clone());
        r.account = opts.account.clone().or(r.account).or_else(|| settings.account.clone());
        r.sbatch = settings.sbatch.iter().chain(&r.sbatch).cloned().collect();
        groups.entry((level[&i], kind, r)).or_default().push(i);
    }
    let limit = opts.array_limit.or(settings.array_limit);
    let mut out: Vec<ArrayPlan> = Vec::new();
    let mut array_of: HashMap<usize, usize> = HashMap::new();
    for ((lvl, kind, res), jobs) in groups {
        for (part, chunk) in jobs.chunks(max_array.max(1)).enumerate() {
            let _ = part;
            let name = format!("{lvl}-{kind}-{}", out.iter().filter(|a| a.level == lvl && a.kind == kind).count());
            let idx = out.len();
            let mut after: Vec<usize> =
                chunk.iter().flat_map(|&i| plan.jobs[i].deps.iter().filter_map(|d| array_of.get(d).copied())).collect();
            after.sort();
            after.dedup();
            for &i in chunk {
                array_of.insert(i, idx);
            }
            let tasks_path = folder.join(format!("{name}.tasks"));
            let script_path = folder.join(format!("{name}.sbatch"));
            let log_pattern = folder.join("logs").join(format!("{name}-%A_%a.out"));
            let retries = settings.retries_for(&kind);
            let text = script::render(&ScriptSpec {
                name: &format!("fer-{kind}"),
                exe: &opts.exe,
                store: store.root(),
                tasks_file: &tasks_path,
                log_pattern: &log_pattern,
                tasks: chunk.len(),
                array_limit: limit,
                resources: &res,
                device: &opts.device,
                retries,
            });
            out.push(ArrayPlan {
                name,
                level: lvl,
                kind: kind.clone(),
                resources: res.clone(),
                retries,
                jobs: chunk.to_vec(),
                after,
                script: text,
                script_path,
                tasks_path,
                log_pattern,
            });
        }
    }
    out
}

/// Submits every job of `plan` that is neither finished nor already queued.
pub fn submit(
    plan: &Plan,
    store: &Store,
    settings: &SlurmSettings,
    opts: &SubmitOptions,
) -> Result<SubmitReport, SubmitError> {
    let mut report = SubmitReport::default();
    // Asking Slurm first: if it is down, nothing is written anywhere.
    let queue = if opts.dry_run { HashMap::new() } else { ctl::squeue()? };
    let max_array = if opts.dry_run { 1001 } else { ctl::max_array_size()? };
    let mut to_run = Vec::new();
    // Jobs still in the queue from an earlier submission: new tasks that need them wait for them.
    let mut queued: HashMap<usize, String> = HashMap::new();
    for (i, job) in plan.jobs.iter().enumerate() {
        let e = store.entry(job.kind(), &job.hash);
        match e.state() {
            EntryState::Done(_) => report.already_done += 1,
            _ => match SlurmRecord::read(&e) {
                Some(r) if queue.contains_key(&r.task_id()) => {
                    report.already_queued += 1;
                    queued.insert(i, r.task_id());
                }
                _ => to_run.push(i),
            },
        }
    }
    let stamp = crate::clock::now_rfc3339().replace([':', '-'], "");
    let folder = store.root().join("slurm").join(format!("{stamp}-{}", std::process::id()));
    report.folder = folder.clone();
    let arrays = arrays(plan, &to_run, settings, opts, store, &folder, max_array);
    if opts.dry_run {
        for a in &arrays {
            report.scripts.push((a.script_path.clone(), a.script.clone()));
            report.arrays.push(ArrayReport {
                name: a.name.clone(),
                job_id: None,
                tasks: a.jobs.len(),
                after: a.after.iter().map(|&k| arrays[k].name.clone()).collect(),
                afterok: vec![],
            });
        }
        return Ok(report);
    }
    if arrays.is_empty() {
        return Ok(report);
    }
    store.init()?;
    std::fs::create_dir_all(folder.join("logs")).map_err(|e| StoreError::io(&folder, e))?;
    for a in &arrays {
        for &i in &a.jobs {
            let j = &plan.jobs[i];
            store.entry(j.kind(), &j.hash).ensure_record(&j.spec, &j.label)?;
        }
        let ids: Vec<String> =
            a.jobs.iter().map(|&i| store.entry(plan.jobs[i].kind(), &plan.jobs[i].hash).id()).collect();
        write_atomic(&a.tasks_path, format!("{}\n", ids.join("\n")).as_bytes())?;
        write_atomic(&a.script_path, a.script.as_bytes())?;
    }
    // Submit in stage order; on any failure cancel what was queued so nothing is half-submitted.
    let mut submitted: Vec<String> = Vec::new();
    let mut afterok: Vec<Vec<String>> = Vec::new();
    for a in &arrays {
        let mut args = Vec::new();
        let mut deps: Vec<String> = a.after.iter().map(|&k| submitted[k].clone()).collect();
        for &i in &a.jobs {
            deps.extend(plan.jobs[i].deps.iter().filter_map(|d| queued.get(d).cloned()));
        }
        deps.sort();
        deps.dedup();
        if !deps.is_empty() {
            args.push(format!("--dependency=afterok:{}", deps.join(":")));
        }
        match ctl::sbatch(&a.script_path, &args) {
            Ok(id) => {
                submitted.push(id);
                afterok.push(deps);
            }
            Err(e) => {
                let _ = ctl::scancel(&submitted);
                return Err(e.into());
            }
        }
    }
    let now = crate::clock::now_rfc3339();
    for ((a, job_id), deps) in arrays.iter().zip(&submitted).zip(afterok) {
        for (task, &i) in a.jobs.iter().enumerate() {
            let j = &plan.jobs[i];
            let e = store.entry(j.kind(), &j.hash);
            // Only the file name holds patterns (a `%A` in the store path is literal).
            let name = a.log_pattern.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let log = a.log_pattern.with_file_name(name.replace("%A", job_id).replace("%a", &task.to_string()));
            let rec = SlurmRecord {
                format_version: 1,
                array_job: job_id.clone(),
                task,
                script: a.script_path.clone(),
                log,
                submitted_at: now.clone(),
            };
            rec.write(&e)?;
        }
        report.arrays.push(ArrayReport {
            name: a.name.clone(),
            job_id: Some(job_id.clone()),
            tasks: a.jobs.len(),
            after: a.after.iter().map(|&k| arrays[k].name.clone()).collect(),
            afterok: deps,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{build, JobKind};
    use crate::spec::{load_str, Overrides, Pipeline};

    fn pipeline(slurm: &str) -> Pipeline {
        let text = format!(
            "version: 1\nname: sub\nseeds: [1, 2]\ndatasets:\n  syn: {{kind: synthetic, subjects: 6, images_per_subject: 4}}\n\
             models:\n  t: {{arch: deep-emotion, datasets: syn, epochs: 2}}\n  \
             s: {{arch: microexpnet, datasets: syn, epochs: 2, multi_crop: false, teacher: t}}\n\
             saliency: {{enabled: false}}\n{slurm}"
        );
        load_str("sub.yaml", &text, &Overrides::default()).unwrap()
    }

    fn opts() -> SubmitOptions {
        SubmitOptions { dry_run: true, exe: "/opt/fer".into(), device: "cuda".into(), ..Default::default() }
    }

    /// (name, tasks, after) of each array.
    fn shape(r: &SubmitReport) -> Vec<(String, usize, Vec<String>)> {
        r.arrays.iter().map(|a| (a.name.clone(), a.tasks, a.after.clone())).collect()
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn a_dry_run_plans_one_array_per_stage_chained_by_afterok_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let p = pipeline("slurm:\n  array_limit: 2\n  resources: {default: {memory: 2G}, train: {gpus: 1}}\n");
        let plan = build(&p);
        let r = submit(&plan, &store, &p.slurm, &opts()).unwrap();
        // Stages: data; the teacher's runs (2 seeds); its targets and evaluations; the students;
        // their evaluations.
        assert_eq!(
            shape(&r),
            vec![
                (s("0-prepare-0"), 2, vec![]),
                (s("1-train-0"), 2, vec![s("0-prepare-0")]),
                (s("2-distill-targets-0"), 2, vec![s("0-prepare-0"), s("1-train-0")]),
                (s("2-evaluate-0"), 2, vec![s("0-prepare-0"), s("1-train-0")]),
                (s("3-train-0"), 2, vec![s("0-prepare-0"), s("2-distill-targets-0")]),
                (s("4-evaluate-0"), 2, vec![s("0-prepare-0"), s("3-train-0")]),
            ]
        );
        assert!(r.arrays.iter().all(|a| a.job_id.is_none() && a.afterok.is_empty()));
        assert_eq!((r.already_done, r.already_queued), (0, 0));
        // One script per array, with its array range and limit, resources and task file.
        assert_eq!(r.scripts.len(), 6);
        for ((path, text), a) in r.scripts.iter().zip(&r.arrays) {
            assert_eq!(path.file_name().unwrap().to_string_lossy(), format!("{}.sbatch", a.name));
            assert!(path.starts_with(store.root().join("slurm")), "{}", path.display());
            assert!(text.contains("#SBATCH --array=0-1%2\n"), "{text}");
            assert!(text.contains("#SBATCH --mem=2G\n"), "{text}");
            assert_eq!(text.contains("#SBATCH --gres=gpu:1\n"), a.name.contains("-train-"), "{text}");
            assert!(text.contains(&format!("{}.tasks", a.name)), "{text}");
            assert!(text.contains("'/opt/fer'"), "{text}");
        }
        assert!(!store.root().exists(), "a dry run writes nothing");
    }

    #[test]
    fn finished_jobs_are_left_out_and_the_stages_start_from_what_remains() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let p = pipeline("");
        let plan = build(&p);
        // The data and the teachers are finished.
        for j in plan
            .jobs
            .iter()
            .filter(|j| j.kind() == JobKind::Prepare || j.label.model == "t" && j.kind() == JobKind::Train)
        {
            let e = store.entry(j.kind(), &j.hash);
            e.write_record(&j.spec, &j.label).unwrap();
            e.finish(&[]).unwrap();
        }
        let r = submit(&plan, &store, &p.slurm, &opts()).unwrap();
        assert_eq!(r.already_done, 4, "two prepares, two teacher runs");
        assert_eq!(
            shape(&r),
            vec![
                (s("0-distill-targets-0"), 2, vec![]),
                (s("0-evaluate-0"), 2, vec![]),
                (s("1-train-0"), 2, vec![s("0-distill-targets-0")]),
                (s("2-evaluate-0"), 2, vec![s("1-train-0")]),
            ]
        );
    }

    #[test]
    fn arrays_split_by_resources_and_at_the_cluster_s_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let p = pipeline("slurm:\n  resources: {s: {memory: 8G}}\n  retries: {train: 2}\n");
        let plan = build(&p);
        let all: Vec<usize> = (0..plan.jobs.len()).collect();
        let folder = dir.path().join("sub");
        let arrays = arrays(&plan, &all, &p.slurm, &opts(), &store, &folder, 1);
        // One task per array: every job has its own array, each waiting for its inputs' arrays.
        assert_eq!(arrays.len(), plan.jobs.len());
        let mut seen = std::collections::BTreeSet::new();
        for a in &arrays {
            assert_eq!(a.jobs.len(), 1);
            assert!(seen.insert(a.jobs[0]));
            let job = &plan.jobs[a.jobs[0]];
            let mut want: Vec<usize> =
                job.deps.iter().map(|d| arrays.iter().position(|x| x.jobs == [*d]).unwrap()).collect();
            want.sort();
            assert_eq!(a.after, want, "{}", a.name);
            assert_eq!(a.retries, if job.kind() == JobKind::Train { 2 } else { 0 });
            assert_eq!(a.resources.memory.as_deref(), (job.label.model == "s").then_some("8G"), "{}", a.name);
            assert!(a.script.contains("#SBATCH --array=0-0\n"));
            assert_eq!(a.tasks_path, folder.join(format!("{}.tasks", a.name)));
        }
        // Two seeds of a stage: `<stage>-<kind>-0` and `-1`.
        assert!(
            arrays.iter().any(|a| a.name == "0-prepare-1"),
            "{:?}",
            arrays.iter().map(|a| &a.name).collect::<Vec<_>>()
        );
        // At the normal limit the student's jobs (8G) and the teacher's stay in separate arrays.
        let arrays = super::arrays(&plan, &all, &p.slurm, &opts(), &store, &folder, 1000);
        let evals: Vec<(&str, usize)> =
            arrays.iter().filter(|a| a.kind == "evaluate").map(|a| (a.name.as_str(), a.jobs.len())).collect();
        assert_eq!(evals, vec![("2-evaluate-0", 2), ("4-evaluate-0", 2)]);
        let trains: Vec<(&str, Option<&str>)> = arrays
            .iter()
            .filter(|a| a.kind == "train")
            .map(|a| (a.name.as_str(), a.resources.memory.as_deref()))
            .collect();
        assert_eq!(trains, vec![("1-train-0", None), ("3-train-0", Some("8G"))]);
    }
}
