//! `keytrail investigate PATH... (--access-key-id KEY | --user NAME | --ip IP | --alert FILE)`

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, Args, ValueEnum};
use keytrail_investigate::{Report, Subject, investigate, render};

use crate::args::ReadArgs;
use crate::exit;
use crate::progress::Progress;
use crate::setup::Reading;

#[derive(Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["access_key_id", "user", "ip", "alert"])))]
pub struct InvestigateArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The access key to investigate: AKIA… (long-term) or ASIA… (a session).
    #[arg(long, value_name = "KEY")]
    pub access_key_id: Option<String>,
    /// An IAM user, or a role (all its sessions), by name or ARN.
    #[arg(long, value_name = "NAME|ARN")]
    pub user: Option<String>,
    /// Everything done from this address.
    #[arg(long, value_name = "IP")]
    pub ip: Option<IpAddr>,
    /// A file holding one alert line of `keytrail hunt --format ndjson`: investigate its access key,
    /// else its user, else its source IP.
    #[arg(long, value_name = "FILE")]
    pub alert: Option<PathBuf>,
    /// Report format: terminal (text), json (every row), markdown, or html (one self-contained file).
    #[arg(long, value_enum, default_value_t = ReportFormat::Terminal)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum ReportFormat {
    Terminal,
    Json,
    Markdown,
    Html,
}

/// The width of the terminal text when the terminal does not say (`COLUMNS` unset).
const DEFAULT_WIDTH: usize = 100;
/// Terminal text written to a file or a pipe is not clipped.
const UNCLIPPED: usize = 10_000;

pub async fn run(args: InvestigateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let subject = subject(&args)?;
    let reading = Reading::open(&args.read).await?;
    let context = reading.session(keytrail_investigate::table_schema())?;
    let progress = Progress::follow(reading.report.clone(), quiet);
    let report = investigate(&context, &subject).await;
    progress.finish();
    let report = report?;
    reading.finish(quiet, args.read.errors.as_deref());

    let text = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Markdown => render::markdown(&report),
        ReportFormat::Html => render::html(&report),
        ReportFormat::Terminal => render::terminal(&report, terminal_width(args.output.is_some())),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    // The terminal text says it all already; other formats go to a file or a program.
    if !quiet && (report.is_empty() || args.format != ReportFormat::Terminal || args.output.is_some()) {
        summary(&report, args.output.as_deref());
    }
    // As grep: 1 when the subject is nowhere in the logs.
    Ok(exit::flagged(report.is_empty()))
}

fn subject(args: &InvestigateArgs) -> anyhow::Result<Subject> {
    if let Some(key) = &args.access_key_id {
        return Ok(Subject::AccessKeyId(key.clone()));
    }
    if let Some(user) = &args.user {
        return Ok(Subject::User(user.clone()));
    }
    if let Some(ip) = args.ip {
        return Ok(Subject::Ip(ip));
    }
    let path = args.alert.as_ref().expect("clap requires one subject");
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the alert {}", path.display()))?;
    let subject = Subject::from_alert(&text).with_context(|| format!("--alert {}", path.display()))?;
    tracing::info!("investigating {} (from the alert)", subject.describe());
    Ok(subject)
}

fn terminal_width(to_file: bool) -> usize {
    if to_file || !std::io::stdout().is_terminal() {
        return UNCLIPPED;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|&w| w >= 40).unwrap_or(DEFAULT_WIDTH)
}

/// One line on stderr: what was found, and where the report went.
fn summary(report: &Report, output: Option<&std::path::Path>) {
    if report.is_empty() {
        eprintln!("keytrail: {} does not appear in these logs", report.subject.describe());
        return;
    }
    let written = output.map(|p| format!("; report in {}", p.display())).unwrap_or_default();
    eprintln!(
        "{}: {} calls, {} derived credentials, {} persistence calls, {} networks{written}",
        report.subject.describe(),
        report.summary.calls,
        report.derived.len(),
        report.persistence.len(),
        report.networks.len()
    );
}
