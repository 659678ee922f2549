//! Adding logs to a lake: the objects it does not hold yet, read once, written by partition.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use keytrail_engine::ReadReport;
use keytrail_source::{SourceObject, Unlisted};

use crate::Lake;
use crate::commits::{Commit, ObjectRecord};
use crate::writer::{PartitionWriters, Partitioning, sort_by_time};

/// What an ingest will read: the objects of its inputs the lake does not hold.
#[derive(Debug, Default)]
pub struct NewObjects {
    pub objects: Vec<SourceObject>,
    /// How each new object will be recorded, by its name in read errors.
    records: HashMap<String, ObjectRecord>,
    /// Objects of the inputs already in the lake.
    pub known: usize,
    /// Objects already in the lake whose size is not what it was: CloudTrail never rewrites a
    /// log file, so they are not read again (their old events would stay beside the new).
    pub changed: Vec<ObjectRecord>,
    /// Folders that could not be listed.
    pub unlisted: Vec<Unlisted>,
}

impl NewObjects {
    /// How many of the objects will be recorded (all but standard input).
    pub fn recordable(&self) -> usize {
        self.records.len()
    }
}

/// An object's identity in the lake's records; `None` for standard input, which has none and
/// is always read. A file that cannot be looked at is left to the read, which reports why.
pub fn identify(object: &SourceObject) -> Option<ObjectRecord> {
    match object {
        SourceObject::File(path) => {
            let metadata = std::fs::metadata(path).ok()?;
            let absolute = std::fs::canonicalize(path).ok()?;
            let modified = metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64);
            Some(ObjectRecord { object: absolute.display().to_string(), size: metadata.len(), modified })
        }
        SourceObject::S3 { bucket, key, size, last_modified } => {
            Some(ObjectRecord { object: format!("s3://{bucket}/{key}"), size: *size, modified: *last_modified })
        }
        SourceObject::Stdin => None,
    }
}

impl Lake {
    /// The objects among `objects` that this lake does not hold yet, by name (a file's
    /// absolute path, an S3 object's address).
    pub fn new_objects(
        &self,
        objects: impl Iterator<Item = Result<SourceObject, Unlisted>>,
    ) -> anyhow::Result<NewObjects> {
        let held = self.ingested()?;
        let mut new = NewObjects::default();
        let mut seen = HashSet::new();
        for object in objects {
            let object = match object {
                Ok(object) => object,
                Err(unlisted) => {
                    new.unlisted.push(unlisted);
                    continue;
                }
            };
            match identify(&object) {
                Some(record) if held.contains_key(&record.object) => {
                    new.known += 1;
                    if held[&record.object].size != record.size {
                        new.changed.push(record);
                    }
                }
                // The same object named twice (a file and its folder) is read once.
                Some(record) if !seen.insert(record.clone()) => {}
                Some(record) => {
                    new.records.insert(object.to_string(), record);
                    new.objects.push(object);
                }
                None => new.objects.push(object),
            }
        }
        Ok(new)
    }

    /// Writes `events` (read from `new.objects`) into the lake as one ingest, each partition's
    /// file sorted by time, and records the objects read, except those the read could not
    /// fetch, which the next ingest tries again. `budget` bounds the bytes the open row groups
    /// hold; `context` sorts, within its memory pool.
    pub async fn ingest(
        &self,
        mut events: SendableRecordBatchStream,
        new: NewObjects,
        report: &ReadReport,
        enrichment: Vec<String>,
        budget: usize,
        context: &SessionContext,
    ) -> anyhow::Result<Commit> {
        let now = chrono::Utc::now();
        let run = format!("{}-{}", now.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id());
        let staging = self.staging_dir().join(&run);
        let (rows, files) = match write_sorted_partitions(&mut events, &staging, budget, context).await {
            Ok(written) => written,
            Err(e) => {
                // Nothing was committed: the staged files are of no use (the next ingest
                // would delete them too).
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let unfetched: HashSet<String> = report.unfetched().into_iter().collect();
        let mut records = new.records;
        records.retain(|name, _| !unfetched.contains(name));
        let mut objects: Vec<ObjectRecord> = records.into_values().collect();
        objects.sort_by(|a, b| a.object.cmp(&b.object));
        let commit = Commit {
            run,
            committed_at: now.to_rfc3339(),
            keytrail: env!("CARGO_PKG_VERSION").to_string(),
            enrichment,
            events: rows,
            files,
            objects,
        };
        self.commit(&commit)?;
        Ok(commit)
    }
}

/// The events into partition files under `root`, in the order they come, then each file
/// rewritten sorted by time: their number, and the files.
async fn write_sorted_partitions(
    events: &mut SendableRecordBatchStream,
    root: &Path,
    budget: usize,
    context: &SessionContext,
) -> anyhow::Result<(u64, Vec<String>)> {
    let unsorted = root.join("unsorted");
    let mut writers = PartitionWriters::new(&unsorted, events.schema(), Partitioning::DateAccount, budget)?;
    let mut rows = 0u64;
    while let Some(batch) = events.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writers.write(&batch)?;
    }
    let files = writers.finish()?;
    for file in &files {
        let sorted = root.join(file);
        if let Some(folder) = sorted.parent() {
            std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
        }
        sort_by_time(context, &events.schema(), &unsorted.join(file), &sorted).await?;
    }
    std::fs::remove_dir_all(&unsorted).with_context(|| format!("cannot remove {}", unsorted.display()))?;
    Ok((rows, files))
}
