//! The `cloudtrail` table read from a lake: DataFusion's Parquet listing table underneath, with
//! the raw logs' table's columns on top.
//!
//! A scan becomes a small plan over the listing table: the `--since/--until` bounds as a
//! filter (they are part of the table, as on raw logs), the query's own filters (DataFusion's
//! Parquet reader prunes row groups by their statistics and evaluates them while decoding),
//! the date folders a time range allows, and the flattened paths computed from their
//! object's JSON text.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::memory::DataSourceExec;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::provider_as_source;
use datafusion::execution::SessionState;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TableProviderFilterPushDown, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::{SessionConfig, SessionContext, ident, lit};
use keytrail_ecs::{FlattenedPath, SCHEMA, TableSchema};
use keytrail_engine::{CountedEventsExec, MemoryOptions, ReadReport};
use keytrail_source::TimeRange;

use crate::Lake;

const TIMESTAMP: &str = "@timestamp";
const DATE: &str = "date";
const ACCOUNT: &str = "account";

/// A session whose `cloudtrail` table is the lake's events.
pub fn session(
    lake: &Lake,
    schema: TableSchema,
    time_range: TimeRange,
    report: Arc<ReadReport>,
    memory: &MemoryOptions,
) -> Result<SessionContext> {
    let table = LakeTable::new(lake, schema, time_range, report.clone())?;
    keytrail_engine::session_over(Arc::new(table), session_config(), memory, report)
}

/// The settings a lake is read with. Filters run inside the Parquet reader, on the columns
/// they need, before the other columns of a row are decoded.
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new();
    config.options_mut().execution.parquet.pushdown_filters = true;
    config.options_mut().execution.parquet.reorder_filters = true;
    config
}

/// The lake's events as the `cloudtrail` table.
pub struct LakeTable {
    schema: TableSchema,
    files: Arc<ListingTable>,
    time_range: TimeRange,
    report: Arc<ReadReport>,
    path: Arc<ScalarUDF>,
}

impl fmt::Debug for LakeTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LakeTable").field("time_range", &self.time_range).finish()
    }
}

