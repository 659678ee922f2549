//! Rules whose alerts are single events: KQL `query` rules, and the matching step of
//! `new_terms` rules. The matching itself happens while the events are read
//! ([`crate::store::EventStore::matched`]); this orders the matches in time.

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::error::{DataFusionError, Result};

use crate::store::{EVENT_ID, TIMESTAMP};

/// A matched event: where it is, when it happened, and when the rule's runs see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    pub batch: usize,
    pub row: usize,
    /// `@timestamp`: the alert's evidence.
    pub time: i64,
    /// The rule's timestamp field, or `@timestamp` where that is null: what places the event
    /// in a run's window.
    pub window_time: i64,
}

impl EventRef {
    /// Where the event is: (batch, row).
    pub fn at(&self) -> (usize, usize) {
        (self.batch, self.row)
    }
}

/// The events of one batch of matched events (batch number `batch_index`) with their times;
/// those without `@timestamp` are left out.
pub fn batch_events(batch: &RecordBatch, batch_index: usize, window_field: &str) -> Result<Vec<EventRef>> {
    let times = batch.column_by_name(TIMESTAMP).ok_or_else(|| DataFusionError::Internal("no @timestamp".into()))?;
    let times = times.as_primitive::<TimestampMillisecondType>();
    let window_times =
        batch.column_by_name(window_field).and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
    Ok(times
        .iter()
        .enumerate()
        .filter_map(|(row, time)| {
            let time = time?;
            let window_time = window_times.filter(|w| w.is_valid(row)).map_or(time, |w| w.value(row));
            Some(EventRef { batch: batch_index, row, time, window_time })
        })
        .collect())
}

/// CloudTrail's event ids of a batch of matched events, which break ties in time.
pub fn event_ids(batch: &RecordBatch) -> Option<&StringArray> {
    batch.column_by_name(EVENT_ID).and_then(|c| c.as_string_opt::<i32>())
}

/// Every matched event with its times, in the order of `window_field` (the rule's timestamp
/// field, falling back to `@timestamp`).
pub fn events_in_time_order(batches: &[RecordBatch], window_field: &str) -> Result<Vec<EventRef>> {
    let mut events = Vec::new();
    for (batch_index, batch) in batches.iter().enumerate() {
        events.extend(batch_events(batch, batch_index, window_field)?);
    }
    // Events arrive in no fixed order (partitions read files in parallel): ties in time are
    // broken by CloudTrail's event id, so that alerts and their order do not vary between runs.
    let ids: Vec<_> = batches.iter().map(event_ids).collect();
    let id = |event: &EventRef| ids[event.batch].filter(|ids| ids.is_valid(event.row)).map(|ids| ids.value(event.row));
    events.sort_by(|a, b| (a.window_time, a.time).cmp(&(b.window_time, b.time)).then_with(|| id(a).cmp(&id(b))));
    Ok(events)
}
