//! `keytrail hunt PATH... --rules DIR`

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use keytrail_detect::{Alert, Baseline, EventStore, History, HuntOptions, HuntReport, hunt};
use keytrail_investigate::render::clip;
use keytrail_rules::RuleSet;

use crate::args::{AlertFormat, HuntArgs};
use crate::exit;
use crate::progress::Progress;
use crate::setup::Reading;

pub async fn run(args: HuntArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules, args.no_builtin, quiet)?;
    let schema = rules.table_schema();
    let reading = Reading::open(&args.read).await?;
    let context = reading.session(schema)?;
    let progress = Progress::follow(reading.report.clone(), quiet);
    let started = std::time::Instant::now();
    let store = EventStore::read(&context, &rules.detections).await;
    progress.finish();
    let store = store?;
    reading.finish(quiet, args.read.errors.as_deref());

    let millis = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_millis());
    let options = HuntOptions {
        now: millis(args.now),
        since: millis(args.read.since),
        until: millis(args.read.until),
        baseline: if args.no_baseline { Baseline::None } else { args.baseline.into() },
        ..HuntOptions::default()
    };
    let read_seconds = started.elapsed().as_secs_f64();
    let report = hunt(&store, &rules.detections, &options).await;
    let hunt_seconds = started.elapsed().as_secs_f64() - read_seconds;
    tracing::info!(
        "read {} events in {read_seconds:.2} s; ran {} rules in {hunt_seconds:.2} s (hunt/read {:.2})",
        store.len(),
        rules.detections.len(),
        (read_seconds + hunt_seconds) / read_seconds
    );

    let format =
        args.format.unwrap_or(if std::io::stdout().is_terminal() { AlertFormat::Table } else { AlertFormat::Ndjson });
    let hidden = if format == AlertFormat::Table && !args.building_blocks { building_blocks(&report) } else { 0 };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        AlertFormat::Ndjson => {
            for alert in &report.alerts {
                writeln!(out, "{}", alert.to_json())?;
            }
        }
        AlertFormat::Json => {
            let alerts: Vec<_> = report.alerts.iter().map(Alert::to_json).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&alerts)?)?;
        }
        AlertFormat::Table => write_table(&mut out, &report, args.building_blocks)?,
    }
    if hidden > 0 {
        writeln!(out, "{hidden} building-block alerts not shown (--building-blocks shows them)")?;
    }
    out.flush()?;
    if !quiet && format != AlertFormat::Table {
        write_summary(&mut std::io::stderr(), &report)?;
    }
    let failed = report.rules.iter().filter(|r| r.error.is_some()).count();
    for rule in report.rules.iter().filter(|r| r.error.is_some()) {
        eprintln!("keytrail: rule failed: {}: {}", rule.origin, rule.error.as_deref().unwrap_or_default());
    }
    Ok(if failed > 0 { exit::failed() } else { exit::flagged(report.alerts.len() > building_blocks(&report)) })
}

/// Alerts of building-block rules: inputs to other rules, which Elastic keeps out of its
/// alert table.
/// The built-in rules unless `no_builtin`, and the rule files or folders `paths`, planned
/// against the table their fields make; the rules that cannot run are reported and left out.
pub fn load_rules(paths: &[PathBuf], no_builtin: bool, quiet: bool) -> anyhow::Result<RuleSet> {
    let mut rules = RuleSet::default();
    if !no_builtin {
        rules.add_builtin();
    }
    for path in paths {
        if !path.exists() {
            anyhow::bail!("rules: {} does not exist", path.display());
        }
        rules.add_path(path);
    }
    let schema = rules.table_schema();
    rules.check(schema.arrow());
    if !quiet {
        for problem in &rules.problems {
            eprintln!("keytrail: skipping rule: {problem}");
        }
    }
    if rules.detections.is_empty() {
        anyhow::bail!("no rule to run ({} could not run; --no-builtin needs --rules)", rules.problems.len());
    }
    Ok(rules)
}

