//! Every KQL query of Elastic's AWS detection rules in the shared corpus must parse, compile
//! against keytrail's table schema, and run in DataFusion.
//!
//! The schema is keytrail's own (`keytrail_ecs::TableSchema`, with the flattened paths the
//! query names); fields it does not have are added as `Utf8` columns so that the query still
//! compiles term by term. They are listed on stderr, since on real data such a condition can
//! only ever see a missing field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, new_null_array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

const RULE_SETS: [&str; 3] = ["elastic-aws", "elastic-aws-building-block", "elastic-aws-unmerged"];

fn kuery_rules(folder: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let document: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let rule = document.get("rule")?.as_table()?;
            (rule.get("language")?.as_str()? == "kuery").then(|| {
                let query = rule.get("query").and_then(|q| q.as_str()).expect("a kuery rule has a query");
                (path.file_name().unwrap().to_string_lossy().into_owned(), query.to_string())
            })
        })
        .collect()
}

#[tokio::test]
async fn every_elastic_kuery_rule_compiles_and_runs() {
    let Some(corpus) = keytrail_testkit::require::corpus("rules") else { return };
    let mut compiled = 0;
    let mut unpinned: Vec<String> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for set in RULE_SETS {
        for (file, text) in kuery_rules(&corpus.join(set)) {
            let query = match keytrail_kql::parse(&text) {
                Ok(query) => query,
                Err(error) => {
                    failures.push(format!("{set}/{file}:{error}"));
                    continue;
                }
            };
            let table = keytrail_ecs::TableSchema::with_names(query.fields().into_iter());
            let mut fields: Vec<Field> = table.arrow().fields().iter().map(|f| f.as_ref().clone()).collect();
            for name in query.fields() {
                if fields.iter().all(|f| f.name() != name) {
                    fields.push(Field::new(name, DataType::Utf8, true));
                    absent.push(format!("{name} ({set}/{file})"));
                }
            }
            let schema = Arc::new(Schema::new(fields));
            let expr = match query.to_expr(&schema) {
                Ok(expr) => expr,
                Err(error) => {
                    failures.push(format!("{set}/{file}:{error}"));
                    continue;
                }
            };
            // One row of nulls: every field missing, so the plan runs every kind of leaf.
            let row = schema.fields().iter().map(|f| new_null_array(f.data_type(), 1)).collect();
            let batch = RecordBatch::try_new(schema.clone(), row).unwrap();
            let context = SessionContext::new();
            context.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();
            let run = async { context.table("t").await?.filter(expr)?.collect().await };
            if let Err(error) = run.await {
                failures.push(format!("{set}/{file}: DataFusion: {error}"));
                continue;
            }
            compiled += 1;
            if query.required_values("event.action").is_none() {
                unpinned.push(format!("{set}/{file}"));
            }
        }
    }
    assert!(failures.is_empty(), "rules that do not compile:\n{}", failures.join("\n"));
    eprintln!("{compiled} kuery rules compiled and ran; those that do not pin event.action to a set of values:");
    eprintln!("  {}", unpinned.join("\n  "));
    absent.sort();
    eprintln!("fields the rules use that keytrail's table does not have:\n  {}", absent.join("\n  "));
    // The corpus holds 145 kuery rules; far fewer means the files were not found or read.
    assert!(compiled >= 140, "only {compiled} kuery rules found");
}
