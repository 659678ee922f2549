//! The command line end to end: the binary, its output formats, exit codes and messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use keytrail_testkit::require;

fn keytrail(args: &[&str]) -> Output {
    keytrail_with_stdin(args, None)
}

fn keytrail_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn invictus() -> Option<PathBuf> {
    require::corpus("cloudtrail/invictus-ir-aws-dataset")
}

const EVENT: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE01","userName":"alice"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetSessionToken","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLEEXAMPLE02","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLESECRETTOKEN","expiration":"May 1, 2024, 11:00:00 AM"}},"requestID":"r1","eventID":"e1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}"#;

#[test]
fn the_done_when_query_prints_2900() {
    let Some(dir) = invictus() else { return };
    let output = keytrail(&["query", "select count(*) as n from cloudtrail", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), r#"{"n":2900}"#);
    assert!(stderr(&output).contains("2900 events read"), "{}", stderr(&output));
}

#[test]
fn reads_stdin_and_writes_every_format() {
    let input = format!("{EVENT}\n{EVENT}\n");
    let sql = r#"select "event.action" as action, "user.name", count(*) as calls from cloudtrail group by 1, 2"#;
    let ndjson = keytrail_with_stdin(&["query", sql, "-"], Some(input.as_bytes()));
    assert_eq!(
        stdout(&ndjson).trim(),
        r#"{"action":"GetSessionToken","user.name":"alice","calls":2}"#,
        "{}",
        stderr(&ndjson)
    );
    let csv = keytrail_with_stdin(&["query", "--format", "csv", sql, "-"], Some(input.as_bytes()));
    assert_eq!(stdout(&csv), "action,user.name,calls\nGetSessionToken,alice,2\n");
    let json = keytrail_with_stdin(&["query", "--format", "json", sql, "-"], Some(input.as_bytes()));
    assert_eq!(stdout(&json).trim(), r#"[{"action":"GetSessionToken","user.name":"alice","calls":2}]"#);
    let table = keytrail_with_stdin(&["query", "--format", "table", sql, "-"], Some(input.as_bytes()));
    assert!(stdout(&table).contains("| GetSessionToken | alice     | 2     |"), "{}", stdout(&table));
}

#[test]
fn stdin_is_read_as_it_arrives_with_lines_numbered_as_in_the_stream() {
    // Several pieces' worth (a piece is 1 MiB) of gzip NDJSON, damaged far past the first.
    let text: String =
        (1..=6000).map(|n| if n == 5000 { "{\"eventName\":\n".to_string() } else { format!("{EVENT}\n") }).collect();
    let mut packed = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    packed.write_all(text.as_bytes()).unwrap();
    let packed = packed.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.txt");
    let args = ["query", "select count(*) as n from cloudtrail", "-", "--errors", errors.to_str().unwrap()];
    let output = keytrail_with_stdin(&args, Some(&packed));
    assert_eq!(stdout(&output).trim(), r#"{"n":5999}"#, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("5999 events read from 1 file; 1 record skipped in 1 file"),
        "{}",
        stderr(&output)
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert!(listed.starts_with("<stdin>: line 5000: ") && listed.lines().count() == 1, "{listed}");
}

#[test]
fn delivery_files_one_after_another_are_all_read() {
    // What `zcat *.json.gz` writes: delivery files with nothing between them.
    let delivery = |records: usize| format!(r#"{{"Records":[{}]}}"#, vec![EVENT; records].join(","));
    let text = [delivery(3), delivery(1), delivery(2)].concat();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.json");
    std::fs::write(&file, &text).unwrap();
    let sql = "select count(*) as n from cloudtrail";
    let output = keytrail(&["query", sql, file.to_str().unwrap()]);
    assert_eq!(stdout(&output).trim(), r#"{"n":6}"#, "{}", stderr(&output));
    let mut packed = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    packed.write_all(text.as_bytes()).unwrap();
    let output = keytrail_with_stdin(&["query", sql, "-"], Some(&packed.finish().unwrap()));
    assert_eq!(stdout(&output).trim(), r#"{"n":6}"#, "{}", stderr(&output));
    // A file cut short loses only what was cut, and says where.
    let cut = &text[..text.len() - EVENT.len() / 2];
    let output = keytrail_with_stdin(&["query", sql, "-"], Some(cut.as_bytes()));
    assert_eq!(stdout(&output).trim(), r#"{"n":5}"#, "{}", stderr(&output));
    assert!(stderr(&output).contains("<stdin>: document 3: invalid JSON after record 1"), "{}", stderr(&output));
}

#[test]
fn secrets_never_reach_the_output() {
    let output = keytrail_with_stdin(&["query", "select * from cloudtrail", "-"], Some(EVENT.as_bytes()));
    let text = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!text.contains("SECRETTOKEN"), "{text}");
    assert!(text.contains("ASIAEXAMPLEEXAMPLE02") && text.contains("<redacted>"), "{text}");
    let path = r#"select "aws.cloudtrail.flattened.response_elements.credentials.sessionToken" as t from cloudtrail"#;
    let output = keytrail_with_stdin(&["query", path, "-"], Some(EVENT.as_bytes()));
    assert_eq!(stdout(&output).trim(), r#"{"t":"<redacted>"}"#);
}

#[test]
fn flattened_paths_are_columns() {
    let sql = r#"select "aws.cloudtrail.flattened.request_parameters.durationSeconds" as d, "aws.cloudtrail.flattened.response_elements.credentials.accessKeyId" as k from cloudtrail"#;
    let output = keytrail_with_stdin(&["query", sql, "-"], Some(EVENT.as_bytes()));
    assert_eq!(stdout(&output).trim(), r#"{"d":"3600","k":"ASIAEXAMPLEEXAMPLE02"}"#, "{}", stderr(&output));
}

#[test]
fn schema_lists_every_column() {
    let output = keytrail(&["schema", "--format", "csv"]);
    let text = stdout(&output);
    assert!(text.starts_with("column,type,description\n"));
    for column in [
        "@timestamp",
        "event.action",
        "source.ip",
        "aws.cloudtrail.user_identity.access_key_id",
        "source.as.organization.name",
    ] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{column},"))), "{column} missing");
    }
}

#[test]
fn errors_exit_2_with_a_clear_message() {
    let output = keytrail(&["query", "select count(*) from cloudtrail", "/nonexistent/logs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/logs: no such file or folder"), "{}", stderr(&output));
    let output = keytrail_with_stdin(&["query", "select event.action from cloudtrail", "-"], Some(EVENT.as_bytes()));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("quote them"), "{}", stderr(&output));
}

#[test]
fn skipped_records_and_emptied_values_are_summarized_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.ndjson");
    std::fs::write(&file, format!("{EVENT}\n{{\"eventTime\":\"2024-05-01T10:00:00Z\",\"eventName\":7}}\nnot json\n"))
        .unwrap();
    let errors = dir.path().join("errors.txt");
    let output = keytrail(&[
        "query",
        "select count(*) as n from cloudtrail",
        file.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ]);
    // The number where the event's name belongs costs the name, not the event.
    assert_eq!(stdout(&output).trim(), r#"{"n":2}"#);
    assert!(
        stderr(&output)
            .contains("2 events read from 1 file; 1 record skipped, 1 value of the wrong type left empty in 1 file"),
        "{}",
        stderr(&output)
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.lines().all(|l| l.starts_with(file.to_str().unwrap())), "{listed}");
    assert!(
        listed.contains(": line 2: eventName has a value of the wrong type") && listed.contains(": line 3: "),
        "{listed}"
    );
    assert!(stderr(&output).contains("no ASN database"), "a missing database is warned about once");
}

#[test]
fn converts_to_parquet_by_date_and_to_nested_ndjson() {
    let Some(dir) = invictus() else { return };
    let out = tempfile::tempdir().unwrap();
    let parquet = out.path().join("parquet");
    let output = keytrail(&["convert", dir.to_str().unwrap(), "--to", "parquet", "-o", parquet.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let days: Vec<String> =
        std::fs::read_dir(&parquet).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(days.iter().all(|d| d.starts_with("date=")) && !days.is_empty(), "{days:?}");
    read_back_with_duckdb(&parquet);

    let ndjson = out.path().join("events.ndjson");
    let output = keytrail(&["convert", dir.to_str().unwrap(), "--to", "ndjson", "-o", ndjson.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&ndjson).unwrap();
    assert_eq!(text.lines().count(), 2900);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["event"]["action"].is_string() && first["@timestamp"].is_string(), "{first}");
    // The nested documents read back as ECS documents, with the same count.
    let back = keytrail(&["query", "select count(*) as n from cloudtrail", ndjson.to_str().unwrap()]);
    assert_eq!(stdout(&back).trim(), r#"{"n":2900}"#, "{}", stderr(&back));
}

/// The Parquet folder as another engine sees it: DuckDB (PyPI `duckdb`, installed by
/// scripts/test.sh) reads the date folders as a column and every event with its ECS columns.
fn read_back_with_duckdb(parquet: &Path) {
    let script = format!(
        r#"
import duckdb
rows = duckdb.sql("""select count(*), count(distinct date), count("event.action"), count("source.ip"),
    min(epoch_ms("@timestamp")) > 0 from read_parquet('{}/*/*.parquet', hive_partitioning = true)""").fetchall()[0]
print(*rows)
"#,
        parquet.display()
    );
    if !require::python_module("duckdb", "pip install duckdb") {
        return;
    }
    let output = std::process::Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "DuckDB could not read the Parquet: {errors}");
    let days = std::fs::read_dir(parquet).unwrap().count();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("2900 {days} 2900 2547 True"));
}

#[test]
fn geo_db_places_the_source_addresses() {
    let Some(dir) = invictus() else { return };
    let Some(geo) = require::env_path("KEYTRAIL_TEST_GEO_DB", "scripts/test.sh fetches a country database") else {
        return;
    };
    let sql = r#"select "source.geo.country_iso_code" as country, count(*) as n from cloudtrail
                 where "source.ip" is not null group by 1 order by n desc limit 1"#;
    let output = keytrail(&["query", "--format", "csv", sql, dir.to_str().unwrap(), "--geo-db", geo.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Most of the dataset's calls (2,154 of 2,547 with an address) come from one Australian
    // address block; the database is updated daily, so a few may move.
    let text = stdout(&output);
    let (country, calls) = text.lines().nth(1).and_then(|l| l.split_once(',')).expect("a row");
    assert_eq!(country, "AU", "{text}");
    assert!(calls.parse::<u64>().unwrap() > 2000, "{text}");
}

const CREATE_KEY_RULE: &str = r#"[rule]
rule_id = "t-session-token"
name = "Session token requested"
type = "query"
language = "kuery"
risk_score = 21
severity = "low"
query = "event.action:GetSessionToken"
"#;

#[test]
fn hunt_prints_nested_alerts_without_secrets_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("rule.toml");
    std::fs::write(&rule, CREATE_KEY_RULE).unwrap();
    // A broken rule file beside it is reported and does not stop the good one.
    std::fs::write(dir.path().join("broken.toml"), "[rule]\nrule_id = \"x\"\nname = \n").unwrap();
    let output = keytrail_with_stdin(
        &["hunt", "-", "--rules", dir.path().to_str().unwrap(), "--no-builtin", "--format", "ndjson"],
        Some(EVENT.as_bytes()),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let alert: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(alert["rule"]["uuid"], "t-session-token");
    assert_eq!(alert["@timestamp"], "2024-05-01T10:00:00.000Z");
    assert_eq!(alert["event"]["action"], "GetSessionToken");
    assert_eq!(alert["aws"]["cloudtrail"]["user_identity"]["access_key_id"], "AKIAEXAMPLEEXAMPLE01");
    assert!(!stdout(&output).contains("SECRETTOKEN"));
    assert!(stderr(&output).contains("broken.toml:3:"), "{}", stderr(&output));
}

#[test]
fn building_block_alerts_are_marked_and_kept_out_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let rule = CREATE_KEY_RULE.replace("[rule]\n", "[rule]\nbuilding_block_type = \"default\"\n");
    assert!(rule.contains("building_block_type"));
    std::fs::write(dir.path().join("rule.toml"), rule).unwrap();
    let hunt = |extra: &[&str]| {
        let mut args = vec!["hunt", "-", "--rules", dir.path().to_str().unwrap(), "--no-builtin"];
        args.extend(extra);
        keytrail_with_stdin(&args, Some(EVENT.as_bytes()))
    };
    let ndjson = hunt(&["--format", "ndjson"]);
    let alert: serde_json::Value = serde_json::from_str(stdout(&ndjson).trim()).unwrap();
    assert_eq!(alert["kibana"]["alert"]["building_block_type"], "default");
    assert_eq!(ndjson.status.code(), Some(0), "building-block alerts alone do not make exit 1");
    let table = hunt(&["--format", "table"]);
    assert!(!stdout(&table).contains("AKIAEXAMPLEEXAMPLE01"), "{}", stdout(&table));
    assert!(stdout(&table).contains("1 building-block alerts not shown"), "{}", stdout(&table));
    let shown = hunt(&["--format", "table", "--building-blocks"]);
    assert!(stdout(&shown).contains("AKIAEXAMPLEEXAMPLE01"), "{}", stdout(&shown));
}

#[test]
fn a_rule_past_the_memory_limit_fails_naming_it_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.toml"), CREATE_KEY_RULE).unwrap();
    let hunt = |limit: &str| {
        let args = ["hunt", "-", "--rules", dir.path().to_str().unwrap(), "--no-builtin", "--format", "ndjson"];
        let mut args = args.to_vec();
        args.extend(["--memory-limit", limit, "--temp-dir", dir.path().to_str().unwrap()]);
        keytrail_with_stdin(&args, Some(EVENT.as_bytes()))
    };
    // The columns one matched event is decided by (its times and id) take more Arrow buffer
    // than a 32-byte pool holds.
    let starved = hunt("32B");
    assert_eq!(starved.status.code(), Some(2), "{}", stderr(&starved));
    let message = stderr(&starved);
    assert!(message.contains("rule.toml") && message.contains("--memory-limit"), "{message}");
    let roomy = hunt("64MiB");
    assert_eq!(roomy.status.code(), Some(1), "{}", stderr(&roomy));
    assert!(stdout(&roomy).contains("t-session-token"));
    let unreadable = hunt("lots");
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(stderr(&unreadable).contains("'lots' is not a size"), "{}", stderr(&unreadable));
}

#[test]
fn hunt_without_alerts_exits_0() {
    // One event is all the data: the whole history window is baseline, so nothing alerts (by
    // default its key's first address would, judged on no history).
    let args = ["hunt", "-", "--format", "json", "--baseline", "window"];
    let output = keytrail_with_stdin(&args, Some(EVENT.as_bytes()));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "[]");
}

#[test]
fn rules_check_lists_the_builtin_pack() {
    let output = keytrail(&["rules", "check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("b8c7d6e5-f4a3-4b2c-9d8e-7f6a5b4c3d2e"), "{text}");
    assert!(text.contains("rules can run"), "{text}");
}

#[test]
fn rules_show_prints_a_rules_documentation() {
    let output = keytrail(&["rules", "show", "9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for part in ["First Seen from Source IP", "new_terms", "False positives:", "T1078", "AKIA*"] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    let ambiguous = keytrail(&["rules", "show", "aws"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stderr(&ambiguous).contains("matches"), "{}", stderr(&ambiguous));
}

#[test]
fn intel_lists_are_imported_and_matched() {
    let data = tempfile::tempdir().unwrap();
    let feed = data.path().join("tor-exits.txt");
    std::fs::write(&feed, "ExitNode ABC\nExitAddress 198.51.100.7 2024-05-01 10:00:00\n").unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keytrail"))
            .args(args)
            .env("KEYTRAIL_DATA_DIR", data.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let added = run(&["intel", "add", feed.to_str().unwrap(), "--name", "tor"], None);
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(stdout(&run(&["intel", "list"], None)).trim(), "tor\t1");
    // EVENT comes from 198.51.100.7: the built-in known-bad rule alerts, naming the list.
    let hunt = run(&["hunt", "-", "--format", "ndjson"], Some(EVENT));
    assert_eq!(hunt.status.code(), Some(1), "{}", stderr(&hunt));
    assert!(stdout(&hunt).contains(r#""feed":{"name":["tor"]}"#), "{}", stdout(&hunt));
}

#[test]
fn rules_show_toml_prints_the_rule_file() {
    let output = keytrail(&["rules", "show", "--toml", "b8c7d6e5-f4a3-4b2c-9d8e-7f6a5b4c3d2e"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("[metadata]"), "{}", stdout(&output));
    assert!(stdout(&output).contains(r#""Microsoft Corporation""#));

    // A tuned copy given with --rules replaces the built-in rule it copies, here as in a hunt.
    let dir = tempfile::tempdir().unwrap();
    let tuned = dir.path().join("tuned.toml");
    std::fs::write(&tuned, stdout(&output).replace(r#""Microsoft Corporation""#, r#""Tuned Networks""#)).unwrap();
    let output = keytrail(&[
        "rules",
        "show",
        "--toml",
        "b8c7d6e5-f4a3-4b2c-9d8e-7f6a5b4c3d2e",
        "--rules",
        tuned.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(r#""Tuned Networks""#), "{}", stdout(&output));
}

/// `keytrail … | head`: the reader goes away before the output is written. Every command that
/// writes to stdout ends quietly with success, never with a panic.
#[test]
fn a_closed_pipe_on_stdout_ends_a_command_quietly() {
    let commands: [&[&str]; 4] = [
        &["rules", "check", "--all"],
        &["rules", "show", "Lambda", "--toml"],
        &["intel", "list"],
        &["query", "select 1 as one", "-"],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keytrail"))
            .args(args)
            .env("KEYTRAIL_DATA_DIR", std::env::temp_dir().join("keytrail-closed-pipe-test"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert!(!stderr(&output).contains("panicked"), "{args:?}: {}", stderr(&output));
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
    }
}
