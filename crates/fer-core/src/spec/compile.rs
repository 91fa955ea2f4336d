//! Compiles the raw spec into a [`Pipeline`]: defaults filled in, every value checked, matrix expanded.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use super::error::{Diagnostic, Origin};
use super::matrix::{self, AxisValues, Cell, Combo, Filter, Given};
use super::overlay::{Origins, OverlaySource};
use super::pipeline::{
    throughput_networks, Analyses, Arch, DatasetSpec, DeviceRequest, DistillSpec, Experiment, InitWeights, ModelSpec,
    Pipeline, RealSpec, Resources, SaliencySettings, SlurmSettings, SyntheticSpec, TrainSpec,
};
use crate::arch::{Key, Setting};
use crate::data::loaders::LoaderKind;
use crate::data::manifest::{native_classes, Manifest, Protocol};

use super::raw::{
    RawAnalyses, RawDataset, RawPipeline, RawResources, RawSaliency, RawSettings, RawSlurm, DEFAULT_MAX_JOBS,
};
use super::source_map::SourceMap;

/// Locates key paths and collects diagnostics.
pub(super) struct Ctx<'a> {
    pub file: &'a str,
    pub map: &'a SourceMap,
    pub origins: &'a Origins,
    pub diagnostics: Vec<Diagnostic>,
    /// `--skip-bad` on the command line.
    pub skip_bad: bool,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(file: &'a str, map: &'a SourceMap, origins: &'a Origins) -> Self {
        Ctx { file, map, origins, diagnostics: Vec::new(), skip_bad: false }
    }

    /// Where the value at `path` was written.
    pub(super) fn origin(&self, path: &str) -> Origin {
        match self.origins.find(path) {
            Some(OverlaySource::Set(arg)) => Origin::Set(arg.clone()),
            Some(OverlaySource::Profile(p)) => {
                let full = if path.is_empty() { format!("profiles.{p}") } else { format!("profiles.{p}.{path}") };
                Origin::File { file: self.file.to_string(), pos: self.map.locate(&full) }
            }
            None => Origin::File { file: self.file.to_string(), pos: self.map.locate(path) },
        }
    }

    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        let d = Diagnostic { origin: self.origin(path), key: path.to_string(), message: message.into() };
        if !self.diagnostics.contains(&d) {
            self.diagnostics.push(d);
        }
    }
}

/// Names of models and data sets: they appear in paths, `--set` keys and file names.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Compiles a raw pipeline; returns `None` when any diagnostic was recorded.
pub(super) fn compile(raw: &RawPipeline, profile: Option<String>, ctx: &mut Ctx<'_>) -> Option<Pipeline> {
    let top = compile_top(raw, ctx);
    let datasets = compile_datasets(raw, ctx);
    check_seeds(raw, ctx);
    let zip = compile_zip(raw, ctx);
    check_matrix_entries(raw, ctx);
    let max_jobs = compile_max_jobs(raw, ctx);
    // First the axes of every model, and how many jobs they make, before anything expands:
    // a matrix too large for `max_jobs` is refused from its axis lengths.
    let matrices = model_matrices(raw, ctx);
    let limit = max_jobs_text(ctx, raw, max_jobs);
    if !check_matrix_size(ctx, &matrices, &zip, &datasets, &limit, max_jobs) {
        return None;
    }
    let analyses = compile_analyses(raw.analyses.as_ref());
    let (mut experiments, pending) = expand_experiments(ctx, raw, &matrices, &zip, &datasets, analyses);
    resolve_teachers(ctx, &mut experiments, &pending);
    check_some_jobs(ctx, raw, &experiments);
    let saliency = compile_saliency(raw.saliency.as_ref(), ctx);
    let slurm = compile_slurm(raw.slurm.as_ref(), raw, ctx);
    if ctx.diagnostics.is_empty() {
        let speeds = if analyses.efficiency { throughput_networks(&experiments, &datasets).len() } else { 0 };
        // At most one transfer job per experiment and other data set.
        let transfers = if analyses.domain_shift { experiments.len() * datasets.len().saturating_sub(1) } else { 0 };
        let robustness = if analyses.robustness { experiments.len() } else { 0 };
        check_plan_size(ctx, &experiments, saliency.is_some(), speeds + transfers + robustness, max_jobs, &limit);
    }
    if !ctx.diagnostics.is_empty() {
        return None;
    }
    Some(Pipeline {
        name: raw.name.clone(),
        description: raw.description.clone(),
        file: ctx.file.to_string(),
        profile,
        store: raw.store.as_ref().map(PathBuf::from),
        device: top.device,
        threads: top.threads,
        jobs: top.jobs,
        jobs_per_gpu: top.jobs_per_gpu,
        deterministic: raw.deterministic.unwrap_or(true),
        datasets,
        experiments,
        saliency,
        analyses,
        slurm,
    })
}

/// The pipeline's top-level settings that need checking or a default.
struct TopSettings {
    device: DeviceRequest,
    threads: u32,
    jobs: Option<u32>,
    jobs_per_gpu: u32,
}

/// Checks `version`, `default_profile`, `name` and `store`; reads `device`, `threads`, `jobs`
/// and `jobs_per_gpu` with their defaults.
fn compile_top(raw: &RawPipeline, ctx: &mut Ctx<'_>) -> TopSettings {
    if raw.version != 1 {
        ctx.error(
            "version",
            format!("format version `{}` is not supported; this program reads version 1", raw.version),
        );
    }
    if raw.default_profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
        ctx.error("default_profile", "the default profile name is empty");
    }
    if raw.name.trim().is_empty() {
        ctx.error("name", "the pipeline needs a non-empty name");
    }
    let device = match raw.device.as_deref().map(DeviceRequest::parse).transpose() {
        Ok(d) => d.unwrap_or(DeviceRequest::Auto),
        Err(e) => {
            ctx.error("device", e);
            DeviceRequest::Auto
        }
    };
    let threads = positive(ctx, "threads", raw.threads.unwrap_or(1));
    let jobs = raw.jobs.map(|j| positive(ctx, "jobs", j));
    let jobs_per_gpu = positive(ctx, "jobs_per_gpu", raw.jobs_per_gpu.unwrap_or(4));
    if raw.store.as_ref().is_some_and(|s| s.trim().is_empty()) {
        ctx.error("store", "the store path is empty");
    }
    TopSettings { device, threads, jobs, jobs_per_gpu }
}

/// Every declared data set, compiled; at least one must be declared.
fn compile_datasets(raw: &RawPipeline, ctx: &mut Ctx<'_>) -> BTreeMap<String, DatasetSpec> {
    let mut datasets = BTreeMap::new();
    for (name, d) in &raw.datasets {
        let path = format!("datasets.{name}");
        if !valid_name(name) {
            ctx.error(&path, format!("`{name}` is not a valid name (letters, digits, `-`, `_`)"));
        }
        if let Some(spec) = compile_dataset(d, &path, ctx) {
            datasets.insert(name.clone(), spec);
        }
    }
    if raw.datasets.is_empty() {
        ctx.error("datasets", "no data set is declared");
    }
    datasets
}

/// Refuses negative seeds in the pipeline's `seeds`.
fn check_seeds(raw: &RawPipeline, ctx: &mut Ctx<'_>) {
    for (i, s) in raw.seeds.values.iter().enumerate() {
        if *s < 0 {
            let p = if raw.seeds.is_list { format!("seeds[{i}]") } else { "seeds".into() };
            ctx.error(&p, format!("a seed must be >= 0, got `{s}`"));
        }
    }
}

/// The `matrix.zip` groups as keys; unknown keys and groups of fewer than two are refused.
fn compile_zip(raw: &RawPipeline, ctx: &mut Ctx<'_>) -> Vec<Vec<Key>> {
    let mut zip: Vec<Vec<Key>> = Vec::new();
    for (gi, group) in raw.matrix.zip.iter().enumerate() {
        let mut g = Vec::new();
        for (ki, k) in group.iter().enumerate() {
            match Key::parse(k) {
                Some(c) => g.push(c),
                None => ctx.error(
                    &format!("matrix.zip[{gi}][{ki}]"),
                    format!(
                        "`{k}` is not a setting that can be an axis; expected one of {}",
                        Key::ALL.map(Key::name).join(", ")
                    ),
                ),
            }
        }
        if g.len() < 2 {
            ctx.error(&format!("matrix.zip[{gi}]"), "a zip group pairs at least two axes");
        }
        zip.push(g);
    }
    zip
}

