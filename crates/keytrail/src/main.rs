//! `keytrail`: find stolen and leaked AWS credentials in CloudTrail, see everything that was
//! done with them, contain them.
//!
//! The binary is a thin layer over the library crates, which a reader meets in the order
//! data flows through them:
//!
//! ```text
//!  keytrail-source   files, folders in the S3 layout, s3://, stdin; date pruning
//!        │
//!  keytrail-decode   gzip by magic bytes; Records / NDJSON / arrays; recoverable errors
//!        │
//!  keytrail-ecs      CloudTrail → ECS columns (Elastic's mapping), secrets redacted,
//!        │           enriched by keytrail-enrich (AS number/organization, country)
//!  keytrail-engine   the `cloudtrail` table for DataFusion: parallel, streaming scans
//!        │
//!  keytrail-lake     the same events once ingested into Parquet (incremental), and the
//!        │           `cloudtrail` table read back from there, pruned by date and statistics
//!  keytrail-cluster  the same plans on workers (datafusion-distributed): `keytrail worker`,
//!        │           `--workers`
//!  keytrail-rules    Elastic detection-rules TOML → detections; their queries compiled by
//!        │           keytrail-kql (KQL → expressions) and keytrail-esql (ES|QL → plans)
//!  keytrail-detect   detections run on Elastic's schedule over events read once → alerts
//!  keytrail-watch    the same, continuously: due runs, state in SQLite, sinks (`watch`)
//!  keytrail-investigate  one key, user or address: its calls, derived sessions, persistence
//!  keytrail-contain  a stolen key's containment plan; --apply with the AWS SDK, audited, undoable
//!        │
//!  keytrail (here)   commands: query, schema, convert, ingest, hunt, watch, rules, investigate, contain, simulate, asn, worker
//! ```
//!
//! Exit status: one scheme for every command, in [`exit`].

mod args;
mod commands;
mod exit;
mod output;
mod progress;
mod setup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    setup::init_logging(cli.global.quiet, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!("could not start the runtime: {e}")),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// ruff's and ripgrep's way: the error, then one `Cause:` line per link of its chain.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("keytrail: error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  Cause: {cause}");
    }
    exit::failed()
}
