//! What every reading command sets up the same way: logging, sources, databases, the report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use keytrail_ecs::{Enrichment, TableSchema};
use keytrail_engine::{MemoryOptions, ReadOptions, ReadReport};
use keytrail_enrich::{AsnDatabase, GeoDatabase, default_asn_index_path};
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

/// Everything a command needs to read events.
pub struct Reading {
    /// The inputs as given, for messages.
    inputs: String,
    pub sources: Sources,
    pub enrichment: Arc<Enrichment>,
    pub options: ReadOptions,
    pub memory: MemoryOptions,
    pub report: Arc<ReadReport>,
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
        let discover = DiscoverOptions { time_range, aws: args.aws.options() };
        let sources = Sources::discover(&args.paths, &discover).await?;
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
            sources,
            enrichment: Arc::new(open_enrichment(args.asn_db.as_deref(), args.geo_db.as_deref())?),
            options: ReadOptions { time_range, max_record_bytes: args.max_record_bytes, strict: args.strict },
            memory: MemoryOptions {
                limit: args.memory_limit.unwrap_or_else(keytrail_engine::default_limit),
                temp_dir: args.temp_dir.clone(),
            },
            report: Arc::new(report),
        })
    }

    pub fn session(&self, schema: TableSchema) -> anyhow::Result<datafusion::prelude::SessionContext> {
        Ok(keytrail_engine::session(
            self.sources.clone(),
            self.enrichment.clone(),
            schema,
            self.options.clone(),
            self.report.clone(),
            &self.memory,
        )?)
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

/// The databases to enrich with. A missing ASN database is not an error: one warning, and the
/// network columns stay null.
pub fn open_enrichment(asn: Option<&Path>, geo: Option<&Path>) -> anyhow::Result<Enrichment> {
    let asn = match asn {
        Some(path) => {
            Some(AsnDatabase::open(path).with_context(|| format!("cannot open the ASN database {}", path.display()))?)
        }
        None => {
            let default = default_asn_index_path();
            if default.exists() {
                Some(
                    AsnDatabase::open(&default)
                        .with_context(|| format!("cannot open the ASN database {}", default.display()))?,
                )
            } else {
                tracing::warn!(
                    "no ASN database at {} (scripts/setup.sh builds it; or pass --asn-db): source.as.* stay empty, and rules that need networks cannot fire",
                    default.display()
                );
                None
            }
        }
    };
    let geo = geo
        .map(|path| GeoDatabase::open(path).with_context(|| format!("cannot open the geo database {}", path.display())))
        .transpose()?;
    // Lists imported with `keytrail intel add`; none is the normal case.
    let intel_dir = keytrail_enrich::default_intel_dir();
    let intel = keytrail_enrich::IntelSet::load(&intel_dir)
        .with_context(|| format!("cannot load the known-bad lists in {}", intel_dir.display()))?;
    Ok(Enrichment { asn, geo, intel: (!intel.is_empty()).then_some(intel) })
}
