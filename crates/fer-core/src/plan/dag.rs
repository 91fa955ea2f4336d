//! Builds the job DAG of a compiled pipeline: prepare -> [teacher -> distill-targets ->] train ->
//! evaluate (and saliency), and the analyses' jobs (throughput); identical jobs are merged by hash.

use std::collections::{BTreeSet, HashMap};

use super::hash::JobHash;
use super::job::{
    EvaluateSpec, JobKind, JobLabel, JobSpec, KdInput, PrepareSpec, SaliencySpec, TargetsSpec, ThroughputSpec,
    TrainJobSpec, THROUGHPUT_BATCHES, THROUGHPUT_THREADS,
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
    // Domain shift: every trained model on every other data set it shares classes with (runs on
    // part of the training subjects are for the learning curves: they get no transfer or robustness
    // job).
    if p.analyses.domain_shift {
        for (i, e) in p.experiments.iter().enumerate().filter(|(_, e)| e.train.train_fraction >= 1.0) {
            let (weights, _) = b.train(i);
            let trained = super::transfer::canonical_classes(&p.datasets[&e.dataset]);
            for (name, other) in p.datasets.iter().filter(|(n, _)| **n != e.dataset) {
                let (shared, outputs, labels) =
                    super::transfer::shared_classes(&trained, &super::transfer::canonical_classes(other));
                if shared.len() < super::transfer::MIN_SHARED {
                    continue;
                }
                let prep = b.plan.add(
                    JobSpec::Prepare(PrepareSpec { dataset: other.clone(), size: e.prepared_size() }),
                    JobLabel { dataset: name.clone(), ..Default::default() },
                );
                let data = b.plan.jobs[prep].hash;
                let spec = super::transfer::TransferSpec {
                    model: e.model,
                    classes: trained.len(),
                    weights,
                    data,
                    shared,
                    outputs,
                    labels,
                };
                let mut l = label(e);
                l.axes.push(("tested_on".to_string(), name.clone()));
                b.plan.add(JobSpec::Transfer(spec), l);
            }
        }
    }
    // Robustness: every trained model on corrupted copies of its test split.
    if p.analyses.robustness {
        for (i, e) in p.experiments.iter().enumerate().filter(|(_, e)| e.train.train_fraction >= 1.0) {
            let (weights, data) = b.train(i);
            let spec = super::robustness::RobustnessSpec {
                model: e.model,
                classes: p.datasets[&e.dataset].classes(),
                weights,
                data,
                fold: e.fold,
                corruptions: super::robustness::Corruption::ALL.to_vec(),
                severities: super::robustness::SEVERITIES,
                seed: super::robustness::SEED,
            };
            b.plan.add(JobSpec::Robustness(spec), label(e));
        }
    }
    // One throughput job per compared network, when the efficiency analysis is on.
    for (network, classes) in p.throughput_networks() {
        let spec = ThroughputSpec {
            network,
            classes,
            batches: THROUGHPUT_BATCHES.to_vec(),
            threads: THROUGHPUT_THREADS.to_vec(),
        };
        let name = network.display();
        b.plan.add(JobSpec::Throughput(spec), JobLabel { model: name.clone(), arch: name, ..Default::default() });
    }
    b.plan
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::spec::{load_str, Overrides};

    const DATA: &str = "version: 1\nname: dag\nseeds: [1]\ndatasets:\n  syn: {kind: synthetic, subjects: 6, images_per_subject: 4}\n  \
                        ck: {kind: ckplus, folds: 2}\n";

    fn plan_of(rest: &str) -> (Pipeline, Plan) {
        let p = load_str("dag.yaml", &format!("{DATA}{rest}"), &Overrides::default()).unwrap();
        let plan = build(&p);
        (p, plan)
    }

    fn kinds(plan: &Plan) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for j in &plan.jobs {
            *m.entry(j.kind().name()).or_default() += 1;
        }
        m
    }

    /// Each job's dependencies are exactly the plan jobs of its input hashes, all earlier.
    fn check_edges(plan: &Plan) {
        for (i, j) in plan.jobs.iter().enumerate() {
            let mut want: Vec<usize> = j
                .spec
                .inputs()
                .iter()
                .map(|h| plan.jobs.iter().position(|x| x.hash == *h).expect("an input job in the plan"))
                .collect();
            want.sort();
            let mut deps = j.deps.clone();
            deps.sort();
            assert_eq!(deps, want, "job {i} ({})", j.kind().name());
            assert!(deps.iter().all(|&d| d < i), "job {i} needs a later job: not topological");
            assert_eq!(j.hash, j.spec.hash());
        }
        let hashes: std::collections::HashSet<_> = plan.jobs.iter().map(|j| j.hash).collect();
        assert_eq!(hashes.len(), plan.jobs.len(), "a job appears twice");
    }

    #[test]
    fn students_share_the_prepare_and_targets_jobs_of_their_teacher() {
        let (p, plan) = plan_of(
            "models:\n  t: {arch: deep-emotion, datasets: syn, epochs: 2}\n  \
             s: {arch: microexpnet, datasets: syn, epochs: 2, multi_crop: false, teacher: t, kd_weight: [0.3, 0.7]}\n\
             saliency: {enabled: false}\n",
        );
        assert_eq!(p.experiments.len(), 3);
        check_edges(&plan);
        // Prepares at 48 px (teacher) and 84 px (students); one targets job for both students.
        let want: BTreeMap<&str, usize> =
            [("prepare", 2), ("train", 3), ("distill-targets", 1), ("evaluate", 3)].into_iter().collect();
        assert_eq!(kinds(&plan), want);
        let targets = plan.jobs.iter().position(|j| j.kind() == JobKind::DistillTargets).unwrap();
        let teacher = plan.jobs.iter().position(|j| j.kind() == JobKind::Train && j.label.model == "t").unwrap();
        let students: Vec<&Job> =
            plan.jobs.iter().filter(|j| j.kind() == JobKind::Train && j.label.model == "s").collect();
        assert_eq!(students.len(), 2);
        for s in &students {
            assert!(s.deps.contains(&targets), "a student reads the shared targets");
            assert!(!s.deps.contains(&teacher), "a student reads the targets, not the teacher's weights");
        }
        assert!(plan.jobs[targets].deps.contains(&teacher));
        assert_eq!(plan.jobs[targets].label.model, "t", "targets are labelled by their teacher");
        // The teacher's data (48 px) is not the students' (84 px).
        let data = |j: &Job| j.deps.iter().copied().find(|&d| plan.jobs[d].kind() == JobKind::Prepare).unwrap();
        assert_ne!(data(&plan.jobs[teacher]), data(students[0]));
        assert_eq!(data(students[0]), data(students[1]));
        assert!(plan.jobs[targets].deps.contains(&data(&plan.jobs[teacher])));
    }

    #[test]
    fn identical_runs_of_two_models_are_one_job_and_saliency_is_one_per_model_and_data_set() {
        let (p, plan) = plan_of(
            "models:\n  x: {arch: deep-emotion, datasets: syn, epochs: 2}\n  \
             y: {arch: deep-emotion, datasets: syn, epochs: 2}\n  z: {arch: deep-emotion, datasets: syn, epochs: 3}\n",
        );
        assert_eq!(p.experiments.len(), 3);
        check_edges(&plan);
        // x and y train the same model on the same data: one train, one evaluate, one saliency map
        // (labelled by the first model); z differs in epochs.
        let want: BTreeMap<&str, usize> =
            [("prepare", 1), ("train", 2), ("evaluate", 2), ("saliency", 2)].into_iter().collect();
        assert_eq!(kinds(&plan), want);
        let trains: Vec<&str> =
            plan.jobs.iter().filter(|j| j.kind() == JobKind::Train).map(|j| j.label.model.as_str()).collect();
        assert_eq!(trains, vec!["x", "z"]);
        // With seeds, saliency stays one per model and data set (its first seed).
        let (_, plan) = plan_of("models:\n  x: {arch: deep-emotion, datasets: syn, epochs: 2, seeds: [1, 2, 3]}\n");
        check_edges(&plan);
        let sal: Vec<&Job> = plan.jobs.iter().filter(|j| j.kind() == JobKind::Saliency).collect();
        assert_eq!(sal.len(), 1);
        assert_eq!(sal[0].label.seed, Some(1));
        assert_eq!(kinds(&plan)["train"], 3);
    }

    #[test]
    fn throughput_is_one_job_per_compared_network_and_class_count_when_switched_on() {
        let models = "models:\n  a: {arch: microexpnet, datasets: syn, epochs: 2, seeds: [1, 2]}\n  \
                      b: {arch: microexpnet, datasets: syn, epochs: 3, lr: 0.1}\n  \
                      c: {arch: microexpnet, variant: m, datasets: syn, epochs: 2}\n  \
                      d: {arch: deep-emotion, datasets: [syn, ck], epochs: 2}\n  \
                      t: {arch: inception-v3, datasets: syn, epochs: 1, input_size: 75}\n\
                      saliency: {enabled: false}\n";
        let (p, plan) = plan_of(&format!("{models}analyses: {{efficiency: true}}\n"));
        check_edges(&plan);
        // a and b share MicroExpNet XXS on 7 classes; c is M; Deep-Emotion on syn (7 classes)
        // and ck (8, with contempt); the teacher is not measured.
        let speeds: Vec<(String, usize)> = plan
            .jobs
            .iter()
            .filter_map(|j| match &j.spec {
                JobSpec::Throughput(t) => Some((t.network.display(), t.classes)),
                _ => None,
            })
            .collect();
        assert_eq!(
            speeds,
            [
                ("microexpnet-xxs".into(), 7),
                ("microexpnet-m".into(), 7),
                ("deep-emotion".into(), 7),
                ("deep-emotion".into(), 8)
            ]
        );
        assert_eq!(p.throughput_networks().len(), 4);
        for j in plan.jobs.iter().filter(|j| j.kind() == JobKind::Throughput) {
            assert!(j.deps.is_empty() && j.spec.inputs().is_empty(), "reads nothing");
            assert_eq!((j.label.model.as_str(), j.label.seed), (j.label.arch.as_str(), None));
        }
        // Off, or not set: none, and every other job keeps its hash.
        let (_, off) = plan_of(&format!("{models}analyses: {{efficiency: false}}\n"));
        let (_, unset) = plan_of(models);
        assert_eq!(off.jobs.len(), plan.jobs.len() - 4);
        let hashes = |p: &Plan| p.jobs.iter().map(|j| j.hash).collect::<Vec<_>>();
        assert_eq!(hashes(&off), hashes(&unset));
        assert_eq!(hashes(&off)[..], hashes(&plan)[..off.jobs.len()]);
    }

    #[test]
    fn learning_curve_runs_get_no_robustness_or_transfer_job() {
        let data = "  syn2: {kind: synthetic, style: posed, subjects: 6, images_per_subject: 4}\n";
        let models = "models:\n  d: {arch: deep-emotion, datasets: [syn, syn2], train_fraction: [0.25, 0.5, 1.0]}\n\
                      saliency: {enabled: false}\nanalyses: {robustness: true, domain_shift: true}\n";
        let (_, plan) = plan_of(&format!("{data}{models}"));
        check_edges(&plan);
        let k = kinds(&plan);
        assert_eq!(k["train"], 6, "three fractions on two data sets");
        assert_eq!(k["evaluate"], 6);
        assert_eq!(k["robustness"], 2, "only the runs on all training subjects");
        assert_eq!(k["transfer"], 4, "syn and syn2 each to the two other data sets");
        let full: Vec<JobHash> = plan
            .jobs
            .iter()
            .filter(|j| matches!(&j.spec, JobSpec::Train(t) if t.train.train_fraction == 1.0))
            .map(|j| j.hash)
            .collect();
        assert_eq!(full.len(), 2);
        for j in &plan.jobs {
            let weights = match &j.spec {
                JobSpec::Robustness(r) => r.weights,
                JobSpec::Transfer(t) => t.weights,
                _ => continue,
            };
            assert!(full.contains(&weights), "{} reads a learning-curve run", j.kind().name());
        }
    }

    #[test]
    fn folds_make_one_run_each_and_absent_data_makes_its_jobs_unavailable() {
        let (p, plan) = plan_of(
            "models:\n  t: {arch: deep-emotion, datasets: [syn, ck], epochs: 2}\n  \
             s: {arch: microexpnet, datasets: [syn, ck], epochs: 2, multi_crop: false, teacher: t}\n",
        );
        check_edges(&plan);
        // syn: 1 run per model; ck: 2 folds per model.
        assert_eq!(p.experiments.len(), 6);
        let folds: Vec<Option<u32>> = plan
            .jobs
            .iter()
            .filter(|j| j.kind() == JobKind::Train && j.label.dataset == "ck")
            .map(|j| j.label.fold)
            .collect();
        assert_eq!(folds.len(), 4);
        assert_eq!(folds.iter().filter(|f| **f == Some(0)).count(), 2);
        // A fold's student reads targets computed by the same fold's teacher.
        for j in plan.jobs.iter().filter(|j| j.kind() == JobKind::Train && j.label.model == "s") {
            let targets = j.deps.iter().find(|&&d| plan.jobs[d].kind() == JobKind::DistillTargets).unwrap();
            let teacher = plan.jobs[*targets].deps.iter().find(|&&d| plan.jobs[d].kind() == JobKind::Train).unwrap();
            assert_eq!(
                (plan.jobs[*teacher].label.dataset.as_str(), plan.jobs[*teacher].label.fold),
                (j.label.dataset.as_str(), j.label.fold)
            );
        }
        // The CK+ data is not here (no FER_DATA_DIR in unit tests): every CK+ job says why, the
        // synthetic ones run.
        let why = unavailable(&plan);
        assert_eq!(why.len(), plan.jobs.len());
        for (j, w) in plan.jobs.iter().zip(&why) {
            match j.label.dataset.as_str() {
                "ck" => assert!(w.as_deref().is_some_and(|m| m.contains("is not here")), "{:?}: {w:?}", j.label),
                "syn" => assert!(w.is_none(), "{:?}: {w:?}", j.label),
                other => panic!("unexpected data set `{other}`"),
            }
        }
        assert!(why.iter().filter(|w| w.is_some()).count() >= 2 * 4 + 2);
    }

    #[test]
    fn retain_keeps_order_and_drops_edges_to_removed_jobs() {
        let (_, plan) = plan_of(
            "models:\n  t: {arch: deep-emotion, datasets: syn, epochs: 2}\n  \
             s: {arch: microexpnet, datasets: syn, epochs: 2, multi_crop: false, teacher: t}\n",
        );
        let kept = retain(&plan, |_, j| j.kind() != JobKind::Prepare);
        assert_eq!(kept.jobs.len(), plan.jobs.len() - 2);
        assert!(kept.jobs.iter().all(|j| j.kind() != JobKind::Prepare));
        for j in &kept.jobs {
            let orig = plan.jobs.iter().find(|o| o.hash == j.hash).unwrap();
            let want: Vec<_> = orig
                .deps
                .iter()
                .map(|&d| plan.jobs[d].hash)
                .filter(|h| kept.jobs.iter().any(|k| k.hash == *h))
                .collect();
            let got: Vec<_> = j.deps.iter().map(|&d| kept.jobs[d].hash).collect();
            assert_eq!(got, want, "{}", j.kind().name());
        }
        let order: Vec<_> = kept.jobs.iter().map(|j| j.hash).collect();
        let orig_order: Vec<_> = plan.jobs.iter().filter(|j| j.kind() != JobKind::Prepare).map(|j| j.hash).collect();
        assert_eq!(order, orig_order);
    }
}
