//! A plan node that counts the events another form of the table hands out (a lake's Parquet
//! scan) as the events read, and gives its batches the table's own schema (column
//! descriptions included). It runs where its input runs: on a worker its count becomes a
//! metric, which [`crate::execute_counted`] adds to the coordinator's report.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use keytrail_ecs::TableSchema;

use crate::report::ReadReport;

/// Counts its input's rows as events read.
pub struct CountedEventsExec {
    input: Arc<dyn ExecutionPlan>,
    /// The table's columns and which of them the input gives, to name the output's schema.
    table: TableSchema,
    projection: Vec<usize>,
    report: Arc<ReadReport>,
    /// Decoded on a worker: the count is reported as a metric.
    on_worker: bool,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for CountedEventsExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountedEventsExec").field("columns", &self.projection.len()).finish()
    }
}

impl CountedEventsExec {
    /// `input` gives the columns `projection` of `table`, in that order.
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        table: TableSchema,
        projection: Vec<usize>,
        report: Arc<ReadReport>,
    ) -> Result<CountedEventsExec> {
        CountedEventsExec::build(input, table, projection, report, false)
    }

    fn build(
        input: Arc<dyn ExecutionPlan>,
        table: TableSchema,
        projection: Vec<usize>,
        report: Arc<ReadReport>,
        on_worker: bool,
    ) -> Result<CountedEventsExec> {
        let schema = Arc::new(table.arrow().project(&projection)?);
        let inner = input.properties();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema),
            inner.partitioning.clone(),
            inner.emission_type,
            inner.boundedness,
        ));
        Ok(CountedEventsExec { input, table, projection, report, on_worker, properties })
    }

    /// What a worker needs besides the input: the table's flattened paths and the projection.
    pub fn to_proto(&self) -> CountedProto {
        CountedProto {
            flattened: self.table.paths().iter().map(|p| p.name.clone()).collect(),
            projection: self.projection.iter().map(|&i| i as u32).collect(),
        }
    }

    /// The node on a worker, over its decoded input.
    pub fn from_proto(proto: CountedProto, input: Arc<dyn ExecutionPlan>) -> Result<CountedEventsExec> {
        let table = TableSchema::with_names(proto.flattened.iter().map(String::as_str));
        let projection = proto.projection.iter().map(|&i| i as usize).collect();
        CountedEventsExec::build(input, table, projection, Arc::new(ReadReport::default()), true)
    }
}

impl DisplayAs for CountedEventsExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CountedEventsExec")
    }
}

impl ExecutionPlan for CountedEventsExec {
    fn name(&self) -> &str {
        "CountedEventsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children)
            .map_err(|c| DataFusionError::Internal(format!("CountedEventsExec has one input, not {}", c.len())))?;
        let node = CountedEventsExec::build(
            input,
            self.table.clone(),
            self.projection.clone(),
            self.report.clone(),
            self.on_worker,
        )?;
        Ok(Arc::new(node))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let schema = self.schema();
        let report = self.report.clone();
        let named = schema.clone();
        let batches = self.input.execute(partition, context)?.map(move |batch| {
            let batch = batch?;
            // With no column (count(*)), the row count is all a batch says.
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            let batch = RecordBatch::try_new_with_options(named.clone(), batch.columns().to_vec(), &options)?;
            report.events.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        self.on_worker.then(|| self.report.as_metrics())
    }
}

/// What a worker needs to run a [`CountedEventsExec`] over its input.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CountedProto {
    #[prost(string, repeated, tag = "1")]
    pub flattened: Vec<String>,
    #[prost(uint32, repeated, tag = "2")]
    pub projection: Vec<u32>,
}
