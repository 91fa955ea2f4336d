//! `fer-pipeline models`: every architecture with its input, classes and trainable parameters.

use tch::Device;

use fer_core::spec::{ModelSpec, Variant};
use fer_pipeline::commands::json::{to_text, ModelDoc, ModelsDoc, FORMAT_VERSION};
use fer_train::models::Model;

/// Every architecture: its spec, classes and a note on where it comes from.
fn rows() -> Vec<(ModelSpec, usize, &'static str)> {
    let mut rows: Vec<(ModelSpec, usize, &str)> =
        vec![(ModelSpec::deep_emotion(), 7, "Minaee & Abdolrashidi 2019; STN + CNN")];
    for v in Variant::ALL {
        rows.push((ModelSpec::microexpnet(v), 8, "Cugu, Sener, Akbas 2019; p12, TF SAME padding"));
    }
    rows.push((ModelSpec::inception_v3(299), 7, "teacher; gray x3 channels; input_size 75 (min, CPU) .. 299 (paper)"));
    rows
}

/// `fer-pipeline models`: the table, or with `json` one JSON document.
pub(crate) fn models_cmd(json: bool) -> String {
    if json {
        let models = rows()
            .into_iter()
            .map(|(spec, classes, note)| {
                let side = spec.input_size();
                ModelDoc {
                    name: spec.display(),
                    arch: spec.arch().name(),
                    variant: match &spec {
                        ModelSpec::MicroExpNet { variant, .. } => Some(variant.name()),
                        _ => None,
                    },
                    input: [1, side, side],
                    classes,
                    trainable_params: Model::new(&spec, classes, Device::Cpu).trainable_count(),
                    notes: note.to_string(),
                }
            })
            .collect();
        return to_text(&ModelsDoc { format_version: FORMAT_VERSION, models });
    }
    let mut out = format!("{:<18} {:>9} {:>8} {:>12}  {}\n", "MODEL", "INPUT", "CLASSES", "PARAMETERS", "NOTES");
    for (spec, classes, note) in rows() {
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
