//! What a test needs from outside the repository, and what happens when it is missing.
//!
//! cargo hides the output of a passing test, so a test that returned early for want of its
//! input would pass unseen. Such a test asks here instead, and when the input is missing:
//!
//! - with `KEYTRAIL_REQUIRE_ALL=1` (scripts/test.sh sets it under CI) the test fails, naming
//!   itself, what is missing and how to get it;
//! - otherwise it prints `skipping: <test>: <why> (<how to get it>)` and, when
//!   `KEYTRAIL_SKIP_LOG` names a file, appends `<test> — <why>` to it, so that scripts/test.sh
//!   can list every skip once the tests are over.
//!
//! The test is named as `<package>/<test binary>::<test>`: libtest runs each test on a thread
//! named after it, so a helper shared by many tests still names the one that called it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set to anything but `0`, a missing input fails the test instead of skipping it.
pub const REQUIRE_ALL: &str = "KEYTRAIL_REQUIRE_ALL";
/// The file each skip is appended to.
pub const SKIP_LOG: &str = "KEYTRAIL_SKIP_LOG";
/// The shared corpus, when it is not `../shared/corpus` beside the project root.
pub const CORPUS_DIR: &str = "KEYTRAIL_CORPUS_DIR";

/// `relative` inside the shared corpus (`""`: the corpus itself), if it is there.
#[track_caller]
pub fn corpus(relative: &str) -> Option<PathBuf> {
    let root = match std::env::var_os(CORPUS_DIR) {
        Some(dir) => PathBuf::from(dir),
        // crates/keytrail-testkit → the project root → the folder beside it.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(3).unwrap().join("shared/corpus"),
    };
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    missing(
        &format!("{} is absent", path.display()),
        &format!("the shared corpus belongs in ../shared/corpus beside the project root, or where {CORPUS_DIR} says"),
    );
    None
}

/// The path the environment variable `var` holds, if it is set.
#[track_caller]
pub fn env_path(var: &str, how_to_get: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
        _ => {
            missing(&format!("{var} is not set"), how_to_get);
            None
        }
    }
}

/// The first of `names` that runs (`<name> --version` succeeds).
#[track_caller]
pub fn program<'a>(names: &[&'a str], how_to_get: &str) -> Option<&'a str> {
    let found = names
        .iter()
        .copied()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|output| output.status.success()));
    if found.is_none() {
        missing(&format!("none of {} runs", names.join(", ")), how_to_get);
    }
    found
}

/// Whether `python3` can import `module`.
#[track_caller]
pub fn python_module(module: &str, how_to_get: &str) -> bool {
    let importable = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !importable {
        missing(&format!("python3 cannot import {module}"), how_to_get);
    }
    importable
}

#[track_caller]
fn missing(why: &str, how_to_get: &str) {
    let require_all = std::env::var_os(REQUIRE_ALL).is_some_and(|value| !value.is_empty() && value != "0");
    let skip_log = std::env::var_os(SKIP_LOG).map(PathBuf::from);
    skip_or_fail(&current_test(), why, how_to_get, require_all, skip_log.as_deref());
}

#[track_caller]
fn skip_or_fail(test: &str, why: &str, how_to_get: &str, require_all: bool, skip_log: Option<&Path>) {
    assert!(!require_all, "{test}: {why} ({how_to_get}); {REQUIRE_ALL} is set, so no test may skip");
    eprintln!("skipping: {test}: {why} ({how_to_get})");
    if let Some(log) = skip_log {
        // One write of one line: appends from tests running in parallel do not interleave.
        let line = format!("{test} — {why}\n");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| file.write_all(line.as_bytes()))
            .unwrap_or_else(|error| panic!("cannot append to the skip log {}: {error}", log.display()));
    }
}

fn current_test() -> String {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<a test on an unnamed thread>");
    // The test binary is `<target>-<hash>`.
    let exe = std::env::current_exe().ok();
    let stem = exe.as_deref().and_then(Path::file_stem).map(|stem| stem.to_string_lossy().into_owned());
    let target = stem.as_deref().map(|stem| stem.rsplit_once('-').map_or(stem, |(target, _)| target));
    match (std::env::var("CARGO_PKG_NAME").ok(), target) {
        (Some(package), Some(target)) => format!("{package}/{target}::{test}"),
        (None, Some(target)) => format!("{target}::{test}"),
        (_, None) => test.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "a test: /nowhere/corpus is absent (put it there); KEYTRAIL_REQUIRE_ALL is set")]
    fn under_require_all_a_missing_input_fails_naming_the_test_and_what_is_missing() {
        skip_or_fail("a test", "/nowhere/corpus is absent", "put it there", true, None);
    }

    #[test]
    fn otherwise_each_skip_is_appended_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skipped.log");
        skip_or_fail("a test", "KEYTRAIL_TEST_GEO_DB is not set", "fetch it", false, Some(&log));
        skip_or_fail("another", "python3 cannot import duckdb", "pip install duckdb", false, Some(&log));
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "a test — KEYTRAIL_TEST_GEO_DB is not set\nanother — python3 cannot import duckdb\n"
        );
    }

    #[test]
    fn the_test_is_named_by_its_package_binary_and_name() {
        assert_eq!(
            current_test(),
            "keytrail-testkit/keytrail_testkit::require::tests::the_test_is_named_by_its_package_binary_and_name"
        );
    }
}
