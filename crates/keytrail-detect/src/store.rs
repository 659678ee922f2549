//! The events of a hunt, read once and held in memory, grouped by `event.action`.
//!
//! Most rules name the actions they look at (`event.action:(CreateUser or …)`), so a rule
//! runs over the few slices of its actions instead of over every event: work is shared by
//! indexing once, not by scanning once per rule.

use std::collections::{BTreeSet, HashMap};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::{SchemaRef, TimestampMillisecondType};
use datafusion::error::{DataFusionError, Result};
use datafusion::functions::expr_fn::coalesce;
use datafusion::logical_expr::{Expr, ident};
use datafusion::prelude::SessionContext;

pub const ACTION: &str = "event.action";
pub const TIMESTAMP: &str = "@timestamp";
pub const INGESTED: &str = "event.ingested";

/// What places an event in a rule's run windows: the rule's timestamp field, or `@timestamp`
/// where that is null (Elastic falls back to it unless `timestamp_override_fallback_disabled`).
pub fn window_time(field: &str) -> Expr {
    if field == TIMESTAMP { ident(TIMESTAMP) } else { coalesce(vec![ident(field), ident(TIMESTAMP)]) }
}

pub struct EventStore {
    /// Every event with a time, sorted by action, then time.
    events: RecordBatch,
    /// Each action's rows in `events`.
    actions: HashMap<String, (usize, usize)>,
    /// The first event time, and the last time an event was seen: its time or, when later,
    /// its delivery (`event.ingested`), so that the last runs see the last deliveries.
    pub span: Option<(i64, i64)>,
    /// Events left out because their time could not be read.
    pub untimed: usize,
}

impl EventStore {
    /// Reads every event of the session's `cloudtrail` table.
    pub async fn read(context: &SessionContext) -> Result<EventStore> {
        let frame = context.table(keytrail_engine::TABLE_NAME).await?;
        let schema = frame.schema().inner().clone();
        let batches = frame.collect().await?;
        EventStore::new(schema, &batches)
    }

    pub fn new(schema: SchemaRef, batches: &[RecordBatch]) -> Result<EventStore> {
        let all = concat_batches(&schema, batches)?;
        let time_index = schema.index_of(TIMESTAMP)?;
        let action_index = schema.index_of(ACTION)?;
        let sort = [
            SortColumn { values: all.column(action_index).clone(), options: None },
            SortColumn { values: all.column(time_index).clone(), options: None },
        ];
        let order = lexsort_to_indices(&sort, None)?;
        let sorted = take_record_batch(&all, &order)?;
        drop(all);

        let times = sorted.column(time_index).as_primitive::<TimestampMillisecondType>();
        let untimed = times.null_count();
        let timed = if untimed == 0 {
            sorted
        } else {
            let keep = datafusion::arrow::compute::is_not_null(times)?;
            datafusion::arrow::compute::filter_record_batch(&sorted, &keep)?
        };
        let times = timed.column(time_index).as_primitive::<TimestampMillisecondType>();
        let span = times.iter().flatten().fold(None, |span: Option<(i64, i64)>, t| match span {
            None => Some((t, t)),
            Some((low, high)) => Some((low.min(t), high.max(t))),
        });
        let last_delivery = timed
            .column_by_name(INGESTED)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
            .and_then(|ingested| datafusion::arrow::compute::max(ingested));
        let span = span.map(|(first, last)| (first, last.max(last_delivery.unwrap_or(last))));

        let actions_column = timed
            .column(action_index)
            .as_string_opt::<i32>()
            .ok_or_else(|| DataFusionError::Internal(format!("{ACTION} is not a string column")))?;
        let mut actions = HashMap::new();
        let mut row = 0;
        while row < timed.num_rows() {
            let action = actions_column.is_valid(row).then(|| actions_column.value(row));
            let mut end = row + 1;
            while end < timed.num_rows() && actions_column.is_valid(end).then(|| actions_column.value(end)) == action {
                end += 1;
            }
            if let Some(action) = action {
                actions.insert(action.to_string(), (row, end - row));
            }
            row = end;
        }
        Ok(EventStore { events: timed, actions, span, untimed })
    }

    pub fn schema(&self) -> SchemaRef {
        self.events.schema()
    }

    pub fn len(&self) -> usize {
        self.events.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events whose action is one of `actions`, or every event when `None`.
    pub fn select(&self, actions: Option<&BTreeSet<String>>) -> Vec<RecordBatch> {
        let Some(actions) = actions else {
            return vec![self.events.clone()];
        };
        actions
            .iter()
            .filter_map(|action| self.actions.get(action))
            .map(|&(offset, length)| self.events.slice(offset, length))
            .collect()
    }
}
