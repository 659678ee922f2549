//! `keytrail convert PATH... --to parquet|ndjson -o OUT`

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use futures::StreamExt;
use keytrail_ecs::TableSchema;
use keytrail_lake::{PartitionWriters, Partitioning};

use crate::args::{ConvertArgs, ConvertFormat};
use crate::progress::Progress;
use crate::setup::Reading;

pub async fn run(args: ConvertArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let reading = Reading::open(&args.read).await?;
    let context = reading.session(TableSchema::default())?;
    let progress = Progress::follow(reading.report.clone(), quiet);
    let plan = context.sql("select * from cloudtrail").await?.create_physical_plan().await?;
    let events = keytrail_engine::execute_counted(plan, context.task_ctx())?;
    let written = match args.to {
        ConvertFormat::Parquet => {
            write_days(events, &args.output, keytrail_lake::row_group_budget(reading.memory.limit)).await
        }
        ConvertFormat::Ndjson => write_nested_ndjson(events, &args.output).await,
    };
    progress.finish();
    written?;
    reading.finish(quiet, args.read.errors.as_deref());
    Ok(ExitCode::SUCCESS)
}

/// The events as Parquet files by day under `root` ([`PartitionWriters`]).
async fn write_days(
    mut stream: datafusion::physical_plan::SendableRecordBatchStream,
    root: &std::path::Path,
    budget: usize,
) -> anyhow::Result<()> {
    let mut writers = PartitionWriters::new(root, stream.schema(), Partitioning::Date, budget)?;
    while let Some(batch) = stream.next().await {
        writers.write(&batch?)?;
    }
    writers.finish()?;
    Ok(())
}

/// One ECS document a line, nested as Elastic stores them (`{"event":{"action":…}}`), so
/// the output loads into Elasticsearch or back into keytrail as ECS documents.
async fn write_nested_ndjson(
    mut stream: datafusion::physical_plan::SendableRecordBatchStream,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let sink: Box<dyn Write> = if path.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
    };
    let mut out = std::io::BufWriter::new(sink);
    let mut flat = Vec::new();
    while let Some(batch) = stream.next().await {
        flat.clear();
        let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut flat);
        writer.write(&batch?)?;
        writer.finish()?;
        for line in flat.lines() {
            let document: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line?)?;
            serde_json::to_writer(&mut out, &nest(document))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `{"a.b": 1, "a.c": 2}` → `{"a": {"b": 1, "c": 2}}`. The flattened objects hold JSON text
/// and are put back as objects.
pub fn nest(flat: serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for (key, mut value) in flat {
        if key.starts_with("aws.cloudtrail.flattened.")
            && let Some(text) = value.as_str()
            && let Ok(object) = serde_json::from_str::<serde_json::Value>(text)
        {
            value = object;
        }
        let mut parts: Vec<&str> = key.split('.').collect();
        let leaf = parts.pop().unwrap_or_default();
        let mut node = &mut root;
        for part in parts {
            let entry = node.entry(part.to_string()).or_insert_with(|| serde_json::Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = serde_json::Value::Object(Default::default());
            }
            node = entry.as_object_mut().expect("made an object above");
        }
        node.insert(leaf.to_string(), value);
    }
    serde_json::Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::nest;

    #[test]
    fn dotted_keys_nest() {
        let flat = serde_json::json!({"@timestamp": "t", "event.action": "X", "event.outcome": "success", "aws.cloudtrail.flattened.request_parameters": "{\"a\":1}"});
        let nested = nest(flat.as_object().unwrap().clone());
        assert_eq!(
            nested,
            serde_json::json!({"@timestamp": "t", "event": {"action": "X", "outcome": "success"}, "aws": {"cloudtrail": {"flattened": {"request_parameters": {"a": 1}}}}})
        );
    }
}
