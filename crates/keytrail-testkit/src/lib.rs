//! For keytrail's tests only.
//!
//! - [`require`]: what a test needs from outside the repository (the shared corpus, the IP
//!   data, a program, a Python module). Missing, it fails the test under
//!   `KEYTRAIL_REQUIRE_ALL=1` (CI), and otherwise skips it visibly: on stderr and in the skip
//!   log scripts/test.sh sums up.
//! - [`moto`]: moto's AWS server (S3, IAM, STS) on 127.0.0.1.
//! - [`http`]: an HTTP server that records what it is sent (the watch's HTTP sinks).
//! - [`files_under`]: the files a test's command wrote, walked.
//! - [`isolated`]: the keytrail binary, kept from the machine's data and settings;
//!   [`stdout_of`] a run of it that must end with a given status.
//! - [`Worker`]: a `keytrail worker` on a free port.

pub mod http;
pub mod moto;
pub mod require;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

/// The stdout of `command`, which must end with exit status `code` (else the test fails with
/// the command and its stderr).
pub fn stdout_of(command: &mut Command, code: i32) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{command:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
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

/// A `keytrail worker` on a free port of 127.0.0.1, killed when dropped.
pub struct Worker {
    child: Child,
    /// `127.0.0.1:PORT`, as `--workers` takes it.
    pub address: String,
}

impl Worker {
    /// Starts `keytrail`, the binary with its environment set (see [`isolated`]), as a worker.
    pub fn start(mut keytrail: Command) -> Worker {
        let mut child = keytrail.args(["worker", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().unwrap();
        // The worker says where it listens once it does.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        assert!(address.starts_with("127.0.0.1:"), "the worker said: {line}");
        Worker { child, address }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
