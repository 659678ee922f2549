//! The Parquet lake end to end: `ingest` a simulated estate, and every reading command answers
//! from the lake as it does from the raw logs; a second ingest adds only what is new; an
//! ingest that stopped before its commit leaves nothing behind.

mod common;

use std::path::Path;

use common::{keytrail, run};
use keytrail_testkit::files_under;

/// Queries whose answers must be the same from both: whole-table aggregates, the fixed columns
/// of every kind (text, time, list), a flattened path, and time bounds that prune date folders.
const QUERIES: &[&str] = &[
    r#"select count(*) n, count(distinct "event.id") ids, min("@timestamp") first, max("@timestamp") last, min("event.ingested") ingested from cloudtrail"#,
    r#"select "cloud.account.id", "event.action", count(*) n from cloudtrail group by 1, 2 order by 3 desc, 1, 2 limit 25"#,
    r#"select "event.type"[1] t, "event.outcome" o, count(*) n from cloudtrail group by 1, 2 order by 1, 2"#,
    r#"select "aws.cloudtrail.flattened.request_parameters.userName" u, count(*) n from cloudtrail where "aws.cloudtrail.flattened.request_parameters.userName" is not null group by 1 order by 2 desc, 1 limit 10"#,
    r#"select count(*) n, count(distinct "source.ip") ips from cloudtrail where "@timestamp" >= timestamp '2024-05-02T06:00:00Z' and "@timestamp" < timestamp '2024-05-03T00:00:00Z'"#,
    r#"select "event.id", "user.name", "aws.cloudtrail.user_identity.access_key_id" from cloudtrail where "event.action" = 'CreateUser' order by 1"#,
];

#[test]
fn every_command_answers_from_the_lake_as_from_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (estate, lake) = (dir.path().join("estate"), dir.path().join("lake"));
    let (logs, lake) = (estate.join("AWSLogs"), lake.to_str().unwrap());
    let estate_arg = estate.to_str().unwrap();
    run(0, &["simulate", estate_arg, "--days", "3", "--events-per-day", "2500", "--start", "2024-05-01", "-q"]);
    let logs = logs.to_str().unwrap();

    let summary: serde_json::Value = serde_json::from_str(&run(0, &["ingest", logs, "--lake", lake, "-q"])).unwrap();
    assert!(summary["events"].as_u64().unwrap() > 7000, "{summary}");
    assert_eq!(summary["log_files_already_in_lake"], 0);

    assert_sorted_by_time(&Path::new(lake).join("events"));

    for sql in QUERIES {
        let from_logs = run(0, &["query", sql, logs, "--format", "csv", "-q"]);
        assert!(from_logs.lines().count() > 1, "{sql}: no rows");
        assert_eq!(run(0, &["query", sql, lake, "--format", "csv", "-q"]), from_logs, "{sql}");
    }
    let bounds = ["--since", "2024-05-01T18:00:00Z", "--until", "2024-05-02T03:00:00Z"];
    let sql = r#"select count(*) n, min("@timestamp"), max("@timestamp") from cloudtrail"#;
    let within = |input: &str| run(0, &[&["query", sql, input, "--format", "csv", "-q"][..], &bounds[..]].concat());
    assert_eq!(within(lake), within(logs));

    // Exit 1: the simulated attacks raise alerts.
    let hunt = |input: &str| run(1, &["hunt", input, "--format", "ndjson", "-q"]);
    assert_eq!(hunt(lake), hunt(logs));
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(estate.join("ground-truth.json")).unwrap()).unwrap();
    let key = truth["attacks"][0]["access_key_ids"][0].as_str().unwrap();
    let investigate = |input: &str| run(0, &["investigate", input, "--access-key-id", key, "--format", "json", "-q"]);
    assert_eq!(investigate(lake), investigate(logs));
    assert!(run(0, &["convert", lake, "--to", "ndjson", "-o", "-", "-q"]).lines().count() as u64 == summary["events"]);

    // A lake is read alone.
    let output = keytrail(&["query", "select 1", lake, logs]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is a keytrail lake: read it alone"));
}

#[test]
fn a_second_ingest_adds_only_new_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let (estate, lake) = (dir.path().join("estate"), dir.path().join("lake"));
    run(0, &["simulate", estate.to_str().unwrap(), "--days", "2", "--events-per-day", "1000", "-q"]);
    let (logs, lake) = (estate.join("AWSLogs"), lake.to_str().unwrap());
    let logs_arg = logs.to_str().unwrap();
    let ingest =
        || -> serde_json::Value { serde_json::from_str(&run(0, &["ingest", logs_arg, "--lake", lake, "-q"])).unwrap() };
    let count = || run(0, &["query", "select count(*) n from cloudtrail", lake, "-q"]);

    let first = ingest();
    let files = first["log_files_ingested"].as_u64().unwrap();
    assert_eq!(count().trim(), format!(r#"{{"n":{}}}"#, first["events"]));
    let again = ingest();
    assert_eq!(
        (again["log_files_ingested"].as_u64(), again["log_files_already_in_lake"].as_u64()),
        (Some(0), Some(files))
    );

    // A new delivery beside the others: only it is read.
    let delivered = log_files(&logs).pop().unwrap();
    let name = delivered.file_name().unwrap().to_str().unwrap().replace(".json.gz", "-late.json.gz");
    std::fs::copy(&delivered, delivered.with_file_name(name)).unwrap();
    let late = ingest();
    assert_eq!(
        (late["log_files_ingested"].as_u64(), late["log_files_already_in_lake"].as_u64()),
        (Some(1), Some(files))
    );
    let total = first["events"].as_u64().unwrap() + late["events"].as_u64().unwrap();
    assert_eq!(count().trim(), format!(r#"{{"n":{total}}}"#));

    // An ingest killed before its commit left files in staging: the next ingest removes them,
    // and the lake reads as before.
    let staged = Path::new(lake).join("_keytrail/staging/20240101T000000.000Z-1/date=2024-01-01/account=111122223333");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::write(staged.join("part-0.parquet"), b"half a file").unwrap();
    ingest();
    assert!(!staged.exists());
    assert_eq!(count().trim(), format!(r#"{{"n":{total}}}"#));
}

/// The event files of an estate (not its digests).
fn log_files(folder: &Path) -> Vec<std::path::PathBuf> {
    let is_log = |path: &Path| {
        let name = path.to_string_lossy();
        name.ends_with(".json.gz") && !name.contains("Digest")
    };
    files_under(folder).into_iter().filter(|path| is_log(path)).collect()
}

/// Every Parquet file under `folder` has its rows in time order, and the partition folders
/// it is in name its events' day and account.
fn assert_sorted_by_time(folder: &Path) {
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::TimestampMillisecondType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut files = 0;
    for entry in files_under(folder) {
        let path = entry.to_string_lossy().into_owned();
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&entry).unwrap()).unwrap().build().unwrap();
        let mut last = i64::MIN;
        for batch in reader {
            let batch = batch.unwrap();
            let times = batch.column_by_name("@timestamp").unwrap().as_primitive::<TimestampMillisecondType>();
            let accounts = batch.column_by_name("cloud.account.id").unwrap();
            let accounts = accounts.as_any().downcast_ref::<StringArray>().unwrap();
            for row in 0..batch.num_rows() {
                let time = times.value(row);
                assert!(time >= last, "{path}: not in time order");
                last = time;
                let day = chrono::DateTime::from_timestamp_millis(time).unwrap().date_naive();
                assert!(path.contains(&format!("date={day}/account={}/", accounts.value(row))), "{path}");
            }
        }
        files += 1;
    }
    assert!(files > 3, "{files} files");
}
