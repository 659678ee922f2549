//! `keytrail ingest PATH... --lake DIR`

use std::process::ExitCode;

use keytrail_ecs::TableSchema;
use keytrail_engine::ReadOptions;
use keytrail_lake::Lake;
use keytrail_source::TimeRange;

use crate::args::IngestArgs;
use crate::progress::Progress;
use crate::setup::{Events, Reading};

pub async fn run(args: IngestArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.read.workers.is_some() {
        anyhow::bail!("ingest writes the lake from this process: --workers does not apply to it");
    }
    let reading = Reading::open(&args.read).await?;
    let Events::Logs { sources, enrichment, enrichment_source, enrichment_files } = &reading.events else {
        anyhow::bail!("{} is a lake already: ingest reads logs (files, folders, s3://, -)", args.read.paths.join(", "));
    };
    let lake = Lake::create(&args.lake)?;
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
        if !quiet {
            eprintln!("nothing new: {} holds all {known} log files of the inputs", lake.root().display());
        }
        print_summary(0, 0, known, 0)?;
        return Ok(ExitCode::SUCCESS);
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
    let progress = Progress::follow(reading.report.clone(), quiet);
    let events = context.sql("select * from cloudtrail").await?.execute_stream().await?;
    let budget = keytrail_lake::row_group_budget(reading.memory.limit);
    let commit = lake.ingest(events, new, &reading.report, enrichment_files.clone(), budget, &context).await;
    progress.finish();
    let commit = commit?;
    reading.finish(quiet, args.read.errors.as_deref());
    if !quiet {
        eprintln!(
            "ingested {} events of {} new log files into {} files of {} ({known} log files of the inputs were in it already)",
            commit.events,
            commit.objects.len(),
            commit.files.len(),
            lake.root().display()
        );
        let left = recordable - commit.objects.len();
        if left > 0 {
            eprintln!("  {left} log files could not be fetched and are not recorded: the next ingest tries them again");
        }
    }
    print_summary(commit.events, commit.objects.len(), known, commit.files.len())?;
    Ok(ExitCode::SUCCESS)
}

/// One JSON line on stdout, for scripts and cron jobs.
fn print_summary(events: u64, new_files: usize, known_files: usize, written: usize) -> anyhow::Result<()> {
    let summary = serde_json::json!({
        "events": events,
        "log_files_ingested": new_files,
        "log_files_already_in_lake": known_files,
        "parquet_files_written": written,
    });
    println!("{summary}");
    Ok(())
}
