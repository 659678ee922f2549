//! Finding and parsing rule files. A broken file is reported with its path and line and
//! never stops the others from loading.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::RuleFile;

/// A parsed rule file and the text it came from (kept to turn byte spans into lines).
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// The file's path, or `builtin:<name>` for rules embedded in keytrail.
    pub origin: String,
    pub text: String,
    pub file: RuleFile,
}

impl RuleSource {
    /// The 1-based line of a byte offset in the file.
    pub fn line_of(&self, offset: usize) -> usize {
        line_of(&self.text, offset)
    }
}

/// Why a rule cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub origin: String,
    pub line: Option<usize>,
    /// The rule's `type` when the file got that far.
    pub rule_type: Option<String>,
    pub kind: RuleErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// The file is wrong: bad TOML, a missing key, a query that does not parse.
    Invalid,
    /// The file is fine but uses something keytrail does not run yet.
    Unsupported,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Every `*.toml` file under `path` (a file or a folder, recursively, in name order).
pub fn rule_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let child = entry.path();
        if child.is_dir() {
            files.extend(rule_files(&child)?);
        } else if child.extension().is_some_and(|e| e == "toml") {
            files.push(child);
        }
    }
    Ok(files)
}

/// Parses one rule file's text.
pub fn parse_rule(origin: &str, text: String) -> Result<RuleSource, RuleError> {
    match toml::from_str::<RuleFile>(&text) {
        Ok(file) => Ok(RuleSource { origin: origin.to_string(), text, file }),
        Err(error) => Err(RuleError {
            origin: origin.to_string(),
            line: error.span().map(|span| line_of(&text, span.start)),
            rule_type: None,
            kind: RuleErrorKind::Invalid,
            message: error.message().trim().to_string(),
        }),
    }
}

/// Reads and parses every rule file under `path`.
pub fn load_path(path: &Path) -> (Vec<RuleSource>, Vec<RuleError>) {
    let (mut rules, mut errors) = (Vec::new(), Vec::new());
    let unreadable = |origin: &Path, error: std::io::Error| RuleError {
        origin: origin.display().to_string(),
        line: None,
        rule_type: None,
        kind: RuleErrorKind::Invalid,
        message: format!("cannot read: {error}"),
    };
    let files = match rule_files(path) {
        Ok(files) => files,
        Err(error) => return (rules, vec![unreadable(path, error)]),
    };
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => match parse_rule(&file.display().to_string(), text) {
                Ok(rule) => rules.push(rule),
                Err(error) => errors.push(error),
            },
            Err(error) => errors.push(unreadable(&file, error)),
        }
    }
    (rules, errors)
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_toml_names_the_line() {
        let error = parse_rule("r.toml", "[rule]\nname = \"x\"\nrisk_score = \"high\"\n".into()).unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
        assert_eq!(error.kind, RuleErrorKind::Invalid);
        let error = parse_rule("r.toml", "[rule]\nname = \"x\n".into()).unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
    }

    #[test]
    fn a_broken_file_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "not toml at all [").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/b.toml"),
            "[rule]\nrule_id = \"b\"\nname = \"B\"\ntype = \"query\"\nrisk_score = 21\nseverity = \"low\"\nquery = \"event.action:X\"\nunknown_key = 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.md"), "ignored").unwrap();
        let (rules, errors) = load_path(dir.path());
        assert_eq!(rules.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].origin.ends_with("a.toml"));
    }
}
