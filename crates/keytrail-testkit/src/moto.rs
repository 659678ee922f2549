//! For tests that need an AWS API (S3, IAM, STS): moto's server (`pip install 'moto[server]'`),
//! started on a free 127.0.0.1 port and stopped when dropped. When moto is not installed,
//! [`Moto::start`] returns None and the test skips as [`crate::require`] says: on stderr and in
//! the skip log, or, under `KEYTRAIL_REQUIRE_ALL=1`, it fails (scripts/test.sh installs moto).
//!
//! moto accepts any credentials; its account is [`ACCOUNT`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::require;

/// The account id moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// The environment for talking to moto, for the SDK in a test and for the keytrail binary it
/// runs: any credentials, a region, and none of the shared config files of the machine the
/// tests run on.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials"),
];

/// How long moto may take to listen.
const STARTUP: Duration = Duration::from_secs(30);

pub struct Moto {
    child: Child,
    port: u16,
    /// `http://127.0.0.1:<port>`, for `--endpoint-url` or the SDK's `endpoint_url`.
    pub endpoint: String,
}

impl Moto {
    #[track_caller]
    pub fn start() -> Option<Moto> {
        if !require::python_module("moto.server", "pip install 'moto[server]'") {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port on 127.0.0.1 for moto")
            .port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts");
        let moto = Moto { child, port, endpoint: format!("http://127.0.0.1:{port}") };
        let begun = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(begun.elapsed() < STARTUP, "moto did not start within {STARTUP:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Whether moto checks each request against the caller's IAM policies from now on, as
    /// AWS does (moto's `/moto-api/reset-auth`); by default it lets everything through.
    pub fn enforce_iam(&self, enforce: bool) {
        let count = if enforce { "0" } else { "inf" };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("moto is listening");
        let request = format!(
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{count}",
            count.len()
        );
        stream.write_all(request.as_bytes()).expect("moto takes the request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("moto answers");
        assert!(response.starts_with("HTTP/1.1 200"), "moto refused reset-auth: {response}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
