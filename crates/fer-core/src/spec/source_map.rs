//! Maps key paths of a YAML document (`models.deep-emotion.lr`, `seeds[1]`) to line:column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of every key and sequence item of one YAML document.
#[derive(Debug, Default, Clone)]
pub(super) struct SourceMap {
    positions: HashMap<String, Pos>,
    /// Nodes of the document with every alias expanded.
    nodes: u64,
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone)]
pub(super) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl SourceMap {
    /// Parses `text` and records the position of every key path. The document is refused before
    /// anything expands it when it nests deeper than [`MAX_DEPTH`], uses more than
    /// [`MAX_ALIASES`] aliases, or would expand to more than [`MAX_NODES`] nodes.
    pub(super) fn parse(text: &str) -> Result<SourceMap, SyntaxError> {
        let mut builder = Builder::default();
        let mut limits = Limits::default();
        let mut parser = Parser::new_from_str(text);
        let syntax = |e: yaml_rust2::ScanError| SyntaxError {
            pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
            message: format!("invalid YAML: {}", e.info()),
        };
        // The parser's own `load` recurses once per nesting level; this loop does not.
        loop {
            let (ev, mark) = parser.next_token().map_err(syntax)?;
            if ev == Event::StreamEnd {
                break;
            }
            limits
                .on_event(&ev)
                .map_err(|message| SyntaxError { pos: Pos { line: mark.line(), col: mark.col() + 1 }, message })?;
            builder.on_event(ev, mark);
        }
        if let Some((path, pos)) = builder.duplicate {
            return Err(SyntaxError { pos, message: format!("invalid YAML: duplicate key `{path}`") });
        }
        Ok(SourceMap { positions: builder.positions, nodes: limits.nodes })
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub(super) fn locate(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            p = parent(p)?;
        }
    }

    /// How many nodes the document has once its aliases are expanded.
    pub(super) fn nodes(&self) -> u64 {
        self.nodes
    }

    /// The position of exactly `path`.
    pub(super) fn get(&self, path: &str) -> Option<Pos> {
        self.positions.get(path).copied()
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> None.
pub(super) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a key onto a path.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Most nesting levels of mappings and sequences in a pipeline document.
pub const MAX_DEPTH: usize = 64;
/// Most aliases (`*name`) in a pipeline document.
pub const MAX_ALIASES: u64 = 10_000;
/// Most nodes a pipeline document may expand to, every alias counted as the nodes it stands for.
pub const MAX_NODES: u64 = 1_000_000;

/// Counts what a document expands to while it is read, before anything expands it.
#[derive(Default)]
struct Limits {
    /// Open collections: (anchor id, expanded nodes so far).
    open: Vec<(usize, u64)>,
    /// Expanded size of each finished anchored node.
    sizes: HashMap<usize, u64>,
    aliases: u64,
    nodes: u64,
}

impl Limits {
    fn on_event(&mut self, ev: &Event) -> Result<(), String> {
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                if *anchor > 0 {
                    self.sizes.insert(*anchor, 1);
                }
                self.add(1)?;
            }
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > MAX_ALIASES {
                    return Err(format!(
                        "more than {MAX_ALIASES} aliases (`*name`); a pipeline needs far fewer (input limit)"
                    ));
                }
                // An alias to a node still open (a recursive one) counts as one node.
                let n = self.sizes.get(id).copied().unwrap_or(1);
                self.add(n)?;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.open.len() >= MAX_DEPTH {
                    return Err(format!("nested more than {MAX_DEPTH} levels deep (input limit)"));
                }
                self.open.push((*anchor, 0));
                self.add(1)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, n)) = self.open.pop() {
                    if anchor > 0 {
                        self.sizes.insert(anchor, n);
                    }
                    if let Some(parent) = self.open.last_mut() {
                        parent.1 = parent.1.saturating_add(n);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Counts `n` expanded nodes in the innermost open collection and in the document.
    fn add(&mut self, n: u64) -> Result<(), String> {
        if let Some(top) = self.open.last_mut() {
            top.1 = top.1.saturating_add(n);
        }
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(format!(
                "the document expands to more than {MAX_NODES} values once its aliases are expanded \
                 (input limit); write the values out or use fewer aliases"
            ));
        }
        Ok(())
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

impl Builder {
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
        // Positions are 1-based, where the parser finds the fault: the `:` that cannot be in an
        // unclosed flow sequence, the key indented under no mapping, the quote never closed.
        let err = SourceMap::parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, col: 2 });
        assert_eq!(err.message, "invalid YAML: illegal placement of ':' indicator");
        let err = SourceMap::parse("name: x\nmodels:\n  de:\n    lr: 0.1\n   bad: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 5, col: 7 });
        assert!(err.message.contains("did not find expected key"), "{}", err.message);
        let err = SourceMap::parse("a: 1\nb: \"open\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, col: 4 });
        assert!(err.message.contains("quoted scalar"), "{}", err.message);
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
