//! A recursive-descent parser that accepts exactly what Kibana's PEG grammar
//! (`kbn-es-query/src/kuery/grammar/grammar.peggy`) accepts.
//!
//! The grammar has a few rules that look odd but decide what real queries mean, and are kept:
//! - Unquoted text may contain spaces: `*S3 Browser*` is one value. It ends at a special
//!   character (`\ ( ) : < > " * { }`, `*` being a wildcard) or where a keyword begins, and is
//!   then trimmed.
//! - A keyword is `or`/`and` (any case) with whitespace on both sides, or `not` followed by
//!   whitespace. So `not(a:b)` is not a negation, `a:b or` is the value `b or`, and
//!   `a: cannot be` ends the value at `not `.
//! - `\` escapes only `\ ( ) : < > " * { }`, `t r n`, `uXXXX` and the keywords; anything else
//!   after a backslash is an error outside quotes and a literal backslash inside them.
//!
//! Where the PEG would backtrack, no other alternative could succeed, so each rule commits
//! and reports the innermost failure, which makes for precise error positions.

use crate::ast::{Name, Node, Piece, RangeOp, Span, Value, ValueKind, pieces_text};
use crate::error::KqlError;

pub(crate) fn parse(text: &str) -> Result<Node, KqlError> {
    let mut parser = Parser { text, pos: 0, prefix: Vec::new() };
    parser.pos = parser.skip_spaces(0);
    if parser.pos == text.len() {
        return Ok(Node::All);
    }
    let node = parser.or_query("")?;
    parser.pos = parser.skip_spaces(parser.pos);
    match parser.peek() {
        None => Ok(node),
        Some(c @ (')' | '}')) => Err(parser.error(format!("unmatched '{c}'"))),
        Some(_) => Err(parser.error("expected 'and', 'or' or the end of the query")),
    }
}

/// Characters that end unquoted text unless escaped.
const SPECIAL: &str = "\\():<>\"*{}";

