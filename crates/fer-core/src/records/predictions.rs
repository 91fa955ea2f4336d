//! `predictions.csv` of an evaluate job: one line per test image (its index in the data set, its
//! label, the predicted class and the softmax probability of that class), so that runs can be
//! paired on the same test images and calibration measured. Format 1 had no `confidence`.

use std::fmt::Write;
use std::path::Path;

/// Version of `predictions.csv` (recorded as `predictions_format` in `result.json`): 2 adds
/// `confidence`; format 1 (no such field in `result.json`) has `index,label,prediction` only.
pub const PREDICTIONS_FORMAT: u32 = 2;

/// One test image's prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The image's index in the prepared data set (the same image in every run on that data).
    pub index: u64,
    pub label: i64,
    pub prediction: i64,
    /// Softmax probability of the predicted class (absent in format 1).
    pub confidence: Option<f64>,
}

/// The header of format 2.
pub const PREDICTIONS_HEADER: &str = "index,label,prediction,confidence";

/// `predictions.csv` (format 2): the header and one line per image; the confidence with 6 decimals.
pub fn predictions_csv(rows: &[Prediction]) -> String {
    let mut s = String::with_capacity(rows.len() * 24 + 40);
    s.push_str(PREDICTIONS_HEADER);
    s.push('\n');
    for r in rows {
        let _ = match r.confidence {
            Some(c) => writeln!(s, "{},{},{},{c:.6}", r.index, r.label, r.prediction),
            None => writeln!(s, "{},{},{},", r.index, r.label, r.prediction),
        };
    }
    s
}

/// Reads `predictions.csv` of either format by its header's names; an error names the file and
/// line.
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("failed to read `{}`: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| format!("failed to read `{}`: empty file", path.display()))?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(ix), Some(lb), Some(pr)) = (find("index"), find("label"), find("prediction")) else {
        return Err(format!("failed to read `{}`: header `{header}` lacks index, label or prediction", path.display()));
    };
    let cf = find("confidence");
    let mut out = Vec::with_capacity(text.len() / 16);
    for (no, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("failed to read `{}` line {}: `{line}`", path.display(), no + 2);
        let get = |i: usize| f.get(i).map(|s| s.trim()).ok_or_else(bad);
        let confidence = match cf {
            Some(i) => match get(i)? {
                "" => None,
                v => Some(v.parse::<f64>().map_err(|_| bad())?),
            },
            None => None,
        };
        out.push(Prediction {
            index: get(ix)?.parse().map_err(|_| bad())?,
            label: get(lb)?.parse().map_err(|_| bad())?,
            prediction: get(pr)?.parse().map_err(|_| bad())?,
            confidence,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_the_old_format() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("predictions.csv");
        let rows = [
            Prediction { index: 3, label: 1, prediction: 1, confidence: Some(0.5) },
            Prediction { index: 7, label: 0, prediction: 2, confidence: Some(0.875) },
        ];
        let text = predictions_csv(&rows);
        assert_eq!(text, "index,label,prediction,confidence\n3,1,1,0.500000\n7,0,2,0.875000\n");
        std::fs::write(&p, &text).unwrap();
        assert_eq!(read_predictions(&p).unwrap(), rows);
        std::fs::write(&p, "index,label,prediction\n3,1,1\n7,0,2\n").unwrap();
        let old = read_predictions(&p).unwrap();
        assert_eq!(old.len(), 2);
        assert!(old.iter().all(|r| r.confidence.is_none()));
        std::fs::write(&p, "index,label,prediction\n3,x,1\n").unwrap();
        let e = read_predictions(&p).unwrap_err();
        assert!(e.contains("line 2") && e.contains("3,x,1"), "{e}");
    }
}
