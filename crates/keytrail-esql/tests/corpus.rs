//! Every ES|QL rule of Elastic's AWS rule sets parses, plans against keytrail's real table
//! schema (with the flattened columns each rule names), alone and windowed for backfill, and
//! runs on an empty table.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::prelude::lit;
use datafusion::scalar::ScalarValue;
use keytrail_esql::{PlanOptions, Window};

const FOLDERS: &[&str] = &["elastic-aws", "elastic-aws-building-block", "elastic-aws-unmerged"];

/// The `query` of a rule file whose `type` is `esql`. The rule files write it as a TOML
/// multi-line literal string (`'''…'''`).
fn esql_query(toml: &str) -> Option<String> {
    if !toml.lines().any(|l| l.trim() == r#"type = "esql""#) {
        return None;
    }
    let start = toml.find("query = '''")? + "query = '''".len();
    let body = &toml[start..];
    let body = body.strip_prefix('\n').unwrap_or(body);
    Some(body[..body.find("'''")?].to_string())
}

fn rule_files() -> Option<Vec<PathBuf>> {
    let root = keytrail_testkit::require::corpus("rules")?;
    let mut files = Vec::new();
    for folder in FOLDERS {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Some(files)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_aws_esql_rule_parses_plans_and_runs() {
    let Some(files) = rule_files() else { return };
    let now = lit(ScalarValue::TimestampMillisecond(Some(1_714_564_800_000), Some("UTC".into())));
    let options = PlanOptions::at(now);
    let (mut checked, mut failures) = (0, Vec::new());
    for file in files {
        let Some(text) = esql_query(&std::fs::read_to_string(&file).unwrap()) else { continue };
        checked += 1;
        let outcome = async {
            let query = keytrail_esql::parse(&text).map_err(|e| format!("parse: {e}"))?;
            let fields = query.fields();
            let schema = keytrail_ecs::TableSchema::with_names(fields.iter().map(String::as_str)).arrow().clone();
            let ctx = keytrail_esql::session_context();
            ctx.register_table("cloudtrail", Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap())).unwrap();
            let input = ctx.table("cloudtrail").await.unwrap().into_unoptimized_plan();
            let plan = query.plan(input.clone(), &options).map_err(|e| format!("plan: {e}"))?;
            let window = Window { runs_first: 1_714_564_800_000, interval_ms: 300_000, runs: 12, lookback_ms: 360_000 };
            let windowed = query
                .plan_windowed(input, &window, datafusion::prelude::col("@timestamp"))
                .map_err(|e| format!("plan_windowed: {e}"))?;
            for plan in [plan, windowed] {
                let rows = ctx.execute_logical_plan(plan).await.map_err(|e| format!("execute: {e}"))?;
                rows.collect().await.map_err(|e| format!("execute: {e}"))?;
            }
            Ok::<_, String>(())
        }
        .await;
        if let Err(message) = outcome {
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    eprintln!("{checked} ES|QL rules checked, {} failed", failures.len());
    assert!(checked >= 25, "only {checked} ES|QL rules found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
