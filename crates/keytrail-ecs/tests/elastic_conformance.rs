//! Conformance with Elastic's AWS integration: for every pipeline test in the corpus that
//! ships Elastic's output (`*-expected.json`), keytrail's event agrees with Elastic's document
//! on every column Elastic sets. Enrichment columns are left out: Elastic's tests use their
//! own test GeoIP databases. Elastic's text copies of the free-form objects
//! (`aws.cloudtrail.request_parameters`…) are compared with their secrets redacted, as
//! keytrail never outputs them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use keytrail_ecs::{COLUMNS, Col, Enrichment, Kind, REDACTED, Value, is_secret_key, normalize_record, parse_time};

/// Elastic's document flattened to dotted keys.
fn flatten(value: &serde_json::Value, prefix: &str, out: &mut Vec<(String, serde_json::Value)>) {
    match value.as_object() {
        Some(object) => {
            for (key, child) in object {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(child, &path, out);
            }
        }
        None => match value.as_array() {
            // A list of objects (aws.cloudtrail.resources) reads, as in Elasticsearch, as one
            // list per key: resources.arn, resources.account_id…
            Some(items) if items.iter().all(|i| i.is_object()) && !items.is_empty() => {
                let mut lists: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
                for item in items {
                    let mut inner = Vec::new();
                    flatten(item, prefix, &mut inner);
                    for (key, leaf) in inner {
                        match lists.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, list)) => list.push(leaf),
                            None => lists.push((key, vec![leaf])),
                        }
                    }
                }
                out.extend(lists.into_iter().map(|(k, v)| (k, serde_json::Value::Array(v))));
            }
            _ => out.push((prefix.to_string(), value.clone())),
        },
    }
}

/// Elastic's `Map.toString()` copy with the values of secret keys replaced as keytrail
/// replaces them (flags are kept).
fn redacted_text_copy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        let key_start = rest[..at].rfind(['{', ' ', '[']).map_or(0, |i| i + 1);
        let value_end = rest[at + 1..].find([',', '}']).map_or(rest.len(), |i| at + 1 + i);
        let value = &rest[at + 1..value_end];
        out.push_str(&rest[..=at]);
        if is_secret_key(&rest[key_start..at]) && !matches!(value, "true" | "false") && !value.starts_with('{') {
            out.push_str(REDACTED);
            rest = &rest[value_end..];
        } else {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn skipped(column: &str) -> bool {
    column.starts_with("source.as.")
        || column.starts_with("source.geo.")
        || column.starts_with("aws.cloudtrail.flattened.")
}

#[test]
fn keytrail_agrees_with_elastic_on_every_field_it_sets() {
    let Some(dir) = keytrail_testkit::require::corpus("cloudtrail/elastic-integration-samples") else { return };
    let mut compared_docs = 0;
    let mut compared_fields = 0;
    let mut compared_text_copies = 0;
    let mut mismatches = Vec::new();
    let mut expected_files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-expected.json"))
        .collect();
    expected_files.sort();
    assert!(!expected_files.is_empty(), "no *-expected.json in {}", dir.display());
    for expected_file in expected_files {
        let input = PathBuf::from(expected_file.to_string_lossy().trim_end_matches("-expected.json"));
        let lines: Vec<String> = std::fs::read_to_string(&input)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_file).unwrap()).unwrap();
        let docs = expected["expected"].as_array().unwrap();
        assert_eq!(lines.len(), docs.len(), "{}", input.display());
        let enrichment = Enrichment::default();
        for (line, doc) in lines.iter().zip(docs) {
            let event = normalize_record(line, &enrichment).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
            let mut fields = Vec::new();
            flatten(doc, "", &mut fields);
            compared_docs += 1;
            for (i, column) in COLUMNS.iter().enumerate() {
                if skipped(column.name) {
                    continue;
                }
                let Some((_, want)) = fields.iter().find(|(k, _)| k == column.name) else { continue };
                compared_fields += 1;
                let col = Col::ALL[i];
                compared_text_copies += usize::from(col.text_copy_of().is_some());
                let got = event.column(col);
                let got = got.as_ref();
                let agrees = match (column.kind, got) {
                    (Kind::Str, Value::Str(s)) if col.text_copy_of().is_some() => {
                        want.as_str().map(redacted_text_copy).as_deref() == Some(s.as_ref())
                    }
                    (Kind::Str, Value::Str(s)) => want.as_str() == Some(s.as_ref()),
                    (Kind::Bool, Value::Bool(b)) => want.as_bool() == Some(*b),
                    (Kind::Int, Value::Int(n)) => want.as_i64() == Some(*n),
                    (Kind::Time, Value::Time(t)) => want.as_str().and_then(parse_time) == Some(*t),
                    (Kind::StrList, Value::List(items)) => {
                        let want: BTreeSet<&str> =
                            want.as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
                        let got: BTreeSet<&str> = items.iter().map(|s| s.as_ref()).collect();
                        want == got
                    }
                    _ => false,
                };
                if !agrees {
                    mismatches.push(format!(
                        "{}: {}: Elastic {want}, keytrail {got:?}",
                        input.file_name().unwrap().to_string_lossy(),
                        column.name
                    ));
                }
            }
        }
    }
    eprintln!("compared {compared_fields} fields ({compared_text_copies} text copies) in {compared_docs} documents");
    assert!(compared_fields > 100, "too few fields compared: {compared_fields}");
    assert!(compared_text_copies >= 8, "too few text copies compared: {compared_text_copies}");
    assert!(mismatches.is_empty(), "{} disagreements:\n{}", mismatches.len(), mismatches.join("\n"));
}
