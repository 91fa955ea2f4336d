//! Profiles and `--set` overrides: overlays merged onto the document, each leaf remembering its origin.

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use super::source_map::{join, parent};

/// Where an overlaid subtree came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum OverlaySource {
    /// `profiles.<name>` in the file.
    Profile(String),
    /// A `--set` argument, as written.
    Set(String),
}

/// Paths replaced by overlays, and by which one.
#[derive(Debug, Default, Clone)]
pub(super) struct Origins {
    by_path: HashMap<String, OverlaySource>,
}

impl Origins {
    /// The overlay that last set `path` or one of its ancestors, with the path relative to
    /// that overlay's root.
    pub(super) fn find(&self, path: &str) -> Option<&OverlaySource> {
        let mut p = path;
        loop {
            if let Some(src) = self.by_path.get(p) {
                return Some(src);
            }
            p = parent(p)?;
        }
    }
}

/// Merges `overlay` onto `base`: mappings merge key by key, anything else replaces.
pub(super) fn merge(base: &mut Value, overlay: Value, path: &str, source: &OverlaySource, origins: &mut Origins) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                let key = key_text(&k);
                let child = join(path, &key);
                match b.get_mut(&k) {
                    Some(existing) if existing.is_mapping() && v.is_mapping() => {
                        merge(existing, v, &child, source, origins);
                    }
                    _ => {
                        mark(origins, &child, source);
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => {
            mark(origins, path, source);
            *b = o;
        }
    }
}

fn mark(origins: &mut Origins, path: &str, source: &OverlaySource) {
    // A replaced subtree forgets the origins recorded below it.
    let prefix_dot = format!("{path}.");
    let prefix_idx = format!("{path}[");
    origins.by_path.retain(|p, _| !(p.starts_with(&prefix_dot) || p.starts_with(&prefix_idx)));
    origins.by_path.insert(path.to_string(), source.clone());
}

/// The text of a mapping key.
pub(super) fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// Parses `a.b.c=value` into the overlay `{a: {b: {c: value}}}`; the value is YAML.
pub(super) fn parse_set(arg: &str) -> Result<Value, String> {
    let (key, value) = arg.split_once('=').ok_or_else(|| "expected `key.path=value`".to_string())?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|s| s.is_empty()) {
        return Err(format!("`{key}` is not a key path like `models.deep-emotion.epochs`"));
    }
    let parsed: Value = if value.trim().is_empty() {
        Value::String(String::new())
    } else {
        // The same input limits as the file, checked before anything expands an alias.
        super::source_map::SourceMap::parse(value)
            .map_err(|e| format!("the value, at column {}: {}", e.pos.col, e.message))?;
        serde_yaml::from_str(value).map_err(|e| format!("value `{value}` is not valid YAML: {e}"))?
    };
    let mut v = parsed;
    for seg in key.rsplit('.') {
        let mut m = Mapping::new();
        m.insert(Value::String(seg.to_string()), v);
        v = Value::Mapping(m);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_records_origins() {
        let mut base: Value = serde_yaml::from_str("a: {b: 1, c: [1, 2]}\nd: 4").unwrap();
        let over: Value = serde_yaml::from_str("a: {c: [3]}").unwrap();
        let mut origins = Origins::default();
        let src = OverlaySource::Profile("quick".into());
        merge(&mut base, over, "", &src, &mut origins);
        assert_eq!(base["a"]["c"], serde_yaml::from_str::<Value>("[3]").unwrap());
        assert_eq!(base["a"]["b"], Value::from(1));
        assert_eq!(origins.find("a.c[0]"), Some(&src));
        assert_eq!(origins.find("a.b"), None);
    }

    #[test]
    fn parse_set_nested() {
        let v = parse_set("models.de.epochs=3").unwrap();
        assert_eq!(v["models"]["de"]["epochs"], Value::from(3));
        assert!(parse_set("noequals").is_err());
        assert!(parse_set("a..b=1").is_err());
        let l = parse_set("seeds=[1, 2]").unwrap();
        assert!(l["seeds"].is_sequence());
    }
}
