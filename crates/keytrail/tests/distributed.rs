//! Two workers on this machine (`keytrail worker`, separate processes on free ports) run the
//! reads of `query`, `hunt` and `investigate` over a simulated estate, raw and as a lake, and every answer is
//! the one a single process gives; a worker that is gone, before or during a query, is an
//! error naming it, never a different answer.

use std::process::{Output, Stdio};
use std::time::Duration;

use keytrail_testkit::{Worker, isolated};

fn worker() -> Worker {
    Worker::start(isolated(env!("CARGO_BIN_EXE_keytrail")))
}

fn keytrail(args: &[&str]) -> Output {
    isolated(env!("CARGO_BIN_EXE_keytrail")).args(args).output().unwrap()
}

/// stdout and stderr of a run that must end with `code`.
fn run(code: i32, args: &[&str]) -> (String, String) {
    let output = keytrail(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "keytrail {args:?}: {stderr}");
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// Aggregates that shuffle between stages, a flattened path, time bounds, and rows in order.
const QUERIES: &[&str] = &[
    r#"select count(*) n, count(distinct "event.id") ids, min("@timestamp") first, max("event.ingested") ingested from cloudtrail"#,
    r#"select "cloud.account.id", "event.action", count(*) n from cloudtrail group by 1, 2 order by 3 desc, 1, 2 limit 25"#,
    r#"select "aws.cloudtrail.flattened.request_parameters.userName" u, count(*) n from cloudtrail where "aws.cloudtrail.flattened.request_parameters.userName" is not null group by 1 order by 2 desc, 1 limit 10"#,
    r#"select count(*) n, count(distinct "source.ip") ips from cloudtrail where "@timestamp" >= timestamp '2024-05-02T06:00:00Z' and "@timestamp" < timestamp '2024-05-03T00:00:00Z'"#,
    r#"select "event.id", "user.name", "aws.cloudtrail.user_identity.access_key_id" from cloudtrail where "event.action" = 'CreateUser' order by 1"#,
];

/// The line of the read's summary: `N events read from M files…`.
fn summary(stderr: &str) -> &str {
    stderr.lines().find(|line| line.contains(" events read from ")).unwrap_or_else(|| panic!("no summary in: {stderr}"))
}

#[test]
fn two_workers_answer_as_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let (estate, lake) = (dir.path().join("estate"), dir.path().join("lake"));
    let estate_arg = estate.to_str().unwrap();
    run(0, &["simulate", estate_arg, "--days", "3", "--events-per-day", "2500", "--start", "2024-05-01", "-q"]);
    let logs = estate.join("AWSLogs");
    let (logs, lake) = (logs.to_str().unwrap(), lake.to_str().unwrap());
    run(0, &["ingest", logs, "--lake", lake, "-q"]);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(estate.join("ground-truth.json")).unwrap()).unwrap();
    let key = truth["attacks"][0]["access_key_ids"][0].as_str().unwrap().to_string();

    let workers = [worker(), worker()];
    let cluster = format!("{},{}", workers[0].address, workers[1].address);
    for input in [logs, lake] {
        for sql in QUERIES {
            let (alone, alone_stderr) = run(0, &["query", sql, input, "--format", "csv"]);
            assert!(alone.lines().count() > 1, "{sql}: no rows");
            let (together, together_stderr) = run(0, &["query", sql, input, "--format", "csv", "--workers", &cluster]);
            assert_eq!(together, alone, "{input}: {sql}");
            assert_eq!(summary(&together_stderr), summary(&alone_stderr), "{input}: {sql}");
        }
        // Exit 1: the simulated attacks raise alerts.
        let (alone, alone_stderr) = run(1, &["hunt", input, "--format", "ndjson"]);
        let (together, together_stderr) = run(1, &["hunt", input, "--format", "ndjson", "--workers", &cluster]);
        assert_eq!(together, alone, "{input}: hunt");
        assert_eq!(summary(&together_stderr), summary(&alone_stderr), "{input}: hunt");

        let investigate = ["investigate", input, "--access-key-id", &key, "--format", "json"];
        let (alone, alone_stderr) = run(0, &investigate);
        let (together, together_stderr) = run(0, &[&investigate[..], &["--workers", &cluster]].concat());
        assert_eq!(together, alone, "{input}: investigate");
        assert_eq!(summary(&together_stderr), summary(&alone_stderr), "{input}: investigate");
    }

    // Standard input stays with the coordinator.
    let output = keytrail(&["query", "select 1", "-", "--workers", &cluster]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("workers cannot read this process's standard input"));
}

#[test]
fn a_worker_gone_is_an_error_never_another_answer() {
    let dir = tempfile::tempdir().unwrap();
    let estate = dir.path().join("estate");
    run(
        0,
        &[
            "simulate",
            estate.to_str().unwrap(),
            "--days",
            "4",
            "--events-per-day",
            "20000",
            "--start",
            "2024-05-01",
            "-q",
        ],
    );
    let logs = estate.join("AWSLogs");
    let logs = logs.to_str().unwrap();
    let sql = r#"select "event.action", count(*) n, count(distinct "source.ip") ips from cloudtrail group by 1 order by 2 desc, 1"#;
    let (alone, _) = run(0, &["query", sql, logs, "--format", "csv", "-q"]);

    // Gone before the query.
    let (live, mut gone) = (worker(), worker());
    gone.kill();
    let cluster = format!("{},{}", live.address, gone.address);
    let output = keytrail(&["query", sql, logs, "--format", "csv", "-q", "--workers", &cluster]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("keytrail: error:"), "{stderr}");
    assert!(output.stdout.is_empty());

    // Gone while the query runs: it fails, or it had finished with the right answer.
    let mut dying = worker();
    let cluster = format!("{},{}", live.address, dying.address);
    let query = isolated(env!("CARGO_BIN_EXE_keytrail"))
        .args(["query", sql, logs, "--format", "csv", "-q", "--workers", &cluster])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    dying.kill();
    let output = query.wait_with_output().unwrap();
    match output.status.code() {
        Some(0) => assert_eq!(String::from_utf8(output.stdout).unwrap(), alone),
        code => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(code, Some(2), "{stderr}");
            assert!(stderr.contains("keytrail: error:"), "{stderr}");
        }
    }
}
