//! Errors that point into the query text.

use std::fmt;

/// What is wrong with a query, and where: `line:column` (both from 1) of the construct at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsqlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for EsqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for EsqlError {}

/// The line and column (from 1, in characters) of byte offset `at` in `text`.
pub(crate) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// An error at byte offset `at` of `text`.
pub(crate) fn error_at(text: &str, at: usize, message: impl Into<String>) -> EsqlError {
    let (line, column) = line_column(text, at);
    EsqlError { line, column, message: message.into() }
}
