//! The training loop: seeded per batch so a run stopped at any batch boundary resumes to
//! byte-identical results; data lives on the job's device; the loss is read back once per epoch.
//! With `select: best-val` it keeps (and checkpoints) the weights of the best validation epoch.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::adam::Adam;
use super::checkpoint::Checkpoint;
use super::observer::{EpochEnd, TrainObserver, TrainStart};
use crate::data::{Prepared, Split};
use crate::models::Model;
use fer_core::plan::{JobHash, TrainJobSpec};
use fer_core::records::EpochRow;
use fer_core::rng::{derive, torch_seed, SplitMix64};
use fer_core::spec::{DistillSpec, Select};
use fer_core::store::StoreError;

/// Errors of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("failed to use checkpoint: {0}")]
    Checkpoint(#[from] StoreError),
    #[error("failed to restore checkpoint `{path}`: {message}")]
    Restore { path: String, message: String },
    #[error("failed to train: the training split is empty")]
    NoData,
    #[error("failed to train: {0}")]
    Data(String),
    #[error("failed to train: the loss became `{value}` at epoch {epoch} (lower the learning rate?)")]
    Diverged { epoch: u32, value: f64 },
}

/// What a run needs.
pub struct TrainRun<'a> {
    pub spec: &'a TrainJobSpec,
    pub data: &'a Prepared,
    /// The teacher's logits for every image of `data` (N x classes), when distilling.
    pub teacher_logits: Option<&'a Tensor>,
    /// Initial weights by name (a user's file); missing or mis-shaped names keep their init.
    pub init: Option<&'a [(String, Tensor)]>,
    pub device: Device,
    pub threads: u32,
    /// The job being trained (named in its checkpoints).
    pub job: JobHash,
    /// Where checkpoints are written.
    pub checkpoint: &'a Path,
    /// A checkpoint of this job to resume from (read and checked by the caller).
    pub resume: Option<Checkpoint>,
    pub stop: &'a AtomicBool,
    /// The seed of the nested `train_fraction` subsets: the data set's
    /// ([`fer_core::spec::DatasetSpec::subset_seed`]).
    pub subset_seed: u64,
}

/// How a run ended.
pub enum TrainEnd {
    Finished {
        model: Box<Model>,
        rows: Vec<EpochRow>,
        steps: i64,
        /// A student's per-epoch KD terms (mean hard CE, mean soft CE); empty when not distilling.
        kd: Vec<[f64; 2]>,
    },
    /// Stopped by a signal after writing a checkpoint.
    Stopped { epochs_done: u32, batches_done: u32 },
}

/// A student's KD terms: one `[hard, soft]` mean per finished epoch, and this epoch's sums
/// (kept in checkpoints as `kd.rows`, `sum.kd_hard` and `sum.kd_soft`, so a resumed run matches).
struct KdTerms {
    rows: Vec<[f64; 2]>,
    hard: Tensor,
    soft: Tensor,
}

/// Tensors of the split on the device, preprocessed for the model.
fn split_tensors(
    model: &Model,
    data: &Prepared,
    split: Split,
    fold: Option<u32>,
) -> Result<(Tensor, Tensor, Tensor), TrainError> {
    let idx = data.indices(split, fold).map_err(TrainError::Data)?;
    let x = model.preprocess(&data.images.index_select(0, &idx));
    let y = data.labels.index_select(0, &idx).to_device(model.device());
    Ok((x, y, idx))
}

/// Mean loss and accuracy of `model` (evaluation mode) on `x`, `y`.
pub fn evaluate(model: &Model, x: &Tensor, y: &Tensor, batch: i64) -> (f64, f64) {
    let n = x.size()[0];
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    tch::no_grad(|| {
        let logits = model.logits(x, batch);
        let loss = logits.cross_entropy_for_logits(y).double_value(&[]);
        let correct = logits.argmax(-1, false).eq_tensor(y).sum(Kind::Int64).int64_value(&[]);
        (loss, correct as f64 / n as f64)
    })
}

