//! The case-file format shared by the data-driven tests:
//!
//! ```text
//! # a comment, before the first case
//! === what the case shows
//! the input, one or more lines
//! ---
//! the expected output
//! ```
//!
//! Every case runs, and the test fails listing each case whose output differs. With
//! `KQL_BLESS=1` the file is rewritten with the actual outputs instead.

use std::fmt::Write;
use std::path::PathBuf;

pub struct Case {
    pub title: String,
    pub input: String,
    pub expected: String,
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
}

/// The file's preamble (everything before the first case) and its cases.
pub fn load(name: &str) -> (String, Vec<Case>) {
    let text = std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut sections = text.split("\n=== ");
    let preamble = sections.next().unwrap_or_default().to_string();
    let cases = sections
        .map(|section| {
            let (title, body) = section.split_once('\n').unwrap_or((section, ""));
            let (input, expected) = body
                .split_once("\n---\n")
                .or_else(|| body.strip_suffix("\n---").map(|input| (input, "")))
                .unwrap_or_else(|| panic!("{name}: case `{title}` has no `---` line"));
            Case { title: title.to_string(), input: input.to_string(), expected: expected.trim_end().to_string() }
        })
        .collect();
    (preamble, cases)
}

pub fn run(name: &str, outcome: impl Fn(&Case) -> String) {
    let (preamble, cases) = load(name);
    assert!(!cases.is_empty(), "{name} has no cases");
    let bless = std::env::var_os("KQL_BLESS").is_some();
    let mut failures = String::new();
    let mut blessed = preamble;
    for case in &cases {
        let actual = outcome(case).trim_end().to_string();
        if actual != case.expected {
            write!(
                failures,
                "\n=== {}\n{}\n--- expected\n{}\n--- actual\n{}\n",
                case.title, case.input, case.expected, actual
            )
            .unwrap();
        }
        write!(blessed, "\n=== {}\n{}\n---\n{}\n", case.title, case.input, actual).unwrap();
    }
    if bless {
        std::fs::write(path(name), blessed).unwrap();
    } else {
        assert!(failures.is_empty(), "{name}: cases that differ:\n{failures}");
    }
    eprintln!("{name}: {} cases", cases.len());
}
