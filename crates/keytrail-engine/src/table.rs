//! The `cloudtrail` table: a DataFusion [`TableProvider`] whose scan reads the sources in
//! parallel partitions, each taking the next object (a local file it reads itself, or one
//! fetched ahead from a shared queue), so memory stays flat however much is read. Folders are
//! walked as the partitions ask for files, so reading starts at once. On a worker of a
//! cluster, a partition's objects come from the coordinator's walk instead
//! ([`crate::exec`]).

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::TableProviderFilterPushDown;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use futures::stream::BoxStream;
use keytrail_decode::{DecodeError, Piece, Pieces};
use keytrail_ecs::{BatchBuilder, Enrichment, EnrichmentFiles, TableSchema};
use keytrail_source::{Body, Objects, SourceError, SourceObject, Sources, TimeRange, Unlisted};
use tokio::sync::{Mutex, mpsc};

use crate::exec::CloudTrailScanExec;
use crate::pushdown;
use crate::read::{ObjectReader, ReadOptions, Text, stream_damage};
use crate::report::{ReadError, ReadReport};

/// Rows per batch handed to DataFusion: CloudTrail files are small, so several are gathered.
const BATCH_ROWS: usize = 8192;

/// The CloudTrail events of a set of sources, as a table.
pub struct CloudTrailTable {
    sources: Sources,
    enrichment: Arc<Enrichment>,
    enrichment_files: EnrichmentFiles,
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
    /// The events of `sources`, enriched with `enrichment`, which a worker of a distributed
    /// read opens from `enrichment_files`.
    pub fn new(
        sources: Sources,
        enrichment: Arc<Enrichment>,
        enrichment_files: EnrichmentFiles,
        schema: TableSchema,
        options: ReadOptions,
        report: Arc<ReadReport>,
    ) -> CloudTrailTable {
        CloudTrailTable { sources, enrichment, enrichment_files, schema, options, report }
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

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match pushdown::time_range(filter) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        // Not honoured: DataFusion keeps the limit above the scan, which stops reading once
        // it has its rows.
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Bounds on @timestamp in the query narrow the read like --since/--until.
        let range = filters.iter().filter_map(pushdown::time_range).fold(self.options.time_range, TimeRange::intersect);
        let options = ReadOptions { time_range: range, ..self.options.clone() };
        let sources = self.sources.within(range);
        let partitions = state.config().target_partitions().max(1);
        let projected = match projection {
            Some(columns) => Arc::new(self.schema.arrow().project(columns)?),
            None => self.schema.arrow().clone(),
        };
        let scan = Scan::new(
            sources,
            self.enrichment.clone(),
            self.enrichment_files.clone(),
            self.schema.clone(),
            projection.cloned(),
            options,
            self.report.clone(),
        );
        Ok(Arc::new(CloudTrailScanExec::new(Arc::new(scan), projected, partitions)))
    }
}

/// What the fetcher hands to the partitions.
pub(crate) enum Fetched {
    /// An object and its bytes, or why there are none.
    Object(SourceObject, Result<Vec<u8>, SourceError>),
    /// A piece of a streamed object (stdin), or what went wrong cutting it.
    Piece(Arc<Streamed>, Result<Piece, DecodeError>),
    /// A streamed object has no more pieces.
    StreamEnd,
    Unlisted(Unlisted),
}

/// A streamed object, shared by its pieces, which several partitions may read at once.
pub(crate) struct Streamed {
    object: SourceObject,
    errors_seen: AtomicBool,
}

/// How many pieces of a stream wait, cut, for a partition: enough to keep both busy.
const PIECES_AHEAD: usize = 4;

/// The objects still to read, shared by the partitions of one scan.
struct Walk {
    objects: Objects,
    found: u64,
}

/// One execution of the table's scan, shared by its partitions.
pub(crate) struct Scan {
    pub(crate) sources: Sources,
    pub(crate) enrichment: Arc<Enrichment>,
    pub(crate) enrichment_files: EnrichmentFiles,
    pub(crate) schema: TableSchema,
    pub(crate) projection: Option<Vec<usize>>,
    pub(crate) options: ReadOptions,
    pub(crate) report: Arc<ReadReport>,
    /// When every object is a local file, each partition reads the next one itself: the
    /// files are small, and handing each one to another thread cost more than reading it.
    local: bool,
    walk: Mutex<Walk>,
    /// Otherwise objects are fetched ahead of decoding, so that S3 latency overlaps with
    /// parsing. Started by the first partition to run.
    queue: OnceLock<Mutex<mpsc::Receiver<Fetched>>>,
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan").field("sources", &self.sources).field("projection", &self.projection).finish()
    }
}

