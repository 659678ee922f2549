//! `keytrail ingest PATH... --lake DIR`

use std::io::Write;
use std::process::ExitCode;

use keytrail_ecs::TableSchema;
use keytrail_engine::ReadOptions;
use keytrail_lake::Lake;
use keytrail_source::{Sources, TimeRange};

use crate::args::IngestArgs;
use crate::progress::Progress;
use crate::setup::{Events, Reading};

pub async fn run(args: IngestArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.read.workers.is_some() {
        anyhow::bail!("ingest writes the lake from this process: --workers does not apply to it");
    }
    let reading = Reading::open(&args.read).await?;
    let Events::Logs { sources, .. } = &reading.events else {
        anyhow::bail!("{} is a lake already: ingest reads logs (files, folders, s3://, -)", args.read.paths.join(", "));
    };
    let lake = Lake::create(&args.lake)?;
    let ingested = ingest_new(&reading, sources, &lake, Progress::follow(reading.report.clone(), quiet)).await?;
    if ingested.objects == 0 {
        if !quiet {
            eprintln!("nothing new: {} holds all {} log files of the inputs", lake.root().display(), ingested.known);
        }
    } else {
        reading.finish(quiet, args.read.errors.as_deref());
        if !quiet {
            eprintln!(
                "ingested {} events of {} new log files into {} files of {} ({} log files of the inputs were in it already)",
                ingested.events,
                ingested.objects,
                ingested.files,
                lake.root().display(),
                ingested.known
            );
            if ingested.left > 0 {
                eprintln!(
                    "  {} log files could not be fetched and are not recorded: the next ingest tries them again",
                    ingested.left
                );
            }
        }
    }
    // One JSON line on stdout, for scripts and cron jobs.
    let summary = serde_json::json!({
        "events": ingested.events,
        "log_files_ingested": ingested.objects,
        "log_files_already_in_lake": ingested.known,
        "parquet_files_written": ingested.files,
    });
    writeln!(std::io::stdout(), "{summary}")?;
    Ok(ExitCode::SUCCESS)
}

/// What one ingest added to a lake.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ingested {
    pub events: u64,
    /// New log files read and recorded.
    pub objects: usize,
    /// Log files of the inputs the lake held already.
    pub known: usize,
    /// Parquet files written.
    pub files: usize,
    /// New log files that could not be fetched: not recorded, tried again next time.
    pub left: usize,
}

/// Reads the log files of `sources` that `lake` does not hold yet into it, with `reading`'s
/// enrichment and options, while `progress` follows the read.
pub async fn ingest_new(
    reading: &Reading,
    sources: &Sources,
    lake: &Lake,
    progress: Progress,
) -> anyhow::Result<Ingested> {
    let Events::Logs { enrichment, enrichment_source, enrichment_files, .. } = &reading.events else {
        anyhow::bail!("a lake is not read into another lake");
    };
    let new = lake.new_objects(sources.objects().all().await.into_iter())?;
    for unlisted in &new.unlisted {
        tracing::warn!("{unlisted}");
    }
    for changed in &new.changed {
        tracing::warn!(
            "{} has another size ({} bytes) than when it was ingested; not read again (a new lake reads it anew)",
            changed.object,
            changed.size
        );
    }
    let known = new.known;
    if new.objects.is_empty() {
        progress.finish();
        return Ok(Ingested { known, ..Ingested::default() });
    }
    let recordable = new.recordable();
    // --since/--until choose the files (by the days their paths name); every event of a chosen
    // file is kept, since the file is recorded whole and never read again.
    let options = ReadOptions { time_range: TimeRange::default(), ..reading.options.clone() };
    let context = keytrail_engine::session(
        sources.with_objects(new.objects.clone()),
        enrichment.clone(),
        enrichment_source.clone(),
        TableSchema::default(),
        options,
        reading.report.clone(),
        &reading.memory,
    )?;
    let events = context.sql("select * from cloudtrail").await?.execute_stream().await?;
    let budget = keytrail_lake::row_group_budget(reading.memory.limit);
    let commit = lake.ingest(events, new, &reading.report, enrichment_files.clone(), budget, &context).await;
    progress.finish();
    let commit = commit?;
    Ok(Ingested {
        events: commit.events,
        objects: commit.objects.len(),
        known,
        files: commit.files.len(),
        left: recordable - commit.objects.len(),
    })
}
