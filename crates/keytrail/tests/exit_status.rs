//! One exit-status scheme: every command's `--help` states its exit status in the README's
//! words, and the commands exit as they say.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn keytrail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every leaf command, as words to put before `--help`.
const COMMANDS: &[&str] = &[
    "query",
    "schema",
    "convert",
    "ingest",
    "simulate",
    "hunt",
    "investigate",
    "contain",
    "rules check",
    "rules show",
    "intel add",
    "intel list",
    "asn build",
    "asn lookup",
];

/// The README's table: command → exit status sentence.
fn readme_table() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let section = readme.split("### Exit status").nth(1).expect("README has an Exit status section");
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            match cells.as_slice() {
                [command, status] if status.starts_with("0 ") => {
                    Some((command.trim_matches('`').to_string(), status.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn every_help_states_the_readmes_exit_status() {
    let table = readme_table();
    let other = table.iter().find(|(command, _)| command == "every other command").expect("a row for the others");
    assert_eq!(table.len(), 4, "{table:?}");
    for command in COMMANDS {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let help = String::from_utf8(keytrail(&args).stdout).unwrap();
        let status = table.iter().find(|(c, _)| c == command).unwrap_or(other).1.as_str();
        assert!(help.contains(&format!("Exit status: {status}")), "keytrail {command} --help:\n{help}");
    }
}

#[test]
fn commands_exit_as_documented() {
    assert_eq!(keytrail(&["schema", "--format", "csv"]).status.code(), Some(0));
    assert_eq!(keytrail(&["query", "--no-such-flag"]).status.code(), Some(2), "a bad argument is an error");
    assert_eq!(keytrail(&["query", "select 1", "/nonexistent/logs"]).status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("bad.toml");
    std::fs::write(&rule, "[rule]\nname = 'no id'\n").unwrap();
    assert_eq!(keytrail(&["rules", "check", rule.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(keytrail(&["rules", "check"]).status.code(), Some(0), "the built-in rules all run");
}
