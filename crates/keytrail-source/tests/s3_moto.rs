//! s3:// inputs against a real S3 API: moto's server on 127.0.0.1, started by keytrail-testkit. Skips with a
//! message when moto is not installed (scripts/test.sh installs it).

use aws_sdk_s3::primitives::ByteStream;
use keytrail_source::{AwsOptions, DiscoverOptions, SourceObject, Sources, TimeRange};
use keytrail_testkit::moto::{ENVIRONMENT, Moto};

#[tokio::test(flavor = "multi_thread")]
async fn lists_prunes_and_fetches_the_s3_layout() {
    let Some(moto) = Moto::start() else { return };
    // SAFETY: this test binary has a single test, which sets the variables before any thread
    // that could read them (the SDK's) starts.
    for (name, value) in ENVIRONMENT {
        unsafe { std::env::set_var(name, value) };
    }
    let options =
        AwsOptions { endpoint_url: Some(moto.endpoint.clone()), region: Some("us-east-1".into()), profile: None };
    let config = options.sdk_config().await;
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

    let discover = DiscoverOptions { time_range: TimeRange::default(), aws: options.clone() };
    let sources = Sources::discover(&["s3://trail/logs/".to_string()], &discover).await.unwrap();
    let objects: Vec<SourceObject> = sources.objects().map(Result::unwrap).collect();
    let found: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
    assert_eq!(found, [format!("s3://trail/{}", keys[0]), format!("s3://trail/{}", keys[1])]);
    assert_eq!(sources.fetch(&objects[1]).await.unwrap(), b"object 1");
    assert!(matches!(&objects[0], SourceObject::S3 { size: 8, .. }));

    let since = chrono::DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z").unwrap().to_utc();
    let discover = DiscoverOptions { time_range: TimeRange { since: Some(since), until: None }, aws: options.clone() };
    let sources = Sources::discover(&["s3://trail/logs".to_string()], &discover).await.unwrap();
    assert_eq!(sources.objects().count(), 1, "the 2024/05/01 folder is pruned unlisted");

    let missing = Sources::discover(
        &["s3://no-such-bucket/x".to_string()],
        &DiscoverOptions { aws: options, ..Default::default() },
    )
    .await;
    let message = missing.expect_err("a missing bucket is an error").to_string();
    assert!(message.starts_with("s3://no-such-bucket/x: listing failed"), "{message}");
}
