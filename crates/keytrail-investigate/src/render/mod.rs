//! Renderings of the report for people: [`terminal`], [`markdown`] and [`html`]. (The JSON
//! format is the report itself, serialized.)
//!
//! The three share one layout: an overview, the timeline, then the tables of `tables` in
//! three parts (who and when, derived credentials, what was done); each format only decides
//! how a table and the timeline look. Every value comes from the logs, where an intruder
//! chooses much of it (user agents, user and session names), so each format escapes what
//! its medium would interpret, and the text formats drop control characters.

mod html;
mod markdown;
mod terminal;

pub use html::html;
pub use markdown::markdown;
pub use terminal::{clip, terminal};

use crate::report::{Burst, Finding, FirstKind, Origin, Report, Time};

/// Rows shown per table in the text formats; the JSON format has them all.
pub const MAX_ROWS: usize = 50;

/// The parts the tables fall in, in order.
pub(crate) const PARTS: [&str; 3] = ["Who and when", "Derived credentials", "What was done"];

pub(crate) struct Table {
    /// Index into [`PARTS`].
    pub part: usize,
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// Rows left out beyond [`MAX_ROWS`].
    pub omitted: usize,
}

impl Table {
    fn new<T>(
        part: usize,
        title: &'static str,
        headers: &[&'static str],
        items: &[T],
        row: impl Fn(&T) -> Vec<String>,
    ) -> Table {
        Table {
            part,
            title,
            headers: headers.to_vec(),
            rows: items.iter().take(MAX_ROWS).map(row).collect(),
            omitted: items.len().saturating_sub(MAX_ROWS),
        }
    }
}

/// The overview: label and value lines.
pub(crate) fn overview(report: &Report) -> Vec<(&'static str, String)> {
    let summary = &report.summary;
    let mut lines = vec![("Subject", report.subject.describe())];
    if report.is_empty() {
        lines.push(("Calls", "none: the subject does not appear in these logs".into()));
        return lines;
    }
    for owner in report.credentials.iter().filter(|c| c.origin == Origin::Subject) {
        let identity = [owner.arn.as_deref(), owner.identity_type.as_deref(), owner.account.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(("Owner", format!("{identity} (key {})", text(&owner.access_key_id))));
    }
    lines.push(("First seen", time(&summary.first_seen)));
    lines.push(("Last seen", time(&summary.last_seen)));
    lines.push(("Calls", format!("{} ({} succeeded, {} failed)", summary.calls, summary.successes, summary.failures)));
    lines.push(("Accounts", summary.accounts.join(", ")));
    lines.push((
        "Derived",
        match report.derived.len() {
            0 => "no credentials derived".into(),
            n => format!("{n} credentials: {}", keys(report.derived.iter().map(|d| d.access_key_id.as_str()))),
        },
    ));
    let networks: Vec<String> = report
        .networks
        .iter()
        .map(|n| format!("{} ({} calls)", n.as_organization.as_deref().unwrap_or("unknown network"), n.calls))
        .collect();
    lines.push(("Networks", networks.join(", ")));
    let counts = [
        (report.persistence.len(), "persistence calls"),
        (report.data_access.len(), "data resources read"),
        (report.log_tampering.len(), "log tampering calls"),
        (report.aws_signals.len(), "AWS signals"),
    ];
    let found: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{what}: {n}")).collect();
    lines.push(("Found", if found.is_empty() { "nothing of note".into() } else { found.join(", ") }));
    lines
}

fn keys<'k>(keys: impl Iterator<Item = &'k str>) -> String {
    keys.collect::<Vec<_>>().join(", ")
}

/// Every table of the report, in order.
pub(crate) fn tables(report: &Report) -> Vec<Table> {
    let findings = |title, items: &[Finding]| {
        Table::new(
            2,
            title,
            &["time", "action", "target", "detail", "outcome", "account", "key", "source"],
            items,
            |f| {
                vec![
                    f.time.to_string(),
                    f.action.clone(),
                    text(&f.target),
                    text(&f.detail),
                    outcome(f),
                    text(&f.account),
                    text(&f.access_key_id),
                    text(&f.source_address),
                ]
            },
        )
    };
    let bursts = |title, items: &[Burst]| {
        Table::new(2, title, &["start", "calls", "failed", "actions", "sources"], items, |b| {
            vec![
                b.start.to_string(),
                b.calls.to_string(),
                b.failures.to_string(),
                format!("{}: {}", b.distinct_actions, b.actions.join(", ")),
                b.source_addresses.join(", "),
            ]
        })
    };
    let recon = &report.reconnaissance;
    vec![
        Table::new(
            0,
            "Credentials",
            &["key", "origin", "type", "identity", "account", "calls", "failed", "first seen", "last seen"],
            &report.credentials,
            |c| {
                vec![
                    text(&c.access_key_id),
                    match c.origin {
                        Origin::Subject => "subject".into(),
                        Origin::Derived => "derived".into(),
                    },
                    text(&c.identity_type),
                    text(&c.arn),
                    text(&c.account),
                    c.calls.to_string(),
                    c.failures.to_string(),
                    c.first_seen.to_string(),
                    c.last_seen.to_string(),
                ]
            },
        ),
        Table::new(
            0,
            "Source addresses",
            &["address", "AS", "organization", "country", "calls", "failed", "first seen", "last seen", "keys"],
            &report.source_addresses,
            |s| {
                vec![
                    text(&s.address),
                    s.as_number.map(|n| n.to_string()).unwrap_or_default(),
                    text(&s.as_organization),
                    text(&s.country),
                    s.calls.to_string(),
                    s.failures.to_string(),
                    s.first_seen.to_string(),
                    s.last_seen.to_string(),
                    s.access_keys.join(", "),
                ]
            },
        ),
        Table::new(
            0,
            "Networks",
            &["AS", "organization", "countries", "addresses", "calls", "first seen", "last seen"],
            &report.networks,
            |n| {
                vec![
                    n.as_number.map(|n| n.to_string()).unwrap_or_default(),
                    n.as_organization.clone().unwrap_or_else(|| "unknown".into()),
                    n.countries.join(", "),
                    n.addresses.to_string(),
                    n.calls.to_string(),
                    n.first_seen.to_string(),
                    n.last_seen.to_string(),
                ]
            },
        ),
        Table::new(0, "Top actions", &["service", "action", "calls", "failed"], &report.actions, |a| {
            vec![text(&a.service), text(&a.action), a.calls.to_string(), a.failures.to_string()]
        }),
        Table::new(0, "Regions", &["region", "calls"], &report.regions, |r| vec![text(&r.region), r.calls.to_string()]),
        Table::new(
            0,
            "User agents",
            &["user agent", "calls", "addresses", "first seen", "last seen"],
            &report.user_agents,
            |u| {
                vec![
                    text(&u.user_agent),
                    u.calls.to_string(),
                    u.addresses.to_string(),
                    u.first_seen.to_string(),
                    u.last_seen.to_string(),
                ]
            },
        ),
        Table::new(
            0,
            "First calls from each address and network",
            &["time", "new", "value", "network"],
            &report.timeline.firsts,
            |f| {
                vec![
                    f.time.to_string(),
                    match f.kind {
                        FirstKind::Address => "address".into(),
                        FirstKind::Network => "network".into(),
                    },
                    f.value.clone(),
                    text(&f.as_organization),
                ]
            },
        ),
        Table::new(
            1,
            "Issued with the subject's credentials, directly or down a chain of sessions",
            &["key", "issued by", "at", "with key", "from", "identity", "session", "depth", "calls", "last used"],
            &report.derived,
            |d| {
                vec![
                    d.access_key_id.clone(),
                    d.issued_by_action.clone(),
                    d.issued_at.to_string(),
                    text(&d.issued_by),
                    text(&d.issued_from),
                    text(&d.identity),
                    text(&d.session_name),
                    d.depth.to_string(),
                    d.calls.to_string(),
                    time(&d.last_used),
                ]
            },
        ),
        findings("Persistence", &report.persistence),
        Table::new(
            2,
            "Data touched",
            &["action", "resource", "calls", "failed", "first seen", "last seen", "sources"],
            &report.data_access,
            |d| {
                vec![
                    d.action.clone(),
                    text(&d.resource),
                    d.calls.to_string(),
                    d.failures.to_string(),
                    d.first_seen.to_string(),
                    d.last_seen.to_string(),
                    d.source_addresses.join(", "),
                ]
            },
        ),
        Table::new(
            2,
            "Reconnaissance: identity checks (GetCallerIdentity)",
            &["first", "last", "source", "key", "calls"],
            &recon.identity_checks,
            |c| {
                vec![
                    c.first_seen.to_string(),
                    c.last_seen.to_string(),
                    text(&c.source_address),
                    text(&c.access_key_id),
                    c.calls.to_string(),
                ]
            },
        ),
        bursts("Reconnaissance: List/Describe/Get bursts", &recon.enumeration_bursts),
        bursts("Reconnaissance: access-denied bursts", &recon.denied_bursts),
        findings("Log tampering", &report.log_tampering),
        findings("AWS signals", &report.aws_signals),
    ]
}

fn outcome(finding: &Finding) -> String {
    match (&finding.outcome, &finding.error_code) {
        (Some(outcome), Some(code)) => format!("{outcome} ({code})"),
        (Some(only), None) | (None, Some(only)) => only.clone(),
        (None, None) => String::new(),
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn time(value: &Option<Time>) -> String {
    value.map(|t| t.to_string()).unwrap_or_default()
}

/// The text without control characters (which could move a terminal's cursor or fake lines).
pub(crate) fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Per day of the timeline: the day, its calls per hour (24 counts), calls and failures.
pub(crate) fn days(report: &Report) -> Vec<(chrono::NaiveDate, [u64; 24], u64, u64)> {
    use chrono::Timelike;
    let mut days: Vec<(chrono::NaiveDate, [u64; 24], u64, u64)> = Vec::new();
    for hour in &report.timeline.hours {
        let t = hour.hour.utc();
        if days.last().is_none_or(|d| d.0 != t.date_naive()) {
            days.push((t.date_naive(), [0; 24], 0, 0));
        }
        let day = days.last_mut().expect("just pushed");
        day.1[t.hour() as usize] += hour.calls;
        day.2 += hour.calls;
        day.3 += hour.failures;
    }
    days
}

/// Calls per hour as block characters, scaled to the busiest hour of the whole timeline.
pub(crate) fn sparkline(hours: &[u64; 24], max: u64) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    hours
        .iter()
        .map(|&calls| {
            if calls == 0 {
                '·'
            } else {
                let level = (calls * LEVELS.len() as u64).div_ceil(max.max(1)).clamp(1, LEVELS.len() as u64);
                LEVELS[level as usize - 1]
            }
        })
        .collect()
}

/// The first calls (from a new address or network) of one day, as `HH:MM new address X (org)`.
pub(crate) fn firsts_on(report: &Report, day: chrono::NaiveDate) -> Vec<String> {
    report
        .timeline
        .firsts
        .iter()
        .filter(|f| f.time.utc().date_naive() == day)
        .map(|f| {
            let when = f.time.utc().format("%H:%M");
            match (f.kind, &f.as_organization) {
                (FirstKind::Address, Some(org)) => format!("{when} new address {} ({org})", f.value),
                (FirstKind::Address, None) => format!("{when} new address {}", f.value),
                (FirstKind::Network, _) => format!("{when} new network {}", f.value),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_busiest_hour() {
        let mut hours = [0; 24];
        hours[0] = 1;
        hours[1] = 40;
        hours[2] = 80;
        let line = sparkline(&hours, 80);
        assert_eq!(line.chars().count(), 24);
        assert!(line.starts_with("▁▄█·"), "{line}");
    }

    #[test]
    fn control_characters_never_reach_a_terminal() {
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a [2Jb c");
    }
}