/// Checks the `matrix.include` and `matrix.exclude` entries on their own: no `arch`, known
/// models, no empty exclude.
fn check_matrix_entries(raw: &RawPipeline, ctx: &mut Ctx<'_>) {
    for (kind, entries) in [("include", &raw.matrix.include), ("exclude", &raw.matrix.exclude)] {
        for (i, e) in entries.iter().enumerate() {
            let path = format!("matrix.{kind}[{i}]");
            if e.arch.is_some() {
                ctx.error(&format!("{path}.arch"), "`arch` belongs under `models`, not in a matrix entry");
            }
            if let Some(m) = &e.model {
                for (j, name) in m.values.iter().enumerate() {
                    if !raw.models.contains_key(name) {
                        let p = if m.is_list { format!("{path}.model[{j}]") } else { format!("{path}.model") };
                        ctx.error(&p, format!("unknown model `{name}`; models are: {}", names(raw.models.keys())));
                    }
                }
            }
            if kind == "exclude" && e.model.is_none() && matrix::given(e).is_empty() {
                ctx.error(&path, "an empty exclude entry would drop every combination");
            }
        }
    }
}

/// `max_jobs`, or its default.
fn compile_max_jobs(raw: &RawPipeline, ctx: &mut Ctx<'_>) -> u64 {
    match raw.max_jobs {
        None => DEFAULT_MAX_JOBS,
        Some(m) if m >= 1 => m as u64,
        Some(m) => {
            ctx.error("max_jobs", format!("must be a positive integer, got `{m}`"));
            DEFAULT_MAX_JOBS
        }
    }
}

/// The axes of every model that names a known architecture and its data sets.
fn model_matrices<'r>(raw: &'r RawPipeline, ctx: &mut Ctx<'_>) -> Vec<ModelMatrix<'r>> {
    raw.models.iter().filter_map(|(name, settings)| model_matrix(raw, name, settings, ctx)).collect()
}

/// One model's axes (the pipeline's seeds where it gives none) and those of the include
/// entries that apply to it; `None` when it lacks `arch` or `datasets`.
fn model_matrix<'r>(
    raw: &'r RawPipeline,
    name: &'r str,
    settings: &RawSettings,
    ctx: &mut Ctx<'_>,
) -> Option<ModelMatrix<'r>> {
    let base = format!("models.{name}");
    if !valid_name(name) {
        ctx.error(&base, format!("`{name}` is not a valid name (letters, digits, `-`, `_`)"));
    }
    if settings.model.is_some() {
        ctx.error(&format!("{base}.model"), "`model` is only used in matrix entries");
    }
    let arch = model_arch(settings, &base, ctx)?;
    if settings.datasets.is_none() {
        ctx.error(&base, "missing `datasets`: the data sets this model trains on");
        return None;
    }
    let given = matrix::given(settings);
    let mut axes = model_axes(ctx, arch, &given, &base, &raw.datasets);
    if !given.contains_key(&Key::Seeds) {
        axes.push(global_seed_axis(&raw.seeds));
        axes.sort_by_key(|a| a.key);
    }
    let includes = include_axes(raw, name, arch, &given, &axes, ctx);
    Some(ModelMatrix { name, arch, axes, includes })
}

/// A model's architecture; `None` (reported) when missing or unknown.
fn model_arch(settings: &RawSettings, base: &str, ctx: &mut Ctx<'_>) -> Option<Arch> {
    let Some(a) = settings.arch.as_deref() else {
        ctx.error(base, format!("missing `arch`; one of {}", arch_names()));
        return None;
    };
    let arch = Arch::parse(a);
    if arch.is_none() {
        ctx.error(&format!("{base}.arch"), format!("unknown model architecture `{a}`; known: {}", arch_names()));
    }
    arch
}

/// The axes of each `matrix.include` entry that applies to model `name`: the entry's values
/// replace the model's on the keys it gives, and add the keys it alone gives (in key order).
fn include_axes(
    raw: &RawPipeline,
    name: &str,
    arch: Arch,
    given: &BTreeMap<Key, Given>,
    axes: &[AxisValues],
    ctx: &mut Ctx<'_>,
) -> Vec<(String, Vec<AxisValues>)> {
    let mut includes = Vec::new();
    for (i, inc) in raw.matrix.include.iter().enumerate() {
        let applies = inc.model.as_ref().is_none_or(|m| m.values.iter().any(|x| x == name));
        if !applies {
            continue;
        }
        let path = format!("matrix.include[{i}]");
        let over = matrix::given(inc);
        if !given.contains_key(&Key::Teacher) && !over.contains_key(&Key::Teacher) {
            needs_teacher(ctx, &over, &path);
        }
        let mut merged: Vec<AxisValues> = axes.iter().filter(|a| !over.contains_key(&a.key)).cloned().collect();
        merged.extend(model_axes(ctx, arch, &over, &path, &raw.datasets));
        merged.sort_by_key(|a| a.key);
        includes.push((path, merged));
    }
    includes
}

/// Every model's matrix expanded into experiments (one per fold under a k-fold protocol), each
/// with its teacher still to be resolved.
fn expand_experiments(
    ctx: &mut Ctx<'_>,
    raw: &RawPipeline,
    matrices: &[ModelMatrix<'_>],
    zip: &[Vec<Key>],
    datasets: &BTreeMap<String, DatasetSpec>,
    analyses: Analyses,
) -> (Vec<Experiment>, Vec<PendingTeacher>) {
    let mut experiments = Vec::new();
    let mut pending: Vec<PendingTeacher> = Vec::new();
    let mut files = BTreeMap::new();
    let excludes: Vec<Filter> = raw.matrix.exclude.iter().map(Filter::new).collect();
    for m in matrices {
        let Some(cells) = model_cells(ctx, m, zip, &excludes, datasets) else { continue };
        let list_keys: Vec<Key> = m.axes.iter().filter(|a| a.is_list).map(|a| a.key).collect();
        let (mut kept, mut dropped) = (false, false);
        for (cell, combo) in cells {
            let Some((e, teacher)) = experiment(ctx, m.name, &cell, &combo, &list_keys, &mut files, datasets) else {
                continue;
            };
            // `analyses.data_efficiency: false` keeps only the runs on all training subjects.
            if !analyses.data_efficiency && e.train.train_fraction < 1.0 {
                dropped = true;
                continue;
            }
            kept = true;
            // Under a k-fold protocol every cell runs once per fold.
            let folds = datasets.get(&e.dataset).and_then(DatasetSpec::folds);
            for fold in folds.map(|k| (0..k).map(Some).collect()).unwrap_or_else(|| vec![None]) {
                experiments.push(Experiment { fold, ..e.clone() });
                pending.push(teacher.clone());
            }
        }
        if dropped && !kept {
            ctx.error(
                &format!("models.{}.train_fraction", m.name),
                format!(
                    "model `{}` has no run: every `train_fraction` is below 1 and `analyses.data_efficiency` is off",
                    m.name
                ),
            );
        }
    }
    (experiments, pending)
}

/// The distinct cells of one model's matrix and its includes, less the excluded ones; `None`
/// when the model's own axes do not expand (a zip of unequal lengths).
fn model_cells(
    ctx: &mut Ctx<'_>,
    m: &ModelMatrix<'_>,
    zip: &[Vec<Key>],
    excludes: &[Filter],
    datasets: &BTreeMap<String, DatasetSpec>,
) -> Option<Vec<(Cell, Combo)>> {
    let mut combos = match matrix::expand(&m.axes, zip) {
        Ok(c) => c,
        Err(e) => {
            ctx.error("matrix.zip", e);
            return None;
        }
    };
    for (path, merged) in &m.includes {
        match matrix::expand(merged, zip) {
            Ok(c) => combos.extend(c),
            Err(e) => ctx.error(path, e),
        }
    }
    let temperature = |d: &str| default_temperature(datasets.get(d));
    let mut cells = Vec::with_capacity(combos.len());
    for combo in combos {
        match Cell::new(m.arch, &combo, temperature) {
            Some(cell) => cells.push((cell, combo)),
            None => ctx.error(&format!("models.{}", m.name), "incomplete settings"),
        }
    }
    cells.retain(|(cell, _)| !excludes.iter().any(|f| f.matches(m.name, cell)));
    // Identical cells (an include repeating a combination) train once.
    let mut seen = HashSet::new();
    cells.retain(|(cell, _)| seen.insert(cell.clone()));
    Some(cells)
}

/// Refuses a pipeline without models, or whose matrix excludes every combination.
fn check_some_jobs(ctx: &mut Ctx<'_>, raw: &RawPipeline, experiments: &[Experiment]) {
    if raw.models.is_empty() {
        ctx.error("models", "no model is declared");
    } else if experiments.is_empty() && ctx.diagnostics.is_empty() {
        ctx.error("matrix", "the matrix expands to zero jobs (every combination was excluded)");
    }
}

/// Refuses a plan of more than `max_jobs` jobs, counted after the expansion.
fn check_plan_size(
    ctx: &mut Ctx<'_>,
    experiments: &[Experiment],
    saliency: bool,
    speeds: usize,
    max_jobs: u64,
    limit: &str,
) {
    let jobs = plan_size(experiments, saliency, speeds);
    if jobs > max_jobs {
        ctx.error(
            "models",
            format!(
                "the plan has {jobs} jobs, more than {limit}; shrink the matrix or raise `max_jobs` \
                 (e.g. `--set max_jobs={jobs}`)"
            ),
        );
    }
}

/// One model's axes (and its include entries' axes), before expansion.
struct ModelMatrix<'r> {
    name: &'r str,
    arch: Arch,
    axes: Vec<AxisValues>,
    /// Each applying `matrix.include` entry: its key path and its axes.
    includes: Vec<(String, Vec<AxisValues>)>,
}