/// What a literal was written as.
enum Literal {
    Quoted(String),
    Unquoted(Vec<Piece>),
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    /// The enclosing `nested:{…}` paths, each followed by a `.`.
    prefix: Vec<Piece>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.char_at(self.pos)
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.text.get(at..)?.chars().next()
    }

    fn error(&self, message: impl Into<String>) -> KqlError {
        KqlError::at(self.text, self.pos, message)
    }

    fn place(&self, at: usize) -> String {
        let error = KqlError::at(self.text, at, "");
        format!("{}:{}", error.line, error.column)
    }

    /// The position after any run of KQL whitespace from `at`.
    fn skip_spaces(&self, mut at: usize) -> usize {
        while let Some(c) = self.char_at(at).filter(|&c| is_space(c)) {
            at += c.len_utf8();
        }
        at
    }

    fn word_at(&self, at: usize, word: &str) -> bool {
        self.text.as_bytes().get(at..at + word.len()).is_some_and(|b| b.eq_ignore_ascii_case(word.as_bytes()))
    }

    /// `Space+ word Space+`, for `or` and `and`; the position after it.
    fn binary_keyword(&self, at: usize, word: &str) -> Option<usize> {
        let start = self.skip_spaces(at);
        if start == at || !self.word_at(start, word) {
            return None;
        }
        let end = self.skip_spaces(start + word.len());
        (end > start + word.len()).then_some(end)
    }

    /// `not Space+`; the position after it.
    fn not_keyword(&self, at: usize) -> Option<usize> {
        if !self.word_at(at, "not") {
            return None;
        }
        let end = self.skip_spaces(at + 3);
        (end > at + 3).then_some(end)
    }

    fn keyword_at(&self, at: usize) -> bool {
        self.binary_keyword(at, "or").is_some()
            || self.binary_keyword(at, "and").is_some()
            || self.not_keyword(at).is_some()
    }

    fn expect_close(&mut self, close: char, open_at: usize) -> Result<(), KqlError> {
        self.pos = self.skip_spaces(self.pos);
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        let open = self.text[open_at..].chars().next().unwrap_or(close);
        Err(self.error(format!("expected '{close}' to close the '{open}' at {}", self.place(open_at))))
    }

    fn or_query(&mut self, after: &str) -> Result<Node, KqlError> {
        let mut nodes = vec![self.and_query(after)?];
        while let Some(next) = self.binary_keyword(self.pos, "or") {
            self.pos = next;
            nodes.push(self.and_query(" after 'or'")?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::Or(nodes) })
    }

    fn and_query(&mut self, after: &str) -> Result<Node, KqlError> {
        let mut nodes = vec![self.not_query(after)?];
        while let Some(next) = self.binary_keyword(self.pos, "and") {
            self.pos = next;
            nodes.push(self.not_query(" after 'and'")?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::And(nodes) })
    }

    fn not_query(&mut self, after: &str) -> Result<Node, KqlError> {
        match self.not_keyword(self.pos) {
            Some(next) => {
                self.pos = next;
                Ok(Node::Not(Box::new(self.sub_query(" after 'not'")?)))
            }
            None => self.sub_query(after),
        }
    }

    fn sub_query(&mut self, after: &str) -> Result<Node, KqlError> {
        if self.peek() == Some('(') {
            let open = self.pos;
            self.pos = self.skip_spaces(self.pos + 1);
            let node = self.or_query(" after '('")?;
            self.expect_close(')', open)?;
            return Ok(node);
        }
        let start = self.pos;
        let Some(literal) = self.literal()? else {
            return Err(self.error(format!("expected a field, a value or '('{after}")));
        };
        let span = Span { start, end: self.pos };
        let after_literal = self.pos;
        self.pos = self.skip_spaces(self.pos);
        match self.peek() {
            Some(':') => {
                let field = self.field_name(literal, span);
                self.pos = self.skip_spaces(self.pos + 1);
                if self.peek() == Some('{') { self.nested(field) } else { self.list_of_values(&field, " after ':'") }
            }
            Some(c @ ('<' | '>')) => {
                let field = self.field_name(literal, span);
                let (op, symbol) = match (c, self.char_at(self.pos + 1) == Some('=')) {
                    ('<', true) => (RangeOp::Lte, "<="),
                    ('<', false) => (RangeOp::Lt, "<"),
                    (_, true) => (RangeOp::Gte, ">="),
                    (_, false) => (RangeOp::Gt, ">"),
                };
                self.pos = self.skip_spaces(self.pos + symbol.len());
                let start = self.pos;
                let Some(literal) = self.literal()? else {
                    return Err(self.error(format!("expected a value after '{symbol}'")));
                };
                Ok(Node::Range { field, op, value: range_value(literal, Span { start, end: self.pos }) })
            }
            Some('(') if matches!(&literal, Literal::Unquoted(p) if pieces_text(p).eq_ignore_ascii_case("not")) => {
                self.pos = start + 3;
                Err(self.error("expected whitespace between 'not' and '('"))
            }
            _ => {
                self.pos = after_literal;
                Ok(Node::Is { field: None, value: value(literal, span) })
            }
        }
    }

    /// The full name of a field written inside the current `nested` paths.
    fn field_name(&self, literal: Literal, span: Span) -> Name {
        let mut pieces = self.prefix.clone();
        match literal {
            Literal::Quoted(text) => pieces.push(Piece::Text(text)),
            Literal::Unquoted(written) => pieces.extend(written),
        }
        Name::new(merge_text(pieces), span)
    }

    fn nested(&mut self, path: Name) -> Result<Node, KqlError> {
        let open = self.pos;
        self.pos = self.skip_spaces(self.pos + 1);
        let outer = std::mem::take(&mut self.prefix);
        self.prefix = path.pattern.clone().unwrap_or_else(|| vec![Piece::Text(path.text.clone())]);
        self.prefix.push(Piece::Text(".".to_string()));
        let query = self.or_query(" after '{'");
        self.prefix = outer;
        let query = query?;
        self.expect_close('}', open)?;
        Ok(Node::Nested { path, query: Box::new(query) })
    }

    fn list_of_values(&mut self, field: &Name, after: &str) -> Result<Node, KqlError> {
        if self.peek() == Some('(') {
            let open = self.pos;
            self.pos = self.skip_spaces(self.pos + 1);
            let node = self.or_list(field)?;
            self.expect_close(')', open)?;
            return Ok(node);
        }
        let start = self.pos;
        match self.literal()? {
            Some(literal) => {
                Ok(Node::Is { field: Some(field.clone()), value: value(literal, Span { start, end: self.pos }) })
            }
            None => Err(self.error(format!("expected a value{after}"))),
        }
    }

    fn or_list(&mut self, field: &Name) -> Result<Node, KqlError> {
        let mut nodes = vec![self.and_list(field, " after '('")?];
        while let Some(next) = self.binary_keyword(self.pos, "or") {
            self.pos = next;
            nodes.push(self.and_list(field, " after 'or'")?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::Or(nodes) })
    }

    fn and_list(&mut self, field: &Name, after: &str) -> Result<Node, KqlError> {
        let mut nodes = vec![self.not_list(field, after)?];
        while let Some(next) = self.binary_keyword(self.pos, "and") {
            self.pos = next;
            nodes.push(self.not_list(field, " after 'and'")?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::And(nodes) })
    }

    fn not_list(&mut self, field: &Name, after: &str) -> Result<Node, KqlError> {
        match self.not_keyword(self.pos) {
            Some(next) => {
                self.pos = next;
                Ok(Node::Not(Box::new(self.list_of_values(field, " after 'not'")?)))
            }
            None => self.list_of_values(field, after),
        }
    }

    /// A quoted string or unquoted text; `None` when neither starts here.
    fn literal(&mut self) -> Result<Option<Literal>, KqlError> {
        if self.peek() == Some('"') {
            return self.quoted().map(|text| Some(Literal::Quoted(text)));
        }
        self.unquoted()
    }

    fn quoted(&mut self) -> Result<String, KqlError> {
        let open = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    self.pos = open;
                    return Err(self.error("unterminated quoted string"));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => match self.char_at(self.pos + 1) {
                    Some(c @ ('t' | 'r' | 'n' | '\\' | '"')) => {
                        text.push(unescape_simple(c));
                        self.pos += 2;
                    }
                    _ => match self.unicode_escape(self.pos) {
                        Some((c, len)) => {
                            text.push(c);
                            self.pos += len;
                        }
                        // Inside quotes any other backslash is itself.
                        None => {
                            text.push('\\');
                            self.pos += 1;
                        }
                    },
                },
                Some(c) => {
                    text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn unquoted(&mut self) -> Result<Option<Literal>, KqlError> {
        let start = self.pos;
        let mut pieces = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                let (escaped, len) = self.unquoted_escape()?;
                text.push_str(&escaped);
                self.pos += len;
            } else if c == '*' {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Any);
                self.pos += 1;
            } else if SPECIAL.contains(c) || self.keyword_at(self.pos) {
                break;
            } else {
                text.push(c);
                self.pos += c.len_utf8();
            }
        }
        if self.pos == start {
            return Ok(None);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Some(Literal::Unquoted(trim(pieces))))
    }

    /// An escape in unquoted text, in the grammar's order: whitespace (so `\not` is a newline
    /// and `ot`), special characters, `\uXXXX`, keywords.
    fn unquoted_escape(&self) -> Result<(String, usize), KqlError> {
        let next = self.char_at(self.pos + 1);
        if let Some(c @ ('t' | 'r' | 'n')) = next {
            return Ok((unescape_simple(c).to_string(), 2));
        }
        if let Some(c) = next.filter(|&c| SPECIAL.contains(c)) {
            return Ok((c.to_string(), 2));
        }
        if let Some((c, len)) = self.unicode_escape(self.pos) {
            return Ok((c.to_string(), len));
        }
        for word in ["or", "and", "not"] {
            if self.word_at(self.pos + 1, word) {
                return Ok((self.text[self.pos + 1..self.pos + 1 + word.len()].to_string(), word.len() + 1));
            }
        }
        let shown = next.map_or(String::new(), String::from);
        Err(self.error(format!(
            "invalid escape '\\{shown}': a backslash escapes only \\ ( ) : < > \" * {{ }}, t, r, n, uXXXX and the keywords"
        )))
    }

    /// `\uXXXX` at `at`, joined with a following `\uXXXX` when the two are a UTF-16 surrogate
    /// pair (Kibana builds a JavaScript string, where such a pair is one character).
    fn unicode_escape(&self, at: usize) -> Option<(char, usize)> {
        let unit = |at: usize| -> Option<u32> {
            let digits = self.text.get(at..at + 6)?.strip_prefix("\\u")?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(digits, 16).ok()
        };
        let first = unit(at)?;
        if (0xD800..0xDC00).contains(&first)
            && let Some(second) = unit(at + 6).filter(|u| (0xDC00..0xE000).contains(u))
        {
            let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
            return Some((c.unwrap_or(char::REPLACEMENT_CHARACTER), 12));
        }
        Some((char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER), 6))
    }
}

