//! The scan of the `cloudtrail` table as an execution plan that runs in this process or,
//! through datafusion-distributed, on workers.
//!
//! In this process every partition takes its next object from the scan's walk of the
//! sources. On a cluster the walk stays with the coordinator: it is the [`ObjectFeed`], which
//! streams each object's name (a work unit) to one worker partition while the query runs, so
//! listing and reading overlap as they do here. The worker fetches the object itself (the
//! same file path, or the same S3 object with its own credentials), decodes, normalizes and
//! enriches it with the databases at the paths the coordinator names, and counts what it read
//! in the node's metrics, which [`crate::execute_counted`] adds to the coordinator's report.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion_distributed::{WorkUnitFeed, WorkUnitFeedProto, WorkUnitFeedProvider};
use futures::StreamExt;
use futures::stream::BoxStream;
use keytrail_ecs::{Enrichment, EnrichmentFiles, TableSchema};
use keytrail_source::{AwsOptions, Body, SourceObject, Sources, TimeRange, Unlisted};

use crate::read::ReadOptions;
use crate::report::ReadReport;
use crate::table::{FedObjects, Fetched, Scan};

/// How many objects a worker partition fetches ahead of decoding: enough to hide S3 latency.
const FETCHES_AHEAD: usize = 8;

/// The `cloudtrail` table's scan.
pub struct CloudTrailScanExec {
    scan: Arc<Scan>,
    feed: WorkUnitFeed<ObjectFeed>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for CloudTrailScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTrailScanExec").field("scan", &self.scan).finish()
    }
}

impl CloudTrailScanExec {
    pub(crate) fn new(scan: Arc<Scan>, schema: SchemaRef, partitions: usize) -> CloudTrailScanExec {
        let feed = WorkUnitFeed::new(ObjectFeed { scan: scan.clone() });
        CloudTrailScanExec { scan, feed, properties: properties(schema, partitions) }
    }

    /// The feed of objects, for datafusion-distributed to find in a plan.
    pub fn feed(&self) -> &WorkUnitFeed<ObjectFeed> {
        &self.feed
    }

    /// What a worker needs to run this scan.
    pub fn to_proto(&self) -> ScanProto {
        let Scan { schema, projection, options, sources, enrichment_files, .. } = &*self.scan;
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        let millis = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
        let aws = sources.aws();
        ScanProto {
            flattened: schema.paths().iter().map(|p| p.name.clone()).collect(),
            projected: projection.is_some(),
            projection: projection.iter().flatten().map(|&i| i as u32).collect(),
            since_ms: millis(options.time_range.since),
            until_ms: millis(options.time_range.until),
            max_record_bytes: options.max_record_bytes as u64,
            strict: options.strict,
            aws_profile: aws.profile.clone(),
            aws_region: aws.region.clone(),
            aws_endpoint_url: aws.endpoint_url.clone(),
            asn: path(&enrichment_files.asn),
            geo: path(&enrichment_files.geo),
            intel: path(&enrichment_files.intel),
            partitions: self.properties.partitioning.partition_count() as u32,
            feed: Some(self.feed.to_proto()),
        }
    }

