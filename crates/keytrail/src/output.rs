//! Writing query results: a table for people, CSV, JSON or NDJSON for programs.

use std::io::{IsTerminal, Write};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use futures::StreamExt;

use crate::args::Format;

/// The format to use when none was asked for: a table for a person at a terminal, NDJSON for
/// a pipe (into jq, a file, another tool).
pub fn resolve(format: Option<Format>) -> Format {
    format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Ndjson })
}

/// Streams the batches to stdout in the format. A table is laid out once all rows are in;
/// the other formats write batch by batch.
pub async fn write_stream(
    mut stream: datafusion::physical_plan::SendableRecordBatchStream,
    format: Format,
) -> anyhow::Result<u64> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut rows = 0u64;
    match format {
        Format::Table => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            writeln!(out, "{}", pretty_format_batches(&batches)?)?;
        }
        Format::Ndjson => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
            if rows == 0 {
                // arrow writes nothing for no rows; an empty array is still valid JSON.
                write!(out, "[]")?;
            }
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
            while let Some(batch) = stream.next().await {
                let batch = flatten_lists(&batch?)?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
        }
    }
    out.flush()?;
    Ok(rows)
}

/// CSV has no lists: list columns become their text, e.g. `[a, b]`.
fn flatten_lists(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    if !batch.schema().fields().iter().any(|f| matches!(f.data_type(), DataType::List(_) | DataType::LargeList(_))) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(field.data_type(), DataType::List(_) | DataType::LargeList(_)) {
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(cast(column, &DataType::Utf8)?);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    Ok(RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)?)
}

/// Whether the error is stdout closing early (`keytrail query … | head`): not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.to_string().contains("Broken pipe")
    })
}
