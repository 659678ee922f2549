//! s3:// inputs against a real S3 API: moto's server on 127.0.0.1, started here. Skips with a
//! message when moto is not installed (scripts/test.sh installs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use keytrail_source::{DiscoverOptions, S3Options, SourceObject, Sources, TimeRange};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Option<Moto> {
    let available =
        Command::new("python3").args(["-c", "import moto.server"]).stderr(Stdio::null()).status().ok()?.success();
    if !available {
        eprintln!("skipping: moto is not installed (pip install 'moto[server]')");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "moto did not start within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_prunes_and_fetches_the_s3_layout() {
    let Some(moto) = start_moto() else { return };
    // SAFETY: this test binary has a single test, which sets the variables before any thread
    // that could read them (the SDK's) starts.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let options =
        S3Options { endpoint_url: Some(moto.endpoint.clone()), region: Some("us-east-1".into()), profile: None };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let client =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    client.create_bucket().bucket("trail").send().await.unwrap();
    let base = "logs/AWSLogs/111122223333/CloudTrail/us-east-1";
    let keys = [
        format!("{base}/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1000Z_a.json.gz"),
        format!("{base}/2024/05/03/111122223333_CloudTrail_us-east-1_20240503T1000Z_b.json.gz"),
        "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240501T100000Z.json.gz".to_string(),
        format!("{base}/2024/05/01/notes.txt"),
    ];
    for (i, key) in keys.iter().enumerate() {
        client
            .put_object()
            .bucket("trail")
            .key(key)
            .body(ByteStream::from(format!("object {i}").into_bytes()))
            .send()
            .await
            .unwrap();
    }

    let discover = DiscoverOptions { time_range: TimeRange::default(), s3: options.clone() };
    let sources = Sources::discover(&["s3://trail/logs/".to_string()], &discover).await.unwrap();
    let found: Vec<String> = sources.objects().iter().map(|o| o.to_string()).collect();
    assert_eq!(found, [format!("s3://trail/{}", keys[0]), format!("s3://trail/{}", keys[1])]);
    assert_eq!(sources.fetch(1).await.unwrap(), b"object 1");
    assert!(matches!(&sources.objects()[0], SourceObject::S3 { size: 8, .. }));

    let since = chrono::DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z").unwrap().to_utc();
    let discover = DiscoverOptions { time_range: TimeRange { since: Some(since), until: None }, s3: options.clone() };
    let sources = Sources::discover(&["s3://trail/logs".to_string()], &discover).await.unwrap();
    assert_eq!(sources.len(), 1, "the 2024/05/01 folder is pruned unlisted");

    let missing = Sources::discover(
        &["s3://no-such-bucket/x".to_string()],
        &DiscoverOptions { s3: options, ..Default::default() },
    )
    .await;
    let message = missing.err().expect("a missing bucket is an error").to_string();
    assert!(message.starts_with("s3://no-such-bucket/x: listing failed"), "{message}");
}
