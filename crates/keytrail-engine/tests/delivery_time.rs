//! `event.ingested` is the delivery time of the event's log file, from its name; events
//! read from files not named like CloudTrail's were ingested when they happened.

mod common;

use common::query;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::TimestampMillisecondType;
use keytrail_engine::ReadOptions;

fn event(id: &str, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","userName":"alice"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"{id}","eventType":"AwsApiCall"}}"#
    )
}

#[tokio::test]
async fn events_are_ingested_when_their_file_was_delivered_else_when_they_happened() {
    let dir = tempfile::tempdir().unwrap();
    let delivered = dir.path().join("111122223333_CloudTrail_us-east-1_20240501T1040Z_LateDelivery0001.json");
    std::fs::write(&delivered, format!(r#"{{"Records":[{}]}}"#, event("late", "2024-05-01T10:00:00Z"))).unwrap();
    let exported = dir.path().join("export.ndjson");
    std::fs::write(&exported, event("exported", "2024-05-01T10:01:00Z")).unwrap();

    let paths = [delivered.display().to_string(), exported.display().to_string()];
    let sql = r#"select "event.id", "event.ingested" from cloudtrail order by 1"#;
    let run = query(sql, &paths, ReadOptions::default()).await.unwrap();
    let mut got = Vec::new();
    for batch in &run.batches {
        let ids = batch.column(0).as_string::<i32>();
        let ingested = batch.column(1).as_primitive::<TimestampMillisecondType>();
        got.extend((0..batch.num_rows()).map(|row| (ids.value(row).to_string(), ingested.value(row))));
    }
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
    assert_eq!(
        got,
        [("exported".to_string(), at("2024-05-01T10:01:00Z")), ("late".to_string(), at("2024-05-01T10:40:00Z"))]
    );
}
