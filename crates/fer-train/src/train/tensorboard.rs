//! TensorBoard event files of a train job's per-epoch scalars: the TFRecord framing (with its
//! masked CRC32C) and the few `Event`/`Summary` protobuf fields TensorBoard reads, written by hand.
//!
//! The file is a pure function of the job's rows: `wall_time` is the epoch number (not a clock),
//! so a resumed job writes the same bytes as an uninterrupted one.

use std::path::{Path, PathBuf};

use fer_core::records::EpochRow;
use fer_core::store::{temp_path, StoreError};

/// The event file's name (TensorBoard reads files whose name holds `tfevents`); no host or time.
pub const EVENTS_FILE: &str = "events.out.tfevents.fer-pipeline";
/// The folder of an entry holding its TensorBoard run folder.
pub const TB_DIR: &str = "tb";
/// `Event.file_version` of the first record, as TensorFlow writes it.
const FILE_VERSION: &str = "brain.Event:2";

/// Scalar tags written for every epoch.
pub const TAGS: [&str; 5] = ["loss/train", "accuracy/train", "loss/val", "accuracy/val", "learning_rate"];
/// A student's KD terms: the mean hard CE with the labels and the mean soft CE with the teacher.
pub const KD_TAGS: [&str; 2] = ["kd/hard_ce", "kd/soft_ce"];

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TFRecord's masked CRC: rotate right by 15 bits and add a constant.
pub fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: length (u64 LE), masked CRC of the length, data, masked CRC of the data.
pub fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, ((field << 3) | 2) as u64);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `Event { wall_time = 1 (double), step = 2 (int64) }` plus the given extra fields.
fn event(wall_time: f64, step: i64, rest: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut e = vec![(1 << 3) | 1];
    e.extend_from_slice(&wall_time.to_le_bytes());
    if step != 0 {
        e.push(2 << 3);
        varint(&mut e, step as u64);
    }
    rest(&mut e);
    e
}

/// An `Event` holding a `Summary` (field 5) of `Summary.Value { tag = 1, simple_value = 2 (float) }`.
fn scalars_event(step: i64, values: &[(&str, f64)]) -> Vec<u8> {
    event(step as f64, step, |e| {
        let mut summary = Vec::new();
        for (tag, v) in values {
            let mut value = Vec::new();
            bytes_field(&mut value, 1, tag.as_bytes());
            value.push((2 << 3) | 5);
            value.extend_from_slice(&(*v as f32).to_le_bytes());
            bytes_field(&mut summary, 1, &value);
        }
        bytes_field(e, 5, &summary);
    })
}

/// The whole event file for `rows`: a `file_version` record, then one event per epoch (step and
/// wall_time = the epoch number) with its scalars; `lr` is the job's (constant) learning rate,
/// `kd` a student's `[hard, soft]` terms per epoch (empty for a plain model).
pub fn events(rows: &[EpochRow], lr: f64, kd: &[[f64; 2]]) -> Vec<u8> {
    let mut out = record(&event(0.0, 0, |e| bytes_field(e, 3, FILE_VERSION.as_bytes())));
    for (i, r) in rows.iter().enumerate() {
        let mut values = vec![
            (TAGS[0], r.train_loss),
            (TAGS[1], r.train_acc),
            (TAGS[2], r.val_loss),
            (TAGS[3], r.val_acc),
            (TAGS[4], lr),
        ];
        if let Some([hard, soft]) = kd.get(i) {
            values.extend([(KD_TAGS[0], *hard), (KD_TAGS[1], *soft)]);
        }
        out.extend(record(&scalars_event(r.epoch as i64, &values)));
    }
    out
}

/// The run folder's name from the job's label, e.g. `microexpnet-xxs_jaffe_seed1` (`_fold2` under
/// k-fold): only `[A-Za-z0-9._-]`, anything else becomes `-`.
pub fn run_name(model: &str, dataset: &str, seed: Option<u64>, fold: Option<u32>) -> String {
    let mut s = [model, dataset].iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("_");
    if let Some(seed) = seed {
        s.push_str(&format!("_seed{seed}"));
    }
    if let Some(f) = fold {
        s.push_str(&format!("_fold{f}"));
    }
    let s: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    match s.trim_start_matches('.') {
        "" => "run".to_string(),
        t => t.to_string(),
    }
}

