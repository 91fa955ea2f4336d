//! Maps key paths of a YAML document (`models.deep-emotion.lr`, `seeds[1]`) to line:column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of every key and sequence item of one YAML document.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    positions: HashMap<String, Pos>,
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl SourceMap {
    /// Parses `text` and records the position of every key path.
    pub fn parse(text: &str) -> Result<SourceMap, SyntaxError> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        parser.load(&mut builder, false).map_err(|e| SyntaxError {
            pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
            message: e.info().to_string(),
        })?;
        if let Some((path, pos)) = builder.duplicate {
            return Err(SyntaxError { pos, message: format!("duplicate key `{path}`") });
        }
        Ok(SourceMap { positions: builder.positions })
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            p = parent(p)?;
        }
    }

    /// The position of exactly `path`.
    pub fn get(&self, path: &str) -> Option<Pos> {
        self.positions.get(path).copied()
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> None.
pub fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a key onto a path.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

enum Frame {
    /// In a mapping: its path, the key awaiting its value, the keys seen.
    Map { path: String, key: Option<String>, seen: std::collections::HashSet<String> },
    /// In a sequence: the path of the sequence and the next index.
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    positions: HashMap<String, Pos>,
    /// The first key written twice in one mapping.
    duplicate: Option<(String, Pos)>,
}

impl Builder {
    /// Called for every node; returns the path of that node when it is a value.
    fn node_path(&mut self, mark: Marker, is_scalar: bool, scalar: Option<&str>) -> Option<String> {
        let pos = Pos { line: mark.line(), col: mark.col() + 1 };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.positions.entry(p.clone()).or_insert(pos);
                Some(p)
            }
            Some(Frame::Map { path, key, seen }) => match key.take() {
                None => {
                    // This node is a key.
                    let k = if is_scalar { scalar.unwrap_or_default().to_string() } else { String::from("?") };
                    let p = join(path, &k);
                    if !seen.insert(k.clone()) && self.duplicate.is_none() {
                        self.duplicate = Some((p.clone(), pos));
                    }
                    self.positions.entry(p).or_insert(pos);
                    *key = Some(k);
                    None
                }
                Some(k) => Some(join(path, &k)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                self.node_path(mark, true, Some(&value));
            }
            Event::Alias(_) => {
                self.node_path(mark, true, None);
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(mark, false, None).unwrap_or_default();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingStart(..) => {
                let path = self.node_path(mark, false, None).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None, seen: Default::default() });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keys_and_items() {
        let text = "name: x\nmodels:\n  de:\n    lr: 0.1\nseeds: [1, 2]\nlist:\n  - a: 1\n  - b: 2\n";
        let map = SourceMap::parse(text).unwrap();
        assert_eq!(map.get("name"), Some(Pos { line: 1, col: 1 }));
        assert_eq!(map.get("models.de.lr"), Some(Pos { line: 4, col: 5 }));
        assert_eq!(map.get("seeds[1]"), Some(Pos { line: 5, col: 12 }));
        assert_eq!(map.get("list[1].b"), Some(Pos { line: 8, col: 5 }));
        assert_eq!(map.locate("models.de.lr.deeper"), Some(Pos { line: 4, col: 5 }));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = SourceMap::parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = SourceMap::parse("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 4, col: 3 });
        assert!(err.message.contains("b.c"), "{}", err.message);
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[2].c"), Some("a.b[2]"));
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }
}
