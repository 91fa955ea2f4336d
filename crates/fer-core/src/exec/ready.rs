//! The local executor's queue of ready jobs: which unfinished jobs have every input finished,
//! longest remaining path first, and which waiting jobs a failure blocks; each step costs what
//! changed, not a scan of the plan.

use std::collections::BTreeSet;

use crate::plan::{Job, Plan};

/// Jobs waiting for their inputs, and those whose inputs are all finished, in start order.
pub(super) struct ReadyQueue {
    /// The jobs that read each job.
    dependents: Vec<Vec<usize>>,
    /// Each job's place in the start order (longest remaining path first, then plan order).
    rank: Vec<usize>,
    /// The job at each place of the start order.
    order: Vec<usize>,
    /// Each job's inputs that have not finished.
    unfinished: Vec<usize>,
    /// Whether the job was still to run when the queue was made (finished jobs never queue).
    to_run: Vec<bool>,
    /// The ready jobs, by rank.
    ready: BTreeSet<usize>,
}

impl ReadyQueue {
    /// The queue of `plan`, where `finished[i]` says job `i` is already done.
    pub(super) fn new(plan: &Plan, finished: &[bool]) -> ReadyQueue {
        let deps: Vec<&[usize]> = plan.jobs.iter().map(|j| j.deps.as_slice()).collect();
        ReadyQueue::from_parts(&deps, &critical_path(plan), finished)
    }

    /// The queue of jobs with inputs `deps` (each earlier in the list), started by descending
    /// `priority` (ties in list order).
    fn from_parts(deps: &[&[usize]], priority: &[f64], finished: &[bool]) -> ReadyQueue {
        let n = deps.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| priority[*b].total_cmp(&priority[*a]).then(a.cmp(b)));
        let mut rank = vec![0; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let mut dependents = vec![Vec::new(); n];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds.iter() {
                dependents[d].push(i);
            }
        }
        let unfinished: Vec<usize> = deps.iter().map(|ds| ds.iter().filter(|&&d| !finished[d]).count()).collect();
        let to_run: Vec<bool> = finished.iter().map(|f| !f).collect();
        let ready = (0..n).filter(|&i| to_run[i] && unfinished[i] == 0).map(|i| rank[i]).collect();
        ReadyQueue { dependents, rank, order, unfinished, to_run, ready }
    }

    /// The first ready job in start order, left in the queue.
    pub(super) fn peek(&self) -> Option<usize> {
        self.ready.first().map(|&r| self.order[r])
    }

    /// Takes the first ready job in start order.
    pub(super) fn pop(&mut self) -> Option<usize> {
        self.ready.pop_first().map(|r| self.order[r])
    }

    /// Job `i` finished: the jobs waiting for it alone become ready.
    pub(super) fn finished(&mut self, i: usize) {
        for &d in &self.dependents[i] {
            self.unfinished[d] = self.unfinished[d].saturating_sub(1);
            if self.unfinished[d] == 0 && self.to_run[d] {
                self.ready.insert(self.rank[d]);
            }
        }
    }

    /// The jobs blocked by the jobs `failed`: those still `waiting` that read one of them, or one
    /// of the jobs so blocked; in plan order.
    pub(super) fn blocked(&self, failed: &[usize], waiting: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut blocked = BTreeSet::new();
        let mut todo = failed.to_vec();
        while let Some(j) = todo.pop() {
            for &d in &self.dependents[j] {
                if waiting(d) && blocked.insert(d) {
                    todo.push(d);
                }
            }
        }
        blocked.into_iter().collect()
    }
}

/// A rough relative cost of a job (seconds on one CPU thread, within a factor of a few).
fn cost(job: &Job) -> f64 {
    use crate::plan::JobSpec;
    use crate::spec::ModelSpec;
    let per_image = |m: &ModelSpec| match m {
        ModelSpec::DeepEmotion { .. } => 1.0,
        ModelSpec::MicroExpNet { .. } => 0.4,
        ModelSpec::InceptionV3 { input_size, .. } => 20.0 * (*input_size as f64 / 75.0).powi(2),
    };
    match &job.spec {
        JobSpec::Prepare(_) => 1.0,
        JobSpec::Train(t) => t.train.epochs as f64 * per_image(&t.model),
        JobSpec::DistillTargets(t) => per_image(&t.model),
        JobSpec::Evaluate(e) => per_image(&e.model),
        JobSpec::Transfer(t) => per_image(&t.model),
        // Six corruptions at five severities: thirty passes over the test split.
        JobSpec::Robustness(r) => 30.0 * per_image(&r.model),
        JobSpec::Saliency(s) => 3.0 * per_image(&s.model),
        // Seconds, and it waits until nothing else runs (`JobKind::exclusive`).
        JobSpec::Throughput(_) => 0.1,
    }
}

