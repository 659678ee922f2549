//! The `cloudtrail` table: a DataFusion [`TableProvider`] whose scan reads the sources in
//! parallel partitions, each taking the next object (a local file it reads itself, or one
//! fetched ahead from a shared queue), so memory stays flat however much is read.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use futures::StreamExt;
use keytrail_ecs::{BatchBuilder, Enrichment, TableSchema};
use keytrail_source::{SourceError, SourceObject, Sources};
use tokio::sync::{Mutex, mpsc};

use crate::read::{ObjectReader, ReadOptions};
use crate::report::{ReadError, ReadReport};

/// Rows per batch handed to DataFusion: CloudTrail files are small, so several are gathered.
const BATCH_ROWS: usize = 8192;

/// The CloudTrail events of a set of sources, as a table.
pub struct CloudTrailTable {
    sources: Sources,
    enrichment: Arc<Enrichment>,
    schema: TableSchema,
    options: ReadOptions,
    report: Arc<ReadReport>,
}

impl fmt::Debug for CloudTrailTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTrailTable").field("sources", &self.sources).finish()
    }
}

impl CloudTrailTable {
    pub fn new(
        sources: Sources,
        enrichment: Arc<Enrichment>,
        schema: TableSchema,
        options: ReadOptions,
        report: Arc<ReadReport>,
    ) -> CloudTrailTable {
        report.objects_total.store(sources.len() as u64, Ordering::Relaxed);
        CloudTrailTable { sources, enrichment, schema, options, report }
    }
}

#[async_trait]
impl TableProvider for CloudTrailTable {
    fn schema(&self) -> SchemaRef {
        self.schema.arrow().clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = state.config().target_partitions().clamp(1, self.sources.len().max(1));
        let projected = match projection {
            Some(columns) => Arc::new(self.schema.arrow().project(columns)?),
            None => self.schema.arrow().clone(),
        };
        let scan = Arc::new(Scan {
            sources: self.sources.clone(),
            enrichment: self.enrichment.clone(),
            schema: self.schema.clone(),
            projection: projection.cloned(),
            options: self.options.clone(),
            report: self.report.clone(),
            local: self.sources.objects().iter().all(|o| matches!(o, SourceObject::File(_))),
            next_local: AtomicUsize::new(0),
            queue: OnceLock::new(),
        });
        let streams: Vec<Arc<dyn PartitionStream>> = (0..partitions)
            .map(|_| Arc::new(ScanPartition { scan: scan.clone(), schema: projected.clone() }) as _)
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(projected, streams, None, [], false, limit)?))
    }
}

type Fetched = (usize, Result<Vec<u8>, SourceError>);

/// One execution of the table's scan, shared by its partitions.
struct Scan {
    sources: Sources,
    enrichment: Arc<Enrichment>,
    schema: TableSchema,
    projection: Option<Vec<usize>>,
    options: ReadOptions,
    report: Arc<ReadReport>,
    /// When every object is a local file, each partition reads the next one itself: the
    /// files are small, and handing each one to another thread cost more than reading it.
    local: bool,
    next_local: AtomicUsize,
    /// Otherwise objects are fetched ahead of decoding, so that S3 latency overlaps with
    /// parsing. Started by the first partition to run.
    queue: OnceLock<Mutex<mpsc::Receiver<Fetched>>>,
}

/// What one partition keeps from batch to batch.
struct PartitionState {
    builder: BatchBuilder,
    reader: ObjectReader,
    /// The bytes of the local file being read, the buffer reused from file to file.
    file: Vec<u8>,
}

impl Scan {
    /// How many fetches run at once: S3 needs many in flight to hide latency; stdin only
    /// needs to stay ahead of the decoder.
    fn fetch_concurrency(&self) -> usize {
        let remote = self.sources.objects().iter().any(|o| matches!(o, SourceObject::S3 { .. }));
        if remote { 32 } else { 4 }
    }

    fn queue(&self) -> &Mutex<mpsc::Receiver<Fetched>> {
        self.queue.get_or_init(|| {
            let concurrency = self.fetch_concurrency();
            let (sender, receiver) = mpsc::channel(concurrency * 2);
            let sources = self.sources.clone();
            tokio::spawn(async move {
                let fetches = futures::stream::iter(0..sources.len())
                    .map(|i| {
                        let sources = sources.clone();
                        async move { (i, sources.fetch(i).await) }
                    })
                    .buffered(concurrency);
                futures::pin_mut!(fetches);
                while let Some(fetched) = fetches.next().await {
                    if sender.send(fetched).await.is_err() {
                        break; // the query finished early (LIMIT) or failed
                    }
                }
            });
            Mutex::new(receiver)
        })
    }

    /// Reads objects into one batch of about [`BATCH_ROWS`] rows; `None` when nothing is left.
    async fn next_batch(&self, state: &mut PartitionState) -> Result<Option<RecordBatch>> {
        let PartitionState { builder, reader, file } = state;
        while builder.rows() < BATCH_ROWS {
            let outcome = if self.local {
                let index = self.next_local.fetch_add(1, Ordering::Relaxed);
                let Some(object @ SourceObject::File(path)) = self.sources.objects().get(index) else { break };
                // Blocking, but brief: partitions are as many as cores, and each one does
                // nothing else while it waits.
                match read_file(path, file) {
                    Ok(()) => reader.read(object, file, builder, &self.enrichment, &self.options, &self.report),
                    Err(source) => self.unreadable(object, SourceError::Io { path: object.to_string(), source }),
                }
            } else {
                let Some((index, fetched)) = self.queue().lock().await.recv().await else { break };
                let object = &self.sources.objects()[index];
                match fetched {
                    Ok(bytes) => reader.read(object, &bytes, builder, &self.enrichment, &self.options, &self.report),
                    Err(error) => self.unreadable(object, error),
                }
            };
            self.report.objects_read.fetch_add(1, Ordering::Relaxed);
            outcome.map_err(|e| DataFusionError::Execution(format!("{e} (stopped by --strict)")))?;
        }
        if builder.rows() == 0 {
            return Ok(None);
        }
        Ok(Some(builder.finish()?))
    }

    /// An object that could not be fetched: reported, or in strict mode the end of the read.
    fn unreadable(&self, object: &SourceObject, error: SourceError) -> std::result::Result<(), ReadError> {
        let error = ReadError { object: object.to_string(), position: None, message: error.to_string() };
        self.report.objects_with_errors.fetch_add(1, Ordering::Relaxed);
        if self.options.strict {
            return Err(error);
        }
        self.report.record(error);
        Ok(())
    }
}

/// The file's bytes, into `buffer` (cleared first).
fn read_file(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    buffer.clear();
    File::open(path)?.read_to_end(buffer)?;
    Ok(())
}

struct ScanPartition {
    scan: Arc<Scan>,
    schema: SchemaRef,
}

impl fmt::Debug for ScanPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScanPartition")
    }
}

impl PartitionStream for ScanPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let scan = self.scan.clone();
        let builder = BatchBuilder::new(&scan.schema, scan.projection.as_deref());
        let reader = ObjectReader::new(&builder, &scan.options);
        let state = PartitionState { builder, reader, file: Vec::new() };
        let batches = futures::stream::unfold((scan, state, false), |(scan, mut state, done)| async move {
            if done {
                return None;
            }
            match scan.next_batch(&mut state).await {
                Ok(Some(batch)) => Some((Ok(batch), (scan, state, false))),
                Ok(None) => None,
                Err(e) => Some((Err(e), (scan, state, true))),
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
