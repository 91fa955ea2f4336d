//! Which trained entry to export: a `train/<hash16>` id, or the train job of a pipeline chosen by
//! model name, data set, seed and fold. Unknown, ambiguous and unfinished choices are errors that
//! name the candidates.

use std::path::Path;

use fer_core::plan::{self, JobKind, JobLabel, JobSpec, TrainJobSpec};
use fer_core::store::{Entry, EntryState, Store};

/// What the user asked for in a pipeline.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub model: Option<String>,
    pub dataset: Option<String>,
    pub seed: Option<u64>,
    pub fold: Option<u32>,
}

/// A finished train entry with its spec and label.
#[derive(Debug, Clone)]
pub struct Selected {
    pub entry: Entry,
    pub spec: TrainJobSpec,
    pub label: JobLabel,
}

/// Whether a positional argument names a store entry (`train/<hash16>` or 16 hex digits) rather
/// than a pipeline file.
pub fn entry_id(arg: &str) -> Option<&str> {
    let hash = arg.strip_prefix("train/").unwrap_or(arg);
    let hex = hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && (arg.starts_with("train/") || !Path::new(arg).exists())).then_some(hash)
}

/// The entry `train/<hash16>` of `store`, finished.
pub fn by_id(store: &Store, hash16: &str) -> Result<Selected, String> {
    let dir = store.root().join(JobKind::Train.name()).join(hash16);
    let (entry, rec) = Entry::open(&dir, JobKind::Train)
        .map_err(|e| format!("failed to read `train/{hash16}`: {e}"))?
        .ok_or_else(|| format!("failed to find `train/{hash16}` in the store `{}`", store.root().display()))?;
    let JobSpec::Train(spec) = rec.spec else {
        return Err(format!("failed to export `train/{hash16}`: not a train job"));
    };
    finished(&entry, &describe(&rec.label))?;
    Ok(Selected { entry, spec, label: rec.label })
}

/// The one train job of `plan` that matches `choice`, finished in `store`.
pub fn in_plan(store: &Store, plan: &plan::Plan, choice: &Choice) -> Result<Selected, String> {
    let trains: Vec<(&TrainJobSpec, &plan::Job)> = plan
        .jobs
        .iter()
        .filter_map(|j| match &j.spec {
            JobSpec::Train(t) => Some((t, j)),
            _ => None,
        })
        .collect();
    let matching: Vec<&(&TrainJobSpec, &plan::Job)> = trains
        .iter()
        .filter(|(_, j)| {
            let l = &j.label;
            choice.model.as_ref().is_none_or(|m| *m == l.model)
                && choice.dataset.as_ref().is_none_or(|d| *d == l.dataset)
                && choice.seed.is_none_or(|s| Some(s) == l.seed)
                && choice.fold.is_none_or(|f| Some(f) == l.fold)
        })
        .collect();
    let list = |v: &mut dyn Iterator<Item = &plan::Job>| {
        v.map(|j| format!("  train/{}  {}", j.hash.short(), describe(&j.label))).collect::<Vec<_>>().join("\n")
    };
    match matching.as_slice() {
        [] => Err(format!(
            "failed to find a trained model matching {}; the pipeline trains:\n{}",
            asked(choice),
            list(&mut trains.iter().map(|(_, j)| *j))
        )),
        [(spec, job)] => {
            let entry = store.entry(JobKind::Train, &job.hash);
            finished(&entry, &describe(&job.label))?;
            Ok(Selected { entry, spec: (*spec).clone(), label: job.label.clone() })
        }
        many => Err(format!(
            "failed to choose: {} trained models match {}; add --model, --dataset, --seed or --fold, or give one \
             id:\n{}",
            many.len(),
            asked(choice),
            list(&mut many.iter().map(|(_, j)| *j))
        )),
    }
}

fn asked(c: &Choice) -> String {
    let mut v = Vec::new();
    if let Some(m) = &c.model {
        v.push(format!("--model `{m}`"));
    }
    if let Some(d) = &c.dataset {
        v.push(format!("--dataset `{d}`"));
    }
    if let Some(s) = c.seed {
        v.push(format!("--seed `{s}`"));
    }
    if let Some(f) = c.fold {
        v.push(format!("--fold `{f}`"));
    }
    if v.is_empty() {
        "(no filter)".into()
    } else {
        v.join(" ")
    }
}

/// `model on dataset, seed s, fold f`.
pub fn describe(l: &JobLabel) -> String {
    let mut s = format!("{} on {}", l.model, l.dataset);
    if let Some(seed) = l.seed {
        s.push_str(&format!(", seed {seed}"));
    }
    if let Some(f) = l.fold {
        s.push_str(&format!(", fold {f}"));
    }
    s
}

fn finished(entry: &Entry, what: &str) -> Result<(), String> {
    let why = match entry.state() {
        EntryState::Done(_) => return Ok(()),
        EntryState::Absent | EntryState::Pending => "not trained yet (run the pipeline first)".to_string(),
        EntryState::Partial { epoch } => format!("interrupted after epoch {epoch} (run the pipeline to finish it)"),
        EntryState::Running => "still training".into(),
        EntryState::Failed(m) => format!("failed: {m}"),
        EntryState::Corrupt(m) => format!("damaged: {m}"),
    };
    Err(format!("failed to export `{}` ({what}): {why}", entry.id()))
}