/// The objects of a partition that a worker reads: fetched as the coordinator's walk hands
/// them out, or what stopped the feed (the coordinator gone, say).
pub(crate) type FedObjects = BoxStream<'static, Result<Fetched>>;

/// What one partition keeps from batch to batch.
struct PartitionState {
    builder: BatchBuilder,
    reader: ObjectReader,
    /// The bytes of the local file being read, the buffer reused from file to file.
    file: Vec<u8>,
    /// On a worker, where its objects come from; otherwise the scan's own walk.
    fed: Option<FedObjects>,
}

impl Scan {
    pub(crate) fn new(
        sources: Sources,
        enrichment: Arc<Enrichment>,
        enrichment_files: EnrichmentFiles,
        schema: TableSchema,
        projection: Option<Vec<usize>>,
        options: ReadOptions,
        report: Arc<ReadReport>,
    ) -> Scan {
        Scan {
            enrichment,
            enrichment_files,
            schema,
            projection,
            options,
            report,
            local: sources.all_local(),
            walk: Mutex::new(Walk { objects: sources.objects(), found: 0 }),
            sources,
            queue: OnceLock::new(),
        }
    }

    /// How many fetches run at once: S3 needs many in flight to hide latency; stdin only
    /// needs to stay ahead of the decoder.
    fn fetch_concurrency(&self) -> usize {
        if self.sources.any_remote() { 32 } else { 4 }
    }

    /// The next object of the walk, counted as found; the report learns the total when the
    /// walk ends (the largest of the scans', when a query scans the table more than once).
    pub(crate) async fn next_object(&self) -> Option<Result<SourceObject, Unlisted>> {
        let mut walk = self.walk.lock().await;
        let next = walk.objects.next().await;
        match &next {
            Some(_) => {
                walk.found += 1;
                self.report.objects_found.fetch_max(walk.found, Ordering::Relaxed);
            }
            None => {
                self.report.objects_ignored.fetch_max(walk.objects.ignored as u64, Ordering::Relaxed);
                self.report.listing_done.store(true, Ordering::Relaxed);
            }
        }
        next
    }