/// One training batch: inputs, labels, the teacher's logits when distilling, augmentation.
pub struct Batch<'a> {
    pub x: &'a Tensor,
    pub y: &'a Tensor,
    pub teacher: Option<(&'a DistillSpec, &'a Tensor)>,
    /// Weight of the L2 penalty on the last two linear layers (Deep-Emotion's paper); 0: none.
    pub l2: f64,
}

/// One optimisation step's (graph-free) results, without a host sync.
pub struct StepOut {
    pub loss: Tensor,
    pub logits: Tensor,
    /// A student's two KD terms (hard CE, soft CE), from the same computation as its loss.
    pub kd: Option<(Tensor, Tensor)>,
}

/// One optimisation step.
pub fn step(model: &Model, adam: &mut Adam, b: &Batch<'_>) -> StepOut {
    let logits = model.forward_t(b.x, true);
    let (loss, kd) = match b.teacher {
        Some((d, t)) => {
            let (hard, soft) = super::kd::kd_terms(&logits, t, b.y, d);
            (super::kd::kd_combine(&hard, &soft, d), Some((hard.detach(), soft.detach())))
        }
        None => (logits.cross_entropy_for_logits(b.y), None),
    };
    let loss = super::penalty::with_l2(model, loss, b.l2);
    adam.zero_grad();
    loss.backward();
    adam.step();
    StepOut { loss: loss.detach(), logits: logits.detach(), kd }
}

/// Trains from scratch or from `run.resume`; a checkpoint that does not fit the model is a
/// `TrainError::Restore` (the caller discards it and starts over).
pub fn train(mut run: TrainRun<'_>, obs: &mut dyn TrainObserver) -> Result<TrainEnd, TrainError> {
    let resume = run.resume.take();
    let mut t = Training::set_up(run, obs)?;
    if let Some(ck) = resume {
        t.resume(ck, obs)?;
    }
    t.announce(obs);
    for epoch in t.start_epoch..t.run.spec.train.epochs {
        if let Some(stopped) = t.epoch(epoch, obs)? {
            return Ok(stopped);
        }
    }
    t.finish(obs)
}

/// A run's inputs on its device, fixed for the whole run.
struct Inputs {
    x_train: super::augment::TrainInputs,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
    /// The distillation settings and the teacher's logits of the training images, when distilling.
    kd: Option<(DistillSpec, Tensor)>,
    /// Training items per epoch.
    n: i64,
    batch_size: i64,
    /// Batches per epoch.
    batches: u32,
}

impl Inputs {
    /// The training and validation inputs of `run` for `model`; an error when there is nothing to
    /// train on, or nothing to validate on under `select: best-val`.
    fn new(model: &Model, run: &TrainRun<'_>) -> Result<Inputs, TrainError> {
        let spec = run.spec;
        let (train_idx, _) =
            run.data.train_subset(spec.fold, spec.train.train_fraction, run.subset_seed).map_err(TrainError::Data)?;
        let x_train = super::augment::TrainInputs::new(
            model,
            &run.data.images.index_select(0, &train_idx),
            spec.train.multi_crop,
        )
        .map_err(TrainError::Data)?;
        let y_train = run.data.labels.index_select(0, &train_idx).to_device(run.device);
        let (x_val, y_val, _) = split_tensors(model, run.data, Split::Val, spec.fold)?;
        let kd = match (&spec.distill, run.teacher_logits) {
            (Some(d), Some(t)) => {
                Some((d.spec, t.index_select(0, &train_idx).to_device(run.device).to_kind(Kind::Float)))
            }
            _ => None,
        };
        let n = x_train.len();
        if n == 0 {
            return Err(TrainError::NoData);
        }
        if spec.train.select == Select::BestVal && x_val.size()[0] == 0 {
            return Err(TrainError::Data("`select: best-val` needs a validation split, and this one is empty".into()));
        }
        let batch_size = spec.train.batch_size as i64;
        let batches = ((n + batch_size - 1) / batch_size) as u32;
        Ok(Inputs { x_train, y_train, x_val, y_val, kd, n, batch_size, batches })
    }
}

