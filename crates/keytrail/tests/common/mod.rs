//! What several of the command-line tests share: the keytrail binary, isolated from the
//! machine's data and settings, and a run of it that must end with a given status.

use std::process::Command;

use keytrail_testkit::{isolated, stdout_of};

pub fn keytrail(args: &[&str]) -> Command {
    let mut command = isolated(env!("CARGO_BIN_EXE_keytrail"));
    command.args(args);
    command
}

/// stdout of a run that must end with `code`.
pub fn run(code: i32, args: &[&str]) -> String {
    stdout_of(&mut keytrail(args), code)
}
