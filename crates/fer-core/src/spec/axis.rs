//! A setting that is either one value or a list of values; a list becomes a matrix axis.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// One value, or a list of values that spans a matrix axis.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Axis<T> {
    pub values: Vec<T>,
    /// True when written as a YAML list (even a one-element list).
    pub is_list: bool,
}

impl<T> Axis<T> {
    pub(super) fn one(value: T) -> Self {
        Axis { values: vec![value], is_list: false }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Axis<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(d)?;
        match value {
            serde_yaml::Value::Sequence(items) => {
                if items.is_empty() {
                    return Err(D::Error::custom("an empty list spans no values; give at least one"));
                }
                let values = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        serde_yaml::from_value(item).map_err(|e| D::Error::custom(format!("item {i}: {e}")))
                    })
                    .collect::<Result<Vec<T>, D::Error>>()?;
                Ok(Axis { values, is_list: true })
            }
            other => {
                let v = serde_yaml::from_value(other).map_err(D::Error::custom)?;
                Ok(Axis::one(v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_and_list() {
        let a: Axis<f64> = serde_yaml::from_str("0.5").unwrap();
        assert_eq!(a, Axis::one(0.5));
        let b: Axis<f64> = serde_yaml::from_str("[1, 0.5]").unwrap();
        assert_eq!(b.values, vec![1.0, 0.5]);
        assert!(b.is_list);
        assert!(serde_yaml::from_str::<Axis<f64>>("[]").is_err());
        let e = serde_yaml::from_str::<Axis<f64>>("[1, x]").unwrap_err().to_string();
        assert!(e.contains("item 1"), "{e}");
    }
}
