//! The events of a hunt, read once as a stream. What is kept is what the rules need, not the
//! events, so memory follows the matches and the rules' state, not the input:
//!
//! - for each KQL query (of `query` and `new_terms` rules; rules sharing a query share it),
//!   the rows it matches. Most queries name the actions they look at
//!   (`event.action:(CreateUser or …)`), so each batch is indexed by action once and a query
//!   is evaluated on the rows of its actions only. Then:
//!   - for its query rules, every column goes to a temporary Arrow file: a rule reads back
//!     the columns it decides by (times, event id) when it runs, and every field of the
//!     events that raise alerts ([`MatchedEvents`]);
//!   - each of its new_terms rules is judged as the rows arrive: it keeps its terms' state
//!     ([`crate::new_terms::FirstSeen`]) and writes only the events that started a cluster of
//!     a term when they were read, the only ones that can alert ([`FirstSeenEvents`]);
//! - for each ES|QL query, the events that pass the WHERE commands it starts with
//!   ([`keytrail_esql::Query::leading_filter`]), with only the columns its plan reads, written
//!   to an Arrow IPC file in the temporary folder, which its DataFusion plan then scans.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufReader, BufWriter};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{filter_record_batch, is_not_null, take_record_batch};
use datafusion::arrow::datatypes::{Schema, SchemaRef, TimestampMillisecondType};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::options::ArrowReadOptions;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{SpillFile, SpillWriter};
use datafusion::functions::expr_fn::coalesce;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, ident, lit};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use keytrail_rules::{Detection, Logic, empty_scan};
use serde_json::Value;

use crate::alert::row_fields;
use crate::new_terms::{FirstSeen, term_keys};
use crate::per_event::{EventRef, batch_events, event_ids};

pub const ACTION: &str = "event.action";
pub const TIMESTAMP: &str = "@timestamp";
pub const INGESTED: &str = "event.ingested";
pub const EVENT_ID: &str = "event.id";

/// What places an event in a rule's run windows: the rule's timestamp field, or `@timestamp`
/// where that is null (Elastic falls back to it unless `timestamp_override_fallback_disabled`).
pub fn window_time(field: &str) -> Expr {
    if field == TIMESTAMP { ident(TIMESTAMP) } else { coalesce(vec![ident(field), ident(TIMESTAMP)]) }
}

pub struct EventStore {
    schema: SchemaRef,
    /// By KQL query text: the events the query matched, or why it could not run.
    matched: HashMap<String, Result<MatchedEvents, Failure>>,
    /// By [`new_terms_key`]: a new_terms rule's terms and the events that can alert.
    first_seen: HashMap<String, Result<FirstSeenEvents, Failure>>,
    /// By ES|QL query and timestamp field ([`esql_key`]): the file of the events the query can
    /// use, or why it could not run.
    esql_inputs: HashMap<String, Result<Arc<dyn SpillFile>, Failure>>,
    /// The session's memory pool and temporary folder, for the rules' plans.
    runtime: Arc<RuntimeEnv>,
    /// The first event time, and the last time an event was seen: its time or, when later,
    /// its delivery (`event.ingested`), so that the last runs see the last deliveries.
    pub span: Option<(i64, i64)>,
    /// Events with a time.
    events: usize,
    /// Events left out because their time could not be read.
    pub untimed: usize,
}

/// Why a query's selection stopped; shared, since rules with one query share its selection.
type Failure = Arc<DataFusionError>;

/// The rows of a batch a query can use: those of the actions it names (all when it names
/// none) that meet its predicate (all when it has none).
struct RowFilter {
    predicate: Option<Arc<dyn PhysicalExpr>>,
    actions: Option<BTreeSet<String>>,
    /// When the query keeps some columns only: the batch's columns the filter reads (those
    /// kept and those its predicate reads, in the batch's order), and which of them are kept.
    /// Rows are then copied with these columns only, not the batch's every column.
    columns: Option<(Vec<usize>, Vec<usize>)>,
}