/// Each job's cost plus the costliest chain of jobs that wait for it.
fn critical_path(plan: &Plan) -> Vec<f64> {
    let mut p: Vec<f64> = plan.jobs.iter().map(cost).collect();
    // Jobs are in topological order: walk backwards, pushing each job's path into its inputs.
    for i in (0..plan.jobs.len()).rev() {
        for &d in &plan.jobs[i].deps {
            let via = cost(&plan.jobs[d]) + p[i];
            if via > p[d] {
                p[d] = via;
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    //! The queue against the scans it replaced (every job checked on every message), on random
    //! plans with random outcomes.
    use super::*;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum St {
        Waiting,
        Running,
        Ended(bool),
    }

    /// The old passes: skip waiting jobs with a failed input (one pass in plan order), then
    /// start up to `slots` ready jobs in `order`.
    fn scan(deps: &[Vec<usize>], order: &[usize], state: &mut [St], slots: usize) -> (Vec<usize>, Vec<usize>) {
        let mut skipped = Vec::new();
        for i in 0..deps.len() {
            if state[i] == St::Waiting && deps[i].iter().any(|&d| state[d] == St::Ended(false)) {
                state[i] = St::Ended(false);
                skipped.push(i);
            }
        }
        let mut started = Vec::new();
        for &i in order {
            if started.len() == slots {
                break;
            }
            if state[i] == St::Waiting && deps[i].iter().all(|&d| state[d] == St::Ended(true)) {
                state[i] = St::Running;
                started.push(i);
            }
        }
        (skipped, started)
    }

    #[test]
    fn the_queue_starts_and_skips_what_the_full_scans_did() {
        for seed in 1..200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let n = 1 + rng.below(40);
            let deps: Vec<Vec<usize>> =
                (0..n).map(|i| (0..rng.below(4)).filter(|_| i > 0).map(|_| rng.below(i)).collect()).collect();
            // Few distinct priorities, so ties are common.
            let priority: Vec<f64> = (0..n).map(|_| rng.below(5) as f64).collect();
            let cached: Vec<bool> = (0..n).map(|_| rng.below(6) == 0).collect();
            let slots = 1 + rng.below(3);
            let slices: Vec<&[usize]> = deps.iter().map(Vec::as_slice).collect();
            let mut q = ReadyQueue::from_parts(&slices, &priority, &cached);
            let mut old: Vec<St> = cached.iter().map(|&c| if c { St::Ended(true) } else { St::Waiting }).collect();
            let mut new = old.clone();
            let (mut running, mut failed) = (Vec::new(), Vec::new());
            loop {
                let (want_skipped, want_started) = scan(&deps, &q.order, &mut old, slots - running.len());
                let skipped = q.blocked(&failed, |d| new[d] == St::Waiting);
                failed.clear();
                for &s in &skipped {
                    new[s] = St::Ended(false);
                }
                let mut started = Vec::new();
                while running.len() + started.len() < slots {
                    let Some(i) = q.pop() else { break };
                    new[i] = St::Running;
                    started.push(i);
                }
                assert_eq!((&skipped, &started), (&want_skipped, &want_started), "seed {seed}");
                running.extend(started);
                if running.is_empty() {
                    break;
                }
                // One running job ends, well or not.
                let i = running.remove(rng.below(running.len()));
                let ok = rng.below(4) != 0;
                old[i] = St::Ended(ok);
                new[i] = St::Ended(ok);
                if ok {
                    q.finished(i);
                } else {
                    failed.push(i);
                }
            }
            assert_eq!(old, new, "seed {seed}");
            assert!(new.iter().all(|s| matches!(s, St::Ended(_))), "seed {seed}: {new:?}");
        }
    }
}
