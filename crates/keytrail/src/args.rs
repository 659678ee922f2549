//! Command-line arguments, settled once for every command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit;

const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nIP to AS data: RouteViews, DB-IP (https://db-ip.com) and NRO, via ip-location-db; licensed CC BY 4.0."
);

/// When `hunt` exits 1.
pub const HUNT_FLAGS: &str = "alerts were raised (building-block alerts alone do not count)";

#[derive(Parser)]
#[command(name = "keytrail", version, long_version = LONG_VERSION, about = "Find stolen and leaked AWS credentials in CloudTrail logs.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct GlobalArgs {
    /// Print only errors (no warnings, progress or summary).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more about what is done (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run SQL over the `cloudtrail` table of the given logs.
    #[command(after_help = format!(
        "Columns have ECS names with dots: quote them, e.g.\n  keytrail query 'select \"event.action\", count(*) from cloudtrail group by 1 order by 2 desc' logs/\n{}",
        exit::help(None)
    ))]
    Query(QueryArgs),
    /// List the columns of the `cloudtrail` table.
    #[command(after_help = exit::help(None))]
    Schema(SchemaArgs),
    /// Write the normalized, enriched events as Parquet (partitioned by date) or NDJSON.
    #[command(after_help = exit::help(None))]
    Convert(ConvertArgs),
    /// Add logs to a Parquet lake (once each, by name, size and time), which every reading command then takes as its input.
    #[command(after_help = format!(
        "Run it again, e.g. from cron, to add what is new. The lake is then read by every command:\n  keytrail hunt LAKE\n  keytrail query 'select count(*) from cloudtrail' LAKE\n{}",
        exit::help(None)
    ))]
    Ingest(IngestArgs),
    /// Run the rules continuously as logs arrive: each new log file is read once into the
    /// state folder's lake, every rule runs on its schedule, each alert goes to the sinks once.
    #[command(
        after_help = format!(
            "Restart it with the same --state to go on where it stopped; `keytrail watch --status --state DIR` shows its progress.\n{}",
            exit::help(None)
        ),
        mut_arg("paths", |paths| paths.required(false).required_unless_present("status"))
    )]
    Watch(WatchArgs),
    /// Write a realistic CloudTrail estate in the S3 layout, for trying keytrail out and for tests.
    #[command(after_help = exit::help(None))]
    Simulate(SimulateArgs),
    /// Run detection rules over the logs, as if they had been enabled all along; print alerts.
    #[command(after_help = exit::help(Some(HUNT_FLAGS)))]
    Hunt(HuntArgs),
    /// Everything one access key, user or address did, the sessions it created, and what of it looks like an intruder's.
    #[command(after_help = exit::help(Some("the subject is not in the logs")))]
    Investigate(crate::commands::investigate::InvestigateArgs),
    /// The plan that contains a stolen access key (deactivate, deny, revoke sessions, clean up); --apply takes its first steps.
    #[command(after_help = format!(
        "Dry run by default. --apply asks before changing the account (--yes does not), writes an audit log, and --undo LOG reverses it. A change that failed is an error.\n{}",
        exit::help(None)
    ))]
    Contain(crate::commands::contain::ContainArgs),
    /// Work with rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Manage the lists of known-bad addresses (threat feeds, Tor exits) that events are matched against.
    #[command(subcommand)]
    Intel(IntelCommand),
    /// Manage the IP-to-AS database.
    #[command(subcommand)]
    Asn(AsnCommand),
    /// Serve as a worker of a cluster: `query`, `hunt`, `investigate` and `convert` given `--workers` run their reads, filters and partial aggregations here.
    #[command(after_help = format!(
        "Every worker must see the inputs at the coordinator's paths (a shared folder, or the same S3 bucket with its own credentials) and the enrichment data at the coordinator's paths (docs/distributed.md).\n{}",
        exit::help(None)
    ))]
    Worker(WorkerArgs),
}

