//! Builds the job DAG of a compiled pipeline: prepare -> train -> evaluate, shared jobs merged.

use std::collections::HashMap;

use super::hash::JobHash;
use super::job::{EvaluateSpec, JobKind, JobLabel, JobSpec, PrepareSpec, TrainJobSpec};
use crate::spec::Pipeline;

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
    /// Adds a job unless an identical one exists; returns its index.
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

    pub fn find(&self, hash: &JobHash) -> Option<&Job> {
        self.index.get(hash).map(|&i| &self.jobs[i])
    }

    /// Jobs that read job `i`.
    pub fn dependents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.jobs.iter().enumerate().filter(move |(_, j)| j.deps.contains(&i)).map(|(k, _)| k)
    }
}

/// Expands a compiled pipeline into its DAG.
pub fn build(p: &Pipeline) -> Plan {
    let mut plan = Plan::default();
    for e in &p.experiments {
        let dataset = &p.datasets[&e.dataset];
        let classes = dataset.classes();
        let prep = plan.add(
            JobSpec::Prepare(PrepareSpec { dataset: dataset.clone(), size: e.model.input_size() }),
            JobLabel { dataset: e.dataset.clone(), ..Default::default() },
        );
        let data = plan.jobs[prep].hash;
        let label = JobLabel {
            model: e.model_name.clone(),
            arch: e.model.display(),
            dataset: e.dataset.clone(),
            seed: Some(e.seed),
            axes: e.axes.clone(),
        };
        let train = plan.add(
            JobSpec::Train(TrainJobSpec { model: e.model, train: e.train, seed: e.seed, classes, data }),
            label.clone(),
        );
        let weights = plan.jobs[train].hash;
        plan.add(JobSpec::Evaluate(EvaluateSpec { model: e.model, classes, weights, data }), label);
    }
    plan
}