/// Everything a checkpoint holds: the model, its optimiser, the finished epochs' rows, the running
/// sums of the epoch under way and (`select: best-val`) the best weights so far.
struct State {
    model: Model,
    adam: Adam,
    rows: Vec<EpochRow>,
    loss_sum: Tensor,
    correct_sum: Tensor,
    /// The best validation epoch's weights so far (`select: best-val`); its epoch comes from the rows.
    best: Option<Vec<(String, Tensor)>>,
    kd_terms: Option<KdTerms>,
}

/// A zero scalar of `kind` on `dev`.
fn zero(kind: Kind, dev: Device) -> Tensor {
    Tensor::zeros([], (kind, dev))
}

impl State {
    /// The tensors of a checkpoint: `model.*`, `best.*`, `adam.*`, `sum.*` and `kd.rows`.
    fn tensors(&self) -> Vec<(String, Tensor)> {
        let mut tensors: Vec<(String, Tensor)> =
            self.model.named_tensors().into_iter().map(|(k, t)| (format!("model.{k}"), t)).collect();
        for (k, t) in self.best.iter().flatten() {
            tensors.push((format!("best.{k}"), t.shallow_clone()));
        }
        tensors.extend(self.adam.state());
        tensors.push(("sum.loss".into(), self.loss_sum.shallow_clone()));
        tensors.push(("sum.correct".into(), self.correct_sum.shallow_clone()));
        if let Some(k) = &self.kd_terms {
            if !k.rows.is_empty() {
                tensors.push(("kd.rows".into(), Tensor::from_slice(&k.rows.concat()).reshape([-1, 2])));
            }
            tensors.push(("sum.kd_hard".into(), k.hard.shallow_clone()));
            tensors.push(("sum.kd_soft".into(), k.soft.shallow_clone()));
        }
        tensors
    }

    /// Takes over the weights, optimiser state, running sums, best weights (`keep_best`) and KD
    /// terms of `ck`; the message says what does not fit.
    fn restore(&mut self, ck: &Checkpoint, keep_best: bool, dev: Device) -> Result<(), String> {
        let model_tensors: Vec<(String, Tensor)> = ck
            .tensors
            .iter()
            .filter_map(|(k, t)| k.strip_prefix("model.").map(|n| (n.to_string(), t.shallow_clone())))
            .collect();
        self.model.load(&model_tensors)?;
        self.adam.load_state(|k| ck.get(k))?;
        if let (Some(l), Some(c)) = (ck.get("sum.loss"), ck.get("sum.correct")) {
            self.loss_sum = l.to_device(dev);
            self.correct_sum = c.to_device(dev);
        }
        if keep_best && ck.epochs_done > 0 {
            let kept: Vec<(String, Tensor)> = ck
                .tensors
                .iter()
                .filter_map(|(k, t)| k.strip_prefix("best.").map(|n| (n.to_string(), t.to_device(dev))))
                .collect();
            if kept.is_empty() {
                return Err("it holds no best-validation weights (`best.*`)".into());
            }
            self.best = Some(kept);
        }
        if let Some(k) = self.kd_terms.as_mut() {
            k.restore(ck, dev)?;
        }
        Ok(())
    }
}

impl KdTerms {
    /// Zero sums and no rows, on `dev`.
    fn new(dev: Device) -> KdTerms {
        KdTerms { rows: Vec::new(), hard: zero(Kind::Double, dev), soft: zero(Kind::Double, dev) }
    }