impl RowFilter {
    /// The filter of `predicate` (over `schema`, the batches') and `actions`, giving the
    /// columns `keep` of the rows that pass (every column when `None`).
    fn new(
        predicate: Option<Expr>,
        schema: &DFSchema,
        actions: Option<BTreeSet<String>>,
        keep: Option<&[usize]>,
    ) -> Result<RowFilter> {
        let predicate = match predicate {
            Some(expr) => Some(SessionContext::new().create_physical_expr(expr, schema)?),
            None => None,
        };
        let Some(keep) = keep else { return Ok(RowFilter { predicate, actions, columns: None }) };
        let mut read: BTreeSet<usize> = keep.iter().copied().collect();
        read.extend(predicate.iter().flat_map(collect_columns).map(|column| column.index()));
        let read: Vec<usize> = read.into_iter().collect();
        // Column names are unique in the table: the predicate finds its columns by name.
        let predicate = predicate.map(|p| reassign_expr_columns(p, &schema.as_arrow().project(&read)?)).transpose()?;
        let kept = keep.iter().map(|column| read.binary_search(column).expect("kept columns are read")).collect();
        Ok(RowFilter { predicate, actions, columns: Some((read, kept)) })
    }

    /// The rows of `batch` that pass, with the kept columns; `rows_of_action` are the batch's
    /// rows by action.
    fn apply(&self, batch: &RecordBatch, rows_of_action: &HashMap<&str, Vec<u32>>) -> Result<Option<RecordBatch>> {
        let batch = match &self.columns {
            Some((read, _)) => batch.project(read)?,
            None => batch.clone(),
        };
        let candidates = match &self.actions {
            None => batch,
            Some(actions) => {
                let mut rows: Vec<u32> =
                    actions.iter().filter_map(|a| rows_of_action.get(a.as_str())).flatten().copied().collect();
                if rows.is_empty() {
                    return Ok(None);
                }
                rows.sort_unstable();
                take_record_batch(&batch, &UInt32Array::from(rows))?
            }
        };
        let passed = match &self.predicate {
            None => candidates,
            Some(predicate) => {
                let mask = predicate.evaluate(&candidates)?.into_array(candidates.num_rows())?;
                let mask = mask
                    .as_boolean_opt()
                    .ok_or_else(|| DataFusionError::Internal("a query condition that is not a predicate".into()))?;
                filter_record_batch(&candidates, mask)?
            }
        };
        let passed = match &self.columns {
            Some((_, kept)) => passed.project(kept)?,
            None => passed,
        };
        Ok((passed.num_rows() > 0).then_some(passed))
    }
}

/// A query's filter while the events are read, and what it kept; after an error, the error.
struct Selection<Kept> {
    filter: Result<(RowFilter, Kept), Failure>,
}

impl<Kept> Selection<Kept> {
    fn new(filter: Result<(RowFilter, Kept), Failure>) -> Selection<Kept> {
        Selection { filter }
    }

    /// Gives the rows of `batch` that pass to `keep`; the first error ends the selection.
    fn add(
        &mut self,
        batch: &RecordBatch,
        rows_of_action: &HashMap<&str, Vec<u32>>,
        keep: impl FnOnce(&mut Kept, RecordBatch) -> Result<()>,
    ) {
        let Ok((filter, kept)) = &mut self.filter else { return };
        if let Err(error) =
            filter.apply(batch, rows_of_action).and_then(|rows| rows.map_or(Ok(()), |rows| keep(kept, rows)))
        {
            self.filter = Err(Arc::new(error));
        }
    }
}

/// What the read keeps of a KQL query's matches: every column, in a temporary file, when a
/// query rule uses the query; the terms' state of each new_terms rule that uses it.
struct Matched {
    /// The first rule of the query, to name it.
    origin: String,
    file: Option<(Vec<usize>, RowsFile)>,
    new_terms: Vec<(String, Result<NewTermsSelection, Failure>)>,
    rows: usize,
}

