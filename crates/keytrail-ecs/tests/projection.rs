//! A read of some columns reads only the fields of the record those columns are computed
//! from. This checks, on every record of the corpus, that each column read alone has the
//! value it has in a full read: a column whose source field is missing from its list in
//! `cloudtrail.rs` would come out empty here.

use std::path::{Path, PathBuf};

use keytrail_ecs::{Col, ColumnSet, EcsEvent, Enrichment, normalize_into};

const DIRS: [&str; 4] =
    ["elastic-integration-samples", "stratus-red-team-detonations", "panther-tests", "invictus-ir-aws-dataset"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if !path.to_string_lossy().ends_with("-expected.json") {
            out.push(path);
        }
    }
}

#[test]
fn every_column_read_alone_equals_the_full_read() {
    let Some(root) = keytrail_testkit::require::corpus("cloudtrail") else { return };
    let mut paths = Vec::new();
    for dir in DIRS {
        files(&root.join(dir), &mut paths);
    }
    paths.sort();
    let enrichment = Enrichment::default();
    let mut inflated = Vec::new();
    let (mut records, mut events) = (0, 0);
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let (text, _) = keytrail_decode::decompress(&bytes, &mut inflated);
        let (text, _) = keytrail_decode::utf8_prefix(text);
        keytrail_decode::frame(text, keytrail_decode::DEFAULT_MAX_RECORD_BYTES, &mut |record| {
            let Ok(record) = record else { return };
            records += 1;
            let mut full = EcsEvent::with_columns(ColumnSet::ALL);
            let kept = normalize_into(record.json, &enrichment, &mut full).is_ok();
            let mut none = EcsEvent::with_columns(ColumnSet::default());
            assert_eq!(
                normalize_into(record.json, &enrichment, &mut none).is_ok(),
                kept,
                "{}: {}: a read of no column keeps other events",
                path.display(),
                record.position
            );
            if !kept {
                return;
            }
            events += 1;
            for &col in Col::ALL {
                let mut columns = ColumnSet::default();
                columns.insert(col);
                let mut alone = EcsEvent::with_columns(columns);
                normalize_into(record.json, &enrichment, &mut alone).unwrap();
                assert_eq!(
                    alone.column(col),
                    full.column(col),
                    "{}: {}: {col:?} read alone",
                    path.display(),
                    record.position
                );
            }
        });
    }
    assert!(events > 3000, "the corpus should give thousands of events, got {events} of {records} records");
}
