//! Bad input is skipped and counted with a reason naming the file and record; it never
//! panics, and never costs the good records around it.

mod common;

use std::io::Write;
use std::path::Path;

use common::{query, single_count};
use keytrail_engine::ReadOptions;

fn event(name: &str, ip: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE01","userName":"alice"}},"eventTime":"2024-05-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r","eventID":"e","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}}"#
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// One case per kind of damage: the file, its bytes, how many good events survive, and the
/// start of the reason reported.
fn cases(dir: &Path) -> Vec<(&'static str, usize, &'static str)> {
    let good = event("ListUsers", "198.51.100.7");
    let records = |items: &[String]| format!(r#"{{"Records":[{}]}}"#, items.join(","));

    let whole = gzip(records(&[good.clone(), good.clone(), good.clone()]).as_bytes());
    let mut truncated_gzip = gzip(records(&(0..400).map(|_| good.clone()).collect::<Vec<_>>()).as_bytes());
    truncated_gzip.truncate(truncated_gzip.len() * 2 / 3);
    write(dir, "a-good.json.gz", &whole);
    write(dir, "b-truncated.json.gz", &truncated_gzip);
    let mut corrupt = gzip(records(std::slice::from_ref(&good)).as_bytes());
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 4].copy_from_slice(b"\0\0\0\0");
    write(dir, "c-corrupt.json.gz", &corrupt);
    write(
        dir,
        "d-truncated-json.json",
        records(&[good.clone(), good.clone()]).trim_end_matches("]}").trim_end_matches('}').as_bytes(),
    );
    let wrong_type = good.replace(r#""eventName":"ListUsers""#, r#""eventName":42"#);
    let array_for_object = good
        .replace(r#""userIdentity":{"#, r#""userIdentity":[{"#)
        .replace(r#""userName":"alice"}"#, r#""userName":"alice"}]"#);
    write(dir, "e-wrong-types.json", records(&[good.clone(), wrong_type, array_for_object, good.clone()]).as_bytes());
    write(dir, "f-not-cloudtrail.ndjson", format!("{{\"hello\":\"world\"}}\n{good}\n[1,2]\n").as_bytes());
    let huge = good.replace(
        r#""requestParameters":null"#,
        &format!(r#""requestParameters":{{"blob":"{}"}}"#, "x".repeat(5 << 20)),
    );
    write(dir, "g-huge.json", records(&[huge, good.clone()]).as_bytes());
    write(dir, "h-invalid-ip.json", records(&[event("ListUsers", "253.252.51.07")]).as_bytes());
    write(dir, "i-garbage.json", b"\xff\xfe not json, not even UTF-8");
    write(dir, "j-bad-time.json", records(&[good.replace("2024-05-01T10:00:00Z", "yesterday")]).as_bytes());
    // An escaped lone surrogate, in a field `count(*)` skips and the check below reads: read or
    // skipped, the event stays.
    write(
        dir,
        "k-lone-surrogate.json",
        records(&[good.replace("iam.amazonaws.com", r"iam\ud800.amazonaws.com")]).as_bytes(),
    );
    // An escape JSON does not allow, in a field `count(*)` skips. Skipping takes `\u` and the
    // four characters after it, whatever they are, and finds the string closed further on;
    // reading the value refuses the record. Every read must refuse it.
    write(
        dir,
        "l-bad-escape.json",
        records(&[good.replace(r#""requestParameters":null"#, r#""requestParameters":{"a":"\u1"x""}"#), good.clone()])
            .as_bytes(),
    );
    vec![
        ("a-good.json.gz", 3, ""),
        ("b-truncated.json.gz", 0, "corrupt gzip"),
        ("c-corrupt.json.gz", 0, "corrupt gzip"),
        ("d-truncated-json.json", 1, "invalid JSON after record 1"),
        // A value of the wrong type costs the value, not the event.
        ("e-wrong-types.json", 4, "record 1: eventName has a value of the wrong type"),
        ("f-not-cloudtrail.ndjson", 1, "line 1: not a CloudTrail event"),
        ("g-huge.json", 1, "record 0: record of"),
        ("h-invalid-ip.json", 1, ""),
        ("i-garbage.json", 0, "invalid UTF-8"),
        ("j-bad-time.json", 1, ""),
        ("k-lone-surrogate.json", 1, ""),
        ("l-bad-escape.json", 1, "record 0: invalid JSON"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_damage_is_counted_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    for (file, survivors, reason) in &cases {
        let path = dir.path().join(file).display().to_string();
        let run = query("select count(*) from cloudtrail", std::slice::from_ref(&path), ReadOptions::default())
            .await
            .unwrap();
        let count = single_count(&run.batches) as usize;
        let errors = run.report.errors();
        if reason.is_empty() {
            assert!(errors.is_empty(), "{file}: {errors:?}");
            assert_eq!(count, *survivors, "{file}");
        } else {
            // A truncated gzip keeps what inflated before the damage: at least what was asked.
            assert!(count >= *survivors, "{file}: {count} events, expected at least {survivors}");
            assert!(
                errors.iter().any(|e| e.message.starts_with(reason.split(": ").last().unwrap())),
                "{file}: {errors:?}"
            );
            let shown = errors.iter().map(|e| e.to_string()).collect::<Vec<_>>();
            assert!(
                shown.iter().any(|e| e.starts_with(&path) && e.contains(reason)),
                "{file}: errors must name the file and record: {shown:?}"
            );
            assert!(
                run.report.summary().contains(" in 1 file")
                    || run.report.summary().contains("could not be read to the end"),
                "{}",
                run.report.summary()
            );
        }
        // A read that fills a column keeps exactly the events that `count(*)`, which fills
        // none and so reads only what tells an event, counts.
        let filled = "select coalesce(sum(case when \"event.provider\" is null then 1 else 1 end), 0) from cloudtrail";
        let run = query(filled, std::slice::from_ref(&path), ReadOptions::default()).await.unwrap();
        let filled = single_count(&run.batches) as usize;
        assert_eq!(filled, count, "{file}");
    }
    // All at once: one bad file never loses the others.
    let run = query("select count(*) from cloudtrail", &[dir.path().display().to_string()], ReadOptions::default())
        .await
        .unwrap();
    let total = single_count(&run.batches) as usize;
    assert!(total >= cases.iter().map(|c| c.1).sum::<usize>());
    assert_eq!(run.report.objects_with_errors.load(std::sync::atomic::Ordering::Relaxed), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_mode_stops_at_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    cases(dir.path());
    let path = dir.path().join("e-wrong-types.json").display().to_string();
    let options = ReadOptions { strict: true, ..ReadOptions::default() };
    let error = query("select count(*) from cloudtrail", std::slice::from_ref(&path), options)
        .await
        .err()
        .expect("strict mode fails");
    let message = error.to_string();
    assert!(message.contains(&path) && message.contains("record 1") && message.contains("--strict"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn error_messages_never_quote_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    let broken = format!(
        r#"{{"Records":[{{"eventTime":"2024-05-01T10:00:00Z","eventName":"X","responseElements":{{"credentials":{{"sessionToken":"{secret}"}}}},"readOnly":[1,{{]}}]}}"#
    );
    write(dir.path(), "secret.json", broken.as_bytes());
    let run = query("select count(*) from cloudtrail", &[dir.path().display().to_string()], ReadOptions::default())
        .await
        .unwrap();
    let errors = run.report.errors();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| !e.to_string().contains("SECRETKEY")), "{errors:?}");
}
