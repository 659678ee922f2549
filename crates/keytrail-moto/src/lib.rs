//! For tests that need an AWS API (S3, IAM, STS): moto's server (`pip install 'moto[server]'`),
//! started on a free 127.0.0.1 port and stopped when dropped. When moto is not installed,
//! [`Moto::start`] says so and returns None, and the test skips (scripts/test.sh installs it).
//!
//! moto accepts any credentials; its account is [`ACCOUNT`].

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The account id moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// How long moto may take to listen.
const STARTUP: Duration = Duration::from_secs(30);

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`, for `--endpoint-url` or the SDK's `endpoint_url`.
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let installed = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            eprintln!("skipping: moto is not installed (pip install 'moto[server]')");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let begun = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(begun.elapsed() < STARTUP, "moto did not start within {STARTUP:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