    /// The scan on a worker: objects come from the coordinator's feed, errors go to this
    /// process's log, and counts to the node's metrics.
    pub fn from_proto(proto: ScanProto) -> Result<CloudTrailScanExec> {
        let feed = proto.feed.ok_or_else(|| DataFusionError::Internal("a cloudtrail scan without its feed".into()))?;
        let schema = TableSchema::with_names(proto.flattened.iter().map(String::as_str));
        let projection: Option<Vec<usize>> =
            proto.projected.then(|| proto.projection.iter().map(|&i| i as usize).collect());
        let projected = match &projection {
            Some(columns) => Arc::new(schema.arrow().project(columns)?),
            None => schema.arrow().clone(),
        };
        let time = |ms: Option<i64>| ms.and_then(DateTime::<Utc>::from_timestamp_millis);
        let options = ReadOptions {
            time_range: TimeRange { since: time(proto.since_ms), until: time(proto.until_ms) },
            max_record_bytes: proto.max_record_bytes as usize,
            strict: proto.strict,
        };
        let files = EnrichmentFiles {
            asn: proto.asn.map(PathBuf::from),
            geo: proto.geo.map(PathBuf::from),
            intel: proto.intel.map(PathBuf::from),
        };
        let enrichment = open_enrichment(&files)?;
        let aws =
            AwsOptions { profile: proto.aws_profile, region: proto.aws_region, endpoint_url: proto.aws_endpoint_url };
        let report = Arc::new(ReadReport::with_sink(Box::new(std::io::stderr())));
        let scan = Scan::new(Sources::for_worker(aws), enrichment, files, schema, projection, options, report);
        Ok(CloudTrailScanExec {
            scan: Arc::new(scan),
            feed: WorkUnitFeed::from_proto(feed)?,
            properties: properties(projected, proto.partitions as usize),
        })
    }

    /// A worker partition's objects: the names the coordinator streams, fetched ahead.
    fn fed(&self, partition: usize, context: Arc<TaskContext>) -> Result<FedObjects> {
        let units = self.feed.feed(partition, context)?;
        let sources = self.scan.sources.clone();
        let fetches = units.map(move |unit| {
            let sources = sources.clone();
            async move {
                let fetched = match unit?.into_object()? {
                    Ok(object) => match sources.fetch(&object).await {
                        Ok(Body::Bytes(bytes)) => Fetched::Object(object, Ok(bytes)),
                        Ok(Body::Stream(_)) => {
                            return Err(DataFusionError::Internal("a worker was sent a stream to read".into()));
                        }
                        Err(error) => Fetched::Object(object, Err(error)),
                    },
                    Err(unlisted) => Fetched::Unlisted(unlisted),
                };
                Ok(fetched)
            }
        });
        Ok(fetches.buffered(FETCHES_AHEAD).boxed())
    }
}

fn properties(schema: SchemaRef, partitions: usize) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(partitions),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

/// The databases a worker enriches with, opened once per set of files for the process's
/// life (restart workers after `keytrail asn build` or `keytrail intel add`).
fn open_enrichment(files: &EnrichmentFiles) -> Result<Arc<Enrichment>> {
    static OPENED: LazyLock<Mutex<HashMap<EnrichmentFiles, Arc<Enrichment>>>> = LazyLock::new(Default::default);
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(enrichment) = opened.get(files) {
        return Ok(enrichment.clone());
    }
    let enrichment = Arc::new(
        files
            .open()
            .map_err(|e| DataFusionError::Execution(format!("the worker cannot open its enrichment data: {e}")))?,
    );
    opened.insert(files.clone(), enrichment.clone());
    Ok(enrichment)
}

impl DisplayAs for CloudTrailScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns = self.properties.eq_properties.schema().fields().len();
        write!(f, "CloudTrailScanExec: columns={columns}")
    }
}

impl ExecutionPlan for CloudTrailScanExec {
    fn name(&self) -> &str {
        "CloudTrailScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        // The feed holds its provider only where the plan was made: there the partitions walk
        // the sources themselves.
        let fed = match self.feed.inner() {
            Some(_) => None,
            None => Some(self.fed(partition, context)?),
        };
        Ok(self.scan.partition_stream(self.schema(), fed))
    }

    /// On a worker, what it read: the coordinator adds these to its report. Where the plan was
    /// made, the partitions count into the shared report directly.
    fn metrics(&self) -> Option<MetricsSet> {
        self.feed.inner().is_none().then(|| self.scan.report.as_metrics())
    }
}

/// Hands out the objects of the coordinator's walk to worker partitions, in the order the
/// walk finds them.
#[derive(Debug, Clone)]
pub struct ObjectFeed {
    scan: Arc<Scan>,
}