fn unescape_simple(c: char) -> char {
    match c {
        't' => '\t',
        'r' => '\r',
        'n' => '\n',
        other => other,
    }
}

/// KQL's `Space`: the only whitespace between tokens.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{A0}')
}

/// What JavaScript's `String.prototype.trim` removes, which Kibana applies to unquoted text.
fn is_js_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}')
}

fn trim(mut pieces: Vec<Piece>) -> Vec<Piece> {
    if let Some(Piece::Text(first)) = pieces.first_mut() {
        *first = first.trim_start_matches(is_js_whitespace).to_string();
    }
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        *last = last.trim_end_matches(is_js_whitespace).to_string();
    }
    pieces.retain(|piece| *piece != Piece::Text(String::new()));
    pieces
}

/// Joins neighbouring runs of text, so that a nested prefix and the name form one run.
fn merge_text(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (merged.last_mut(), piece) {
            (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
            (_, piece) => merged.push(piece),
        }
    }
    merged
}

fn value(literal: Literal, span: Span) -> Value {
    let kind = match literal {
        Literal::Quoted(text) => ValueKind::Exact(text),
        Literal::Unquoted(pieces) if pieces == [Piece::Any] => ValueKind::Exists,
        Literal::Unquoted(pieces) if pieces.contains(&Piece::Any) => ValueKind::Wildcard(pieces),
        Literal::Unquoted(pieces) => unquoted_text(&pieces),
    };
    Value { kind, span }
}

/// A range bound, where Kibana sends a wildcard as a literal `*`.
fn range_value(literal: Literal, span: Span) -> Value {
    let kind = match literal {
        Literal::Quoted(text) => ValueKind::Exact(text),
        Literal::Unquoted(pieces) => unquoted_text(&pieces),
    };
    Value { kind, span }
}

/// Unquoted `null` is Kibana's null literal; any other text is itself.
fn unquoted_text(pieces: &[Piece]) -> ValueKind {
    match pieces_text(pieces) {
        text if text == "null" => ValueKind::Null,
        text => ValueKind::Exact(text),
    }
}