impl Matched {
    fn keep(&mut self, rows: RecordBatch) -> Result<()> {
        self.rows += rows.num_rows();
        for (_, selection) in &mut self.new_terms {
            if let Ok(kept) = selection
                && let Err(error) = kept.add(&rows)
            {
                *selection = Err(Arc::new(error));
            }
        }
        match &mut self.file {
            Some((_, file)) => file.write(rows),
            None => Ok(()),
        }
    }
}

/// A new_terms rule judged while the events are read: its terms' clusters ([`FirstSeen`]),
/// and every column of the events that started a cluster when they were read (the only ones
/// that can alert), in a temporary file.
struct NewTermsSelection {
    fields: Vec<String>,
    window_field: String,
    seen: FirstSeen,
    file: RowsFile,
    batches: usize,
}

impl NewTermsSelection {
    fn add(&mut self, rows: &RecordBatch) -> Result<()> {
        let terms = term_keys(rows, &self.fields)?;
        let ids = event_ids(rows);
        // The rows written, in order: an event's place in the file is its place among them.
        let mut written: Vec<u32> = Vec::new();
        for event in batch_events(rows, self.batches, &self.window_field)? {
            let id = ids.filter(|ids| ids.is_valid(event.row)).map(|ids| ids.value(event.row));
            for term in &terms[event.row] {
                let place = match written.last() {
                    Some(&last) if last as usize == event.row => written.len() - 1,
                    _ => written.len(),
                };
                if self.seen.add(term, EventRef { row: place, ..event }, id)? && place == written.len() {
                    written.push(event.row as u32);
                }
            }
        }
        if !written.is_empty() {
            self.file.write(take_record_batch(rows, &UInt32Array::from(written))?)?;
            self.batches += 1;
        }
        Ok(())
    }
}

/// A new_terms rule's terms as the read left them, and the events they point at.
pub struct FirstSeenEvents {
    pub seen: FirstSeen,
    pub events: EventsFile,
}

/// Where a new_terms rule's state is kept: rules with the same query, fields, history,
/// lookback and timestamp field share it.
fn new_terms_key(detection: &Detection) -> Option<String> {
    let Logic::NewTerms { query, fields, history_ms } = &detection.logic else { return None };
    let schedule = &detection.schedule;
    let field = schedule.timestamp_field.def().name;
    Some(format!("{}\u{0}{}\u{0}{history_ms}\u{0}{}\u{0}{field}", query.text(), fields.join(","), schedule.lookback_ms))
}

/// An event's fields, name and value, as its alert shows them.
pub type EventFields = Vec<(String, Value)>;

/// The events a KQL query matched, in a file: batch i of [`MatchedEvents::keys`] holds the
/// columns its rules decide by, batch i of the file every column of the same rows.
pub struct MatchedEvents {
    decided_by: Vec<usize>,
    events: EventsFile,
    origin: String,
    runtime: Arc<RuntimeEnv>,
}

/// Events with every column, in a temporary Arrow file, found by (batch, row).
pub struct EventsFile(Arc<dyn SpillFile>);

/// The columns a rule decides by, read back for its run, their memory taken from the pool
/// while they are held.
pub struct DecisionKeys {
    batches: Vec<RecordBatch>,
    _memory: MemoryReservation,
}

impl DecisionKeys {
    /// `@timestamp`, the rules' timestamp fields, `event.id` and the new_terms fields of the
    /// rules of the query (those the table has).
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

impl MatchedEvents {
    /// The columns the query's rules decide by, batch by batch as the file holds them.
    pub fn keys(&self) -> Result<DecisionKeys> {
        let memory = MemoryConsumer::new(format!("hunt: the events {} matches", self.origin))
            .register(&self.runtime.memory_pool);
        let file = BufReader::new(std::fs::File::open(local_path(&self.events.0)?)?);
        let mut batches = Vec::new();
        for batch in FileReader::try_new(file, Some(self.decided_by.clone()))? {
            // A projected batch's arrays are slices of the whole batch as read: copied, the
            // columns not decided by are let go.
            let batch = batch?;
            let batch = take_record_batch(&batch, &UInt32Array::from_iter_values(0..batch.num_rows() as u32))?;
            memory.try_grow(batch.get_array_memory_size()).map_err(|error| {
                DataFusionError::ResourcesExhausted(format!(
                    "the events its query matches need more than the memory limit (--memory-limit): {}",
                    error.message()
                ))
            })?;
            batches.push(batch);
        }
        Ok(DecisionKeys { batches, _memory: memory })
    }

