//! The parsed query: Kibana's node functions (`or`, `and`, `not`, `is`, `range`, `nested`),
//! with value lists already distributed over their field as Kibana's grammar does, so that
//! `f:(a or b)` and `f:a or f:b` are the same tree.

use std::collections::BTreeSet;
use std::fmt;

/// A byte range of the query text, for errors found after parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// A run of literal characters, or an unescaped `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Any,
}

/// A field name, with the path of every enclosing `nested:{…}` query already prefixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    /// The name as written (a wildcard shows as `*`).
    pub text: String,
    /// The name as a pattern, when it holds an unescaped `*`.
    pub pattern: Option<Vec<Piece>>,
    pub span: Span,
}

impl Name {
    pub fn new(pieces: Vec<Piece>, span: Span) -> Name {
        let text = pieces_text(&pieces);
        let pattern = pieces.contains(&Piece::Any).then_some(pieces);
        Name { text, pattern, span }
    }

    /// `*` alone: every field.
    pub fn is_every_field(&self) -> bool {
        self.pattern.as_deref() == Some(&[Piece::Any])
    }

    /// Whether a column of this name is one this field name selects.
    pub fn selects(&self, column: &str) -> bool {
        match &self.pattern {
            None => self.text == column,
            Some(pieces) => glob_match(pieces, column),
        }
    }

    /// The name when it is a single field rather than a pattern.
    pub fn exact(&self) -> Option<&str> {
        self.pattern.is_none().then_some(self.text.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// A quoted string, or unquoted text without wildcards (`true`, `42` included: Kibana
    /// sends them to Elasticsearch, which reads them by the field's type).
    Exact(String),
    /// Unquoted text with at least one unescaped `*`, but not `*` alone.
    Wildcard(Vec<Piece>),
    /// `*` alone: the field exists.
    Exists,
    /// Unquoted `null`, which Kibana turns into a JSON null that Elasticsearch rejects.
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl RangeOp {
    fn symbol(self) -> &'static str {
        match self {
            RangeOp::Gt => ">",
            RangeOp::Gte => ">=",
            RangeOp::Lt => "<",
            RangeOp::Lte => "<=",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// The empty query, which Kibana reads as "every document".
    All,
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Nested {
        path: Name,
        query: Box<Node>,
    },
    /// `field: value`; no field is a free-text search.
    Is {
        field: Option<Name>,
        value: Value,
    },
    /// `field > value` and the like; a wildcard in the value is a literal `*` there, as in Kibana.
    Range {
        field: Name,
        op: RangeOp,
        value: Value,
    },
}

impl Node {
    /// Calls `visit` with every field name of an `is` or `range`, in the order written.
    pub fn each_field<'n>(&'n self, visit: &mut impl FnMut(&'n Name)) {
        match self {
            Node::All => {}
            Node::Or(nodes) | Node::And(nodes) => nodes.iter().for_each(|node| node.each_field(visit)),
            Node::Not(node) => node.each_field(visit),
            Node::Nested { query, .. } => query.each_field(visit),
            Node::Is { field, .. } => field.iter().for_each(&mut *visit),
            Node::Range { field, .. } => visit(field),
        }
    }

    /// The values `field` must equal exactly in every match; `None` when the query does not
    /// pin it down. An `and` intersects what its parts require, an `or` unites them only when
    /// every branch pins the field; anything under `not` pins nothing.
    pub fn required_values(&self, field: &str) -> Option<BTreeSet<String>> {
        match self {
            Node::Is { field: Some(name), value: Value { kind: ValueKind::Exact(text), .. } }
                if name.exact() == Some(field) =>
            {
                Some(BTreeSet::from([text.clone()]))
            }
            Node::And(nodes) => nodes.iter().filter_map(|node| node.required_values(field)).reduce(|a, b| &a & &b),
            Node::Or(nodes) => nodes.iter().map(|node| node.required_values(field)).reduce(|a, b| Some(&a? | &b?))?,
            Node::Nested { query, .. } => query.required_values(field),
            Node::All | Node::Not(_) | Node::Is { .. } | Node::Range { .. } => None,
        }
    }
}

/// Kibana's tree in function notation: `and(is(event.action, "A"), not(exists(source.ip)))`.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, nodes: &[Node]| {
            write!(f, "{name}(")?;
            for (i, node) in nodes.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{node}")?;
            }
            f.write_str(")")
        };
        match self {
            Node::All => f.write_str("all"),
            Node::Or(nodes) => list(f, "or", nodes),
            Node::And(nodes) => list(f, "and", nodes),
            Node::Not(node) => write!(f, "not({node})"),
            Node::Nested { path, query } => write!(f, "nested({}, {query})", path.text),
            Node::Is { field: None, value } => write!(f, "text({})", value.kind),
            Node::Is { field: Some(field), value: Value { kind: ValueKind::Exists, .. } } => {
                write!(f, "exists({})", field.text)
            }
            Node::Is { field: Some(field), value } => write!(f, "is({}, {})", field.text, value.kind),
            Node::Range { field, op, value } => write!(f, "range({} {} {})", field.text, op.symbol(), value.kind),
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueKind::Exact(text) => write!(f, "{text:?}"),
            ValueKind::Wildcard(pieces) => {
                let mut pattern = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Any => pattern.push('*'),
                        Piece::Text(text) => {
                            for c in text.chars() {
                                if c == '*' || c == '\\' {
                                    pattern.push('\\');
                                }
                                pattern.push(c);
                            }
                        }
                    }
                }
                write!(f, "wildcard({pattern:?})")
            }
            ValueKind::Exists => f.write_str("*"),
            ValueKind::Null => f.write_str("null"),
        }
    }
}

/// The pieces as text, a wildcard as `*`.
pub(crate) fn pieces_text(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.as_str(),
            Piece::Any => "*",
        })
        .collect()
}

/// Whole-string match of `text` against literal runs separated by `*`.
fn glob_match(pieces: &[Piece], text: &str) -> bool {
    let mut runs = pieces.split(|p| *p == Piece::Any).map(pieces_text);
    let first = runs.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first.as_str()) else { return false };
    let middle: Vec<String> = runs.collect();
    let Some((last, middle)) = middle.split_last() else { return rest.is_empty() };
    for run in middle {
        match rest.find(run.as_str()) {
            Some(at) => rest = &rest[at + run.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::{Piece, glob_match};

    fn pattern(text: &str) -> Vec<Piece> {
        text.split('*')
            .enumerate()
            .flat_map(|(i, run)| {
                let any = (i > 0).then_some(Piece::Any);
                any.into_iter().chain((!run.is_empty()).then(|| Piece::Text(run.to_string())))
            })
            .collect()
    }

    #[test]
    fn field_patterns_match_whole_names() {
        for (glob, name, expected) in [
            ("aws.*", "aws.cloudtrail.error_code", true),
            ("*.ip", "source.ip", true),
            ("*.ip", "source.ip.x", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "ac", false),
            ("a*a", "a", false),
            ("*", "", true),
            ("x", "x", true),
        ] {
            assert_eq!(glob_match(&pattern(glob), name), expected, "{glob} vs {name}");
        }
    }
}
