//! `keytrail schema`: the columns of the `cloudtrail` table, one line each.

use std::process::ExitCode;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use keytrail_ecs::COLUMNS;

use crate::args::SchemaArgs;
use crate::output;

pub async fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("column", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(COLUMNS.iter().map(|c| c.name))),
            Arc::new(StringArray::from_iter_values(COLUMNS.iter().map(|c| type_name(&c.kind.data_type())))),
            Arc::new(StringArray::from_iter_values(COLUMNS.iter().map(|c| c.description))),
        ],
    )?;
    let stream = Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)])));
    output::write_stream(stream, output::resolve(args.format)).await?;
    Ok(ExitCode::SUCCESS)
}

fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 => "string".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Timestamp(_, _) => "timestamp (UTC)".into(),
        DataType::List(_) => "list of string".into(),
        other => other.to_string(),
    }
}
