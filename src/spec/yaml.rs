//! YAML → a tree where every key and value knows its line and column.
//!
//! Built directly on the event parser that serde-saphyr re-exports (`granit_parser`):
//! serde's data model loses positions of map keys and silently merges duplicate keys,
//! while validation needs both (errors point at the offending key or value, and a
//! duplicate resource name must name the line of the first one).

use foldhash::{HashMap, HashMapExt};

use serde_json::{Number, Value};
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span};

/// Deeper nesting than this is refused: later passes recurse over the tree.
const MAX_DEPTH: usize = 64;
/// Refuse documents whose aliases expand to more nodes than this ("billion laughs").
const MAX_NODES: usize = 1_000_000;

/// A position in the file: 1-based line and column, and the width to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
    pub width: u64,
}

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Yaml,
}

/// A mapping key (always a scalar, kept as its text) with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub pos: Pos,
}

/// The value of a node. Mappings keep their source order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// The entries of a mapping, or `None`.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The text of a string scalar, or `None`.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// The entry (key and value) of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&(Key, Node)> {
        self.as_map()?.iter().find(|(k, _)| k.name == key)
    }

    /// Whether a string under this node contains `${` (a reference, or the escape `$${`).
    /// Passes over references skip the many subtrees without one, and with them the paths
    /// they would build for messages.
    pub fn may_hold_refs(&self) -> bool {
        match &self.value {
            Yaml::String(s) => s.contains("${"),
            Yaml::Seq(items) => items.iter().any(Node::may_hold_refs),
            Yaml::Map(entries) => entries.iter().any(|(_, v)| v.may_hold_refs()),
            _ => false,
        }
    }

    /// The node as JSON (positions dropped).
    pub fn to_json(&self) -> Value {
        match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Number(n) => Value::Number(n.clone()),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// What the value is, for "found ..." in messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Yaml::Null => "nothing (null)".to_string(),
            Yaml::Bool(b) => format!("the boolean `{b}`"),
            Yaml::Number(n) => format!("the number `{n}`"),
            Yaml::String(s) => format!("the string `{s}`"),
            Yaml::Seq(_) => "a list".to_string(),
            Yaml::Map(_) => "a mapping".to_string(),
        }
    }

    /// A scalar JSON value as a node at `pos` (used when a variable replaces a string).
    pub fn from_scalar(pos: Pos, v: &Value) -> Node {
        let value = match v {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Bool(*b),
            Value::Number(n) => Yaml::Number(n.clone()),
            Value::String(s) => Yaml::String(s.clone()),
            other => Yaml::String(other.to_string()),
        };
        Node { pos, value }
    }

    fn count(&self) -> usize {
        match &self.value {
            Yaml::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Yaml::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.count()).sum::<usize>(),
            _ => 1,
        }
    }
}

/// A problem found while reading the YAML.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// The result of parsing: the tree if the syntax is valid, and every problem found.
pub(crate) struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<YamlError>,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        /// Index of each key in `entries`, built once a mapping has more than
        /// [`LINEAR_KEYS`] keys: finding duplicates must not be quadratic in the size of a
        /// mapping (a stack can declare tens of thousands of resources), while the small
        /// mappings that make up most of a spec are cheaper to scan than to hash.
        seen: Option<HashMap<String, usize>>,
        key: Option<Option<Key>>,
    },
}

/// Mappings up to this many keys look for duplicates by scanning.
const LINEAR_KEYS: usize = 16;

fn pos_of(span: &Span) -> Pos {
    pos_at(&span.start, Some(&span.end))
}

fn pos_at(start: &Marker, end: Option<&Marker>) -> Pos {
    let width = match end {
        Some(e) if e.line() == start.line() && e.col() > start.col() => e.col() - start.col(),
        _ => 1,
    };
    Pos {
        line: start.line() as u64,
        column: start.col() as u64 + 1,
        width: width as u64,
    }
}

/// Resolve a plain scalar with the YAML 1.2 core schema (null, bool, int, float, string).
#[cfg(test)]
fn plain_scalar(s: &str) -> Yaml {
    plain_non_string(s).unwrap_or_else(|| Yaml::String(s.to_string()))
}

