//! `metrics.csv` of a train job: one row per epoch, written by the trainer (deterministic text:
//! no times in it) and read back by the report.

use std::fmt::Write;
use std::path::Path;

/// One epoch's numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRow {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: f64,
    pub val_acc: f64,
}

impl EpochRow {
    pub const WIDTH: usize = 5;
    pub const HEADER: &'static str = "epoch,train_loss,train_acc,val_loss,val_acc";

    pub fn to_array(&self) -> [f64; 5] {
        [self.epoch as f64, self.train_loss, self.train_acc, self.val_loss, self.val_acc]
    }

    pub fn from_slice(v: &[f64]) -> EpochRow {
        EpochRow { epoch: v[0] as u32, train_loss: v[1], train_acc: v[2], val_loss: v[3], val_acc: v[4] }
    }
}

/// `metrics.csv`: a header and one line per epoch; floats in shortest round-trip form.
pub fn to_csv(rows: &[EpochRow]) -> String {
    let mut s = String::from(EpochRow::HEADER);
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "{},{},{},{},{}", r.epoch, r.train_loss, r.train_acc, r.val_loss, r.val_acc);
    }
    s
}

/// Reads `metrics.csv` by its header's names; unreadable lines are skipped, and a missing or
/// headerless file is an empty curve.
pub fn read_curve(path: &Path) -> Vec<EpochRow> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(ep), Some(tl), Some(ta), Some(vl), Some(va)) =
        (find("epoch"), find("train_loss"), find("train_acc"), find("val_loss"), find("val_acc"))
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
            Some(EpochRow {
                epoch: f.get(ep)?.parse().ok()?,
                train_loss: num(tl)?,
                train_acc: num(ta)?,
                val_loss: num(vl)?,
                val_acc: num(va)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines() {
        let r = EpochRow { epoch: 1, train_loss: 1.5, train_acc: 0.25, val_loss: 2.0, val_acc: 0.5 };
        assert_eq!(to_csv(&[r]), "epoch,train_loss,train_acc,val_loss,val_acc\n1,1.5,0.25,2,0.5\n");
        assert_eq!(EpochRow::from_slice(&r.to_array()), r);
    }

    #[test]
    fn curve_reads_what_to_csv_writes_and_skips_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.csv");
        let rows = [
            EpochRow { epoch: 1, train_loss: 2.0, train_acc: 0.1, val_loss: 1.9, val_acc: 0.2 },
            EpochRow { epoch: 2, train_loss: 1.5, train_acc: 0.3, val_loss: 1.6, val_acc: 0.4 },
        ];
        std::fs::write(&p, to_csv(&rows)).unwrap();
        assert_eq!(read_curve(&p), rows);
        std::fs::write(
            &p,
            "epoch,train_loss,train_acc,val_loss,val_acc\n1,2.0,0.1,1.9,0.2\nbroken\n2,1.5,0.3,1.6,0.4\n",
        )
        .unwrap();
        assert_eq!(read_curve(&p), rows);
        assert!(read_curve(&dir.path().join("absent.csv")).is_empty());
    }
}