/// `max_jobs (N)`, with where it was set when it is not the default.
fn max_jobs_text(ctx: &Ctx<'_>, raw: &RawPipeline, max_jobs: u64) -> String {
    if raw.max_jobs.is_none() {
        return format!("`max_jobs` ({max_jobs}, the default)");
    }
    let at = match ctx.origin("max_jobs") {
        Origin::Set(arg) => format!("--set `{arg}`"),
        Origin::File { file, pos: Some(p) } => format!("{file}:{}:{}", p.line, p.col),
        Origin::File { file, pos: None } => file,
    };
    format!("`max_jobs` ({max_jobs}, set at {at})")
}

/// Refuses matrices that would make more than `max_jobs` jobs, counted from the axis lengths
/// (each run is at least a train and an evaluate job; `exclude` is not subtracted, as it needs
/// the expansion). Returns false when refused.
fn check_matrix_size(
    ctx: &mut Ctx<'_>,
    matrices: &[ModelMatrix<'_>],
    zip: &[Vec<Key>],
    datasets: &BTreeMap<String, DatasetSpec>,
    limit: &str,
    max_jobs: u64,
) -> bool {
    // The most folds among the data sets of some axes (each run repeats once per fold).
    let folds = |axes: &[AxisValues]| {
        axes.iter()
            .filter(|a| a.key == Key::Datasets)
            .flat_map(|a| &a.values)
            .filter_map(|(v, _)| match v {
                Setting::Dataset(d) => datasets.get(d).and_then(DatasetSpec::folds),
                _ => None,
            })
            .max()
            .unwrap_or(1)
            .max(1) as u64
    };
    let mut total: u64 = 0;
    let mut sizes = Vec::new();
    for m in matrices {
        let mut runs = matrix::count(&m.axes, zip).saturating_mul(folds(&m.axes));
        for (_, inc) in &m.includes {
            runs = runs.saturating_add(matrix::count(inc, zip).saturating_mul(folds(inc)));
        }
        let jobs = runs.saturating_mul(2);
        total = total.saturating_add(jobs);
        sizes.push((m, runs, jobs));
    }
    if total <= max_jobs {
        return true;
    }
    report_oversized(ctx, &sizes, total, limit, max_jobs);
    false
}

/// Names each model whose matrix alone makes more than `max_jobs` jobs (from its `(runs,
/// jobs)`), or else the models together (`total` jobs).
fn report_oversized(ctx: &mut Ctx<'_>, sizes: &[(&ModelMatrix<'_>, u64, u64)], total: u64, limit: &str, max_jobs: u64) {
    let mut named = false;
    for &(m, runs, jobs) in sizes.iter().filter(|(_, _, jobs)| *jobs > max_jobs) {
        let axes: Vec<String> = m
            .axes
            .iter()
            .filter(|a| a.values.len() > 1)
            .map(|a| format!("{}: {} values", a.key, a.values.len()))
            .collect();
        let axes = if axes.is_empty() { "with `matrix.include`".to_string() } else { axes.join(" x ") };
        ctx.error(
            &format!("models.{}", m.name),
            format!(
                "the matrix of model `{}` makes {runs} runs ({axes}), at least {jobs} jobs: more than {limit}; \
                 shrink its axes or raise `max_jobs` (e.g. `--set max_jobs={jobs}`)",
                m.name
            ),
        );
        named = true;
    }
    if !named {
        ctx.error(
            "models",
            format!(
                "the models' matrices make at least {total} jobs together: more than {limit}; \
                 shrink the axes or raise `max_jobs` (e.g. `--set max_jobs={total}`)"
            ),
        );
    }
}

/// The number of jobs the plan (`plan::build`) makes from these experiments (before identical
/// jobs merge): prepares, trains, evaluations, distillation targets, saliency maps and the
/// analyses' jobs (`speeds` throughput jobs).
fn plan_size(experiments: &[Experiment], saliency: bool, speeds: usize) -> u64 {
    let prepares: BTreeSet<(&str, u32)> = experiments.iter().map(|e| (e.dataset.as_str(), e.prepared_size())).collect();
    let targets: BTreeSet<usize> = experiments.iter().filter_map(|e| e.distill.map(|(t, _)| t)).collect();
    let maps: BTreeSet<(&str, &str)> = if saliency {
        experiments.iter().map(|e| (e.model_name.as_str(), e.dataset.as_str())).collect()
    } else {
        BTreeSet::new()
    };
    (prepares.len() + 2 * experiments.len() + targets.len() + maps.len() + speeds) as u64
}

/// The job kinds `slurm.retries` and `slurm.resources` may name.
const SLURM_KINDS: [&str; 6] = ["prepare", "train", "distill-targets", "evaluate", "saliency", "throughput"];

/// The `slurm` section, every value written into a script checked: one line, a known option, a
/// value of the right shape.
fn compile_slurm(raw: Option<&RawSlurm>, pipeline: &RawPipeline, ctx: &mut Ctx<'_>) -> SlurmSettings {
    let Some(r) = raw else { return SlurmSettings::default() };
    let mut out = SlurmSettings {
        partition: r.partition.clone(),
        account: r.account.clone(),
        sbatch: r.sbatch.clone(),
        ..Default::default()
    };
    check_script_settings(ctx, "slurm", &r.partition, &r.account);
    check_sbatch_options(ctx, "slurm", &r.sbatch);
    if let Some(k) = r.array_limit {
        out.array_limit = Some(positive(ctx, "slurm.array_limit", k));
    }
    if let Some(d) = &r.device {
        match DeviceRequest::parse(d) {
            Ok(d) => out.device = Some(d),
            Err(e) => ctx.error("slurm.device", e),
        }
    }
    for (k, v) in &r.retries {
        let path = format!("slurm.retries.{k}");
        if k != "default" && !SLURM_KINDS.contains(&k.as_str()) {
            ctx.error(
                &path,
                format!("`{k}` is not a job kind; expected `default` or one of {}", SLURM_KINDS.join(", ")),
            );
        }
        if !(0..=100).contains(v) {
            ctx.error(&path, format!("retries must be in 0..=100, got `{v}`"));
        }
        out.retries.insert(k.clone(), (*v).clamp(0, 100) as u32);
    }
    for (k, v) in &r.resources {
        out.resources.insert(k.clone(), compile_resources(k, v, pipeline, ctx));
    }
    out
}

