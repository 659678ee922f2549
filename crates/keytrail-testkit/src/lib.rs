//! For keytrail's tests only.
//!
//! - [`require`]: what a test needs from outside the repository (the shared corpus, the IP
//!   data, a program, a Python module). Missing, it fails the test under
//!   `KEYTRAIL_REQUIRE_ALL=1` (CI), and otherwise skips it visibly: on stderr and in the skip
//!   log scripts/test.sh sums up.
//! - [`moto`]: moto's AWS server (S3, IAM, STS) on 127.0.0.1.

pub mod moto;
pub mod require;
