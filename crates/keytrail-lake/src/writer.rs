//! Parquet files in Hive-style partition folders (`date=YYYY-MM-DD`, and in a lake
//! `date=…/account=…`; DuckDB, Spark, Athena and DataFusion read them as columns and prune by
//! them), written from a stream of events.
//!
//! Each partition has its own writer, and a writer holds its row group in memory until the
//! group is full; over many days that is most of the memory of a conversion. So when the
//! writers together hold more than a budget, the largest closes its row group early: memory
//! stays within the budget however many partitions the events span.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::{SchemaRef, TimestampMillisecondType};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionContext, ident};
use futures::StreamExt;

/// Rows per row group: about DuckDB's default, small enough to flush often, large enough for
/// readers to skip groups by their statistics.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Hive's name for a partition whose value is null: events without a time or account.
pub(crate) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";
/// The account folder of values that are not account ids (12 digits): the folder name stays
/// safe, and the events keep their value in `cloud.account.id`.
pub(crate) const OTHER_ACCOUNT: &str = "other";

/// What the open row groups of all partitions may hold together, under a memory limit:
/// row groups of about 100 MB hold as much as readers need to skip by statistics, and the
/// partitions' open groups share a few of those, within a quarter of the limit.
pub fn row_group_budget(memory_limit: usize) -> usize {
    (memory_limit / 4).min(256 << 20)
}

/// The folders events are written into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// `date=YYYY-MM-DD`, by `@timestamp` (UTC).
    Date,
    /// `date=YYYY-MM-DD/account=ACCOUNT`, by `@timestamp` and `cloud.account.id`.
    DateAccount,
}

pub struct PartitionWriters {
    root: PathBuf,
    schema: SchemaRef,
    properties: WriterProperties,
    partitioning: Partitioning,
    /// Each run names its files apart, so that writing into the same folder again adds.
    file_name: String,
    budget: usize,
    writers: BTreeMap<String, ArrowWriter<File>>,
}

impl PartitionWriters {
    /// Writers under `root` for batches of `schema`, holding at most about `budget` bytes.
    pub fn new(
        root: &Path,
        schema: SchemaRef,
        partitioning: Partitioning,
        budget: usize,
    ) -> anyhow::Result<PartitionWriters> {
        std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        let properties = writer_properties()?;
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let file_name = format!("part-{:x}-{}.parquet", stamp.as_nanos(), std::process::id());
        Ok(PartitionWriters {
            root: root.to_path_buf(),
            schema,
            properties,
            partitioning,
            file_name,
            budget,
            writers: BTreeMap::new(),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        let times = batch.column_by_name("@timestamp").context("the events have no @timestamp column")?;
        let times = times.as_primitive::<TimestampMillisecondType>();
        let accounts = match self.partitioning {
            Partitioning::Date => None,
            Partitioning::DateAccount => Some(
                batch
                    .column_by_name("cloud.account.id")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                    .context("the events have no cloud.account.id column")?,
            ),
        };
        let mut rows_of_partition: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let day = match times.is_valid(row) {
                true => chrono::DateTime::from_timestamp_millis(times.value(row))
                    .map_or_else(|| NULL_PARTITION.to_string(), |t| t.date_naive().to_string()),
                false => NULL_PARTITION.to_string(),
            };
            let mut partition = format!("date={day}");
            if let Some(accounts) = accounts {
                partition.push_str("/account=");
                partition.push_str(account_folder(accounts.is_valid(row).then(|| accounts.value(row))));
            }
            rows_of_partition.entry(partition).or_default().push(row as u32);
        }
        for (partition, rows) in rows_of_partition {
            let rows = take_record_batch(batch, &UInt32Array::from(rows))?;
            self.writer(&partition)?.write(&rows).with_context(|| format!("writing the events of {partition}"))?;
        }
        self.keep_within_budget()
    }

    fn writer(&mut self, partition: &str) -> anyhow::Result<&mut ArrowWriter<File>> {
        if !self.writers.contains_key(partition) {
            let folder = self.root.join(partition);
            std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
            let path = folder.join(&self.file_name);
            let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))?;
            self.writers.insert(partition.to_string(), writer);
        }
        Ok(self.writers.get_mut(partition).expect("inserted above"))
    }

    /// Closes the largest row groups until the writers hold no more than the budget.
    fn keep_within_budget(&mut self) -> anyhow::Result<()> {
        loop {
            let held: usize = self.writers.values().map(ArrowWriter::in_progress_size).sum();
            if held <= self.budget {
                return Ok(());
            }
            let largest = self.writers.values_mut().max_by_key(|w| w.in_progress_size()).expect("something is held");
            largest.flush()?;
        }
    }

    /// Finishes every file; their paths under the root, in partition order.
    pub fn finish(self) -> anyhow::Result<Vec<String>> {
        let mut files = Vec::with_capacity(self.writers.len());
        for (partition, writer) in self.writers {
            writer.close().with_context(|| format!("finishing the file of {partition}"))?;
            files.push(format!("{partition}/{}", self.file_name));
        }
        Ok(files)
    }
}