    /// Every column of the matched events.
    pub fn events(&self) -> &EventsFile {
        &self.events
    }
}

impl EventsFile {
    /// Every field of the events at (batch, row), for their alerts: the file is read once,
    /// batch by batch, and only the batches holding them.
    pub fn fields(
        &self,
        events: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<HashMap<(usize, usize), EventFields>> {
        let mut wanted: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (batch, row) in events {
            wanted.entry(batch).or_default().insert(row);
        }
        let mut fields = HashMap::new();
        if wanted.is_empty() {
            return Ok(fields);
        }
        let mut reader = FileReader::try_new(BufReader::new(std::fs::File::open(local_path(&self.0)?)?), None)?;
        for (batch, rows) in wanted {
            reader.set_index(batch)?;
            let read = reader
                .next()
                .transpose()?
                .ok_or_else(|| DataFusionError::Internal(format!("the file of matched events has no batch {batch}")))?;
            for row in rows {
                fields.insert((batch, row), row_fields(&read, row));
            }
        }
        Ok(fields)
    }
}

/// What the read kept for a query (under `key`), or why it could not.
fn kept_for<'s, T>(kept: &'s HashMap<String, Result<T, Failure>>, key: &str, query: &str) -> Result<&'s T> {
    match kept.get(key) {
        Some(Ok(kept)) => Ok(kept),
        Some(Err(failure)) => Err(DataFusionError::Shared(failure.clone())),
        None => Err(DataFusionError::Internal(format!("the query {query:?} was not run while reading"))),
    }
}

/// The path of a temporary file, which the disk manager keeps on the local disk.
fn local_path(file: &Arc<dyn SpillFile>) -> Result<&str> {
    file.path()
        .and_then(|path| path.to_str())
        .ok_or_else(|| DataFusionError::Internal("the temporary file is not a local file with a UTF-8 path".into()))
}

/// Rows on their way to a temporary Arrow file, one file batch for each batch written.
struct RowsFile {
    writer: FileWriter<BufWriter<Box<dyn SpillWriter>>>,
    file: Arc<dyn SpillFile>,
}

impl RowsFile {
    fn create(schema: &Schema, runtime: &Arc<RuntimeEnv>, what: &str) -> Result<RowsFile> {
        let file = runtime.disk_manager.create_tmp_file(what)?;
        let writer = FileWriter::try_new(BufWriter::new(file.open_writer()?), schema)?;
        Ok(RowsFile { writer, file })
    }

    fn write(&mut self, rows: RecordBatch) -> Result<()> {
        Ok(self.writer.write(&rows)?)
    }

    fn finish(mut self) -> Result<Arc<dyn SpillFile>> {
        self.writer.finish()?;
        let mut writer =
            self.writer.into_inner()?.into_inner().map_err(|e| DataFusionError::IoError(e.into_error()))?;
        writer.finish()?;
        Ok(self.file)
    }
}