fn building_blocks(report: &HuntReport) -> usize {
    report.alerts.iter().filter(|a| a.rule.building_block_type.is_some()).count()
}

/// One line an alert: when, how bad, which rule, and who/what/where at a glance.
fn write_table(out: &mut impl Write, report: &HuntReport, building_blocks: bool) -> anyhow::Result<()> {
    let text = |alert: &Alert, names: &[&str]| {
        names
            .iter()
            .find_map(|name| alert.field(name))
            .map(|value| match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    writeln!(out, "{:<24} {:<8} {:<52} {:<28} {:<22} {:<16}", "run time", "severity", "rule", "who", "key", "source")?;
    for alert in report.alerts.iter().filter(|a| building_blocks || a.rule.building_block_type.is_none()) {
        let time = run_time_text(alert.run_time);
        // Judged on less history than the rule asks for: marked, as the summary explains.
        let thin = alert.field("keytrail.history.thin") == Some(&serde_json::Value::Bool(true));
        writeln!(
            out,
            "{:<24} {:<8} {:<52} {:<28} {:<22} {:<16}",
            time,
            if thin { format!("{}*", alert.rule.severity) } else { alert.rule.severity.clone() },
            clip(&alert.rule.name, 52),
            clip(&text(alert, &["user.name", "aws.cloudtrail.user_identity.arn", "Esql.user_name", "user.id"]), 28),
            text(alert, &["aws.cloudtrail.user_identity.access_key_id"]),
            text(alert, &["source.ip", "source.address"]),
        )?;
    }
    writeln!(out)?;
    if report.alerts.iter().any(|a| a.field("keytrail.history.thin") == Some(&serde_json::Value::Bool(true))) {
        writeln!(out, "* judged on thin history: the data before the run is shorter than the rule's history window")?;
    }
    Ok(write_summary(out, report)?)
}

fn write_summary(out: &mut impl Write, report: &HuntReport) -> std::io::Result<()> {
    let mut rules: Vec<_> = report.rules.iter().filter(|r| r.alerts > 0 || r.error.is_some()).collect();
    rules.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.name.cmp(&b.name)));
    for rule in &rules {
        let capped = if rule.capped > 0 { format!(" ({} more over max_signals)", rule.capped) } else { String::new() };
        match &rule.error {
            Some(error) => writeln!(out, "{:>7}  {}: failed: {error}", "-", rule.name)?,
            None => writeln!(out, "{:>7}  {}{capped}", rule.alerts, rule.name)?,
        }
    }
    // A silent first-seen rule must read as judged, not as blind: say what it had.
    for rule in report.rules.iter().filter(|r| r.error.is_none()) {
        if let Some(history) = &rule.history {
            writeln!(out, "         {}: {}", rule.name, history_text(history))?;
        }
    }
    let runs: usize = report.rules.iter().map(|r| r.runs).sum();
    writeln!(out, "{} alerts from {} rules ({} scheduled runs)", report.alerts.len(), report.rules.len(), runs)
}

/// `history 10d; baseline the first 12h of 2d of data; 3 alerts on thin history`.
fn history_text(history: &History) -> String {
    let mut text = format!(
        "history {}; baseline the first {} of {} of data",
        span_text(history.window_ms),
        span_text(history.baseline_ms),
        span_text(history.data_ms)
    );
    if history.thin_alerts > 0 {
        text.push_str(&format!("; {} alerts on thin history", history.thin_alerts));
    }
    text
}

/// A span in days, or hours under two days: `10d`, `12h`, `36h`.
fn span_text(millis: i64) -> String {
    const HOUR: i64 = 3_600_000;
    let hours = (millis + HOUR / 2) / HOUR;
    if hours >= 48 {
        format!("{:.1}d", millis as f64 / (24 * HOUR) as f64).replace(".0d", "d")
    } else {
        format!("{hours}h")
    }
}

fn run_time_text(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}