/// Checks `partition` and `account` under `base`.
fn check_script_settings(ctx: &mut Ctx<'_>, base: &str, partition: &Option<String>, account: &Option<String>) {
    for (key, v) in [("partition", partition), ("account", account)] {
        if let Some(e) = v.as_deref().and_then(|v| super::sbatch::check_setting(key, v).err()) {
            ctx.error(&format!("{base}.{key}"), e);
        }
    }
}

/// Checks the `sbatch` options under `base`.
fn check_sbatch_options(ctx: &mut Ctx<'_>, base: &str, list: &[String]) {
    for (i, o) in list.iter().enumerate() {
        if let Err(e) = super::sbatch::check_option(o) {
            ctx.error(&format!("{base}.sbatch[{i}]"), e);
        }
    }
}

/// The resources of `slurm.resources.<k>`: `k` names `default`, a job kind, an architecture or
/// a model; counts in range, every value fit for a script.
fn compile_resources(k: &str, v: &RawResources, pipeline: &RawPipeline, ctx: &mut Ctx<'_>) -> Resources {
    let path = format!("slurm.resources.{k}");
    let known =
        k == "default" || SLURM_KINDS.contains(&k) || Arch::parse(k).is_some() || pipeline.models.contains_key(k);
    if !known {
        ctx.error(&path, format!("`{k}` is not `default`, a job kind, an architecture or a model of this pipeline"));
    }
    let mut res = Resources {
        memory: v.memory.clone(),
        time: v.time.clone(),
        partition: v.partition.clone(),
        account: v.account.clone(),
        sbatch: v.sbatch.clone(),
        ..Default::default()
    };
    if let Some(c) = v.cpus {
        res.cpus = Some(positive(ctx, &format!("{path}.cpus"), c));
    }
    if let Some(g) = v.gpus {
        if !(0..=64).contains(&g) {
            ctx.error(&format!("{path}.gpus"), format!("gpus must be in 0..=64, got `{g}`"));
        }
        res.gpus = Some(g.clamp(0, 64) as u32);
    }
    for (key, value) in [("memory", &v.memory), ("time", &v.time)] {
        if let Some(e) = value.as_deref().and_then(|x| super::sbatch::check_setting(key, x).err()) {
            ctx.error(&format!("{path}.{key}"), e);
        }
    }
    check_script_settings(ctx, &path, &v.partition, &v.account);
    check_sbatch_options(ctx, &path, &v.sbatch);
    res
}

/// The `analyses` switches; unset ones take [`Analyses::default`].
fn compile_analyses(raw: Option<&RawAnalyses>) -> Analyses {
    let d = Analyses::default();
    let Some(r) = raw else { return d };
    Analyses {
        uncertainty: r.uncertainty.unwrap_or(d.uncertainty),
        calibration: r.calibration.unwrap_or(d.calibration),
        distillation: r.distillation.unwrap_or(d.distillation),
        data_efficiency: r.data_efficiency.unwrap_or(d.data_efficiency),
        efficiency: r.efficiency.unwrap_or(d.efficiency),
        domain_shift: r.domain_shift.unwrap_or(d.domain_shift),
        robustness: r.robustness.unwrap_or(d.robustness),
    }
}

/// The `saliency` section; `None` when disabled.
fn compile_saliency(raw: Option<&RawSaliency>, ctx: &mut Ctx<'_>) -> Option<SaliencySettings> {
    let d = RawSaliency::default();
    let r = raw.unwrap_or(&d);
    let frac = |ctx: &mut Ctx<'_>, key: &str, v: Option<f64>, default: f64| {
        let v = v.unwrap_or(default);
        if !(v > 0.0 && v <= 1.0) {
            ctx.error(&format!("saliency.{key}"), format!("must be a fraction of the image side in (0, 1], got `{v}`"));
        }
        v
    };
    let window = frac(ctx, "window", r.window, 1.0 / 6.0);
    let stride = frac(ctx, "stride", r.stride, 1.0 / 12.0);
    let per_class = r.images_per_class.unwrap_or(10);
    if !(1..=10_000).contains(&per_class) {
        ctx.error("saliency.images_per_class", format!("must be in 1..=10000, got `{per_class}`"));
    }
    r.enabled.unwrap_or(true).then_some(SaliencySettings { window, stride, per_class: per_class as u32 })
}

/// `v` as a count of at least 1; out of range is reported at `path` (and read as 1).
fn positive(ctx: &mut Ctx<'_>, path: &str, v: i64) -> u32 {
    if v < 1 || v > u32::MAX as i64 {
        ctx.error(path, format!("must be a positive integer, got `{v}`"));
        1
    } else {
        v as u32
    }
}

/// Names in backticks, separated by commas.
fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    it.map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// The known architectures, in backticks.
fn arch_names() -> String {
    Arch::ALL.iter().map(|a| format!("`{}`", a.name())).collect::<Vec<_>>().join(", ")
}

/// One `datasets.<name>` entry: synthetic, or real by its loader kind.
fn compile_dataset(d: &RawDataset, path: &str, ctx: &mut Ctx<'_>) -> Option<DatasetSpec> {
    match d.kind.as_str() {
        "synthetic" => {
            if d.manifest.is_some() || d.folds.is_some() || d.skip_bad.is_some() {
                ctx.error(path, "`manifest`, `folds` and `skip_bad` are settings of real data sets");
            }
            let mut int = |key: &str, v: Option<i64>, default: i64, min: i64, max: i64| -> i64 {
                let v = v.unwrap_or(default);
                if v < min || v > max {
                    ctx.error(&format!("{path}.{key}"), format!("must be in {min}..={max}, got `{v}`"));
                }
                v
            };
            let seed = int("seed", d.seed, 2019, 0, i64::MAX);
            let subjects = int("subjects", d.subjects, 60, 3, 100_000);
            let per = int("images_per_subject", d.images_per_subject, 70, 1, 100_000);
            let mut frac = |key: &str, v: Option<f64>, default: f64, lo: f64, hi: f64| -> f64 {
                let v = v.unwrap_or(default);
                if !(v.is_finite() && v >= lo && v <= hi) {
                    ctx.error(&format!("{path}.{key}"), format!("must be in [{lo}, {hi}], got `{v}`"));
                }
                v
            };
            let difficulty = frac("difficulty", d.difficulty, 0.5, 0.0, 1.0);
            let val_fraction = frac("val_fraction", d.val_fraction, 0.15, 0.0, 0.5);
            let test_fraction = frac("test_fraction", d.test_fraction, 0.2, 0.01, 0.5);
            let style = match d.style.as_deref().map(crate::data::style::Style::parse) {
                None => crate::data::style::Style::Mixed,
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    ctx.error(&format!("{path}.style"), e);
                    crate::data::style::Style::Mixed
                }
            };
            Some(DatasetSpec::Synthetic(SyntheticSpec {
                seed: seed as u64,
                subjects: subjects as u32,
                images_per_subject: per as u32,
                contempt: d.contempt.unwrap_or(false),
                difficulty,
                val_fraction,
                test_fraction,
                style,
            }))
        }
        other => match other.parse::<LoaderKind>() {
            Ok(kind) => compile_real(d, kind, path, ctx),
            Err(_) => {
                let known: Vec<&str> = LoaderKind::ALL.iter().map(|k| k.name()).collect();
                ctx.error(
                    &format!("{path}.kind"),
                    format!("unknown data set kind `{other}`; known: `synthetic`, `{}`", known.join("`, `")),
                );
                None
            }
        },
    }
}

/// A real data set: its manifest, where the data is, the content hash of its files.
fn compile_real(d: &RawDataset, kind: LoaderKind, path: &str, ctx: &mut Ctx<'_>) -> Option<DatasetSpec> {
    if d.seed.is_some()
        || d.subjects.is_some()
        || d.images_per_subject.is_some()
        || d.difficulty.is_some()
        || d.style.is_some()
    {
        ctx.error(
            path,
            "`seed`, `subjects`, `images_per_subject`, `difficulty` and `style` are settings of `synthetic` data",
        );
    }
    let file = manifest_file(d, kind, ctx.file);
    let key = if d.manifest.is_some() { format!("{path}.manifest") } else { format!("{path}.kind") };
    let mut m = read_manifest(ctx, &file, kind, &key)?;
    if let Some(k) = d.folds {
        set_folds(ctx, &mut m, k, path);
    }
    let class_names = class_names(ctx, &m, &file, &key)?;
    let (content_sha256, missing) = content(ctx, &m, &key);
    Some(DatasetSpec::Real(RealSpec {
        manifest: m,
        content_sha256,
        skip_bad: ctx.skip_bad || d.skip_bad.unwrap_or(false),
        class_names,
        missing,
    }))
}