/// How every Parquet file is written: zstd at level 1 (CloudTrail's repetitive strings compress
/// almost as well as at higher levels, in less time), row groups of [`ROW_GROUP_ROWS`].
fn writer_properties() -> anyhow::Result<WriterProperties> {
    Ok(WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .build())
}

/// Rewrites the Parquet file `from` (of `schema`) as `to`, its rows sorted by `@timestamp`, and removes
/// `from`. The sort is DataFusion's, within `context`'s memory pool (spilling past it); one
/// partition's file at a time, so memory is bounded by a partition, not by the whole ingest.
pub(crate) async fn sort_by_time(
    context: &SessionContext,
    schema: &SchemaRef,
    from: &Path,
    to: &Path,
) -> anyhow::Result<()> {
    let name = from.to_str().with_context(|| format!("{} is not a UTF-8 path", from.display()))?;
    // Read as written (DataFusion would otherwise read text as views, and write them so).
    let frame = context.read_parquet(name, ParquetReadOptions::default().schema(schema)).await?;
    let mut rows = frame.sort(vec![ident("@timestamp").sort(true, false)])?.execute_stream().await?;
    let file = File::create(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut writer = ArrowWriter::try_new(file, rows.schema(), Some(writer_properties()?))?;
    while let Some(batch) = rows.next().await {
        writer.write(&batch?).with_context(|| format!("writing {}", to.display()))?;
    }
    writer.close().with_context(|| format!("finishing {}", to.display()))?;
    std::fs::remove_file(from).with_context(|| format!("cannot remove {}", from.display()))
}

/// The account's folder name: an account id as it is, anything else as [`OTHER_ACCOUNT`].
fn account_folder(account: Option<&str>) -> &str {
    match account {
        None => NULL_PARTITION,
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => id,
        Some(_) => OTHER_ACCOUNT,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn batch(times: &[Option<i64>]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("@timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
            Field::new("event.action", DataType::Utf8, true),
        ]));
        let time = TimestampMillisecondArray::from(times.to_vec()).with_timezone("UTC");
        let action = StringArray::from_iter_values(times.iter().map(|_| "ListUsers".repeat(40)));
        RecordBatch::try_new(schema, vec![Arc::new(time), Arc::new(action)]).unwrap()
    }

    #[test]
    fn events_go_to_their_day_and_memory_stays_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        const DAY: i64 = 86_400_000;
        // 30 days, 2,000 events each, delivered interleaved as CloudTrail's files are.
        let budget = 256 * 1024;
        let first = batch(&[Some(0)]);
        let mut writers = PartitionWriters::new(dir.path(), first.schema(), Partitioning::Date, budget).unwrap();
        let mut peak = 0;
        for round in 0..20i64 {
            let times: Vec<Option<i64>> = (0..30 * 100).map(|i| Some((i % 30) * DAY + round * 1_000 + i)).collect();
            writers.write(&batch(&times)).unwrap();
            peak = peak.max(writers.writers.values().map(ArrowWriter::in_progress_size).sum::<usize>());
        }
        writers.write(&batch(&[None])).unwrap();
        assert!(peak <= budget, "held {peak} bytes, budget {budget}");
        assert_eq!(writers.finish().unwrap().len(), 31);

        let mut total = 0;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let folder = entry.unwrap().path();
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            for file in std::fs::read_dir(&folder).unwrap() {
                let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(file.unwrap().path()).unwrap())
                    .unwrap()
                    .build()
                    .unwrap();
                for batch in reader {
                    let batch = batch.unwrap();
                    total += batch.num_rows();
                    let times = batch.column(0).as_primitive::<TimestampMillisecondType>();
                    for t in times.iter() {
                        let day = t.map_or(NULL_PARTITION.to_string(), |t| {
                            chrono::DateTime::from_timestamp_millis(t).unwrap().date_naive().to_string()
                        });
                        assert_eq!(name, format!("date={day}"));
                    }
                }
            }
        }
        assert_eq!(total, 20 * 30 * 100 + 1);
    }
}
