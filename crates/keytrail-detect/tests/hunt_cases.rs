//! Data-driven hunts: each `tests/cases/*.case` holds a rule, the CloudTrail events it runs
//! over, hunt options, and the alerts it must raise (run time and chosen fields).
//!
//! ```text
//! # what the case shows
//! --- rule                 the rule file (TOML), or `--- rule builtin:<name>` for a built-in one
//! --- events [NAME]        raw CloudTrail events, one a line, in a file named NAME
//!                          (default events.jsonl; a CloudTrail log file name gives the
//!                          events its delivery time); several sections make several files
//! --- options              optional: now = <time>, baseline = quarter|window|none, since/until = <time>
//! --- alerts FIELD...      one line an alert: run time, then each FIELD's value (- if absent)
//! ```
//! Set `KEYTRAIL_BLESS=1` to rewrite the alerts sections with what the hunt raised.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keytrail_detect::{Baseline, HuntOptions, hunt};
use keytrail_ecs::Enrichment;
use keytrail_rules::{RuleSet, parse_rule};

struct Case {
    path: PathBuf,
    rule: String,
    /// Each file's name and text.
    events: Vec<(String, String)>,
    options: String,
    fields: Vec<String>,
    alerts: String,
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let mut case = Case {
        path: path.to_path_buf(),
        rule: String::new(),
        events: Vec::new(),
        options: String::new(),
        fields: Vec::new(),
        alerts: String::new(),
    };
    let mut section = "head".to_string();
    for line in text.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("--- ") {
            let mut words = header.split_whitespace();
            section = words.next().unwrap_or_default().to_string();
            match (section.as_str(), words.next()) {
                ("alerts", first) => case.fields = first.into_iter().chain(words).map(str::to_string).collect(),
                ("rule", Some(builtin)) => {
                    let stem = builtin.strip_prefix("builtin:").expect("--- rule builtin:<name>");
                    case.rule = keytrail_rules::builtin_text(stem).expect("a built-in rule").to_string();
                }
                ("events", name) => case.events.push((name.unwrap_or("events.jsonl").to_string(), String::new())),
                _ => {}
            }
            continue;
        }
        let target = match section.as_str() {
            "head" => continue,
            "rule" => &mut case.rule,
            "events" => &mut case.events.last_mut().expect("an events section").1,
            "options" => &mut case.options,
            "alerts" => &mut case.alerts,
            other => panic!("{}: unknown section '{other}'", path.display()),
        };
        target.push_str(line);
    }
    case
}

fn time(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text.trim().trim_matches('"')).unwrap().timestamp_millis()
}

fn options(text: &str) -> HuntOptions {
    let mut options = HuntOptions::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.split_once('=').map(|(k, v)| (k.trim(), v)) {
            Some(("now", value)) => options.now = Some(time(value)),
            Some(("since", value)) => options.since = Some(time(value)),
            Some(("until", value)) => options.until = Some(time(value)),
            Some(("baseline", value)) => {
                options.baseline = match value.trim() {
                    "quarter" => Baseline::Quarter,
                    "window" => Baseline::Window,
                    "none" => Baseline::None,
                    other => panic!("unknown baseline '{other}'"),
                }
            }
            _ => panic!("unknown option line '{line}'"),
        }
    }
    options
}

/// AS organizations for the cases' addresses (`tests/networks.csv`): 3/8 Amazon, 5.0/16
/// DigitalOcean, 20/8 Microsoft, 34/8 Google, 45.0/16 M247, 73/8 Comcast; and two known-bad
/// lists: `tor` (5.0.0.99) and `scanners` (45.0.9.0/24).
fn networks() -> Arc<Enrichment> {
    let csv = std::fs::File::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/networks.csv")).unwrap();
    let index = keytrail_enrich::AsnIndex::from_csv(csv, std::io::empty()).unwrap();
    let store = tempfile::tempdir().unwrap();
    keytrail_enrich::add_list(store.path(), "tor", &keytrail_enrich::parse_feed("ExitAddress 5.0.0.99 x").0).unwrap();
    keytrail_enrich::add_list(store.path(), "scanners", &keytrail_enrich::parse_feed("45.0.9.0/24").0).unwrap();
    let intel = keytrail_enrich::IntelSet::load(store.path()).unwrap();
    Arc::new(Enrichment { asn: Some(keytrail_enrich::AsnDatabase::Index(index)), geo: None, intel: Some(intel) })
}

async fn run_case(case: &Case) -> String {
    let mut rules = RuleSet::default();
    rules.add_source(&parse_rule("case", case.rule.clone()).unwrap());
    let schema = rules.table_schema();
    rules.check(schema.arrow());
    assert!(rules.problems.is_empty(), "{}: {:?}", case.path.display(), rules.problems);

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text) in &case.events {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        files.push(file.display().to_string());
    }
    let (store, report) = common::read_for(&files, &rules, networks()).await;
    assert!(!report.had_errors(), "{}: {:?}", case.path.display(), report.errors());

    let outcome = hunt(&store, &rules.detections, &options(&case.options)).await;
    for rule in &outcome.rules {
        assert!(rule.error.is_none(), "{}: {:?}", case.path.display(), rule.error);
    }
    let mut lines = String::new();
    for alert in &outcome.alerts {
        let run = chrono::DateTime::from_timestamp_millis(alert.run_time).unwrap();
        lines.push_str(&run.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        for field in &case.fields {
            let value = alert.field(field).map_or("-".to_string(), |v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            lines.push(' ');
            lines.push_str(&value);
        }
        lines.push('\n');
    }
    lines
}

#[tokio::test]
async fn hunt_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let bless = std::env::var_os("KEYTRAIL_BLESS").is_some();
    let mut failures = Vec::new();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "case")) {
        let case = parse_case(path);
        let got = run_case(&case).await;
        if got.trim() != case.alerts.trim() {
            if bless {
                let text = std::fs::read_to_string(path).unwrap();
                let at = text.find("--- alerts").unwrap();
                let header_end = at + text[at..].find('\n').unwrap() + 1;
                std::fs::write(path, format!("{}{got}", &text[..header_end])).unwrap();
            } else {
                failures.push(format!("{}:\n  expected:\n{}\n  got:\n{}", path.display(), case.alerts, got));
            }
        }
    }
    assert!(paths.len() >= 4, "the cases are missing");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
