//! `keytrail query` over `s3://`, end to end through the engine's fetch-ahead queue: moto's S3
//! on 127.0.0.1 (skipped with a message when moto is not installed). Delivery files in the S3
//! layout are counted, days outside `--since` are never fetched, and a damaged object is
//! reported by its URL while the others are read; two workers read the same.
//!
//! One test, because it sets the process's AWS environment for the SDK.

use std::io::Write;
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use keytrail_source::AwsOptions;
use keytrail_testkit::moto::{ENVIRONMENT, Moto};
use keytrail_testkit::{Worker, isolated};

const DAY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05";

/// A gzipped delivery file of `events` calls on `day` (of May 2024).
fn delivery(day: u32, events: usize) -> Vec<u8> {
    let records: Vec<String> = (0..events)
        .map(|i| {
            format!(
                r#"{{"eventVersion":"1.08","eventTime":"2024-05-{day:02}T10:{:02}:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.{i}","userIdentity":{{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAEXAMPLE"}},"eventID":"{day}-{i}"}}"#,
                i % 60
            )
        })
        .collect();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes()).unwrap();
    gzip.finish().unwrap()
}

fn keytrail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .envs(ENVIRONMENT.iter().copied())
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_cloudtrail_in_s3() {
    let Some(moto) = Moto::start() else { return };
    // SAFETY: this test binary has a single test, which sets the variables before any thread
    // that could read them (the SDK's) starts.
    unsafe {
        for (name, value) in ENVIRONMENT {
            std::env::set_var(name, value);
        }
    }
    let options = AwsOptions { endpoint_url: Some(moto.endpoint.clone()), ..Default::default() };
    let config = options.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket("trail").send().await.unwrap();
    let objects = [
        (format!("{DAY}/01/111122223333_CloudTrail_us-east-1_20240501T1000Z_a.json.gz"), delivery(1, 7)),
        (format!("{DAY}/02/111122223333_CloudTrail_us-east-1_20240502T1000Z_b.json.gz"), delivery(2, 5)),
        (
            format!("{DAY}/02/111122223333_CloudTrail_us-east-1_20240502T1005Z_c.json.gz"),
            b"\x1f\x8b\x08damaged".to_vec(),
        ),
        (format!("{DAY}/03/111122223333_CloudTrail_us-east-1_20240503T1000Z_d.json.gz"), delivery(3, 11)),
    ];
    for (key, body) in &objects {
        s3.put_object().bucket("trail").key(key).body(ByteStream::from(body.clone())).send().await.unwrap();
    }

    let count = ["query", "--format", "csv", "select count(*) as n from cloudtrail", "s3://trail/AWSLogs/"];
    let output = keytrail(&[&count[..], &["--endpoint-url", &moto.endpoint]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().last(), Some("23"), "{stderr}");
    assert!(stderr.contains(&format!("s3://trail/{}", objects[2].0)), "the damaged object is named: {stderr}");

    // The same read on two workers, which fetch the objects themselves: with their own
    // credentials (moto's, from their environment), at the endpoint the coordinator names.
    let workers: Vec<Worker> = (0..2)
        .map(|_| {
            let mut keytrail = isolated(env!("CARGO_BIN_EXE_keytrail"));
            keytrail.envs(ENVIRONMENT.iter().copied());
            Worker::start(keytrail)
        })
        .collect();
    let cluster = workers.iter().map(|w| w.address.as_str()).collect::<Vec<_>>().join(",");
    let on_workers = keytrail(&[&count[..], &["--endpoint-url", &moto.endpoint, "--workers", &cluster]].concat());
    let worker_stderr = String::from_utf8_lossy(&on_workers.stderr);
    assert!(on_workers.status.success(), "{worker_stderr}");
    assert_eq!(on_workers.stdout, output.stdout, "{worker_stderr}");
    let summary = |text: &str| text.lines().find(|l| l.contains("events read")).map(str::to_string);
    assert_eq!(summary(&worker_stderr), summary(&stderr));
    drop(workers);

    let since = ["--since", "2024-05-02T12:00:00Z", "--endpoint-url", &moto.endpoint];
    let output = keytrail(&[&count[..], &since].concat());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).lines().last(),
        Some("11"),
        "only the 3rd's file: the 1st is pruned unlisted, the 2nd's events are before --since: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
