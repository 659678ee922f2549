//! Rules whose alerts are single events: KQL `query` rules, and the matching step of
//! `new_terms` rules. The KQL compiles to one physical expression, evaluated directly on
//! the store's slices for the actions the rule names.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::common::DFSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use crate::alert::row_fields;
use crate::store::{ACTION, EventStore, TIMESTAMP};

/// The events a KQL query matches, in slices of the store.
pub fn matching(store: &EventStore, query: &keytrail_kql::Query) -> Result<Vec<RecordBatch>> {
    let schema = store.schema();
    let expr = query.to_expr(&schema).map_err(|e| DataFusionError::Plan(format!("KQL: {e}")))?;
    let physical = SessionContext::new().create_physical_expr(expr, &DFSchema::try_from(schema.clone())?)?;
    let actions = query.required_values(ACTION);
    let mut matched = Vec::new();
    for batch in store.select(actions.as_ref()) {
        let mask = physical.evaluate(&batch)?.into_array(batch.num_rows())?;
        let mask = mask
            .as_boolean_opt()
            .ok_or_else(|| DataFusionError::Internal("a KQL query that is not a predicate".into()))?;
        let rows = filter_record_batch(&batch, mask)?;
        if rows.num_rows() > 0 {
            matched.push(rows);
        }
    }
    Ok(matched)
}

/// A matched event: where it is, when it happened, and when the rule's runs see it.
#[derive(Debug, Clone, Copy)]
pub struct EventRef {
    pub batch: usize,
    pub row: usize,
    /// `@timestamp`: the alert's evidence.
    pub time: i64,
    /// The rule's timestamp field, or `@timestamp` where that is null: what places the event
    /// in a run's window.
    pub window_time: i64,
}

/// Every matched event with its times, in the order of `window_field` (the rule's timestamp
/// field, falling back to `@timestamp`).
pub fn events_in_time_order(batches: &[RecordBatch], window_field: &str) -> Result<Vec<EventRef>> {
    let mut events = Vec::new();
    for (batch_index, batch) in batches.iter().enumerate() {
        let times = batch.column_by_name(TIMESTAMP).ok_or_else(|| DataFusionError::Internal("no @timestamp".into()))?;
        let times = times.as_primitive::<TimestampMillisecondType>();
        let window_times =
            batch.column_by_name(window_field).and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
        events.extend(times.iter().enumerate().filter_map(|(row, time)| {
            let time = time?;
            let window_time = window_times.filter(|w| w.is_valid(row)).map_or(time, |w| w.value(row));
            Some(EventRef { batch: batch_index, row, time, window_time })
        }));
    }
    events.sort_by_key(|event| (event.window_time, event.time));
    Ok(events)
}

/// An event's fields for its alert.
pub fn event_fields(batches: &[RecordBatch], event: EventRef) -> Vec<(String, serde_json::Value)> {
    row_fields(&batches[event.batch], event.row)
}
