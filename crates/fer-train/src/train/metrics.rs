//! Per-epoch training metrics and their CSV form (deterministic text: no times in it).

use std::fmt::Write;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines() {
        let r = EpochRow { epoch: 1, train_loss: 1.5, train_acc: 0.25, val_loss: 2.0, val_acc: 0.5 };
        assert_eq!(to_csv(&[r]), "epoch,train_loss,train_acc,val_loss,val_acc\n1,1.5,0.25,2,0.5\n");
        assert_eq!(EpochRow::from_slice(&r.to_array()), r);
    }
}
