use std::fmt;

/// Where in an object a record sits. Records count from 0, lines and documents from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// In the object's `Records` array or JSON array.
    Index(usize),
    /// An event on its own NDJSON line.
    Line(usize),
    /// In the delivery file (or array) on an NDJSON line: (line, index).
    LineRecord(usize, usize),
    /// An event that is one of several JSON documents one after another.
    Document(usize),
    /// In the delivery file (or array) that is one of several documents: (document, index).
    DocumentRecord(usize, usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Index(i) => write!(f, "record {i}"),
            Position::Line(n) => write!(f, "line {n}"),
            Position::LineRecord(n, i) => write!(f, "line {n}, record {i}"),
            Position::Document(n) => write!(f, "document {n}"),
            Position::DocumentRecord(n, i) => write!(f, "document {n}, record {i}"),
        }
    }
}

/// A decoding failure. It never names a secret: messages quote positions and field names,
/// never record contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The record concerned; `None` when the whole object (or its rest) is affected.
    pub position: Option<Position>,
    pub message: String,
}

impl DecodeError {
    pub fn record(position: Position, message: impl Into<String>) -> DecodeError {
        DecodeError { position: Some(position), message: message.into() }
    }

    pub fn object(message: impl Into<String>) -> DecodeError {
        DecodeError { position: None, message: message.into() }
    }

    /// Whether the records after this one are still read. A bad record is skipped alone; an
    /// error about the object means nothing after it could be read.
    pub fn can_continue(&self) -> bool {
        self.position.is_some()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DecodeError {}
