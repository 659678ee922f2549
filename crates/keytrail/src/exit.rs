//! The exit status: one scheme for every command, as grep's and ruff's. 0: the command did
//! its job and flags nothing. 1: it did its job and flags what a script may branch on (each
//! command's `--help` says what; most commands never do). 2: it failed — bad arguments,
//! unreadable input under `--strict`, a rule or an AWS call that failed. A closed pipe
//! (`keytrail … | head`) is not a failure.

use std::process::ExitCode;

/// 1 when the command flags something, else 0.
pub fn flagged(flags: bool) -> ExitCode {
    if flags { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

pub fn failed() -> ExitCode {
    ExitCode::from(2)
}

/// A command's exit status for its `--help`: `flags` says when it exits 1, for the commands
/// that can. The README's "Exit status" section repeats these sentences (a test holds them
/// together).
pub fn help(flags: Option<&str>) -> String {
    match flags {
        Some(flags) => format!("Exit status: 0 on success, 1 when {flags}, 2 on errors."),
        None => "Exit status: 0 on success, 2 on errors.".to_string(),
    }
}