/// What a plain scalar is when the core schema makes it something other than a string
/// (null, bool, int, float); `None` for a string, which the caller then moves rather than
/// copies.
fn plain_non_string(s: &str) -> Option<Yaml> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Yaml::Null),
        "true" | "True" | "TRUE" => return Some(Yaml::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Yaml::Bool(false)),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Yaml::Number(i.into()));
        }
        if let Ok(u) = s.trim_start_matches('+').parse::<u64>() {
            return Some(Yaml::Number(u.into()));
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Some(Yaml::Number(u.into()));
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Some(Yaml::Number(u.into()));
    }
    let float_chars = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if float_chars
        && s.bytes().any(|b| b.is_ascii_digit())
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Some(Yaml::Number(n));
    }
    None
}

/// Parse `text`: one YAML document whose top level is a mapping.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        errors: Vec::new(),
        root: None,
        nodes: 0,
        too_deep: false,
    };
    let mut documents = 0;
    for ev in Parser::new_from_str(text) {
        let (event, span) = match ev {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                b.errors.push(YamlError {
                    pos: pos_at(m, None),
                    message: format!("invalid YAML: {}", e.info()),
                    hint: Some(
                        "check indentation, quotes and brackets here and on the lines above"
                            .to_string(),
                    ),
                });
                return Parsed {
                    root: None,
                    errors: b.errors,
                };
            }
        };
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    b.errors.push(YamlError {
                        pos: pos_of(&span),
                        message: "a spec file holds one YAML document; found a second one"
                            .to_string(),
                        hint: Some("remove the `---` line and everything after it".to_string()),
                    });
                    break;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let as_str = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let typed = if style == ScalarStyle::Plain && !as_str {
                    plain_non_string(&text)
                } else {
                    None
                };
                let value = typed.unwrap_or_else(|| Yaml::String(text.into_owned()));
                b.complete(
                    Node {
                        pos: pos_of(&span),
                        value,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(_, anchor, _) => {
                b.stack.push(Frame::Seq {
                    pos: pos_of(&span),
                    anchor,
                    items: Vec::new(),
                });
                b.check_depth(&span);
            }
            Event::MappingStart(_, anchor, _) => {
                b.stack.push(Frame::Map {
                    pos: pos_of(&span),
                    anchor,
                    entries: Vec::new(),
                    seen: None,
                    key: None,
                });
                b.check_depth(&span);
            }
            Event::SequenceEnd | Event::MappingEnd => match b.stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => b.complete(
                    Node {
                        pos,
                        value: Yaml::Seq(items),
                    },
                    anchor,
                ),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => b.complete(
                    Node {
                        pos,
                        value: Yaml::Map(entries),
                    },
                    anchor,
                ),
                None => {}
            },
            Event::Alias(id) => {
                let pos = pos_of(&span);
                match b.anchors.get(&id) {
                    Some(n) => {
                        b.nodes += n.count();
                        let mut n = n.clone();
                        n.pos = pos;
                        b.complete(n, 0);
                    }
                    None => {
                        b.errors.push(YamlError {
                            pos,
                            message: "unknown alias".to_string(),
                            hint: None,
                        });
                        b.complete(
                            Node {
                                pos,
                                value: Yaml::Null,
                            },
                            0,
                        );
                    }
                }
            }
            _ => {}
        }
        if b.nodes > MAX_NODES {
            b.errors.push(YamlError {
                pos: pos_of(&span),
                message: "the document expands to too many nodes (aliases of aliases?)".to_string(),
                hint: None,
            });
            return Parsed {
                root: None,
                errors: b.errors,
            };
        }
        if b.too_deep {
            return Parsed {
                root: None,
                errors: b.errors,
            };
        }
    }
    Parsed {
        root: b.root,
        errors: b.errors,
    }
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    errors: Vec<YamlError>,
    root: Option<Node>,
    nodes: usize,
    too_deep: bool,
}

impl Builder {
    fn check_depth(&mut self, span: &Span) {
        if self.stack.len() > MAX_DEPTH {
            self.errors.push(YamlError {
                pos: pos_of(span),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                hint: None,
            });
            self.too_deep = true;
        }
    }

