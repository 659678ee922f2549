#![allow(dead_code)] // each test binary uses part of it
//! Shared by the engine's integration tests: run SQL over paths.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use keytrail_ecs::{Enrichment, TableSchema};
use keytrail_engine::{MemoryOptions, ReadOptions, ReadReport, names_in_query, session};
use keytrail_source::{DiscoverOptions, Sources};

pub struct Run {
    pub batches: Vec<RecordBatch>,
    pub report: Arc<ReadReport>,
}

pub async fn query(sql: &str, paths: &[String], options: ReadOptions) -> datafusion::error::Result<Run> {
    let sources = Sources::discover(paths, &DiscoverOptions { time_range: options.time_range, ..Default::default() })
        .await
        .unwrap();
    let report = Arc::new(ReadReport::default());
    let context = session(
        sources,
        Arc::new(Enrichment::default()),
        keytrail_ecs::EnrichmentFiles::default(),
        TableSchema::with_names(names_in_query(sql)),
        options,
        report.clone(),
        &MemoryOptions::default(),
    )?;
    let batches = context.sql(sql).await?.collect().await?;
    Ok(Run { batches, report })
}

/// The single integer a `select count(*)` returns.
pub fn single_count(batches: &[RecordBatch]) -> i64 {
    let column = batches[0].column(0);
    datafusion::arrow::array::as_primitive_array::<datafusion::arrow::datatypes::Int64Type>(column).value(0)
}
