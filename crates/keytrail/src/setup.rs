//! What every reading command sets up the same way: logging, sources, databases, the report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionConfig;
use keytrail_ecs::{Enrichment, EnrichmentFiles, TableSchema};
use keytrail_engine::{CloudTrailTable, MemoryOptions, ReadOptions, ReadReport};
use keytrail_enrich::default_asn_index_path;
use keytrail_lake::{Lake, LakeTable};
use keytrail_source::{DiscoverOptions, Sources, TimeRange};
use tracing_subscriber::EnvFilter;

use crate::args::ReadArgs;

pub fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("KEYTRAIL_LOG").unwrap_or_else(|_| EnvFilter::new(level_filter(level)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

fn level_filter(level: &str) -> String {
    // Our crates at the chosen level; dependencies only when they have something serious.
    [
        "keytrail",
        "keytrail_source",
        "keytrail_decode",
        "keytrail_ecs",
        "keytrail_enrich",
        "keytrail_engine",
        "keytrail_detect",
        "keytrail_simulate",
    ]
    .iter()
    .map(|c| format!("{c}={level}"))
    .chain(std::iter::once("error".to_string()))
    .collect::<Vec<_>>()
    .join(",")
}

/// Where a command's events come from.
pub enum Events {
    /// Raw logs, read and enriched now.
    Logs {
        sources: Sources,
        enrichment: Arc<Enrichment>,
        /// Where `enrichment` comes from: workers open the same files.
        enrichment_source: EnrichmentFiles,
        /// The IP data `enrichment` holds, for the record ([`describe_enrichment`]).
        enrichment_files: Vec<String>,
    },
    /// A lake, whose events were read and enriched when they were ingested.
    Lake(Lake),
}

/// Everything a command needs to read events.
pub struct Reading {
    /// The inputs as given, for messages.
    inputs: String,
    pub events: Events,
    pub options: ReadOptions,
    pub memory: MemoryOptions,
    pub report: Arc<ReadReport>,
    /// Where plans run, when not only here.
    workers: Option<keytrail_cluster::Workers>,
}

impl Reading {
    pub async fn open(args: &ReadArgs) -> anyhow::Result<Reading> {
        let time_range = TimeRange { since: args.since, until: args.until };
        if let (Some(since), Some(until)) = (args.since, args.until)
            && since > until
        {
            anyhow::bail!("--since ({since}) is after --until ({until})");
        }
        if let Some(folder) = &args.temp_dir
            && !folder.is_dir()
        {
            anyhow::bail!("--temp-dir {} is not a folder", folder.display());
        }
        let events = match lake_input(&args.paths)? {
            Some(lake) => {
                if args.asn_db.is_some() || args.geo_db.is_some() {
                    tracing::info!("the lake's events were enriched when ingested: --asn-db and --geo-db do not apply");
                }
                Events::Lake(lake)
            }
            None => {
                let discover = DiscoverOptions { time_range, aws: args.aws.options() };
                let sources = Sources::discover(&args.paths, &discover).await?;
                if args.workers.is_some() && sources.reads_stdin() {
                    anyhow::bail!(
                        "workers cannot read this process's standard input: write it to a file or S3 first, or drop --workers"
                    );
                }
                let (enrichment, enrichment_source, enrichment_files) =
                    open_enrichment(args.asn_db.as_deref(), args.geo_db.as_deref())?;
                Events::Logs { sources, enrichment: Arc::new(enrichment), enrichment_source, enrichment_files }
            }
        };
        let report = match &args.errors {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot create the errors file {}", path.display()))?;
                ReadReport::with_sink(Box::new(std::io::BufWriter::new(file)))
            }
            None => ReadReport::default(),
        };
        Ok(Reading {
            inputs: args.paths.join(", "),
            events,
            options: ReadOptions { time_range, max_record_bytes: args.max_record_bytes, strict: args.strict },
            memory: MemoryOptions {
                limit: args.memory_limit.unwrap_or_else(keytrail_engine::default_limit),
                temp_dir: args.temp_dir.clone(),
            },
            report: Arc::new(report),
            workers: args.workers.clone(),
        })
    }

    /// A session whose `cloudtrail` table has `schema`'s columns, on the workers if any.
    pub fn session(&self, schema: TableSchema) -> anyhow::Result<datafusion::prelude::SessionContext> {
        let (table, config): (Arc<dyn TableProvider>, SessionConfig) = match &self.events {
            Events::Logs { sources, enrichment, enrichment_source, .. } => {
                let table = CloudTrailTable::new(
                    sources.clone(),
                    enrichment.clone(),
                    enrichment_source.clone(),
                    schema,
                    self.options.clone(),
                    self.report.clone(),
                );
                (Arc::new(table), SessionConfig::new())
            }
            Events::Lake(lake) => {
                let table = LakeTable::new(lake, schema, self.options.time_range, self.report.clone())?;
                (Arc::new(table), keytrail_lake::session_config())
            }
        };
        Ok(match &self.workers {
            Some(workers) => {
                keytrail_cluster::session_with_workers(table, config, &self.memory, self.report.clone(), workers)?
            }
            None => keytrail_engine::session_over(table, config, &self.memory, self.report.clone())?,
        })
    }

    /// The closing summary on stderr, and where to find the details.
    pub fn finish(&self, quiet: bool, errors_file: Option<&Path>) {
        self.report.flush();
        // Known only now: folders are walked while they are read.
        if self.report.listing_done.load(Ordering::Relaxed) && self.report.objects_found.load(Ordering::Relaxed) == 0 {
            tracing::warn!("no log files found in {}", self.inputs);
        }
        let ignored = self.report.objects_ignored.load(Ordering::Relaxed);
        if ignored > 0 {
            tracing::info!(
                "passed over {ignored} files that are not logs (by name; name a file explicitly to read it)"
            );
        }
        if quiet {
            return;
        }
        eprintln!("{}", self.report.summary());
        if self.report.had_errors() {
            for error in self.report.errors().iter().take(5) {
                eprintln!("  {error}");
            }
            match errors_file {
                Some(path) => eprintln!("  every skipped record and emptied value is listed in {}", path.display()),
                None => eprintln!("  (--errors FILE lists every skipped record and emptied value)"),
            }
        }
    }
}

/// The lake among the inputs, when one is: it must then be the only input.
fn lake_input(paths: &[String]) -> anyhow::Result<Option<Lake>> {
    let is_lake = |p: &String| p != "-" && !p.starts_with("s3://") && Lake::is_lake(Path::new(p));
    let Some(lake) = paths.iter().find(|p| is_lake(p)) else { return Ok(None) };
    if paths.len() > 1 {
        anyhow::bail!("{lake} is a keytrail lake: read it alone (`keytrail ingest` adds logs to it)");
    }
    Ok(Some(Lake::open(Path::new(lake))?))
}

/// The databases to enrich with, where they are (for workers, which open the same files), and
/// what each is (file, size, modification time; the lists' names and sizes). A missing ASN
/// database is not an error: one warning, and the network columns stay null.
pub fn open_enrichment(
    asn: Option<&Path>,
    geo: Option<&Path>,
) -> anyhow::Result<(Enrichment, EnrichmentFiles, Vec<String>)> {
    let asn = match asn {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let default = default_asn_index_path();
            if !default.exists() {
                tracing::warn!(
                    "no ASN database at {} (scripts/setup.sh builds it; or pass --asn-db): source.as.* stay empty, and rules that need networks cannot fire",
                    default.display()
                );
            }
            default.exists().then_some(default)
        }
    };
    // Lists imported with `keytrail intel add`; none is the normal case.
    let files =
        EnrichmentFiles { asn, geo: geo.map(Path::to_path_buf), intel: Some(keytrail_enrich::default_intel_dir()) };
    let enrichment = files.open().context("cannot open the enrichment data")?;
    let mut described: Vec<String> = files.asn.iter().map(|path| describe_enrichment("asn", path)).collect();
    described.extend(files.geo.iter().map(|path| describe_enrichment("geo", path)));
    if let Some(intel) = &enrichment.intel {
        described.extend(intel.lists().map(|(name, blocks)| format!("intel: {name} ({blocks} blocks)")));
    }
    Ok((enrichment, files, described))
}

/// `kind: PATH (N bytes, modified TIME)`.
fn describe_enrichment(kind: &str, path: &Path) -> String {
    let metadata = std::fs::metadata(path).ok();
    let size = metadata.as_ref().map_or(0, |m| m.len());
    let modified = metadata
        .and_then(|m| m.modified().ok())
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    format!("{kind}: {} ({size} bytes, modified {modified})", path.display())
}
