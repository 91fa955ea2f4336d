//! Builds the job DAG of a compiled pipeline: prepare -> [teacher -> distill-targets ->] train ->
//! evaluate (and saliency); identical jobs are merged by hash.

use std::collections::{BTreeSet, HashMap};

use super::hash::JobHash;
use super::job::{
    EvaluateSpec, JobKind, JobLabel, JobSpec, KdInput, PrepareSpec, SaliencySpec, TargetsSpec, TrainJobSpec,
};
use crate::spec::{Experiment, Pipeline};

/// One job in the plan.
#[derive(Debug, Clone)]
pub struct Job {
    pub hash: JobHash,
    pub spec: JobSpec,
    pub label: JobLabel,
    /// Indices (into [`Plan::jobs`]) of the jobs this one reads.
    pub deps: Vec<usize>,
}

impl Job {
    pub fn kind(&self) -> JobKind {
        self.spec.kind()
    }
}

/// The DAG of a pipeline, jobs in a topological order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub jobs: Vec<Job>,
    index: HashMap<JobHash, usize>,
}

impl Plan {
    /// Adds a job unless an identical one exists; returns its index. Inputs must be added first.
    fn add(&mut self, spec: JobSpec, label: JobLabel) -> usize {
        let hash = spec.hash();
        if let Some(&i) = self.index.get(&hash) {
            return i;
        }
        let deps = spec.inputs().iter().filter_map(|h| self.index.get(h).copied()).collect();
        let i = self.jobs.len();
        self.jobs.push(Job { hash, spec, label, deps });
        self.index.insert(hash, i);
        i
    }
}

struct Builder<'a> {
    p: &'a Pipeline,
    plan: Plan,
    /// Experiment index -> (train job hash, prepare job hash).
    trained: HashMap<usize, (JobHash, JobHash)>,
}

fn label(e: &Experiment) -> JobLabel {
    JobLabel {
        model: e.model_name.clone(),
        arch: e.model.display(),
        dataset: e.dataset.clone(),
        seed: Some(e.seed),
        fold: e.fold,
        axes: e.axes.clone(),
    }
}

impl Builder<'_> {
    /// Adds experiment `i`'s prepare and train jobs (its teacher's first); returns their hashes.
    fn train(&mut self, i: usize) -> (JobHash, JobHash) {
        if let Some(h) = self.trained.get(&i) {
            return *h;
        }
        let e = &self.p.experiments[i];
        let dataset = &self.p.datasets[&e.dataset];
        let classes = dataset.classes();
        let prep = self.plan.add(
            JobSpec::Prepare(PrepareSpec { dataset: dataset.clone(), size: e.prepared_size() }),
            JobLabel { dataset: e.dataset.clone(), ..Default::default() },
        );
        let data = self.plan.jobs[prep].hash;
        let distill = e.distill.map(|(t, spec)| {
            let (teacher_weights, teacher_data) = self.train(t);
            let teacher = &self.p.experiments[t];
            let targets = self.plan.add(
                JobSpec::DistillTargets(TargetsSpec {
                    model: teacher.model,
                    classes,
                    weights: teacher_weights,
                    data: teacher_data,
                }),
                label(teacher),
            );
            KdInput { targets: self.plan.jobs[targets].hash, spec }
        });
        let train = self.plan.add(
            JobSpec::Train(TrainJobSpec {
                model: e.model,
                train: e.train,
                seed: e.seed,
                classes,
                data,
                fold: e.fold,
                init: e.init.as_ref().map(|w| w.sha256.clone()),
                distill,
            }),
            label(e),
        );
        let out = (self.plan.jobs[train].hash, data);
        self.trained.insert(i, out);
        out
    }
}

/// Why each job cannot run here (its data set is absent), or `None`; inputs first.
pub fn unavailable(plan: &Plan) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = Vec::with_capacity(plan.jobs.len());
    for job in &plan.jobs {
        let why = match &job.spec {
            JobSpec::Prepare(p) => p.dataset.unavailable(),
            _ => job.deps.iter().find_map(|&d| out[d].clone()),
        };
        out.push(why);
    }
    out
}

/// Keeps the jobs for which `keep` holds (without hashing them again); a kept job's inputs that
/// were dropped are no longer its dependencies in the plan (they stay inputs by hash).
pub fn retain(plan: &Plan, keep: impl Fn(usize, &Job) -> bool) -> Plan {
    let mut p = Plan::default();
    let mut new_index: Vec<Option<usize>> = vec![None; plan.jobs.len()];
    for (i, j) in plan.jobs.iter().enumerate() {
        if keep(i, j) {
            let deps = j.deps.iter().filter_map(|&d| new_index[d]).collect();
            new_index[i] = Some(p.jobs.len());
            p.index.insert(j.hash, p.jobs.len());
            p.jobs.push(Job { deps, ..j.clone() });
        }
    }
    p
}

/// Expands a compiled pipeline into its DAG.
pub fn build(p: &Pipeline) -> Plan {
    let mut b = Builder { p, plan: Plan::default(), trained: HashMap::new() };
    let mut saliency_done = BTreeSet::new();
    for (i, e) in p.experiments.iter().enumerate() {
        let (weights, data) = b.train(i);
        let classes = p.datasets[&e.dataset].classes();
        b.plan.add(JobSpec::Evaluate(EvaluateSpec { model: e.model, classes, weights, data, fold: e.fold }), label(e));
        // One saliency job per model and data set (its first run).
        if let Some(s) = p.saliency {
            if saliency_done.insert((e.model_name.clone(), e.dataset.clone())) {
                let fold = e.fold;
                b.plan.add(
                    JobSpec::Saliency(SaliencySpec {
                        model: e.model,
                        classes,
                        weights,
                        data,
                        window: s.window,
                        stride: s.stride,
                        per_class: s.per_class,
                        fold,
                    }),
                    label(e),
                );
            }
        }
    }
    b.plan
}