impl LakeTable {
    pub fn new(lake: &Lake, schema: TableSchema, time_range: TimeRange, report: Arc<ReadReport>) -> Result<LakeTable> {
        let Some(events) = lake.events_dir().to_str().map(|p| format!("{p}/")) else {
            return plan_err!("the lake's path is not UTF-8: {}", lake.root().display());
        };
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(DATE.to_string(), DataType::Utf8), (ACCOUNT.to_string(), DataType::Utf8)])
            .with_file_sort_order(vec![vec![ident(TIMESTAMP).sort(true, false)]]);
        let config = ListingTableConfig::new(ListingTableUrl::parse(&events)?)
            .with_listing_options(options)
            .with_schema(SCHEMA.clone());
        let files = Arc::new(ListingTable::try_new(config)?);
        let path = Arc::new(ScalarUDF::new_from_impl(PathInObject::default()));
        Ok(LakeTable { schema, files, time_range, report, path })
    }

    /// The expression of the table's column `index`.
    fn column(&self, index: usize) -> Expr {
        match self.schema.column(index) {
            Ok(column) => ident(column.def().name),
            Err(path) => {
                self.path.call(vec![ident(path.object.def().name), lit(path.name.clone())]).alias(path.name.clone())
            }
        }
    }

    /// Whether the filter reads only columns the files hold (not the flattened paths, which
    /// exist above them).
    fn on_stored_columns(&self, filter: &Expr) -> bool {
        filter.column_refs().iter().all(|column| SCHEMA.field_with_name(&column.name).is_ok())
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.arrow().clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match self.on_stored_columns(filter) {
                true => TableProviderFilterPushDown::Inexact,
                false => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let range = filters.iter().filter_map(keytrail_engine::time_range).fold(self.time_range, TimeRange::intersect);
        let millis = |t: chrono::DateTime<chrono::Utc>| {
            lit(ScalarValue::TimestampMillisecond(Some(t.timestamp_millis()), Some("UTC".into())))
        };
        let mut conditions = Vec::new();
        if let Some(since) = self.time_range.since {
            conditions.push(ident(TIMESTAMP).gt_eq(millis(since)));
        }
        if let Some(until) = self.time_range.until {
            conditions.push(ident(TIMESTAMP).lt_eq(millis(until)));
        }
        // The date folders the range can touch; events without a time are outside any range.
        if let Some(since) = range.since {
            conditions.push(ident(DATE).gt_eq(lit(since.date_naive().to_string())));
        }
        if let Some(until) = range.until {
            conditions.push(ident(DATE).lt_eq(lit(until.date_naive().to_string())));
        }
        conditions.extend(filters.iter().filter(|f| self.on_stored_columns(f)).map(|f| unnormalize_col(f.clone())));

        let columns: Vec<usize> = match projection {
            Some(columns) => columns.clone(),
            None => (0..self.schema.arrow().fields().len()).collect(),
        };
        let mut plan = LogicalPlanBuilder::scan("lake", provider_as_source(self.files.clone()), None)?;
        if let Some(condition) = conjunction(conditions) {
            plan = plan.filter(condition)?;
        }
        plan = plan.project(columns.iter().map(|&i| self.column(i)))?;
        if limit.is_some() {
            plan = plan.limit(0, limit)?;
        }
        // Planned here without the session's query planner: on a cluster that planner splits
        // whole queries into stages, and this is only the table's part of one.
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("a lake is read in a DataFusion session");
        };
        let logical = state.optimize(&plan.build()?)?;
        let plan = DefaultPhysicalPlanner::default().create_physical_plan(&logical, state).await?;
        self.count_files(&plan)?;
        Ok(Arc::new(CountedEventsExec::new(plan, self.schema.clone(), columns, self.report.clone())?))
    }
}

impl LakeTable {
    /// The files the plan reads (the date folders pruned), as the files and bytes of the read.
    fn count_files(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<()> {
        // A large file may be read in ranges by several partitions: each file counts once.
        let mut files = HashMap::new();
        plan.apply(|node| {
            if let Some(source) = node.downcast_ref::<DataSourceExec>()
                && let Some(scan) = source.data_source().downcast_ref::<FileScanConfig>()
            {
                for file in scan.file_groups.iter().flat_map(|group| group.iter()) {
                    files.insert(file.object_meta.location.clone(), file.object_meta.size);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let bytes = files.values().sum();
        let files = files.len() as u64;
        // A query may scan the table more than once: the largest scan is the read.
        self.report.objects_found.fetch_max(files, Ordering::Relaxed);
        self.report.objects_read.fetch_max(files, Ordering::Relaxed);
        self.report.bytes_read.fetch_max(bytes, Ordering::Relaxed);
        self.report.listing_done.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// The functions a lake's plan calls: a worker of a distributed read needs them registered.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::new_from_impl(PathInObject::default()))]
}

/// `path_in_object(json, column)`: the value the flattened column `column` (e.g.
/// `aws.cloudtrail.flattened.request_parameters.userName`) reads in the object's JSON text,
/// as the raw logs' read computes it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PathInObject {
    signature: Signature,
}

impl Default for PathInObject {
    fn default() -> Self {
        PathInObject { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for PathInObject {
    fn name(&self) -> &str {
        "path_in_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))) = &args.args[1] else {
            return plan_err!("path_in_object takes the column's name as a literal");
        };
        let Some(path) = FlattenedPath::parse(name) else {
            return plan_err!("{name} does not read inside a flattened object");
        };
        let json: ArrayRef = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let json = json.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let mut values = StringBuilder::with_capacity(json.len(), 0);
        for row in 0..json.len() {
            values.append_option((!json.is_null(row)).then(|| path.extract(json.value(row))).flatten());
        }
        Ok(ColumnarValue::Array(Arc::new(values.finish())))
    }
}
