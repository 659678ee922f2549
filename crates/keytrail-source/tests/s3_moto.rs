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
        // Other accounts, regions and days, put out of order: the walk yields key order.
        "logs/AWSLogs/444455556666/CloudTrail/eu-west-1/2024/05/02/444455556666_CloudTrail_eu-west-1_20240502T0900Z_c.json.gz".to_string(),
        "logs/AWSLogs/111122223333/CloudTrail/us-west-2/2024/05/03/111122223333_CloudTrail_us-west-2_20240503T0800Z_d.json.gz".to_string(),
        format!("{base}/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T0955Z_e.json.gz"),
        "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/04/30/111122223333_CloudTrail_us-east-1_20240430T2355Z_f.json.gz".to_string(),
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
    let objects: Vec<SourceObject> = sources.objects().all().await.into_iter().map(Result::unwrap).collect();
    let found: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
    let mut logs: Vec<String> = [0, 1, 4, 5, 6, 7].into_iter().map(|i| format!("s3://trail/{}", keys[i])).collect();
    logs.sort();
    assert_eq!(found, logs);
    let first_a = found.iter().position(|f| f.ends_with("_a.json.gz")).unwrap();
    let keytrail_source::Body::Bytes(bytes) = sources.fetch(&objects[first_a]).await.unwrap() else {
        panic!("S3 objects are fetched whole")
    };
    assert_eq!(bytes, b"object 0");
    assert!(matches!(&objects[first_a], SourceObject::S3 { size: 8, .. }));

    let since = chrono::DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z").unwrap().to_utc();
    let discover = DiscoverOptions { time_range: TimeRange { since: Some(since), until: None }, aws: options.clone() };
    let sources = Sources::discover(&["s3://trail/logs".to_string()], &discover).await.unwrap();
    let found: Vec<String> = sources.objects().all().await.into_iter().map(|o| o.unwrap().to_string()).collect();
    assert_eq!(found.len(), 3, "the days before 2024/05/02 are pruned unlisted: {found:?}");
    assert!(found.iter().all(|f| f.contains("/2024/05/02/") || f.contains("/2024/05/03/")), "{found:?}");

    let missing = Sources::discover(
        &["s3://no-such-bucket/x".to_string()],
        &DiscoverOptions { aws: options, ..Default::default() },
    )
    .await;
    let message = missing.expect_err("a missing bucket is an error").to_string();
    assert!(message.starts_with("s3://no-such-bucket/x: listing failed"), "{message}");
}