impl WorkUnitFeedProvider for ObjectFeed {
    type WorkUnit = ObjectUnit;

    fn feed(&self, _partition: usize, _context: Arc<TaskContext>) -> Result<BoxStream<'static, Result<ObjectUnit>>> {
        let objects = futures::stream::unfold(self.scan.clone(), |scan| async move {
            let next = scan.next_object().await?;
            Some((ObjectUnit::from_object(next), scan))
        });
        Ok(objects.boxed())
    }
}

/// One object for a worker to read, or a folder that could not be listed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ObjectUnit {
    #[prost(oneof = "object_unit::Kind", tags = "1, 2, 3")]
    pub kind: Option<object_unit::Kind>,
}

pub mod object_unit {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(string, tag = "1")]
        File(String),
        #[prost(message, tag = "2")]
        S3(super::S3Unit),
        #[prost(message, tag = "3")]
        Unlisted(super::UnlistedUnit),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct S3Unit {
    #[prost(string, tag = "1")]
    pub bucket: String,
    #[prost(string, tag = "2")]
    pub key: String,
    #[prost(uint64, tag = "3")]
    pub size: u64,
    #[prost(int64, optional, tag = "4")]
    pub last_modified: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UnlistedUnit {
    #[prost(string, tag = "1")]
    pub folder: String,
    #[prost(string, tag = "2")]
    pub reason: String,
}

impl ObjectUnit {
    fn from_object(next: Result<SourceObject, Unlisted>) -> Result<ObjectUnit> {
        use object_unit::Kind;
        let kind = match next {
            Ok(SourceObject::File(path)) => Kind::File(path.to_string_lossy().into_owned()),
            Ok(SourceObject::S3 { bucket, key, size, last_modified }) => {
                Kind::S3(S3Unit { bucket, key, size, last_modified })
            }
            Ok(SourceObject::Stdin) => {
                return Err(DataFusionError::Plan(
                    "workers cannot read this process's standard input: write it to a file or S3 first".into(),
                ));
            }
            Err(Unlisted { folder, reason }) => Kind::Unlisted(UnlistedUnit { folder, reason }),
        };
        Ok(ObjectUnit { kind: Some(kind) })
    }

    fn into_object(self) -> Result<Result<SourceObject, Unlisted>> {
        use object_unit::Kind;
        Ok(match self.kind {
            Some(Kind::File(path)) => Ok(SourceObject::File(PathBuf::from(path))),
            Some(Kind::S3(S3Unit { bucket, key, size, last_modified })) => {
                Ok(SourceObject::S3 { bucket, key, size, last_modified })
            }
            Some(Kind::Unlisted(UnlistedUnit { folder, reason })) => Err(Unlisted { folder, reason }),
            None => return Err(DataFusionError::Internal("an empty work unit".into())),
        })
    }
}

/// What a worker needs to run a [`CloudTrailScanExec`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScanProto {
    /// The flattened paths the table has as columns.
    #[prost(string, repeated, tag = "1")]
    pub flattened: Vec<String>,
    #[prost(bool, tag = "2")]
    pub projected: bool,
    #[prost(uint32, repeated, tag = "3")]
    pub projection: Vec<u32>,
    #[prost(int64, optional, tag = "4")]
    pub since_ms: Option<i64>,
    #[prost(int64, optional, tag = "5")]
    pub until_ms: Option<i64>,
    #[prost(uint64, tag = "6")]
    pub max_record_bytes: u64,
    #[prost(bool, tag = "7")]
    pub strict: bool,
    #[prost(string, optional, tag = "8")]
    pub aws_profile: Option<String>,
    #[prost(string, optional, tag = "9")]
    pub aws_region: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub aws_endpoint_url: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub asn: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub geo: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub intel: Option<String>,
    #[prost(uint32, tag = "14")]
    pub partitions: u32,
    #[prost(message, optional, tag = "15")]
    pub feed: Option<WorkUnitFeedProto>,
}