    /// A node is finished: hang it under its parent (as a key or a value).
    fn complete(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, seen, key, ..
            }) => match key.take() {
                None => {
                    // This node is a key. Only scalars make sense as keys in a spec.
                    let pos = node.pos;
                    let name = match node.value {
                        Yaml::String(s) => Some(s),
                        Yaml::Number(n) => Some(n.to_string()),
                        Yaml::Bool(b) => Some(b.to_string()),
                        Yaml::Null => Some("null".to_string()),
                        _ => None,
                    };
                    if name.is_none() {
                        self.errors.push(YamlError {
                            pos,
                            message: "a mapping key must be a plain name, not a list or mapping"
                                .to_string(),
                            hint: None,
                        });
                    }
                    *key = Some(name.map(|name| Key { name, pos }));
                }
                Some(None) => {} // value of an invalid key: dropped, already reported
                Some(Some(k)) => {
                    let first = match seen {
                        Some(index) => index.get(&k.name).copied(),
                        None => entries.iter().position(|(e, _)| e.name == k.name),
                    };
                    if let Some(first) = first.and_then(|i| entries.get(i).map(|e| &e.0)) {
                        self.errors.push(YamlError {
                            pos: k.pos,
                            message: format!("duplicate key `{}`", k.name),
                            hint: Some(format!(
                                "`{}` is already defined on line {}; remove or rename one of them",
                                k.name, first.pos.line
                            )),
                        });
                    } else {
                        if let Some(index) = seen {
                            index.insert(k.name.clone(), entries.len());
                        } else if entries.len() == LINEAR_KEYS {
                            let mut index: HashMap<String, usize> =
                                HashMap::with_capacity(LINEAR_KEYS * 2);
                            for (i, (e, _)) in entries.iter().enumerate() {
                                index.insert(e.name.clone(), i);
                            }
                            index.insert(k.name.clone(), entries.len());
                            *seen = Some(index);
                        }
                        entries.push((k, node));
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_value_has_a_position() {
        let p = parse("stack: shop\nresources:\n  web:\n    kind: compute\n    count: 3\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let root = p.root.unwrap();
        let (k, web) = root.get("resources").unwrap().entry("web").unwrap();
        assert_eq!((k.pos.line, k.pos.column, k.pos.width), (3, 3, 3));
        let count = web.get("count").unwrap();
        assert_eq!(count.value, Yaml::Number(3.into()));
        assert_eq!((count.pos.line, count.pos.column), (5, 12));
    }

    #[test]
    fn scalars_follow_the_core_schema_and_quotes_keep_strings() {
        assert_eq!(plain_scalar("true"), Yaml::Bool(true));
        assert_eq!(plain_scalar("-3"), Yaml::Number((-3).into()));
        assert_eq!(
            plain_scalar("1.5"),
            Yaml::Number(Number::from_f64(1.5).unwrap())
        );
        assert_eq!(plain_scalar("~"), Yaml::Null);
        assert_eq!(plain_scalar("inf"), Yaml::String("inf".into()));
        let p = parse("a: '3'\n");
        assert_eq!(
            p.root.unwrap().get("a").unwrap().value,
            Yaml::String("3".into())
        );
    }

    #[test]
    fn duplicate_keys_name_the_first_line() {
        let p = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].pos.line, 3);
        assert!(p.errors[0].hint.as_deref().unwrap().contains("line 1"));
    }

    #[test]
    fn duplicate_keys_are_found_in_large_mappings() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\nk39: again\n");
        let p = parse(&text);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.pos.line).collect();
        assert_eq!(lines, [41, 42]);
        assert!(p.errors[1].hint.as_deref().unwrap().contains("line 40"));
        assert_eq!(p.root.unwrap().as_map().unwrap().len(), 40);
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let p = parse("a: &x {k: 1}\nb: *x\n");
        let root = p.root.unwrap();
        assert_eq!(
            root.get("b").unwrap().get("k").unwrap().value,
            Yaml::Number(1.into())
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = parse("a: [1, 2\nb: 3\n");
        assert!(p.root.is_none());
        assert!(p.errors[0].pos.line >= 1);
    }
}
