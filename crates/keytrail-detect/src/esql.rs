//! ES|QL rules: every run of a backfill evaluated in one plan (`plan_windowed`), or one run
//! at `--now`.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::scalar::ScalarValue;

use crate::alert::row_fields;
use crate::schedule::RunGrid;
use crate::store::{EventStore, TIMESTAMP, window_time};

/// A result row: the run that produced it and its fields.
pub struct EsqlRow {
    pub run_time: i64,
    pub event_time: Option<i64>,
    pub fields: Vec<(String, serde_json::Value)>,
}

fn millis(time: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(Some(time), Some("UTC".into())))
}

/// One run at `now` over the events whose `window_field` (else `@timestamp`) is in
/// `(now − lookback, now]`.
pub async fn run_once(
    store: &EventStore,
    query: &keytrail_esql::Query,
    now: i64,
    lookback_ms: i64,
    window_field: &str,
) -> Result<Vec<EsqlRow>> {
    let time = window_time(window_field);
    let window = LogicalPlanBuilder::from(store.esql_input(query, window_field).await?)
        .filter(time.clone().gt(millis(now - lookback_ms)).and(time.lt_eq(millis(now))))?
        .build()?;
    let options = keytrail_esql::PlanOptions::at(millis(now));
    let plan = query.plan(window, &options).map_err(|e| DataFusionError::Plan(format!("ES|QL: {e}")))?;
    rows(store, plan, |_, _| Some(now)).await
}

/// Every run of `grid`, in one plan, each over the events whose `window_field` (else
/// `@timestamp`) is in its window.
pub async fn run_backfill(
    store: &EventStore,
    query: &keytrail_esql::Query,
    grid: &RunGrid,
    lookback_ms: i64,
    window_field: &str,
) -> Result<Vec<EsqlRow>> {
    let window = keytrail_esql::Window {
        runs_first: grid.first_run(),
        interval_ms: grid.interval,
        runs: grid.runs(),
        lookback_ms,
    };
    let plan = query
        .plan_windowed(store.esql_input(query, window_field).await?, &window, window_time(window_field))
        .map_err(|e| DataFusionError::Plan(format!("ES|QL: {e}")))?;
    rows(store, plan, |batch, row| {
        let runs =
            batch.column_by_name(keytrail_esql::RUN_TIME_COLUMN)?.as_primitive_opt::<TimestampMillisecondType>()?;
        runs.is_valid(row).then(|| runs.value(row))
    })
    .await
}

async fn rows(
    store: &EventStore,
    plan: LogicalPlan,
    run_of: impl Fn(&RecordBatch, usize) -> Option<i64>,
) -> Result<Vec<EsqlRow>> {
    let batches = store.session().execute_logical_plan(plan).await?.collect().await?;
    let mut rows = Vec::new();
    for batch in &batches {
        let event_times =
            batch.column_by_name(TIMESTAMP).and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>().cloned());
        for row in 0..batch.num_rows() {
            let Some(run_time) = run_of(batch, row) else { continue };
            let event_time = event_times.as_ref().filter(|t| t.is_valid(row)).map(|t| t.value(row));
            rows.push(EsqlRow { run_time, event_time, fields: row_fields(batch, row) });
        }
    }
    Ok(rows)
}
