//! `fer-pipeline models`: every architecture with its input, classes and trainable parameters.

use tch::Device;

use crate::models::Model;
use crate::spec::{ModelSpec, Variant};

/// The table of `fer-pipeline models`.
pub fn models_cmd() -> String {
    let mut rows: Vec<(ModelSpec, usize, &str)> =
        vec![(ModelSpec::deep_emotion(), 7, "Minaee & Abdolrashidi 2019; STN + CNN")];
    for v in Variant::ALL {
        rows.push((ModelSpec::microexpnet(v), 8, "Cugu, Sener, Akbas 2019; p12, TF SAME padding"));
    }
    rows.push((ModelSpec::inception_v3(299), 7, "teacher; gray x3 channels; input_size 75 (min, CPU) .. 299 (paper)"));
    let mut out = format!("{:<18} {:>9} {:>8} {:>12}  {}\n", "MODEL", "INPUT", "CLASSES", "PARAMETERS", "NOTES");
    for (spec, classes, note) in rows {
        let n = Model::new(&spec, classes, Device::Cpu).trainable_count();
        let side = spec.input_size();
        out.push_str(&format!(
            "{:<18} {:>9} {:>8} {:>12}  {note}\n",
            spec.display(),
            format!("1x{side}x{side}"),
            classes,
            group(n)
        ));
    }
    out
}

/// 66877 -> "66,877".
fn group(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_digits() {
        assert_eq!(super::group(66877), "66,877");
        assert_eq!(super::group(900920), "900,920");
        assert_eq!(super::group(12), "12");
    }
}
