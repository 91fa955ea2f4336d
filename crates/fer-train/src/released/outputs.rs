//! Lines a weights file's output layer up with a data set's classes by name: a file whose
//! metadata says what its outputs are (`output_labels`: canonical class names, comma-separated;
//! `output_layer`: the layer, e.g. `fc2`) gives the rows of that layer's weight and bias in the
//! data set's class order (the released MicroExpNet models have 8 outputs in CK+'s order; on
//! Oulu-CASIA's 6 classes they keep those 6). Files without that metadata are left as they are.

use std::collections::BTreeMap;

use tch::Tensor;

/// Metadata key: the canonical class name of each output, in order, comma-separated.
pub const OUTPUT_LABELS: &str = "output_labels";
/// Metadata key: the output layer's name (its `.weight` and `.bias` are lined up).
pub const OUTPUT_LAYER: &str = "output_layer";

/// `tensors` with the output layer's rows taken in the order of `classes`; an error names a class
/// the file has no output for.
pub fn align(
    tensors: Vec<(String, Tensor)>,
    metadata: &BTreeMap<String, String>,
    classes: &[String],
) -> Result<Vec<(String, Tensor)>, String> {
    let (Some(labels), Some(layer)) = (metadata.get(OUTPUT_LABELS), metadata.get(OUTPUT_LAYER)) else {
        return Ok(tensors);
    };
    let labels: Vec<&str> = labels.split(',').map(str::trim).collect();
    let rows = classes
        .iter()
        .map(|c| {
            labels.iter().position(|l| l == c).map(|i| i as i64).ok_or_else(|| {
                format!("the weights file has no output for class `{c}` (its outputs: {})", labels.join(", "))
            })
        })
        .collect::<Result<Vec<i64>, String>>()?;
    let index = Tensor::from_slice(&rows);
    let (weight, bias) = (format!("{layer}.weight"), format!("{layer}.bias"));
    Ok(tensors
        .into_iter()
        .map(|(name, t)| match name == weight || name == bias {
            true if t.size().first() == Some(&(labels.len() as i64)) => {
                let picked = t.index_select(0, &index);
                (name, picked)
            }
            _ => (name, t),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_data_sets_classes_and_a_missing_class_is_named() {
        let w = Tensor::from_slice(&[0f32, 0., 1., 1., 2., 2.]).reshape([3, 2]);
        let b = Tensor::from_slice(&[10f32, 11., 12.]);
        let meta = BTreeMap::from([
            (OUTPUT_LABELS.to_string(), "neutral,angry,happy".to_string()),
            (OUTPUT_LAYER.to_string(), "fc2".to_string()),
        ]);
        let t = vec![
            ("fc2.weight".to_string(), w),
            ("fc2.bias".to_string(), b),
            ("fc1.bias".into(), Tensor::ones([3], tch::kind::FLOAT_CPU)),
        ];
        let classes = ["happy".to_string(), "angry".to_string()];
        let out = align(t.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(), &meta, &classes).unwrap();
        assert_eq!(Vec::<f32>::try_from(out[1].1.shallow_clone()).unwrap(), [12., 11.]);
        assert_eq!(out[0].1.size(), [2, 2]);
        assert_eq!(out[2].1.size(), [3], "other tensors are untouched");
        let e = align(t, &meta, &["sad".to_string()]).unwrap_err();
        assert!(e.contains("`sad`") && e.contains("neutral, angry, happy"), "{e}");
        // Without the metadata, nothing changes.
        assert!(align(vec![], &BTreeMap::new(), &classes).unwrap().is_empty());
    }
}