/// The manifest of a real data set: the one it names (beside the pipeline file), or
/// `data-manifests/<kind>.yaml` beside the pipeline file, else in the working folder.
fn manifest_file(d: &RawDataset, kind: LoaderKind, pipeline_file: &str) -> PathBuf {
    let base = std::path::Path::new(pipeline_file).parent().unwrap_or(std::path::Path::new("."));
    match &d.manifest {
        Some(m) => base.join(m),
        None => {
            let beside = base.join("data-manifests").join(format!("{}.yaml", kind.name()));
            if beside.exists() {
                beside
            } else {
                PathBuf::from("data-manifests").join(format!("{}.yaml", kind.name()))
            }
        }
    }
}

/// Reads the manifest `file`, which must be for loader `kind`; failures are reported at `key`.
fn read_manifest(ctx: &mut Ctx<'_>, file: &std::path::Path, kind: LoaderKind, key: &str) -> Option<Manifest> {
    let m = match Manifest::read(file) {
        Ok(m) => m,
        Err(e) => {
            ctx.error(key, e.to_string());
            return None;
        }
    };
    if m.loader != kind {
        ctx.error(
            key,
            format!("manifest `{}` is for loader `{}`, not `{}`", file.display(), m.loader.name(), kind.name()),
        );
        return None;
    }
    Some(m)
}

/// Sets the number of folds `k` of a k-fold protocol (`<path>.folds`).
fn set_folds(ctx: &mut Ctx<'_>, m: &mut Manifest, k: i64, path: &str) {
    match &mut m.protocol {
        Protocol::SubjectKfold { folds, .. } if (2..=100).contains(&k) => *folds = k as usize,
        Protocol::SubjectKfold { .. } => {
            ctx.error(&format!("{path}.folds"), format!("folds must be in 2..=100, got `{k}`"))
        }
        p => ctx.error(&format!("{path}.folds"), format!("the manifest's protocol `{}` has no folds", p.describe())),
    }
}

/// The class names after the manifest's label map; `None` (reported at `key`) when the classes
/// are unknown or the map is refused.
fn class_names(ctx: &mut Ctx<'_>, m: &Manifest, file: &std::path::Path, key: &str) -> Option<Vec<String>> {
    let native = if !m.classes.is_empty() { Some(m.classes.clone()) } else { native_classes(m.loader, &m.options) };
    let Some(native) = native else {
        ctx.error(
            key,
            format!("manifest `{}` must list `classes` (the class folders) for `image-folder`", file.display()),
        );
        return None;
    };
    match m.label_mapping(&native) {
        Ok(map) => Some(map.class_names),
        Err(e) => {
            ctx.error(key, e.to_string());
            None
        }
    }
}

/// The content hash of a present data set, and the listed files that are gone (they make the
/// data set unavailable; not a warning). The hash covers the files the loader reads (the
/// manifest's sha256 where it lists them); other files are named in a warning, once.
fn content(ctx: &mut Ctx<'_>, m: &Manifest, key: &str) -> (Option<String>, Vec<String>) {
    let root = crate::data::location::data_root(&m.name, Some(m));
    let present = std::fs::read_dir(&root).map(|mut r| r.next().is_some()).unwrap_or(false) || root.is_file();
    match present.then(|| crate::data::content::planned(m, &root)) {
        None => (None, Vec::new()),
        Some(Ok(p)) => {
            crate::data::content::warn_once(m, &root, &p.scan);
            (Some(p.sha256), p.missing)
        }
        Some(Err(e)) => {
            ctx.error(key, e.to_string());
            (None, Vec::new())
        }
    }
}

/// Refuses distillation settings given without a teacher to distil from.
fn needs_teacher(ctx: &mut Ctx<'_>, given: &BTreeMap<Key, Given>, base: &str) {
    for k in Key::DISTILL.iter().filter(|k| given.contains_key(k)) {
        ctx.error(&format!("{base}.{k}"), format!("`{k}` needs a `teacher` to distil from"));
    }
}

/// MicroExpNet's temperature by data set: 8 for CK+ and 4 for Oulu-CASIA (the released
/// models); 8 (the public code's default) for every other data set.
pub(super) fn default_temperature(dataset: Option<&DatasetSpec>) -> f64 {
    match dataset {
        Some(DatasetSpec::Real(r)) if r.manifest.loader == LoaderKind::OuluCasia => 4.0,
        _ => 8.0,
    }
}

/// The pipeline's `seeds`, as the axis of a model that gives none.
fn global_seed_axis(seeds: &super::axis::Axis<i64>) -> AxisValues {
    let values = seeds.values.iter().enumerate().filter_map(|(i, v)| {
        let path = if seeds.is_list { format!("seeds[{i}]") } else { "seeds".into() };
        // A negative seed is refused where the seeds are checked.
        u64::try_from(*v).ok().map(|v| (Setting::Seed(v), path))
    });
    AxisValues { key: Key::Seeds, values: values.collect(), is_list: seeds.is_list }
}

/// The axes of the settings a model (or one include entry) gives, each key checked against the
/// architecture and each value on its own; refused values are reported and left out.
fn model_axes(
    ctx: &mut Ctx<'_>,
    arch: Arch,
    given: &BTreeMap<Key, Given>,
    base: &str,
    datasets: &BTreeMap<String, RawDataset>,
) -> Vec<AxisValues> {
    if !given.contains_key(&Key::Teacher) && !base.starts_with("matrix.") {
        needs_teacher(ctx, given, base);
    }
    let mut axes = Vec::new();
    for (&key, g) in given {
        if let Err(why) = arch.accepts(key) {
            ctx.error(&format!("{base}.{key}"), why);
            axes.push(AxisValues { key, values: Vec::new(), is_list: g.is_list });
            continue;
        }
        let mut values = Vec::new();
        for (i, v) in g.values.iter().enumerate() {
            let path = if g.is_list { format!("{base}.{key}[{i}]") } else { format!("{base}.{key}") };
            match v {
                Ok(Setting::Dataset(d)) if !datasets.contains_key(d) => {
                    ctx.error(&path, format!("unknown data set `{d}`; declared: {}", names(datasets.keys())))
                }
                Ok(s) => values.push((s.clone(), path)),
                Err(e) => ctx.error(&path, e.clone()),
            }
        }
        axes.push(AxisValues { key, values, is_list: g.is_list });
    }
    axes
}

/// A student's teacher before it is resolved to an experiment: (model name, key path, settings).
type PendingTeacher = Option<(String, String, DistillSpec)>;

