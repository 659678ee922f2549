//! Every event of the real CloudTrail corpus is read, with no unexplained failure.

mod common;

use std::io::Write;

use common::{query, single_count};
use keytrail_engine::ReadOptions;
use keytrail_testkit::require::corpus;

async fn count_clean(paths: Vec<String>) -> i64 {
    let run = query("select count(*) from cloudtrail", &paths, ReadOptions::default()).await.unwrap();
    let errors = run.report.errors();
    assert!(
        errors.is_empty(),
        "unexpected errors reading {paths:?}:\n{}",
        errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
    );
    single_count(&run.batches)
}

#[tokio::test(flavor = "multi_thread")]
async fn invictus_ir_dataset_has_2900_events() {
    let Some(dir) = corpus("cloudtrail/invictus-ir-aws-dataset") else { return };
    assert_eq!(count_clean(vec![dir.display().to_string()]).await, 2900);
}

#[tokio::test(flavor = "multi_thread")]
async fn stratus_detonations_have_310_events() {
    let Some(dir) = corpus("cloudtrail/stratus-red-team-detonations") else { return };
    assert_eq!(count_clean(vec![dir.display().to_string()]).await, 310);
}

#[tokio::test(flavor = "multi_thread")]
async fn panther_test_events_are_all_read() {
    let Some(file) = corpus("cloudtrail/panther-tests/panther_cloudtrail_tests.jsonl") else { return };
    // The file holds test cases; the CloudTrail event of each is its `log`.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let mut out = std::fs::File::create(&events).unwrap();
    let (mut cases, mut objects) = (0, 0);
    for line in std::fs::read_to_string(&file).unwrap().lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        cases += 1;
        // Three cases test a missing event (`"log": null`); every other log is an event,
        // odd shapes included (lower-case keys, times without a zone or unreadable).
        if case["log"].is_object() {
            writeln!(out, "{}", case["log"]).unwrap();
            objects += 1;
        }
    }
    assert_eq!((cases, objects), (464, 461));
    assert_eq!(count_clean(vec![events.display().to_string()]).await, 461);
}

#[tokio::test(flavor = "multi_thread")]
async fn elastic_pipeline_samples_are_all_read() {
    let Some(dir) = corpus("cloudtrail/elastic-integration-samples") else { return };
    let mut logs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| p.display().to_string())
        .collect();
    logs.sort();
    let lines: usize =
        logs.iter().map(|p| std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.trim().is_empty()).count()).sum();
    assert_eq!(lines, 20);
    assert_eq!(count_clean(logs).await, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn deliberately_invalid_ips_leave_source_ip_empty() {
    let Some(dir) = corpus("cloudtrail/stratus-red-team-detonations") else { return };
    let sql = r#"select count(*) from cloudtrail where "source.address" = '253.252.51.07' and "source.ip" is null"#;
    let run = query(sql, &[dir.display().to_string()], ReadOptions::default()).await.unwrap();
    assert!(single_count(&run.batches) > 0, "the corpus has events from 253.252.51.07, kept with no source.ip");
}