/// `tb/<run>/events.out.tfevents.fer-pipeline`: the artifact's name inside its entry.
pub fn artifact_name(run: &str) -> String {
    format!("{TB_DIR}/{run}/{EVENTS_FILE}")
}

/// Writes `bytes` to `dir/<artifact>` atomically; the temporary file lies in `dir` itself (named
/// like every store temp file, without `tfevents` in it), so TensorBoard never reads a partial
/// file and the entry's stale-temp cleaner finds a crashed writer's leftovers.
pub fn write(dir: &Path, artifact: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let path = dir.join(artifact);
    let parent = path.parent().unwrap_or(dir).to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, e))?;
    let tmp = temp_path(&dir.join("tensorboard-events"));
    let result = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(&path, e));
    }
    for d in [&parent, &dir.to_path_buf()] {
        if let Ok(f) = std::fs::File::open(d) {
            let _ = f.sync_all();
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vectors() {
        // RFC 3720 (iSCSI) B.4 and the usual check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let inc: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&inc), 0x46DD_794E);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn masked_crc_matches_tensorflow() {
        // Values of `tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c`.
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
        assert_eq!(masked_crc(&0u64.to_le_bytes()), 0x0798_0329, "the length header of an empty record");
    }

    #[test]
    fn record_framing() {
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[8..12], &masked_crc(&3u64.to_le_bytes()).to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
        assert_eq!(&r[15..], &masked_crc(b"abc").to_le_bytes());
    }

    #[test]
    fn protobuf_fields() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        // file_version event: wall_time 0.0 (tag 0x09 + 8 bytes), no step, field 3 string.
        let e = event(0.0, 0, |e| bytes_field(e, 3, b"x"));
        assert_eq!(e, [0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 1, b'x']);
        let s = scalars_event(2, &[("a", 1.0)]);
        let mut want = vec![0x09];
        want.extend_from_slice(&2.0f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 2, 0x2a, 10, 0x0a, 8, 0x0a, 1, b'a', 0x15]);
        want.extend_from_slice(&1.0f32.to_le_bytes());
        assert_eq!(s, want);
    }

    #[test]
    fn events_are_deterministic_and_framed() {
        let rows: Vec<EpochRow> = (1..=3)
            .map(|e| EpochRow { epoch: e, train_loss: 1.0 / e as f64, train_acc: 0.5, val_loss: 2.0, val_acc: 0.25 })
            .collect();
        let a = events(&rows, 1e-3, &[]);
        assert_eq!(a, events(&rows, 1e-3, &[]));
        let kd = events(&rows, 1e-3, &[[1.0, 2.0]; 3]);
        // Two more values per epoch, and the summary's length takes a second varint byte.
        assert_eq!(kd.len(), a.len() + 3 * (2 * (2 + 12 + 5) + 1));
        // Walk the records and check every CRC.
        let (mut at, mut n) = (0usize, 0);
        while at < a.len() {
            let len = u64::from_le_bytes(a[at..at + 8].try_into().unwrap()) as usize;
            assert_eq!(u32::from_le_bytes(a[at + 8..at + 12].try_into().unwrap()), masked_crc(&a[at..at + 8]));
            let data = &a[at + 12..at + 12 + len];
            assert_eq!(u32::from_le_bytes(a[at + 12 + len..at + 16 + len].try_into().unwrap()), masked_crc(data));
            at += 16 + len;
            n += 1;
        }
        assert_eq!((at, n), (a.len(), 4));
    }

    #[test]
    fn run_names_are_safe() {
        assert_eq!(run_name("microexpnet-xxs", "jaffe", Some(1), None), "microexpnet-xxs_jaffe_seed1");
        assert_eq!(run_name("a b/c", "d", Some(0), Some(2)), "a-b-c_d_seed0_fold2");
        assert_eq!(run_name("..", "", None, None), "run");
        assert_eq!(artifact_name("x"), "tb/x/events.out.tfevents.fer-pipeline");
        assert_eq!(artifact_name("x"), artifact_name("x"), "the same run always gets the same name");
    }
}