/// The experiment of one cell of model `name`: its specs, initial weights (the file hashed once
/// per pipeline) and values along list axes, and its teacher still to be resolved.
fn experiment(
    ctx: &mut Ctx<'_>,
    name: &str,
    cell: &Cell,
    combo: &Combo,
    list_keys: &[Key],
    files: &mut BTreeMap<String, Option<InitWeights>>,
    datasets: &BTreeMap<String, DatasetSpec>,
) -> Option<(Experiment, PendingTeacher)> {
    let path_of = |k: Key| combo.get(&k).map(|(_, p)| p.clone()).unwrap_or_default();
    let init = match &cell.weights {
        None => None,
        Some(file) => {
            let key = path_of(Key::Weights);
            let entry = files.entry(file.clone()).or_insert_with(|| {
                let base = std::path::Path::new(ctx.file).parent().unwrap_or(std::path::Path::new("."));
                let path = base.join(file);
                match hash_regular_file(&path) {
                    Ok(sha256) => Some(InitWeights { path, sha256 }),
                    Err(e) => {
                        ctx.error(&key, format!("failed to read weights file `{}`: {e}", path.display()));
                        None
                    }
                }
            });
            Some(entry.clone()?)
        }
    };
    let teacher = cell.teacher.clone().map(|t| {
        let d = cell.distill;
        let temperature = d.temperature.unwrap_or_else(|| default_temperature(datasets.get(&cell.dataset)));
        (t, path_of(Key::Teacher), DistillSpec { temperature, weight: d.weight, t2: d.t2 })
    });
    let axes = list_keys
        .iter()
        .filter(|k| !matches!(**k, Key::Seeds | Key::Datasets))
        .filter_map(|k| combo.get(k).map(|(v, _)| (k.name().to_string(), v.to_string())))
        .collect();
    let e = Experiment {
        model_name: name.to_string(),
        dataset: cell.dataset.clone(),
        seed: cell.seed,
        model: ModelSpec::from(&cell.config),
        train: TrainSpec::from(&cell.config),
        fold: None,
        init,
        distill: None,
        axes,
    };
    if e.train.epochs == 0 && e.init.is_none() && cell.weights.is_none() {
        let at =
            Some(path_of(Key::Epochs)).filter(|p| !p.is_empty()).unwrap_or_else(|| format!("models.{name}.epochs"));
        ctx.error(&at, "`epochs: 0` evaluates initial weights as they are: it needs `weights:` (a weights file)");
    }
    Some((e, teacher))
}

