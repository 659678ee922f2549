//! keytrail's engine: CloudTrail as a table for Apache DataFusion.
//!
//! ```text
//!  sources ──► decode ──► normalize + enrich ──► Arrow batches ──► DataFusion (SQL, rules)
//!  files,      gzip,      ECS columns,           projected          ──► query results,
//!  S3 layout,  Records,   AS number/org,         columns only           alerts, reports
//!  s3://, -    NDJSON…    country
//! ```
//!
//! [`CloudTrailTable`] is a [`datafusion::catalog::TableProvider`]: one partition per core
//! reads objects (local files itself; S3 objects fetched ahead, in parallel) and decodes them
//! into batches, building only the columns the plan needs and normalizing only what those
//! columns are computed from. Columns that read inside the flattened JSON objects exist
//! only when a query names them ([`names_in_query`]). What cannot be read is counted in a
//! shared [`ReadReport`] instead of failing the query, unless `strict` is set.
//!
//! The scan is a plan node of its own, [`CloudTrailScanExec`], which datafusion-distributed
//! can run on workers (keytrail-cluster encodes it): the coordinator keeps the walk of the
//! sources and streams object names to the workers, which read them and report their counts
//! as plan metrics; [`execute_counted`] adds those to the session's report.

mod counted;
mod exec;
mod memory;
mod pushdown;
mod read;
mod remote;
mod report;
mod table;

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::{SessionConfig, SessionContext};
use keytrail_ecs::{Enrichment, EnrichmentFiles, TableSchema};
use keytrail_source::Sources;

pub use counted::{CountedEventsExec, CountedProto};
pub use exec::{CloudTrailScanExec, ObjectFeed, ObjectUnit, S3Unit, ScanProto, UnlistedUnit, object_unit};
pub use memory::{MemoryOptions, default_limit};
pub use pushdown::time_range;
pub use read::ReadOptions;
pub use remote::{collect_counted, execute_counted};
pub use report::{ReadError, ReadReport};
pub use table::CloudTrailTable;

/// The table's name in SQL.
pub const TABLE_NAME: &str = "cloudtrail";

/// The column names in a query's text that read inside a flattened object, such as
/// `"aws.cloudtrail.flattened.request_parameters.userName"`. Text-based on purpose: it works
/// for SQL and for every rule language, and a name that only occurs in a string literal
/// merely adds an unused column.
pub fn names_in_query(query: &str) -> Vec<&str> {
    const PREFIX: &str = "aws.cloudtrail.flattened.";
    let mut names = Vec::new();
    let mut rest = query;
    while let Some(at) = rest.find(PREFIX) {
        let tail = &rest[at..];
        let end = tail.find(|c: char| c.is_whitespace() || "\"'`,()[]=<>!;:".contains(c)).unwrap_or(tail.len());
        names.push(tail[..end].trim_end_matches('.'));
        rest = &tail[end..];
    }
    names
}

/// A DataFusion session with the `cloudtrail` table registered over `sources`, its operators
/// bounded by `memory`.
pub fn session(
    sources: Sources,
    enrichment: Arc<Enrichment>,
    enrichment_files: EnrichmentFiles,
    schema: TableSchema,
    options: ReadOptions,
    report: Arc<ReadReport>,
    memory: &MemoryOptions,
) -> Result<SessionContext> {
    let table = CloudTrailTable::new(sources, enrichment, enrichment_files, schema, options, report.clone());
    session_over(Arc::new(table), SessionConfig::new(), memory, report)
}

/// A DataFusion session with `table` as the `cloudtrail` table (the raw logs' table, or
/// another form of the same events such as a Parquet lake), its operators bounded by `memory`.
pub fn session_over(
    table: Arc<dyn TableProvider>,
    config: SessionConfig,
    memory: &MemoryOptions,
    report: Arc<ReadReport>,
) -> Result<SessionContext> {
    session_with(table, state_builder(config, memory, report)?)
}

/// The session state every reading command starts from: `config`, with the information
/// schema, on a runtime bounded by `memory`, and `report` (the table's) for
/// [`execute_counted`] to add the workers' counts to. A cluster adds its planner to it.
pub fn state_builder(
    config: SessionConfig,
    memory: &MemoryOptions,
    report: Arc<ReadReport>,
) -> Result<SessionStateBuilder> {
    Ok(SessionStateBuilder::new()
        .with_config(config.with_information_schema(true).with_extension(report))
        .with_runtime_env(memory.runtime()?)
        .with_default_features())
}

/// A session of `state` with `table` as the `cloudtrail` table.
pub fn session_with(table: Arc<dyn TableProvider>, state: SessionStateBuilder) -> Result<SessionContext> {
    let context = SessionContext::new_with_state(state.build());
    context.register_table(TABLE_NAME, table)?;
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::names_in_query;

    #[test]
    fn flattened_names_are_found_in_queries() {
        let sql = r#"select "aws.cloudtrail.flattened.request_parameters.userName", count(*) from cloudtrail
                     where "aws.cloudtrail.flattened.response_elements.credentials.accessKeyId"='x' group by 1"#;
        assert_eq!(
            names_in_query(sql),
            [
                "aws.cloudtrail.flattened.request_parameters.userName",
                "aws.cloudtrail.flattened.response_elements.credentials.accessKeyId"
            ]
        );
        assert!(names_in_query("select 1").is_empty());
    }
}