/// How an ES|QL query's events are selected and written: its leading WHERE, and the columns
/// DataFusion's optimizer finds its windowed plan reading once it has pushed the projection
/// into the scan (all columns when some node reads them all).
fn esql_selection(
    detection: &Detection,
    query: &keytrail_esql::Query,
    schema: &SchemaRef,
    runtime: &Arc<RuntimeEnv>,
) -> Result<(RowFilter, RowsFile)> {
    let scan = empty_scan(schema)?;
    let predicate = query.leading_filter(scan.clone());
    let schedule = &detection.schedule;
    let window = keytrail_esql::Window {
        runs_first: schedule.lookback_ms,
        interval_ms: schedule.interval_ms,
        runs: 2,
        lookback_ms: schedule.lookback_ms,
    };
    let time = window_time(schedule.timestamp_field.def().name);
    let plan = query.plan_windowed(scan, &window, time).map_err(|e| DataFusionError::Plan(format!("ES|QL: {e}")))?;
    let mut columns = Some(BTreeSet::new());
    keytrail_esql::session_context().state().optimize(&plan)?.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            match (&scan.projection, &mut columns) {
                (Some(projection), Some(columns)) => columns.extend(projection),
                _ => columns = None,
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    let columns: Option<Vec<usize>> = columns.map(|c| c.into_iter().collect());
    let qualified = DFSchema::try_from_qualified_schema(keytrail_engine::TABLE_NAME, schema)?;
    let filter = RowFilter::new(predicate, &qualified, None, columns.as_deref())?;
    let kept = match &columns {
        Some(columns) => schema.project(columns)?,
        None => schema.as_ref().clone(),
    };
    let file = RowsFile::create(&kept, runtime, "the events of an ES|QL rule")?;
    Ok((filter, file))
}

/// For each KQL query of a query rule, the columns its query rules decide by: `@timestamp`,
/// `event.id` (which breaks ties in time) and each rule's timestamp field.
fn decision_columns(detections: &[Detection], schema: &SchemaRef) -> HashMap<String, BTreeSet<usize>> {
    let mut columns: HashMap<String, BTreeSet<usize>> = HashMap::new();
    for detection in detections {
        let Logic::Query(query) = &detection.logic else { continue };
        let names = [TIMESTAMP, EVENT_ID, detection.schedule.timestamp_field.def().name];
        columns
            .entry(query.text().to_string())
            .or_default()
            .extend(names.iter().filter_map(|n| schema.index_of(n).ok()));
    }
    columns
}

/// An ES|QL query's input depends on the query and on the field its runs select events by.
fn esql_key(query: &keytrail_esql::Query, window_field: &str) -> String {
    format!("{window_field}\u{0}{}", query.text())
}

impl EventStore {
    /// Reads the session's `cloudtrail` table once, keeping what `detections` need.
    pub async fn read(context: &SessionContext, detections: &[Detection]) -> Result<EventStore> {
        let frame = context.table(keytrail_engine::TABLE_NAME).await?;
        let schema: SchemaRef = frame.schema().inner().clone();
        let time_index = schema.index_of(TIMESTAMP)?;
        let action_index = schema.index_of(ACTION)?;
        let ingested_index = schema.index_of(INGESTED).ok();

        let runtime = context.runtime_env();
        let unqualified = DFSchema::try_from(schema.clone())?;
        let decided_by = decision_columns(detections, &schema);
        let mut matchers: HashMap<String, Selection<Matched>> = HashMap::new();
        let mut esql: HashMap<String, Selection<RowsFile>> = HashMap::new();
        for detection in detections {
            match &detection.logic {
                Logic::Query(query) | Logic::NewTerms { query, .. } => {
                    let matcher = matchers.entry(query.text().to_string()).or_insert_with(|| {
                        let predicate =
                            query.to_expr(&schema).map_err(|e| Arc::new(DataFusionError::Plan(format!("KQL: {e}"))));
                        Selection::new(predicate.and_then(|predicate| {
                            let actions = query.required_values(ACTION);
                            let filter = RowFilter::new(Some(predicate), &unqualified, actions, None)?;
                            let file = match decided_by.get(query.text()) {
                                Some(columns) => {
                                    let what = format!("the events {} matches", detection.origin);
                                    Some((
                                        columns.iter().copied().collect(),
                                        RowsFile::create(&schema, &runtime, &what)?,
                                    ))
                                }
                                None => None,
                            };
                            let origin = detection.origin.clone();
                            Ok((filter, Matched { origin, file, new_terms: Vec::new(), rows: 0 }))
                        }))
                    });
                    let (Ok((_, matched)), Some(key)) = (&mut matcher.filter, new_terms_key(detection)) else {
                        continue;
                    };
                    if matched.new_terms.iter().all(|(known, _)| *known != key) {
                        let Logic::NewTerms { fields, history_ms, .. } = &detection.logic else { continue };
                        let memory = MemoryConsumer::new(format!("hunt: the terms {} has seen", detection.origin))
                            .register(&runtime.memory_pool);
                        let what = format!("the events that started terms of {}", detection.origin);
                        let selection = RowsFile::create(&schema, &runtime, &what).map_err(Arc::new).map(|file| {
                            NewTermsSelection {
                                fields: fields.clone(),
                                window_field: detection.schedule.timestamp_field.def().name.to_string(),
                                seen: FirstSeen::new(*history_ms, detection.schedule.lookback_ms, memory),
                                file,
                                batches: 0,
                            }
                        });
                        matched.new_terms.push((key, selection));
                    }
                }
                Logic::Esql(query) => {
                    esql.entry(esql_key(query, detection.schedule.timestamp_field.def().name)).or_insert_with(|| {
                        Selection::new(esql_selection(detection, query, &schema, &runtime).map_err(Arc::new))
                    });
                }
            }
        }

        let mut store = EventStore {
            schema: schema.clone(),
            matched: HashMap::new(),
            first_seen: HashMap::new(),
            esql_inputs: HashMap::new(),
            runtime: runtime.clone(),
            span: None,
            events: 0,
            untimed: 0,
        };
        let plan = frame.create_physical_plan().await?;
        let mut stream = keytrail_engine::execute_counted(plan, context.task_ctx())?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let times = batch.column(time_index).as_primitive::<TimestampMillisecondType>();
            let batch = if times.null_count() == 0 {
                batch
            } else {
                store.untimed += times.null_count();
                filter_record_batch(&batch, &is_not_null(times)?)?
            };
            if batch.num_rows() == 0 {
                continue;
            }
            store.events += batch.num_rows();
            store.extend_span(&batch, time_index, ingested_index);

            let actions = batch
                .column(action_index)
                .as_string_opt::<i32>()
                .ok_or_else(|| DataFusionError::Internal(format!("{ACTION} is not a string column")))?;
            let mut rows_of_action: HashMap<&str, Vec<u32>> = HashMap::new();
            for (row, action) in actions.iter().enumerate() {
                if let Some(action) = action {
                    rows_of_action.entry(action).or_default().push(row as u32);
                }
            }
            for matcher in matchers.values_mut() {
                matcher.add(&batch, &rows_of_action, Matched::keep);
            }
            for input in esql.values_mut() {
                input.add(&batch, &rows_of_action, RowsFile::write);
            }
        }

        let kept: usize = matchers.values().flat_map(|m| m.filter.iter().map(|(_, m)| m.rows)).sum();
        tracing::debug!("{} KQL queries kept {kept} matched events", matchers.len());
        for (text, matcher) in matchers {
            let (matched, new_terms) = match matcher.filter {
                Ok((_, Matched { origin, file, new_terms, .. })) => {
                    let matched = file.map(|(decided_by, file)| {
                        let file = file.finish().map_err(Arc::new)?;
                        Ok(MatchedEvents { decided_by, events: EventsFile(file), origin, runtime: runtime.clone() })
                    });
                    (matched, new_terms)
                }
                Err(failure) => (Some(Err(failure)), Vec::new()),
            };
            if let Some(matched) = matched {
                store.matched.insert(text, matched);
            }
            for (key, selection) in new_terms {
                let kept = selection.and_then(|NewTermsSelection { seen, file, .. }| {
                    Ok(FirstSeenEvents { seen, events: EventsFile(file.finish().map_err(Arc::new)?) })
                });
                store.first_seen.insert(key, kept);
            }
        }
        store.esql_inputs = esql
            .into_iter()
            .map(|(text, input)| {
                let file = input.filter.and_then(|(_, file)| file.finish().map_err(Arc::new));
                (text, file)
            })
            .collect();
        Ok(store)
    }

    fn extend_span(&mut self, batch: &RecordBatch, time_index: usize, ingested_index: Option<usize>) {
        let times = batch.column(time_index).as_primitive::<TimestampMillisecondType>();
        let (Some(first), Some(mut last)) =
            (datafusion::arrow::compute::min(times), datafusion::arrow::compute::max(times))
        else {
            return;
        };
        let ingested = ingested_index.and_then(|i| batch.column(i).as_primitive_opt::<TimestampMillisecondType>());
        if let Some(delivered) = ingested.and_then(datafusion::arrow::compute::max) {
            last = last.max(delivered);
        }
        self.span = Some(self.span.map_or((first, last), |(low, high)| (low.min(first), high.max(last))));
    }

    /// A session for the rules' plans, on the reading session's memory pool and temporary folder.
    pub fn session(&self) -> SessionContext {
        let context = keytrail_esql::session_context_on(self.runtime.clone());
        // DataFusion reads a byte range of an Arrow file by fetching all of the range's
        // batches at once, so a scan split into ranges holds the whole file in memory (1 GB
        // for one rule on the 10x estate); a whole-file scan streams it batch by batch.
        context.state_ref().write().config_mut().options_mut().optimizer.repartition_file_scans = false;
        // One partition: spread over the cores, the file's batches went through a round-robin
        // repartition, whose queues fill without bound when the plan after it is slower than
        // the read. Their batches are outside the memory pool: an ES|QL rule of Elastic's set
        // peaked at 612 MB under a 200 MB limit on the 10x estate, 187 MB in one partition,
        // and it ran faster. Rules run one after another.
        context.state_ref().write().config_mut().options_mut().execution.target_partitions = 1;
        context
    }

    /// Events with a time: those the rules judge.
    pub fn len(&self) -> usize {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The events `query` (of a query rule) matched.
    pub fn matched(&self, query: &keytrail_kql::Query) -> Result<&MatchedEvents> {
        kept_for(&self.matched, query.text(), query.text())
    }

    /// What the read kept for a new_terms rule.
    pub fn first_seen(&self, detection: &Detection) -> Result<&FirstSeenEvents> {
        let (Logic::NewTerms { query, .. }, Some(key)) = (&detection.logic, new_terms_key(detection)) else {
            return Err(DataFusionError::Internal(format!("{} is not a new_terms rule", detection.origin)));
        };
        // A query that could not run fails its new_terms rules too.
        if let Some(Err(failure)) = self.matched.get(query.text()) {
            return Err(DataFusionError::Shared(failure.clone()));
        }
        kept_for(&self.first_seen, &key, query.text())
    }

    /// The events an ES|QL query can use, as a scan with the table's name and columns (those
    /// the query does not read are null), for its plan.
    pub async fn esql_input(&self, query: &keytrail_esql::Query, window_field: &str) -> Result<LogicalPlan> {
        let file = kept_for(&self.esql_inputs, &esql_key(query, window_field), query.text())?;
        let path = local_path(file)?;
        // The disk manager names its files without an extension.
        let options = ArrowReadOptions { file_extension: "", ..Default::default() };
        let frame = self.session().read_arrow(path, options).await?;
        let LogicalPlan::TableScan(scan) = frame.into_unoptimized_plan() else {
            return Err(DataFusionError::Internal("reading an Arrow file gave no table scan".into()));
        };
        let written = scan.source.schema();
        let columns = self.schema.fields().iter().map(|field| match written.column_with_name(field.name()) {
            Some(_) => Ok(ident(field.name())),
            None => Ok(lit(ScalarValue::try_from(field.data_type())?).alias(field.name())),
        });
        LogicalPlanBuilder::scan(keytrail_engine::TABLE_NAME, scan.source, None)?
            .project(columns.collect::<Result<Vec<_>>>()?)?
            .build()
    }
}