#[derive(Args)]
pub struct WorkerArgs {
    /// Address to listen on, e.g. 0.0.0.0:50051; port 0 takes a free port (printed on stdout).
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Memory the worker's queries may hold together; past it they spill, or stop with an error. Default: half of the machine's memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Folder for spill files (default: the system's).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

/// Where events come from and how they are read.
#[derive(Args, Clone)]
pub struct ReadArgs {
    /// Files or folders (recursive; the S3 layout is understood), s3://bucket/prefix, - for stdin, or a lake (`keytrail ingest`) alone.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Only events at or after this time (2024-05-01 or 2024-05-01T12:00:00Z); whole days and files before it are never opened.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events at or before this time.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Stop at the first unreadable record instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Write every skipped record, and every value of the wrong type left empty, to FILE, one
    /// line each: file, record, reason.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// Skip records larger than this many bytes (CloudTrail's own limit is 256 KB).
    #[arg(long, value_name = "BYTES", default_value_t = keytrail_engine::ReadOptions::default().max_record_bytes)]
    pub max_record_bytes: usize,
    /// IP-to-AS database: keytrail's index (built by `keytrail asn build`) or a MaxMind GeoLite2-ASN .mmdb.
    #[arg(long, value_name = "FILE", env = "KEYTRAIL_ASN_DB")]
    pub asn_db: Option<PathBuf>,
    /// GeoLite2 City or Country .mmdb for source.geo.* fields.
    #[arg(long, value_name = "FILE", env = "KEYTRAIL_GEO_DB")]
    pub geo_db: Option<PathBuf>,
    /// Memory the query engine and a hunt's rule state may hold (4GiB, 512MiB…); past it, sorts
    /// and aggregations spill to --temp-dir, and what cannot spill stops with an error naming
    /// the limit. Default: half of the machine's memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Folder for spill files and a hunt's temporary files (default: the system's, e.g. $TMPDIR).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Run the reads, filters and partial aggregations on these workers (`keytrail worker`), HOST:PORT separated by commas.
    #[arg(long, value_name = "HOST:PORT,...", env = "KEYTRAIL_WORKERS", value_parser = parse_workers)]
    pub workers: Option<keytrail_cluster::Workers>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_workers(text: &str) -> Result<keytrail_cluster::Workers, String> {
    keytrail_cluster::Workers::parse(text)
}

/// How to reach AWS: s3:// inputs, and the IAM and STS calls of `contain`. Unset, the SDK's
/// standard credential chain decides (environment, shared config, instance role).
#[derive(Args, Clone)]
pub struct AwsArgs {
    /// AWS profile from the shared config.
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (IAM is global: `contain` uses us-east-1 unless told).
    #[arg(long)]
    pub region: Option<String>,
    /// An S3-, IAM- or STS-compatible endpoint (MinIO, moto, LocalStack); S3 is then addressed path-style.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> keytrail_source::AwsOptions {
        keytrail_source::AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(Args)]
pub struct QueryArgs {
    /// The SQL; the table is `cloudtrail`.
    pub sql: String,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Output format; default: table on a terminal, NDJSON otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Args)]
pub struct SchemaArgs {
    /// Output format; default: table on a terminal, NDJSON otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Args)]
pub struct HuntArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// More rule files or folders of them (Elastic detection-rules TOML); repeatable.
    #[arg(long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave out keytrail's built-in rules (`keytrail rules check` lists them).
    #[arg(long)]
    pub no_builtin: bool,
    /// Run every rule once, at this time, instead of backfilling over the data.
    #[arg(long, value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// How much of the data first-seen rules (new_terms, and ES|QL rules tagged as such) take
    /// as history before they judge: a leading quarter, at most their history window
    /// (alerts judged on less history than the rule asks are marked thin); the whole first
    /// history window, as Elastic on data with nothing before it; or none.
    #[arg(long, value_enum, default_value_t = BaselineArg::Quarter)]
    pub baseline: BaselineArg,
    /// The same as --baseline none.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,
    /// Show building-block rules' alerts in the table too (Elastic hides them from its alert
    /// table; NDJSON and JSON always carry them, marked kibana.alert.building_block_type).
    #[arg(long)]
    pub building_blocks: bool,
    /// Output format; default: table on a terminal, NDJSON otherwise.
    #[arg(long, value_enum)]
    pub format: Option<AlertFormat>,
}

#[derive(Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The watch's folder: its lake of the logs read, and its state (rule runs done, alerts
    /// raised, deliveries). Made if new; a watch restarted on it goes on where it stopped.
    #[arg(long, value_name = "DIR")]
    pub state: std::path::PathBuf,
    /// More rule files or folders of them (Elastic detection-rules TOML); repeatable.
    #[arg(long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave out keytrail's built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
    /// Where alerts go (repeatable): stdout; ndjson:PATH (appended; see --rotate-*); webhook:URL (a POST of
    /// each alert, signed with KEYTRAIL_WEBHOOK_SECRET if set); elasticsearch:URL/INDEX (the
    /// _bulk API; KEYTRAIL_ELASTICSEARCH_API_KEY, or a user and password in the URL);
    /// sns:TOPIC_ARN (an SNS Publish of each alert); securityhub:REGION (each alert as a Security
    /// Hub finding). The AWS sinks use --profile and --endpoint-url. Default: stdout.
    #[arg(long = "sink", value_name = "SINK")]
    pub sinks: Vec<keytrail_watch::SinkSpec>,
    /// Rotate ndjson sinks by day (UTC): alerts-2026-12-08.ndjson, alerts-2026-12-09.ndjson, …
    /// beside the path given.
    #[arg(long)]
    pub rotate_daily: bool,
    /// Rotate ndjson sinks by size: a new file (alerts.1.ndjson, …) once one holds SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub rotate_size: Option<usize>,
    /// Look for new logs and run what is due once, then exit (for cron, or to catch up).
    #[arg(long)]
    pub once: bool,
    /// Take this time as now (replaying logs as if they were arriving); default: the clock.
    #[arg(long, value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// How often to look for new logs between the rules' runs.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub poll: u64,
    /// How far behind the clock rules that judge by `@timestamp` run, so that the events of
    /// their window have been delivered (CloudTrail delivers most within 15 minutes). Rules
    /// that judge by delivery time (`timestamp_override = "event.ingested"`) run on time.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_settle)]
    pub settle: i64,
    /// How much of the first watched logs first-seen rules take as history: their whole
    /// history window (default, as Elastic on a newly enabled rule with data before it), a
    /// leading quarter, or none.
    #[arg(long, value_enum, default_value_t = BaselineArg::Window)]
    pub baseline: BaselineArg,
    /// Print what the watch in --state has done (its last ticks, each rule's last run, what
    /// the sinks have yet to deliver) and exit; works while the watch runs.
    #[arg(long)]
    pub status: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum BaselineArg {
    Quarter,
    Window,
    None,
}

impl From<BaselineArg> for keytrail_detect::Baseline {
    fn from(arg: BaselineArg) -> Self {
        match arg {
            BaselineArg::Quarter => keytrail_detect::Baseline::Quarter,
            BaselineArg::Window => keytrail_detect::Baseline::Window,
            BaselineArg::None => keytrail_detect::Baseline::None,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum AlertFormat {
    Table,
    Json,
    Ndjson,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Parse and plan every rule; print, per rule type, how many can run and why the others cannot.
    #[command(after_help = exit::help(Some("some rules cannot run")))]
    Check {
        /// Rule files or folders; without any, keytrail's built-in rules.
        paths: Vec<PathBuf>,
        /// Print the runnable rules too.
        #[arg(long)]
        all: bool,
    },
    /// Print a rule's documentation: what it catches, false positives, how to investigate, its query.
    #[command(after_help = exit::help(None))]
    Show {
        /// A rule_id, or words of the rule's name (case-insensitive).
        rule: String,
        /// Rule files or folders to search besides the built-in rules.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
        /// Print the rule file itself, to copy and tune: a rule with a built-in rule's id replaces it.
        #[arg(long)]
        toml: bool,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
}

#[derive(Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    #[arg(long, value_enum)]
    pub to: ConvertFormat,
    /// Output: a folder for Parquet (one date=YYYY-MM-DD folder per day); a file, or - for stdout, for NDJSON.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The lake's folder: made if new or empty, added to otherwise.
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum ConvertFormat {
    Parquet,
    Ndjson,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Folder to write the estate to (AWSLogs/… below it, and ground-truth.json next to it).
    pub output: PathBuf,
    /// Days of logs; attacks fall in the last three, after the history detections learn from.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    #[arg(long, default_value_t = 30_000)]
    pub events_per_day: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 3)]
    pub accounts: u32,
    /// First day of the estate.
    #[arg(long, value_parser = parse_time)]
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// Attacks and look-alikes to weave in, with their ground truth: names separated by commas, all, or none.
    #[arg(long, value_name = "NAME,...|all|none", value_delimiter = ',', default_value = "all")]
    pub attack: Vec<String>,
}

#[derive(Subcommand)]
pub enum IntelCommand {
    /// Import a list: one address or CIDR a line, CSV (the first field that is an address), or Tor's exit list.
    #[command(after_help = exit::help(None))]
    Add {
        file: PathBuf,
        /// The list's name in alerts (threat.feed.name); default: the file's name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the imported lists.
    #[command(after_help = exit::help(None))]
    List,
}

#[derive(Subcommand)]
pub enum AsnCommand {
    /// Compile the ip-location-db ASN CSVs (asn-ipv4.csv, asn-ipv6.csv) into keytrail's index.
    #[command(after_help = exit::help(None))]
    Build {
        /// Folder holding asn-ipv4.csv and asn-ipv6.csv (the unpacked npm package @ip-location-db/asn).
        from: PathBuf,
        /// Where to write the index; default: keytrail's data folder.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Look IPs up in the database keytrail would use.
    #[command(after_help = exit::help(None))]
    Lookup {
        ips: Vec<std::net::IpAddr>,
        #[arg(long, value_name = "FILE", env = "KEYTRAIL_ASN_DB")]
        asn_db: Option<PathBuf>,
    },
}

/// A size such as `4GiB` or `512MiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text.parse().map_err(|e| format!("'{text}' is not a size (4GiB, 512MiB): {e}"))?;
    usize::try_from(size.as_u64()).map_err(|_| format!("'{text}' is more than this machine can address"))
}

/// `2024-05-01`, `2024-05-01T12:00:00Z` or any RFC 3339 time.
/// A duration as rules write them (`15m`, `1h`), or 0.
fn parse_settle(text: &str) -> Result<i64, String> {
    if text.trim() == "0" { Ok(0) } else { keytrail_rules::parse_interval(text) }
}

pub fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc());
    }
    Err(format!("'{text}' is not a date (2024-05-01) or an RFC 3339 time (2024-05-01T12:00:00Z)"))
}
