//! A query's own bounds on `@timestamp` narrow the read as `--since/--until` do: the files of
//! other days are never opened, and the answer is the one the whole read gives.

mod common;

use std::sync::atomic::Ordering;

use common::{query, single_count};
use keytrail_engine::ReadOptions;

/// Three days in the S3 layout, one delivery file a day, each with an event at noon.
fn estate(root: &std::path::Path) -> String {
    let logs = root.join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05");
    for day in ["01", "02", "03"] {
        let folder = logs.join(day);
        std::fs::create_dir_all(&folder).unwrap();
        let record = format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","userName":"alice"}},"eventTime":"2024-05-{day}T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"e{day}"}}"#
        );
        let name = format!("111122223333_CloudTrail_us-east-1_202405{day}T1205Z_Delivery{day}.json");
        std::fs::write(folder.join(name), format!(r#"{{"Records":[{record}]}}"#)).unwrap();
    }
    root.join("AWSLogs").display().to_string()
}

#[tokio::test]
async fn time_bounds_in_the_query_skip_other_days() {
    let dir = tempfile::tempdir().unwrap();
    let paths = [estate(dir.path())];
    let cases = [
        (
            r#"select count(*) from cloudtrail where "@timestamp" >= '2024-05-02T00:00:00Z' and "@timestamp" < '2024-05-03T00:00:00Z'"#,
            1,
            1,
        ),
        (
            r#"select count(*) from cloudtrail where "@timestamp" between '2024-05-02T06:00:00Z' and '2024-05-03T18:00:00Z'"#,
            2,
            2,
        ),
        // An OR of bounds, or bounds on another column, prune nothing.
        (r#"select count(*) from cloudtrail where "@timestamp" < '2024-05-02T00:00:00Z' or "event.id" = 'e03'"#, 2, 3),
        (r#"select count(*) from cloudtrail where "event.ingested" > '2024-05-02T00:00:00Z'"#, 2, 3),
    ];
    for (sql, count, files_read) in cases {
        let run = query(sql, &paths, ReadOptions::default()).await.unwrap();
        assert_eq!(single_count(&run.batches), count, "{sql}");
        assert_eq!(run.report.objects_read.load(Ordering::Relaxed), files_read, "{sql}");
    }
}
