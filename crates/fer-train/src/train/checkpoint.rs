//! Training checkpoints: one sealed tensor file with weights, buffers, Adam state, the
//! epoch/batch reached, running sums, metric rows and, under `select: best-val`, the weights of the
//! best validation epoch so far (`best.*`; the epoch is the rows'), replaced atomically after every epoch. The
//! header names the job and is covered by the seal, so an edited, damaged or foreign checkpoint
//! is refused on read (the trainer then discards it and starts over).

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Kind, Tensor};

use crate::tensor_file;
use fer_core::plan::JobHash;
use fer_core::records::EpochRow;
use fer_core::records::{EPOCHS_DONE_KEY, THREADS_KEY};
use fer_core::store::StoreError;

/// Version of the checkpoint format (2: sealed header naming the job).
pub(super) const CHECKPOINT_FORMAT: &str = "2";

/// Where training stands.
pub struct Checkpoint {
    /// The job it belongs to.
    pub job: JobHash,
    /// Epochs finished.
    pub epochs_done: u32,
    /// Batches finished in the current epoch (non-zero after a stop in mid-epoch).
    pub batches_done: u32,
    /// Intra-op threads the run used (CPU results depend on it).
    pub threads: u32,
    pub rows: Vec<EpochRow>,
    /// `model.*`, `adam.*`, `sum.*` and (`select: best-val`) `best.*` tensors.
    pub tensors: Vec<(String, Tensor)>,
}

impl Checkpoint {
    pub fn get(&self, name: &str) -> Option<Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.shallow_clone())
    }

    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let meta = BTreeMap::from([
            ("format_version".to_string(), CHECKPOINT_FORMAT.to_string()),
            ("job".to_string(), self.job.hex()),
            (EPOCHS_DONE_KEY.to_string(), self.epochs_done.to_string()),
            ("batches_done".to_string(), self.batches_done.to_string()),
            (THREADS_KEY.to_string(), self.threads.to_string()),
        ]);
        let mut tensors = self.tensors.clone_shallow();
        tensors.push(("metrics.rows".into(), rows_tensor(&self.rows)));
        tensor_file::write_sealed(path, &tensors, &meta)
    }

    /// Reads the checkpoint of job `job`; `Ok(None)` when there is none. A file that is damaged,
    /// edited, of another format or of another job is an error saying so.
    pub fn read(path: &Path, job: &JobHash) -> Result<Option<Checkpoint>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let f = tensor_file::read(path)?;
        let bad = |m: &str| StoreError::format(path, m.to_string());
        match f.metadata.get("format_version").map(String::as_str) {
            Some(CHECKPOINT_FORMAT) => {}
            other => {
                return Err(bad(&format!(
                    "checkpoint format `{}` is not `{CHECKPOINT_FORMAT}`",
                    other.unwrap_or("none")
                )))
            }
        }
        if !f.metadata.contains_key("seal_sha256") {
            return Err(bad("the checkpoint has no seal"));
        }
        let owner = f.metadata.get("job").and_then(|h| JobHash::parse(h)).ok_or_else(|| bad("missing `job`"))?;
        if owner != *job {
            return Err(bad(&format!("the checkpoint belongs to job `{}`, not `{}`", owner.short(), job.short())));
        }
        let num = |k: &str| {
            f.metadata.get(k).and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| bad(&format!("missing `{k}`")))
        };
        let rows = f
            .get("metrics.rows")
            .map(|t| rows_from_tensor(t.shallow_clone()))
            .ok_or_else(|| bad("missing `metrics.rows`"))?;
        let epochs_done = num(EPOCHS_DONE_KEY)?;
        if rows.len() != epochs_done as usize {
            return Err(bad(&format!("{} metric rows for {epochs_done} finished epochs", rows.len())));
        }
        Ok(Some(Checkpoint {
            job: owner,
            epochs_done,
            batches_done: num("batches_done")?,
            threads: num(THREADS_KEY)?.max(1),
            rows,
            tensors: f.tensors.into_iter().filter(|(n, _)| n != "metrics.rows").collect(),
        }))
    }
}

trait CloneShallow {
    fn clone_shallow(&self) -> Vec<(String, Tensor)>;
}

impl CloneShallow for Vec<(String, Tensor)> {
    fn clone_shallow(&self) -> Vec<(String, Tensor)> {
        self.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect()
    }
}

/// Metric rows as an `f64` tensor (exact: no decimal round trip).
fn rows_tensor(rows: &[EpochRow]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flat_map(|r| r.to_array()).collect();
    Tensor::from_slice(&flat).reshape([rows.len() as i64, EpochRow::WIDTH as i64])
}

fn rows_from_tensor(t: Tensor) -> Vec<EpochRow> {
    let flat: Vec<f64> = Vec::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap_or_default();
    flat.chunks(EpochRow::WIDTH).filter(|c| c.len() == EpochRow::WIDTH).map(EpochRow::from_slice).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(job: JobHash) -> Checkpoint {
        let row = EpochRow { epoch: 1, train_loss: 1.5, train_acc: 0.25, val_loss: 1.75, val_acc: 0.5 };
        Checkpoint {
            job,
            epochs_done: 1,
            batches_done: 0,
            threads: 2,
            rows: vec![row],
            tensors: vec![("model.w".into(), Tensor::from_slice(&[1.0f32, 2.0]))],
        }
    }

    #[test]
    fn reads_back_only_for_its_own_job() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        let (mine, other) = (JobHash([1; 32]), JobHash([2; 32]));
        assert!(Checkpoint::read(&path, &mine).unwrap().is_none());
        sample(mine).write(&path).unwrap();
        let ck = Checkpoint::read(&path, &mine).unwrap().unwrap();
        assert_eq!((ck.epochs_done, ck.batches_done, ck.threads, ck.rows.len()), (1, 0, 2, 1));
        assert!(ck.get("model.w").is_some());
        let err = Checkpoint::read(&path, &other).err().unwrap().to_string();
        assert!(err.contains("belongs to job"), "{err}");
        // A checkpoint of the first format (no seal, no job) is refused, not trusted.
        let meta = BTreeMap::from([
            ("format_version".to_string(), "1".to_string()),
            ("epochs_done".to_string(), "0".to_string()),
            ("batches_done".to_string(), "0".to_string()),
            ("threads".to_string(), "1".to_string()),
        ]);
        tensor_file::write(&path, &[("metrics.rows".into(), Tensor::zeros([0, 5], tch::kind::FLOAT_CPU))], &meta)
            .unwrap();
        let err = Checkpoint::read(&path, &mine).err().unwrap().to_string();
        assert!(err.contains("format `1`"), "{err}");
    }
}

