//! Errors that point into the query text.

use std::fmt;

/// A query that cannot be parsed or compiled, with the place in its text that is at fault.
///
/// Displays as `line:column: message`, e.g. `1:23: expected a value after ':'`, so a rule
/// loader can prefix it with the rule's file name and read like a compiler diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KqlError {
    /// Byte offset into the query text.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes) so that it matches what an editor shows.
    pub column: usize,
    pub message: String,
}

impl KqlError {
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> KqlError {
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        KqlError {
            offset,
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for KqlError {}