    /// Takes over the KD sums and rows of `ck`; the message says what is missing or inconsistent.
    fn restore(&mut self, ck: &Checkpoint, dev: Device) -> Result<(), String> {
        let (Some(h), Some(s)) = (ck.get("sum.kd_hard"), ck.get("sum.kd_soft")) else {
            return Err("it holds no KD sums (`sum.kd_hard`, `sum.kd_soft`)".into());
        };
        (self.hard, self.soft) = (h.to_device(dev), s.to_device(dev));
        let flat = match ck.get("kd.rows") {
            Some(t) => Vec::<f64>::try_from(&t.to_kind(Kind::Double).view([-1])).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        if flat.len() != 2 * ck.rows.len() {
            return Err(format!("it holds {} KD values for {} epochs", flat.len(), ck.rows.len()));
        }
        self.rows = flat.chunks(2).map(|c| [c[0], c[1]]).collect();
        Ok(())
    }
}

/// A run under way: its inputs, its state and where it (re)started.
struct Training<'a> {
    run: TrainRun<'a>,
    inputs: Inputs,
    state: State,
    keep_best: bool,
    start_epoch: u32,
    start_batch: u32,
}

impl<'a> Training<'a> {
    /// Seeds LibTorch, builds the model (with the user's initial weights), its optimiser and the
    /// inputs: a fresh run at epoch 0, batch 0.
    fn set_up(run: TrainRun<'a>, obs: &mut dyn TrainObserver) -> Result<Training<'a>, TrainError> {
        let spec = run.spec;
        tch::manual_seed(torch_seed(spec.seed, &[u64::MAX]));
        let model = Model::new(&spec.model, spec.classes, run.device);
        if let Some(init) = run.init {
            if spec.train.epochs == 0 {
                // Nothing is trained: every tensor must come from the file.
                model.load(init).map_err(|e| {
                    TrainError::Data(format!(
                        "`epochs: 0` evaluates the weights file as it is, and it does not fit: {e}"
                    ))
                })?;
                obs.log("epochs: 0: the given weights, as they are (nothing is trained)".to_string());
            } else {
                let n = model.load_matching(init);
                obs.log(format!("initialised {n} tensors from the given weights file"));
            }
        }
        let adam = Adam::new(model.trainable(), spec.train.lr, spec.train.adam);
        let inputs = Inputs::new(&model, &run)?;
        obs.log(super::augment::describe(&inputs.x_train, inputs.batches));
        let dev = run.device;
        let state = State {
            model,
            adam,
            rows: Vec::new(),
            loss_sum: zero(Kind::Double, dev),
            correct_sum: zero(Kind::Int64, dev),
            best: None,
            kd_terms: inputs.kd.as_ref().map(|_| KdTerms::new(dev)),
        };
        let keep_best = spec.train.select == Select::BestVal;
        Ok(Training { run, inputs, state, keep_best, start_epoch: 0, start_batch: 0 })
    }

    /// Continues from checkpoint `ck`: its state, and the epoch and batch it stands at.
    fn resume(&mut self, ck: Checkpoint, obs: &mut dyn TrainObserver) -> Result<(), TrainError> {
        let (epochs, batches) = (self.run.spec.train.epochs, self.inputs.batches);
        let restore_err =
            |message: String| TrainError::Restore { path: self.run.checkpoint.display().to_string(), message };
        if ck.epochs_done > epochs || (ck.batches_done > 0 && (ck.batches_done >= batches || ck.epochs_done >= epochs))
        {
            return Err(restore_err(format!(
                "it stands at epoch {} batch {}, past this job's {epochs} epochs of {batches} batches",
                ck.epochs_done, ck.batches_done
            )));
        }
        self.state.restore(&ck, self.keep_best, self.run.device).map_err(restore_err)?;
        (self.start_epoch, self.start_batch) = (ck.epochs_done, ck.batches_done);
        self.state.rows = ck.rows;
        obs.log(format!(
            "resuming from checkpoint after epoch {} of {epochs}{}",
            self.start_epoch,
            if self.start_batch > 0 { format!(" and batch {} of {batches}", self.start_batch) } else { String::new() }
        ));
        Ok(())
    }

    /// Tells the observer the run starts (or resumes).
    fn announce(&self, obs: &mut dyn TrainObserver) {
        obs.started(&TrainStart {
            epochs: self.run.spec.train.epochs,
            resumed_from: (self.start_epoch > 0 || self.start_batch > 0).then_some(self.start_epoch),
            device: format!("{:?}", self.run.device).to_lowercase(),
            threads: self.run.threads,
        });
    }

    /// Writes the checkpoint: `epochs_done` epochs and `batches_done` batches of the next one.
    fn save(&self, epochs_done: u32, batches_done: u32) -> Result<(), StoreError> {
        Checkpoint {
            job: self.run.job,
            epochs_done,
            batches_done,
            threads: self.run.threads,
            rows: self.state.rows.clone(),
            tensors: self.state.tensors(),
        }
        .write(self.run.checkpoint)
    }

    /// Epoch `epoch` (from the checkpoint's batch when a run resumes in it): its batches, metrics
    /// row and checkpoint; `Some` when a signal stopped the run.
    fn epoch(&mut self, epoch: u32, obs: &mut dyn TrainObserver) -> Result<Option<TrainEnd>, TrainError> {
        let t0 = Instant::now();
        let (epochs, batches) = (self.run.spec.train.epochs, self.inputs.batches);
        let mut order: Vec<i64> = (0..self.inputs.n).collect();
        SplitMix64::new(derive(self.run.spec.seed, &[epoch as u64])).shuffle(&mut order);
        let first = if epoch == self.start_epoch { self.start_batch } else { 0 };
        for b in first..batches {
            self.batch(epoch, b, &order);
            if self.run.stop.load(Ordering::SeqCst) && b + 1 < batches {
                self.save(epoch, b + 1)?;
                obs.log(format!(
                    "stopped by a signal in epoch {} after batch {} of {batches}; checkpoint written",
                    epoch + 1,
                    b + 1
                ));
                return Ok(Some(TrainEnd::Stopped { epochs_done: epoch, batches_done: b + 1 }));
            }
        }
        let row = self.close_epoch(epoch)?;
        self.save(epoch + 1, 0)?;
        obs.epoch(&EpochEnd {
            epoch: epoch + 1,
            epochs,
            train_loss: row.train_loss,
            train_acc: row.train_acc,
            val_acc: row.val_acc,
            seconds: t0.elapsed().as_secs_f64(),
        });
        if self.run.stop.load(Ordering::SeqCst) && epoch + 1 < epochs {
            obs.log(format!("stopped by a signal after epoch {} of {epochs}; checkpoint written", epoch + 1));
            return Ok(Some(TrainEnd::Stopped { epochs_done: epoch + 1, batches_done: 0 }));
        }
        Ok(None)
    }

    /// Batch `b` of epoch `epoch` (items in `order`): seeded, one step, added to the running sums.
    fn batch(&mut self, epoch: u32, b: u32, order: &[i64]) {
        let (inputs, state) = (&self.inputs, &mut self.state);
        tch::manual_seed(torch_seed(self.run.spec.seed, &[epoch as u64, b as u64]));
        let lo = b as i64 * inputs.batch_size;
        let len = inputs.batch_size.min(inputs.n - lo);
        let (x, idx) = inputs.x_train.batch(&state.model, &order[lo as usize..(lo + len) as usize]);
        let teacher = inputs.kd.as_ref().map(|(d, t)| (d, t.index_select(0, &idx)));
        let batch = Batch {
            x: &x,
            y: &inputs.y_train.index_select(0, &idx),
            teacher: teacher.as_ref().map(|(d, t)| (*d, t)),
            l2: self.run.spec.train.l2,
        };
        let StepOut { loss, logits, kd: terms } = step(&state.model, &mut state.adam, &batch);
        let y = batch.y;
        tch::no_grad(|| {
            state.loss_sum += loss.to_kind(Kind::Double) * len as f64;
            state.correct_sum += logits.argmax(-1, false).eq_tensor(y).sum(Kind::Int64);
            if let (Some(k), Some((h, s))) = (state.kd_terms.as_mut(), terms) {
                k.hard += h.to_kind(Kind::Double) * len as f64;
                k.soft += s.to_kind(Kind::Double) * len as f64;
            }
        });
    }

    /// The end of epoch `epoch`: its metrics row (kept, and returned), the best weights so far,
    /// running sums back to zero; an error when the loss diverged.
    fn close_epoch(&mut self, epoch: u32) -> Result<EpochRow, TrainError> {
        let (n, dev, state) = (self.inputs.n as f64, self.run.device, &mut self.state);
        let train_loss = state.loss_sum.double_value(&[]) / n;
        let train_acc = state.correct_sum.int64_value(&[]) as f64 / n;
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch: epoch + 1, value: train_loss });
        }
        let (val_loss, val_acc) = evaluate(&state.model, &self.inputs.x_val, &self.inputs.y_val, 256);
        // Strictly better than every earlier epoch: ties keep the earliest.
        if self.keep_best && state.rows.iter().all(|r| val_acc > r.val_acc) {
            state.best = Some(state.model.named_tensors().into_iter().map(|(k, t)| (k, t.detach().copy())).collect());
        }
        let row = EpochRow { epoch: epoch + 1, train_loss, train_acc, val_loss, val_acc };
        state.rows.push(row);
        state.loss_sum = zero(Kind::Double, dev);
        state.correct_sum = zero(Kind::Int64, dev);
        if let Some(k) = state.kd_terms.as_mut() {
            k.rows.push([k.hard.double_value(&[]) / n, k.soft.double_value(&[]) / n]);
            (k.hard, k.soft) = (zero(Kind::Double, dev), zero(Kind::Double, dev));
        }
        Ok(row)
    }

    /// A finished run: under `select: best-val` the best epoch's weights put back, with the steps
    /// that made them.
    fn finish(self, obs: &mut dyn TrainObserver) -> Result<TrainEnd, TrainError> {
        let State { model, adam, rows, best, kd_terms, .. } = self.state;
        let epochs = self.run.spec.train.epochs;
        let mut steps = adam.step;
        if self.keep_best && !rows.is_empty() {
            let (at, acc) = best_epoch(&rows).unwrap_or((epochs, f64::NAN));
            let kept = best.ok_or_else(|| TrainError::Data("no best-validation weights were kept".into()))?;
            model.load(&kept).map_err(TrainError::Data)?;
            steps = at as i64 * self.inputs.batches as i64;
            obs.log(format!(
                "kept the weights of epoch {at} of {epochs} (select: best-val; validation accuracy {:.2} %)",
                acc * 100.0
            ));
        }
        let kd = kd_terms.map(|k| k.rows).unwrap_or_default();
        Ok(TrainEnd::Finished { model: Box::new(model), rows, steps, kd })
    }
}

