//! Running a section's SQL and reading its rows into report structures: the rows go through
//! arrow's JSON writer into serde, so a query's column names are the structure's field names
//! and no section maps columns by hand.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::json::ArrayWriter;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::{DataFrame, SessionContext};
use serde::de::DeserializeOwned;

/// The rows of `sql`, each read as a `T`.
pub(crate) async fn rows<T: DeserializeOwned>(context: &SessionContext, sql: &str) -> Result<Vec<T>> {
    let frame = context.sql(sql).await?;
    let task = Arc::new(frame.task_ctx());
    let batches = keytrail_engine::collect_counted(frame.create_physical_plan().await?, task).await?;
    let mut json = Vec::new();
    let mut writer = ArrayWriter::new(&mut json);
    for batch in &batches {
        writer.write(&times_as_millis(batch)?)?;
    }
    writer.finish()?;
    if json.is_empty() {
        // The writer writes nothing at all, not even `[]`, when there are no rows.
        return Ok(Vec::new());
    }
    serde_json::from_slice(&json).map_err(|e| {
        DataFusionError::Internal(format!("the rows of a report section do not fit its structure: {e}\n{sql}"))
    })
}

/// Timestamps of any unit as epoch milliseconds, which [`crate::Time`] reads (the JSON
/// writer would write zoneless local-looking text).
fn times_as_millis(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Timestamp(..))) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if matches!(field.data_type(), DataType::Timestamp(..)) {
            let millis = cast(column, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
            columns.push(cast(&millis, &DataType::Int64)?);
            fields.push(Field::new(field.name(), DataType::Int64, true));
        } else {
            columns.push(column.clone());
            fields.push(field.as_ref().clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// The frame's rows, held in memory as a table. The schema is the executed plan's: the
/// logical one may differ from the batches in nullability and metadata.
pub(crate) async fn materialize(frame: DataFrame) -> Result<MemTable> {
    let task = Arc::new(frame.task_ctx());
    let plan = frame.create_physical_plan().await?;
    let schema = plan.schema();
    let batches = keytrail_engine::collect_counted(plan, task).await?;
    MemTable::try_new(schema, vec![batches])
}