/// The sha256 of a regular file, read in pieces; FIFOs, devices and folders are refused unopened
/// for reading (a FIFO would block, `/dev/zero` never ends).
fn hash_regular_file(path: &std::path::Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let (mut f, _) = super::load::open_regular(path).map_err(|e| match e {
        super::load::SmallFileError::Io(e) => e.to_string(),
        super::load::SmallFileError::Unusable(why) => why,
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(crate::digest::hex(&h.finalize()))
}

/// Points every student at its teacher's experiment: the teacher model's run on the same data
/// set with the same seed, or its only run on that data set (then all seeds share it).
fn resolve_teachers(ctx: &mut Ctx<'_>, experiments: &mut [Experiment], pending: &[PendingTeacher]) {
    for (i, p) in pending.iter().enumerate() {
        let Some((teacher, path, spec)) = p else { continue };
        if let Some(chosen) = teacher_run(ctx, experiments, pending, i, teacher, path) {
            experiments[i].distill = Some((chosen, *spec));
        }
    }
    break_teacher_cycles(ctx, experiments, pending);
}

/// The run of model `teacher` that teaches experiment `i` (same data set and fold; same seed,
/// or the only run); `None`, reported at `path`, when there is no such single run or the two
/// models teach each other.
fn teacher_run(
    ctx: &mut Ctx<'_>,
    experiments: &[Experiment],
    pending: &[PendingTeacher],
    i: usize,
    teacher: &str,
    path: &str,
) -> Option<usize> {
    let Experiment { model_name: student, dataset, seed, fold, .. } = &experiments[i];
    if teacher == student {
        ctx.error(path, format!("model `{student}` cannot be its own teacher"));
        return None;
    }
    let mut runs: Vec<usize> = (0..experiments.len())
        .filter(|&j| {
            experiments[j].model_name == teacher && experiments[j].dataset == *dataset && experiments[j].fold == *fold
        })
        .collect();
    // A teacher's learning-curve runs (`train_fraction` below 1) teach only when it has no other.
    if runs.iter().any(|&j| experiments[j].train.train_fraction >= 1.0) {
        runs.retain(|&j| experiments[j].train.train_fraction >= 1.0);
    }
    if runs.is_empty() {
        let known = experiments.iter().any(|e| e.model_name == teacher);
        let msg = if known {
            format!("teacher `{teacher}` does not train on data set `{dataset}`")
        } else {
            format!("unknown teacher `{teacher}`: no model of that name in this pipeline")
        };
        ctx.error(path, msg);
        return None;
    }
    let same_seed: Vec<usize> = runs.iter().copied().filter(|&j| experiments[j].seed == *seed).collect();
    let chosen = match (same_seed.as_slice(), runs.as_slice()) {
        ([j], _) | ([], [j]) => *j,
        ([], _) => {
            ctx.error(
                path,
                format!("teacher `{teacher}` has no run with seed {seed} on `{dataset}` (and more than one other run)"),
            );
            return None;
        }
        _ => {
            ctx.error(path, format!("teacher `{teacher}` is ambiguous: it has several runs with seed {seed} on `{dataset}` (list axes); give the teacher one value per setting"));
            return None;
        }
    };
    if pending[chosen].as_ref().is_some_and(|(t, _, _)| t == student) {
        ctx.error(path, format!("models `{student}` and `{teacher}` are each other's teachers"));
        return None;
    }
    Some(chosen)
}

/// Refuses longer cycles of teachers (a -> b -> c -> a), each student in one reported.
fn break_teacher_cycles(ctx: &mut Ctx<'_>, experiments: &mut [Experiment], pending: &[PendingTeacher]) {
    for i in 0..experiments.len() {
        let mut seen = vec![i];
        let mut at = i;
        while let Some((t, _)) = experiments[at].distill {
            if seen.contains(&t) {
                let path = pending[i].as_ref().map(|p| p.1.clone()).unwrap_or_default();
                ctx.error(&path, format!("the teachers of `{}` form a cycle", experiments[i].model_name));
                experiments[i].distill = None;
                break;
            }
            seen.push(t);
            at = t;
        }
    }
}

#[cfg(test)]
mod recipe_tests {
    use super::super::{load_str, Overrides, SpecError};
    use super::*;

    const BASE: &str = "version: 1\nname: recipe\nseeds: [1]\ndatasets:\n  ck: {kind: ckplus, folds: 2}\n  \
                        oulu: {kind: oulu-casia, folds: 2}\n  syn: {kind: synthetic, subjects: 6, images_per_subject: 4}\n\
                        models:\n";

    fn compile(models: &str) -> Result<Pipeline, SpecError> {
        // In the repository root, where `data-manifests/` is.
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipe.yaml");
        load_str(file, &format!("{BASE}{models}"), &Overrides::default())
    }

    fn temperatures(p: &Pipeline, model: &str) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = p
            .experiments
            .iter()
            .filter(|e| e.model_name == model && e.fold != Some(1))
            .map(|e| (e.dataset.clone(), e.distill.expect("a student").1.temperature))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn temperature_defaults_to_the_data_set_s_and_can_be_set() {
        let p = compile(
            "  t: {arch: deep-emotion, datasets: [ck, oulu, syn]}\n  \
             s: {arch: microexpnet, datasets: [ck, oulu, syn], teacher: t}\n  \
             fixed: {arch: microexpnet, datasets: [ck, oulu], teacher: t, temperature: 6}\n",
        )
        .unwrap();
        let want = |v: [f64; 3]| vec![("ck".into(), v[0]), ("oulu".into(), v[1]), ("syn".into(), v[2])];
        assert_eq!(temperatures(&p, "s"), want([8.0, 4.0, 8.0]));
        assert_eq!(temperatures(&p, "fixed"), vec![("ck".into(), 6.0), ("oulu".into(), 6.0)]);
        // `exclude` sees the data set's temperature.
        let p = compile(
            "  t: {arch: deep-emotion, datasets: [ck, oulu]}\n  s: {arch: microexpnet, datasets: [ck, oulu], teacher: t}\n\
             matrix:\n  exclude: [{model: s, temperature: 4}]\n",
        )
        .unwrap();
        assert_eq!(temperatures(&p, "s"), vec![("ck".into(), 8.0)]);
        // Still only for students.
        let e = compile("  t: {arch: deep-emotion, datasets: [syn], temperature: 4}\n").unwrap_err().to_string();
        assert!(e.contains("needs a `teacher`"), "{e}");
    }

    #[test]
    fn the_published_recipes_are_the_defaults() {
        let p = compile(
            "  m: {arch: microexpnet, datasets: [syn]}\n  d: {arch: deep-emotion, datasets: [syn]}\n  \
                         i: {arch: inception-v3, datasets: [syn], input_size: 75}\n",
        )
        .unwrap();
        let of = |name: &str| p.experiments.iter().find(|e| e.model_name == name).unwrap();
        assert!(of("m").train.multi_crop);
        assert_eq!(of("m").prepared_size(), 256);
        assert_eq!(of("m").train.l2, 0.0);
        assert!(!of("d").train.multi_crop);
        assert_eq!(of("d").train.l2, crate::arch::deep_emotion::DEFAULT_L2);
        assert_eq!(of("d").prepared_size(), 48);
        assert_eq!((of("i").train.multi_crop, of("i").train.l2), (false, 0.0));
        // Off on request, and then the model reads its own input size.
        let p = compile(
            "  m: {arch: microexpnet, datasets: [syn], multi_crop: false}\n  \
                         d: {arch: deep-emotion, datasets: [syn], l2: [0, 0.01]}\n",
        )
        .unwrap();
        let m = p.experiments.iter().find(|e| e.model_name == "m").unwrap();
        assert_eq!((m.train.multi_crop, m.prepared_size()), (false, 84));
        let l2: Vec<f64> = p.experiments.iter().filter(|e| e.model_name == "d").map(|e| e.train.l2).collect();
        assert_eq!(l2, vec![0.0, 0.01]);
    }

    #[test]
    fn recipe_settings_are_refused_where_they_do_not_apply() {
        for (models, want) in [
            ("  d: {arch: deep-emotion, datasets: [syn], multi_crop: true}\n", "MicroExpNet's published recipe"),
            ("  m: {arch: microexpnet, datasets: [syn], l2: 0.1}\n", "`l2` does not apply"),
            ("  d: {arch: deep-emotion, datasets: [syn], l2: -1}\n", "l2 must be >= 0"),
        ] {
            let e = compile(models).unwrap_err().to_string();
            assert!(e.contains(want), "{models}: {e}");
        }
        // `multi_crop: false` too: an architecture without the crops has no such setting.
        let e = compile("  d: {arch: deep-emotion, datasets: [syn], multi_crop: false}\n").unwrap_err().to_string();
        assert!(e.contains("key `models.d.multi_crop`: `multi_crop` is MicroExpNet's published recipe"), "{e}");
    }
}

#[cfg(test)]
mod typed_tests {
    //! The typed expansion against the expansion recorded before it (`expansion.golden`), and the
    //! settings an architecture does not use.
    use super::super::{load, load_str, Overrides};
    use super::*;
    use std::path::{Path, PathBuf};

    /// The repository root: the nearest folder above this crate holding `examples/tiny.yaml`.
    fn root() -> PathBuf {
        let mut d = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        while !d.join("examples/tiny.yaml").exists() {
            assert!(d.pop(), "no examples/tiny.yaml above {}", env!("CARGO_MANIFEST_DIR"));
        }
        d
    }

    /// Extra matrices the examples do not cover: zip, include, exclude, lists of every kind, students.
    const MATRIX: &str = "version: 1\nname: m\nseeds: [1, 2]\n\
        datasets:\n  a: {kind: synthetic, subjects: 6, images_per_subject: 4}\n  \
        b: {kind: synthetic, seed: 3, subjects: 6, images_per_subject: 4}\n\
        models:\n  \
        de: {arch: deep-emotion, datasets: [a, b], lr: [0.01, 0.02], batch_size: [8, 16], l2: [0, 0.5], dropout: [0.1, 0.2]}\n  \
        tde: {arch: deep-emotion, datasets: [a, b], epochs: 2}\n  \
        inc: {arch: inception-v3, datasets: [a], seeds: [1], input_size: [75, 80], select: best-val, eps: 1.0e-6}\n  \
        t: {arch: inception-v3, datasets: [a], seeds: [1], input_size: 80, dropout: 0.3}\n  \
        s2: {arch: deep-emotion, datasets: a, teacher: t, kd_weight: 0.3, seeds: [1, 2, 3]}\n  \
        men: {arch: microexpnet, datasets: [a, b], variant: [m, xs], teacher: tde, temperature: [2, 3], kd_t2: true, \
              kd_weight: [0.2, 0.4], multi_crop: [true, false], input_norm: [raw, standardize], beta1: 0.8}\n  \
        plain: {arch: microexpnet, datasets: a, epochs: [3, 4], weight_decay: [0, 0.1], optimizer: adam}\n\
        matrix:\n  zip: [[lr, batch_size], [temperature, kd_weight]]\n  \
        include: [{model: de, lr: 0.03, batch_size: 4}, {model: [plain], epochs: 9}, {model: men, variant: s}, {seed: 5, epochs: 3}]\n  \
        exclude: [{model: de, seed: 2, lr: 0.02}, {model: men, variant: xs, multi_crop: false}, {epochs: 4, weight_decay: 0.1}, \
                  {model: de, l2: 0.001}, {model: men, temperature: 3, dataset: b}, {model: s2, seed: 5}, {model: [men, tde, t], seed: 5}]\n";

    /// Every compiled experiment of a pipeline, one line each, with the serialised specs.
    fn describe(p: &Pipeline) -> String {
        let json = |v: &dyn erased::Json| v.json();
        let mut out = String::new();
        for e in &p.experiments {
            out += &format!(
                "{} {} seed={} fold={:?} model={} train={} init={:?} distill={:?} axes={:?}\n",
                e.model_name,
                e.dataset,
                e.seed,
                e.fold,
                json(&e.model),
                json(&e.train),
                e.init.as_ref().map(|i| &i.sha256),
                e.distill.map(|(t, d)| (t, json(&d))),
                e.axes
            );
        }
        out
    }

    mod erased {
        pub(super) trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }

    /// The expansion of every example, of `pipeline.yaml` (under every profile) and of [`MATRIX`].
    fn expansion() -> String {
        let root = root();
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        files.push(root.join("pipeline.yaml"));
        let mut out = String::new();
        for f in &files {
            let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let mut profiles = vec![None];
            if let Some(m) = doc.get("profiles").and_then(|p| p.as_mapping()) {
                profiles.extend(m.keys().map(|k| k.as_str().map(String::from)));
            }
            for profile in profiles {
                let name = f.strip_prefix(&root).unwrap().display().to_string();
                out += &format!("# {name} profile={profile:?}\n");
                let p = load(f, &Overrides { profile, ..Default::default() }).unwrap();
                out += &describe(&p);
            }
        }
        out += "# matrix\n";
        out += &describe(&load_str("m.yaml", MATRIX, &Overrides::default()).unwrap());
        out
    }

    const HEAD: &str = "version: 1\nname: t\nseeds: [1]\ndatasets:\n  d: {kind: synthetic}\nmodels:\n";

    /// The one diagnostic of a refused pipeline (`HEAD` + `rest`), as printed.
    fn refused(rest: &str) -> String {
        let e = load_str("p.yaml", &format!("{HEAD}{rest}"), &Overrides::default()).unwrap_err();
        let d = e.diagnostics();
        assert_eq!(d.len(), 1, "{rest}: {e}");
        d[0].to_string()
    }

    #[test]
    fn every_setting_an_architecture_does_not_use_is_refused_at_its_position() {
        for (rest, want) in [
            ("  m: {arch: deep-emotion, datasets: d, variant: m}\n", "p.yaml:7:40: key `models.m.variant`: `variant` does not apply to `deep-emotion`"),
            ("  m: {arch: inception-v3, datasets: d, variant: [m, s]}\n", "p.yaml:7:40: key `models.m.variant`: `variant` does not apply"),
            ("  m: {arch: microexpnet, datasets: d, input_size: 80}\n", "p.yaml:7:39: key `models.m.input_size`: `input_size` does not apply to `microexpnet`"),
            ("  m: {arch: deep-emotion, datasets: d, input_size: 80}\n", "key `models.m.input_size`: `input_size` does not apply to `deep-emotion`"),
            ("  m: {arch: microexpnet, datasets: d, l2: 0}\n", "p.yaml:7:39: key `models.m.l2`: `l2` does not apply to `microexpnet`"),
            ("  m: {arch: inception-v3, datasets: d, l2: 0.1}\n", "key `models.m.l2`: `l2` does not apply to `inception-v3`"),
            ("  m: {arch: deep-emotion, datasets: d, multi_crop: false}\n", "p.yaml:7:40: key `models.m.multi_crop`: `multi_crop` is MicroExpNet's published recipe (8 crops of a 256 px face); `deep-emotion` does not use it"),
            ("  m: {arch: inception-v3, datasets: d, multi_crop: true}\n", "key `models.m.multi_crop`: `multi_crop` is MicroExpNet's published recipe"),
            ("  m: {arch: deep-emotion, datasets: d, temperature: 2}\n", "key `models.m.temperature`: `temperature` needs a `teacher` to distil from"),
            // In an include entry: the model's architecture decides; distillation needs a teacher.
            ("  m: {arch: deep-emotion, datasets: d}\nmatrix: {include: [{model: m, variant: s}]}\n", "p.yaml:8:31: key `matrix.include[0].variant`: `variant` does not apply to `deep-emotion`"),
            ("  m: {arch: deep-emotion, datasets: d}\nmatrix: {include: [{model: m, kd_t2: true}]}\n", "p.yaml:8:31: key `matrix.include[0].kd_t2`: `kd_t2` needs a `teacher` to distil from"),
        ] {
            let got = refused(rest);
            assert!(got.contains(want), "{rest}:\n got {got}\nwant {want}");
        }
    }

    #[test]
    fn analyses_switches_default_and_data_efficiency_off_drops_the_fractions_below_one() {
        let models = "  d: {arch: deep-emotion, datasets: d, train_fraction: [0.25, 1.0]}\n  \
                      m: {arch: microexpnet, datasets: d, train_fraction: [0.5]}\n";
        let p = load_str("p.yaml", &format!("{HEAD}{models}"), &Overrides::default()).unwrap();
        assert_eq!(p.analyses, Analyses::default());
        let d = p.analyses;
        assert!(d.uncertainty && d.calibration && d.distillation && d.data_efficiency);
        assert!(!d.efficiency && !d.domain_shift && !d.robustness);
        assert_eq!(p.experiments.len(), 3);
        // Off: the 0.25 run goes; a model left with no run is refused with its position.
        let off = format!("{HEAD}{models}analyses: {{data_efficiency: false, uncertainty: false}}\n");
        let err = load_str("p.yaml", &off, &Overrides::default()).unwrap_err().to_string();
        assert!(
            err.contains("p.yaml:8:") && err.contains("key `models.m.train_fraction`: model `m` has no run"),
            "{err}"
        );
        let one = format!(
            "{HEAD}  d: {{arch: deep-emotion, datasets: d, train_fraction: [0.25, 1.0]}}\n\
             analyses: {{data_efficiency: false, calibration: false, robustness: true}}\n"
        );
        let p = load_str("p.yaml", &one, &Overrides::default()).unwrap();
        assert_eq!(p.experiments.iter().map(|e| e.train.train_fraction).collect::<Vec<_>>(), [1.0]);
        assert_eq!(
            p.analyses,
            Analyses { data_efficiency: false, calibration: false, robustness: true, ..Analyses::default() }
        );
        let bad = format!("{HEAD}  d: {{arch: deep-emotion, datasets: d}}\nanalyses: {{uncertanty: false}}\n");
        let err = load_str("p.yaml", &bad, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("p.yaml:8:") && err.contains("uncertanty"), "{err}");
    }

    #[test]
    fn a_teacher_with_a_learning_curve_teaches_from_its_run_on_all_subjects() {
        let p = load_str(
            "p.yaml",
            &format!(
                "{HEAD}  d: {{arch: deep-emotion, datasets: d, train_fraction: [0.25, 0.5, 1.0]}}\n  \
                 m: {{arch: microexpnet, datasets: d, teacher: d}}\n"
            ),
            &Overrides::default(),
        )
        .unwrap();
        let student = p.experiments.iter().find(|e| e.model_name == "m").unwrap();
        let (t, _) = student.distill.expect("distilled");
        assert_eq!(p.experiments[t].model_name, "d");
        assert_eq!(p.experiments[t].train.train_fraction, 1.0);
        // Only curve runs: still one run per seed needed.
        let err = load_str(
            "p.yaml",
            &format!(
                "{HEAD}  d: {{arch: deep-emotion, datasets: d, train_fraction: [0.25, 0.5]}}\n  \
                 m: {{arch: microexpnet, datasets: d, teacher: d}}\n"
            ),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("teacher `d` is ambiguous"), "{err}");
    }

    #[test]
    fn train_fraction_is_an_axis_of_every_architecture_hashed_only_below_one() {
        let p = load_str(
            "p.yaml",
            &format!(
                "{HEAD}  d: {{arch: deep-emotion, datasets: d, train_fraction: [0.25, 1.0]}}\n  \
                 m: {{arch: microexpnet, datasets: d, train_fraction: 0.5}}\n  i: {{arch: inception-v3, datasets: d}}\n"
            ),
            &Overrides::default(),
        )
        .unwrap();
        type Run = (f64, String, Vec<(String, String)>);
        let of = |name: &str| -> Vec<Run> {
            p.experiments
                .iter()
                .filter(|e| e.model_name == name)
                .map(|e| (e.train.train_fraction, serde_json::to_string(&e.train).unwrap(), e.axes.clone()))
                .collect()
        };
        let d = of("d");
        assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), [0.25, 1.0]);
        assert!(d[0].1.contains("\"train_fraction\":0.25"), "{}", d[0].1);
        assert!(!d[1].1.contains("train_fraction"), "1 is not written (hashes stand): {}", d[1].1);
        assert_eq!(d[0].2, [("train_fraction".to_string(), "0.25".to_string())]);
        assert_eq!(of("m")[0].0, 0.5);
        assert!(!of("i")[0].1.contains("train_fraction"));
        // Read back without the key: 1.
        let back: TrainSpec = serde_json::from_str(&d[1].1).unwrap();
        assert_eq!(back.train_fraction, 1.0);
        for (rest, want) in [
            (
                "  m: {arch: deep-emotion, datasets: d, train_fraction: [0.5, 0]}\n",
                "p.yaml:7:62: key `models.m.train_fraction[1]`: train_fraction must be in (0, 1], got `0`",
            ),
            (
                "  m: {arch: microexpnet, datasets: d, train_fraction: 1.5}\n",
                "p.yaml:7:39: key `models.m.train_fraction`: train_fraction must be in (0, 1], got `1.5`",
            ),
            (
                "  m: {arch: inception-v3, datasets: d}\nmatrix: {include: [{model: m, train_fraction: -0.1}]}\n",
                "key `matrix.include[0].train_fraction`: train_fraction must be in (0, 1], got `-0.1`",
            ),
        ] {
            let got = refused(rest);
            assert!(got.contains(want), "{rest}:\n got {got}\nwant {want}");
        }
    }

    #[test]
    fn an_include_entry_sets_the_keys_the_model_leaves_to_defaults() {
        let p = load_str(
            "p.yaml",
            &format!(
                "{HEAD}  t: {{arch: deep-emotion, datasets: d}}\n  s: {{arch: microexpnet, datasets: d, teacher: t}}\n  \
                 u: {{arch: deep-emotion, datasets: d}}\n\
                 matrix: {{include: [{{model: s, temperature: 2, kd_t2: true}}, {{model: u, teacher: t}}, {{model: s, kd_weight: 0.5}}]}}\n"
            ),
            &Overrides::default(),
        )
        .unwrap();
        let distill = |name: &str| -> Vec<Option<DistillSpec>> {
            p.experiments.iter().filter(|e| e.model_name == name).map(|e| e.distill.map(|d| d.1)).collect()
        };
        let spec = |temperature, t2| Some(DistillSpec { temperature, weight: 0.5, t2 });
        // `kd_weight: 0.5` is the default: the same cell, trained once.
        assert_eq!(distill("s"), vec![spec(8.0, false), spec(2.0, true)]);
        assert_eq!(distill("u"), vec![None, spec(8.0, false)]);
    }

    #[test]
    fn the_expansion_is_the_one_recorded_before_the_typed_configs() {
        let got = expansion();
        if let Some(path) = std::env::var_os("FER_WRITE_EXPANSION") {
            std::fs::write(Path::new(&path), &got).unwrap();
        }
        let want = include_str!("expansion.golden");
        assert!(got == want, "the expansion changed:\n--- recorded\n{want}\n--- now\n{got}");
    }
}
#[cfg(test)]
#[path = "compile_tests.rs"]
mod compile_tests;