/// The first epoch with the highest validation accuracy, and that accuracy.
pub fn best_epoch(rows: &[EpochRow]) -> Option<(u32, f64)> {
    let mut best: Option<(u32, f64)> = None;
    for r in rows {
        if best.is_none_or(|(_, acc)| r.val_acc > acc) {
            best = Some((r.epoch, r.val_acc));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_epoch_is_the_first_with_the_highest_validation_accuracy() {
        let rows: Vec<EpochRow> = [0.2, 0.5, 0.5, 0.3]
            .iter()
            .enumerate()
            .map(|(i, &v)| EpochRow { epoch: i as u32 + 1, train_loss: 1.0, train_acc: 0.5, val_loss: 1.0, val_acc: v })
            .collect();
        assert_eq!(best_epoch(&rows), Some((2, 0.5)), "ties keep the earliest");
        assert_eq!(best_epoch(&rows[..1]), Some((1, 0.2)));
        assert_eq!(best_epoch(&[]), None);
    }
}

#[cfg(test)]
mod training_tests {
    use super::*;
    use fer_core::spec::{AdamSpec, DatasetSpec, ModelSpec, SyntheticSpec, TrainSpec};

    /// The synthetic common data at 48 px, small: 10 subjects x 8 images (rendered per test:
    /// tensors cannot be shared between test threads).
    fn data() -> Prepared {
        let spec = DatasetSpec::Synthetic(SyntheticSpec {
            seed: 7,
            subjects: 10,
            images_per_subject: 8,
            contempt: false,
            difficulty: 0.5,
            val_fraction: 0.2,
            test_fraction: 0.2,
            style: fer_core::data::style::Style::Mixed,
        });
        crate::data::build(&spec, 48).unwrap().0
    }

    fn spec(seed: u64, epochs: u32) -> TrainJobSpec {
        TrainJobSpec {
            model: ModelSpec::deep_emotion(),
            train: TrainSpec {
                epochs,
                lr: 0.005,
                batch_size: 16,
                adam: AdamSpec { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 },
                multi_crop: false,
                select: Select::Last,
                l2: 0.0,
                train_fraction: 1.0,
            },
            seed,
            classes: 7,
            data: JobHash([1; 32]),
            fold: None,
            init: None,
            distill: None,
        }
    }

    /// What the trainer reported.
    #[derive(Default)]
    struct Recorder {
        started: Vec<TrainStart>,
        epochs: Vec<EpochEnd>,
    }

    impl TrainObserver for Recorder {
        fn started(&mut self, s: &TrainStart) {
            self.started.push(s.clone());
        }

        fn epoch(&mut self, e: &EpochEnd) {
            self.epochs.push(e.clone());
        }

        fn log(&mut self, _: String) {}
    }

    /// Trains `spec` on CPU, one thread; returns how it ended and what it reported.
    fn train_with(
        data: &Prepared,
        spec: &TrainJobSpec,
        ck: &Path,
        resume: Option<Checkpoint>,
        stop: bool,
    ) -> (TrainEnd, Recorder) {
        tch::set_num_threads(1);
        let stop = AtomicBool::new(stop);
        let mut events = Recorder::default();
        let run = TrainRun {
            spec,
            data,
            teacher_logits: None,
            init: None,
            device: Device::Cpu,
            threads: 1,
            job: JobHash([9; 32]),
            checkpoint: ck,
            resume,
            stop: &stop,
            subset_seed: 7,
        };
        let end = train(run, &mut events).unwrap();
        (end, events)
    }

    fn finished(end: TrainEnd) -> (Box<Model>, Vec<EpochRow>, i64) {
        match end {
            TrainEnd::Finished { model, rows, steps, .. } => (model, rows, steps),
            TrainEnd::Stopped { .. } => panic!("stopped"),
        }
    }

    /// The weights as (name, sha256 of the bytes).
    fn weight_bytes(m: &Model) -> Vec<(String, String)> {
        let hash = |t: &Tensor| fer_core::digest::sha256_hex(&crate::tensor_file::tensor_bytes(t));
        m.named_tensors().iter().map(|(n, t)| (n.clone(), hash(t))).collect()
    }

    /// Runs test `name` of this module alone in a child test process and returns true; in that
    /// child, returns false (run the body). LibTorch's RNG is process-wide, and other tests of this
    /// binary draw from it in parallel threads, which would make the bytes differ.
    fn isolated(name: &str) -> bool {
        const CHILD: &str = "FER_ISOLATED_TRAINING_TEST";
        if std::env::var_os(CHILD).is_some() {
            return false;
        }
        let module = module_path!().split_once("::").map(|(_, m)| m).unwrap_or_default();
        let test = format!("{module}::{name}");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([test.as_str(), "--exact", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{test} failed in its own process:\n{text}");
        assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
        true
    }

    #[test]
    fn training_lowers_the_loss_and_the_same_seed_gives_the_same_bytes() {
        if isolated("training_lowers_the_loss_and_the_same_seed_gives_the_same_bytes") {
            return;
        }
        let data = data();
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.safetensors");
        let (a, events) = train_with(&data, &spec(3, 6), &ck, None, false);
        let (a, rows, steps) = finished(a);
        assert_eq!(rows.len(), 6);
        assert!(
            rows[5].train_loss < 0.9 * rows[0].train_loss,
            "the loss falls: {:?}",
            rows.iter().map(|r| r.train_loss).collect::<Vec<_>>()
        );
        assert!(rows.iter().all(|r| r.train_loss.is_finite() && (0.0..=1.0).contains(&r.val_acc)));
        let n_train = data.indices(Split::Train, None).unwrap().size()[0];
        assert_eq!(steps, 6 * ((n_train + 15) / 16), "one Adam step per batch");
        assert_eq!(events.epochs.len(), 6);
        assert!(events.started[0].epochs == 6 && events.started[0].resumed_from.is_none());
        // A checkpoint of the last epoch is left for the caller to remove.
        let last = Checkpoint::read(&ck, &JobHash([9; 32])).unwrap().unwrap();
        assert_eq!((last.epochs_done, last.batches_done, last.rows.len()), (6, 0, 6));

        let (b, _) = train_with(&data, &spec(3, 6), &dir.path().join("ck2"), None, false);
        let (b, rows_b, _) = finished(b);
        assert_eq!(weight_bytes(&a), weight_bytes(&b), "same seed, same bytes");
        assert_eq!(
            rows.iter().map(|r| r.train_loss.to_bits()).collect::<Vec<_>>(),
            rows_b.iter().map(|r| r.train_loss.to_bits()).collect::<Vec<_>>()
        );
        let (c, _) = train_with(&data, &spec(4, 6), &dir.path().join("ck3"), None, false);
        assert_ne!(weight_bytes(&a), weight_bytes(&finished(c).0), "another seed, other weights");
    }

    #[test]
    fn a_run_stopped_mid_epoch_resumes_to_the_same_bytes() {
        if isolated("a_run_stopped_mid_epoch_resumes_to_the_same_bytes") {
            return;
        }
        let data = data();
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.safetensors");
        let (whole, _) = train_with(&data, &spec(5, 3), &dir.path().join("whole"), None, false);
        let (whole, whole_rows, whole_steps) = finished(whole);
        // Stopped after the first batch of epoch 1, then again after epoch 1's second batch.
        let (end, _) = train_with(&data, &spec(5, 3), &ck, None, true);
        assert!(matches!(end, TrainEnd::Stopped { epochs_done: 0, batches_done: 1 }));
        let mut resume = Checkpoint::read(&ck, &JobHash([9; 32])).unwrap();
        assert_eq!(resume.as_ref().map(|c| (c.epochs_done, c.batches_done)), Some((0, 1)));
        let (end, _) = train_with(&data, &spec(5, 3), &ck, resume.take(), true);
        assert!(matches!(end, TrainEnd::Stopped { epochs_done: 0, batches_done: 2 }));
        let resume = Checkpoint::read(&ck, &JobHash([9; 32])).unwrap();
        let (end, events) = train_with(&data, &spec(5, 3), &ck, resume, false);
        assert_eq!(events.started[0].resumed_from, Some(0));
        let (resumed, rows, steps) = finished(end);
        assert_eq!(weight_bytes(&resumed), weight_bytes(&whole));
        assert_eq!(steps, whole_steps);
        assert_eq!(
            rows.iter().map(|r| r.to_array().map(f64::to_bits)).collect::<Vec<_>>(),
            whole_rows.iter().map(|r| r.to_array().map(f64::to_bits)).collect::<Vec<_>>(),
            "metrics match too (the running sums were checkpointed)"
        );
    }

    #[test]
    fn a_checkpoint_past_the_job_is_a_restore_error() {
        let data = data();
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.safetensors");
        train_with(&data, &spec(5, 2), &ck, None, false);
        let done = Checkpoint::read(&ck, &JobHash([9; 32])).unwrap();
        tch::set_num_threads(1);
        let stop = AtomicBool::new(false);
        let run = TrainRun {
            spec: &spec(5, 1),
            data: &data,
            teacher_logits: None,
            init: None,
            device: Device::Cpu,
            threads: 1,
            job: JobHash([9; 32]),
            checkpoint: &ck,
            resume: done,
            stop: &stop,
            subset_seed: 7,
        };
        match train(run, &mut super::super::Silent) {
            Err(TrainError::Restore { message, .. }) => {
                assert!(message.contains("past this job's 1 epochs"), "{message}")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a 2-epoch checkpoint resumed a 1-epoch job"),
        }
    }
}