    fn queue(self: &Arc<Self>) -> &Mutex<mpsc::Receiver<Fetched>> {
        self.queue.get_or_init(|| {
            let concurrency = self.fetch_concurrency();
            let (sender, receiver) = mpsc::channel(concurrency * 2);
            let scan = self.clone();
            tokio::spawn(async move {
                let objects = futures::stream::unfold(scan.clone(), |scan| async move {
                    let next = scan.next_object().await?;
                    Some((next, scan))
                });
                let fetches = objects
                    .map(|next| {
                        let sources = scan.sources.clone();
                        let max_record_bytes = scan.options.max_record_bytes;
                        async move {
                            let fetched = match next {
                                Ok(object) => match sources.fetch(&object).await {
                                    Ok(Body::Stream(reader)) => return pieces(object, reader, max_record_bytes),
                                    Ok(Body::Bytes(bytes)) => Fetched::Object(object, Ok(bytes)),
                                    Err(error) => Fetched::Object(object, Err(error)),
                                },
                                Err(unlisted) => Fetched::Unlisted(unlisted),
                            };
                            futures::stream::iter([fetched]).boxed()
                        }
                    })
                    .buffered(concurrency)
                    .flatten();
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
    async fn next_batch(self: &Arc<Self>, state: &mut PartitionState) -> Result<Option<RecordBatch>> {
        let PartitionState { builder, reader, file, fed } = state;
        while builder.rows() < BATCH_ROWS {
            let next = if let Some(fed) = fed {
                let Some(fetched) = fed.next().await else { break };
                fetched?
            } else if self.local {
                let Some(next) = self.next_object().await else { break };
                // Blocking, but brief: partitions are as many as cores, and each one does
                // nothing else while it waits.
                match next {
                    Ok(object) => {
                        let SourceObject::File(path) = &object else { unreachable!("a local scan holds only files") };
                        let fetched = read_file(path, file)
                            .map_err(|source| SourceError::Io { path: path.display().to_string(), source });
                        Fetched::Object(object, fetched.map(|()| std::mem::take(file)))
                    }
                    Err(unlisted) => Fetched::Unlisted(unlisted),
                }
            } else {
                let Some(fetched) = self.queue().lock().await.recv().await else { break };
                fetched
            };
            let outcome = match next {
                Fetched::Object(object, Ok(bytes)) => {
                    let errors_seen = AtomicBool::new(false);
                    let text = Text::whole(&object, &bytes, &errors_seen);
                    let outcome = reader.read(text, builder, &self.enrichment, &self.options, &self.report);
                    if self.local {
                        *file = bytes; // the buffer goes back for the next file
                    }
                    self.report.objects_read.fetch_add(1, Ordering::Relaxed);
                    outcome
                }
                Fetched::Object(object, Err(error)) => {
                    self.report.record_unfetched(object.to_string());
                    self.report.objects_read.fetch_add(1, Ordering::Relaxed);
                    self.unreadable(object.to_string(), error.to_string())
                }
                Fetched::Piece(streamed, Ok(piece)) => {
                    let Streamed { object, errors_seen } = &*streamed;
                    let text = Text { object, bytes: &piece.text, shape: piece.shape, errors_seen };
                    reader.read(text, builder, &self.enrichment, &self.options, &self.report)
                }
                Fetched::Piece(streamed, Err(damage)) => {
                    stream_damage(&streamed.object, damage, &streamed.errors_seen, &self.options, &self.report)
                }
                Fetched::StreamEnd => {
                    self.report.objects_read.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Fetched::Unlisted(Unlisted { folder, reason }) => {
                    self.report.objects_read.fetch_add(1, Ordering::Relaxed);
                    self.unreadable(folder, format!("cannot list this folder: {reason}"))
                }
            };
            outcome.map_err(|e| DataFusionError::Execution(format!("{e} (stopped by --strict)")))?;
        }
        if builder.rows() == 0 {
            return Ok(None);
        }
        Ok(Some(builder.finish()?))
    }

    /// An object that could not be fetched, or a folder that could not be listed: reported,
    /// or in strict mode the end of the read.
    fn unreadable(&self, object: String, message: String) -> std::result::Result<(), ReadError> {
        let error = ReadError { object, position: None, message };
        self.report.objects_with_errors.fetch_add(1, Ordering::Relaxed);
        if self.options.strict {
            return Err(error);
        }
        self.report.record(error);
        Ok(())
    }
}

/// The pieces of a streamed object, cut on a thread of their own as the stream arrives, then
/// its end. Not a runtime's blocking thread: a pipe that never closes must not hold up the
/// runtime's shutdown once the query is done.
fn pieces(
    object: SourceObject,
    reader: Box<dyn Read + Send>,
    max_record_bytes: usize,
) -> futures::stream::BoxStream<'static, Fetched> {
    let streamed = Arc::new(Streamed { object, errors_seen: AtomicBool::new(false) });
    let (sender, receiver) = mpsc::channel(PIECES_AHEAD);
    let cutter = streamed.clone();
    let spawned = std::thread::Builder::new().name("keytrail-stdin".into()).spawn(move || {
        for piece in Pieces::new(reader, keytrail_decode::DEFAULT_PIECE_BYTES, max_record_bytes) {
            if sender.blocking_send(Fetched::Piece(cutter.clone(), piece)).is_err() {
                break; // the query finished early (LIMIT) or failed
            }
        }
    });
    let first = spawned.err().map(|e| {
        let damage = DecodeError::object(format!("cannot start a thread to read it: {e}"));
        Fetched::Piece(streamed.clone(), Err(damage))
    });
    let received = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|fetched| (fetched, receiver))
    });
    futures::stream::iter(first).chain(received).chain(futures::stream::iter([Fetched::StreamEnd])).boxed()
}

/// The file's bytes, into `buffer` (cleared first).
fn read_file(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    buffer.clear();
    File::open(path)?.read_to_end(buffer)?;
    Ok(())
}

impl Scan {
    /// The batches of one partition: its objects taken from the scan's walk, or on a worker
    /// from `fed`.
    pub(crate) fn partition_stream(
        self: &Arc<Self>,
        schema: SchemaRef,
        fed: Option<FedObjects>,
    ) -> SendableRecordBatchStream {
        let scan = self.clone();
        let builder = BatchBuilder::new(&scan.schema, scan.projection.as_deref());
        let reader = ObjectReader::new(&builder, &scan.options);
        let state = PartitionState { builder, reader, file: Vec::new(), fed };
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
        Box::pin(RecordBatchStreamAdapter::new(schema, batches))
    }
}