#[cfg(test)]
mod round_trip_tests {
    use super::*;

    fn rows(n: u32) -> Vec<EpochRow> {
        (1..=n)
            .map(|e| EpochRow {
                epoch: e,
                train_loss: 1.0 / e as f64 + 1e-13,
                train_acc: 0.1 * e as f64,
                val_loss: 2.0 / 3.0,
                val_acc: 0.3,
            })
            .collect()
    }

    fn checkpoint(job: JobHash) -> Checkpoint {
        Checkpoint {
            job,
            epochs_done: 2,
            batches_done: 5,
            threads: 3,
            rows: rows(2),
            tensors: vec![
                ("model.w".into(), Tensor::from_slice(&[1.5f32, -2.25, 3.0e-7]).reshape([3, 1])),
                ("adam.step".into(), Tensor::from_slice(&[17i64])),
                ("sum.loss".into(), Tensor::from_slice(&[0.1f64]).reshape([])),
                ("best.w".into(), Tensor::from_slice(&[f32::MIN_POSITIVE, 0.0])),
            ],
        }
    }

    fn bytes(t: &Tensor) -> (Vec<i64>, Kind, Vec<u8>) {
        (t.size(), t.kind(), tensor_file::tensor_bytes(t))
    }

    #[test]
    fn everything_written_is_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        let job = JobHash([4; 32]);
        let ck = checkpoint(job);
        ck.write(&path).unwrap();
        let back = Checkpoint::read(&path, &job).unwrap().unwrap();
        assert_eq!((back.job, back.epochs_done, back.batches_done, back.threads), (job, 2, 5, 3));
        let bits = |r: &[EpochRow]| r.iter().map(|r| r.to_array().map(f64::to_bits)).collect::<Vec<_>>();
        assert_eq!(bits(&back.rows), bits(&ck.rows), "metric rows are exact");
        assert_eq!(back.rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2]);
        let mut names: Vec<&str> = back.tensors.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            vec!["adam.step", "best.w", "model.w", "sum.loss"],
            "`metrics.rows` is not a tensor of the state"
        );
        for (name, t) in &ck.tensors {
            assert_eq!(bytes(&back.get(name).unwrap()), bytes(t), "{name}");
        }
        // Written twice, the same bytes (deterministic).
        let first = std::fs::read(&path).unwrap();
        ck.write(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first);
    }

    #[test]
    fn a_damaged_edited_or_foreign_checkpoint_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        let job = JobHash([4; 32]);
        checkpoint(job).write(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        let err = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            match Checkpoint::read(&path, &job) {
                Ok(_) => panic!("accepted"),
                Err(e) => e.to_string(),
            }
        };
        // A flipped payload bit (the last weight).
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 1] ^= 0x10;
        assert!(err(&bad).contains("payload does not match its sha256"), "{}", err(&bad));
        // Truncated.
        assert!(err(&good[..n - 3]).contains("truncated"), "{}", err(&good[..n - 3]));
        // The header edited to claim more epochs (same length, so only the seal can tell).
        let key = b"\"epochs_done\":\"2\"";
        let at = good.windows(key.len()).position(|w| w == key).expect("the header holds the epochs");
        let mut edited = good.clone();
        edited[at + key.len() - 2] = b'3';
        assert!(err(&edited).contains("seal"), "{}", err(&edited));
        // Not a tensor file at all.
        assert!(!err(b"garbage").is_empty());
        // Another job's checkpoint.
        std::fs::write(&path, &good).unwrap();
        let other = Checkpoint::read(&path, &JobHash([5; 32])).err().unwrap().to_string();
        assert!(other.contains(&format!("belongs to job `{}`", job.short())), "{other}");
        // Rows that do not match the epochs finished (written by a bug, sealed): refused.
        let mut odd = checkpoint(job);
        odd.rows = rows(1);
        odd.write(&path).unwrap();
        let e = Checkpoint::read(&path, &job).err().unwrap().to_string();
        assert!(e.contains("1 metric rows for 2 finished epochs"), "{e}");
        // An unsealed file with the right format version is refused too.
        let meta = BTreeMap::from([
            ("format_version".to_string(), CHECKPOINT_FORMAT.to_string()),
            ("job".to_string(), job.hex()),
            ("epochs_done".to_string(), "0".to_string()),
            ("batches_done".to_string(), "0".to_string()),
            ("threads".to_string(), "1".to_string()),
        ]);
        tensor_file::write(&path, &[("metrics.rows".into(), Tensor::zeros([0, 5], tch::kind::FLOAT_CPU))], &meta)
            .unwrap();
        let e = Checkpoint::read(&path, &job).err().unwrap().to_string();
        assert!(e.contains("no seal"), "{e}");
    }
}
