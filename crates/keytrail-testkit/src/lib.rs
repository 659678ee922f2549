//! For keytrail's tests only.
//!
//! - [`require`]: what a test needs from outside the repository (the shared corpus, the IP
//!   data, a program, a Python module). Missing, it fails the test under
//!   `KEYTRAIL_REQUIRE_ALL=1` (CI), and otherwise skips it visibly: on stderr and in the skip
//!   log scripts/test.sh sums up.
//! - [`moto`]: moto's AWS server (S3, IAM, STS) on 127.0.0.1.
//! - [`files_under`]: the files a test's command wrote, walked.
//! - [`isolated`]: the keytrail binary, kept from the machine's data and settings.

pub mod moto;
pub mod require;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The keytrail binary at `path` (`env!("CARGO_BIN_EXE_keytrail")`), to run with no IP data,
/// no databases or workers from the environment: what it reads is what the test gives it.
pub fn isolated(path: &str) -> Command {
    let mut command = Command::new(path);
    command
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .env_remove("KEYTRAIL_ASN_DB")
        .env_remove("KEYTRAIL_GEO_DB")
        .env_remove("KEYTRAIL_WORKERS");
    command
}

/// Every file under `folder`, at any depth, in path order.
pub fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}
