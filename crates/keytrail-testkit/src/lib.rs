//! For keytrail's tests only.
//!
//! - [`require`]: what a test needs from outside the repository (the shared corpus, the IP
//!   data, a program, a Python module). Missing, it fails the test under
//!   `KEYTRAIL_REQUIRE_ALL=1` (CI), and otherwise skips it visibly: on stderr and in the skip
//!   log scripts/test.sh sums up.
//! - [`moto`]: moto's AWS server (S3, IAM, STS) on 127.0.0.1.
//! - [`files_under`]: the files a test's command wrote, walked.

pub mod moto;
pub mod require;

use std::path::{Path, PathBuf};

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
