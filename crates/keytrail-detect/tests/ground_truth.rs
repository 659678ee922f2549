//! The proof of the built-in rules: a simulated estate with every attack and look-alike,
//! hunted with the built-in pack, checked against the simulator's ground truth. Every attack
//! is found by each rule named for it; no look-alike raises the rule it imitates.
//!
//! The simulator's Tor exit list enriches the events as `keytrail intel add` would.
//!
//! Needs the real IP-to-AS data (the attacks come from real hosting and VPN networks):
//! `KEYTRAIL_ASN_CSV_DIR` names the unpacked `@ip-location-db/asn` package, as
//! `scripts/test.sh` sets it. Skips with a message otherwise.

mod common;

use std::path::Path;
use std::sync::Arc;

use keytrail_detect::{Alert, Baseline, HuntOptions, HuntReport, hunt};
use keytrail_ecs::Enrichment;
use keytrail_rules::RuleSet;
use keytrail_simulate::{EstateConfig, GROUND_TRUTH, TOR_EXIT_LIST, attack_names, write_estate};
use serde_json::Value;

fn strings(entry: &Value, key: &str) -> Vec<String> {
    entry[key].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Whether the alert is about the scenario: it names one of its keys or addresses, at a time
/// near it.
fn concerns(alert: &Alert, entry: &Value) -> bool {
    let text = serde_json::to_string(&alert.fields).unwrap();
    let time =
        |key: &str| chrono::DateTime::parse_from_rfc3339(entry[key].as_str().unwrap()).unwrap().timestamp_millis();
    let (start, end) = (time("start"), time("end"));
    let near = alert.last_event >= start - 3_600_000 && alert.first_event <= end + 3_600_000;
    near && strings(entry, "access_key_ids")
        .iter()
        .chain(&strings(entry, "source_ips"))
        .any(|id| text.contains(id.as_str()))
}

/// Simulates `config`, reads it as keytrail would (the estate's Tor exit list imported) and
/// hunts it with the built-in rules: the ground truth and the hunt. None without the ASN data.
async fn hunt_simulated(config: &EstateConfig, options: &HuntOptions) -> Option<(Value, RuleSet, HuntReport)> {
    let asn_dir = keytrail_testkit::require::env_path("KEYTRAIL_ASN_CSV_DIR", "scripts/test.sh fetches the ASN data")?;
    let out = tempfile::tempdir().unwrap();
    write_estate(out.path(), config, &|_| {}).unwrap();
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(out.path().join(GROUND_TRUTH)).unwrap()).unwrap();

    let index = keytrail_enrich::AsnIndex::from_csv_dir(Path::new(&asn_dir)).unwrap();
    // The simulator's Tor exit list, as `keytrail intel add` would import it.
    let intel_dir = out.path().join(TOR_EXIT_LIST).parent().unwrap().to_path_buf();
    let intel = keytrail_enrich::IntelSet::load(&intel_dir).unwrap();
    assert!(!intel.is_empty(), "no Tor exit list in {}", intel_dir.display());
    let asn = Some(keytrail_enrich::AsnDatabase::Index(index));
    let enrichment = Arc::new(Enrichment { asn, geo: None, intel: Some(intel) });
    let mut rules = RuleSet::default();
    rules.add_builtin();
    let schema = rules.table_schema();
    rules.check(schema.arrow());
    // A built-in rule that does not compile would otherwise pass as "did not fire".
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    let logs = out.path().join("AWSLogs").display().to_string();
    let (store, report) = common::read_for(&[logs], &rules, enrichment).await;
    assert!(!report.had_errors(), "{:?}", report.errors());
    let outcome = hunt(&store, &rules.detections, options).await;
    assert!(outcome.rules.iter().all(|r| r.error.is_none()), "{:?}", outcome.rules);
    eprintln!("{} events", store.len());
    Some((truth, rules, outcome))
}

/// Two days of logs, the usual pile in an incident, far less than the ten days of history
/// the first-seen rules ask for: with the default options the hunt still names the stolen
/// key, while taking the first history window as baseline (Elastic on such data) judges
/// nothing and misses it.
#[tokio::test(flavor = "multi_thread")]
async fn a_two_day_incident_names_the_stolen_key_by_default() {
    let config = EstateConfig {
        days: 2,
        events_per_day: 15_000,
        seed: 5,
        attacks: vec!["stolen-key-role-chain-backdoor".to_string()],
        ..EstateConfig::default()
    };
    let naming = |truth: &Value, outcome: &HuntReport| -> Vec<String> {
        let stolen = strings(&truth["attacks"][0], "access_key_ids")[0].clone();
        outcome
            .alerts
            .iter()
            .filter(|a| serde_json::to_string(&a.fields).unwrap().contains(&stolen))
            .map(|a| a.rule.name.clone())
            .collect()
    };
    let Some((truth, _, outcome)) = hunt_simulated(&config, &HuntOptions::default()).await else { return };
    let named = naming(&truth, &outcome);
    assert!(named.iter().any(|rule| rule.contains("First Seen")), "no first-seen rule names the stolen key: {named:?}");
    let window = HuntOptions { baseline: Baseline::Window, ..HuntOptions::default() };
    let (truth, _, outcome) = hunt_simulated(&config, &window).await.unwrap();
    let named = naming(&truth, &outcome);
    assert!(!named.iter().any(|rule| rule.contains("First Seen")), "{named:?}");
}

/// The proof of the rules under the history they ask for: twelve days, the first history
/// window a baseline as Elastic's would be.
#[tokio::test(flavor = "multi_thread")]
async fn builtin_rules_find_every_attack_and_no_look_alike() {
    let config = EstateConfig {
        days: 12,
        events_per_day: 20_000,
        seed: 3,
        attacks: attack_names().into_iter().map(str::to_string).collect(),
        ..EstateConfig::default()
    };
    let options = HuntOptions { baseline: Baseline::Window, ..HuntOptions::default() };
    let Some((truth, rules, outcome)) = hunt_simulated(&config, &options).await else { return };

    let mut failures = Vec::new();
    for entry in truth["attacks"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        for rule_id in strings(entry, "must_fire").iter().chain(&strings(entry, "must_not_fire")) {
            if !rules.detections.iter().any(|d| d.rule.rule_id == *rule_id) {
                failures.push(format!("{name}: {rule_id} is not a built-in rule"));
            }
        }
        for rule_id in strings(entry, "must_fire") {
            if !outcome.alerts.iter().any(|a| a.rule.rule_id == rule_id && concerns(a, entry)) {
                failures.push(format!("{name}: {rule_id} did not fire"));
            }
        }
        for rule_id in strings(entry, "must_not_fire") {
            if let Some(alert) = outcome.alerts.iter().find(|a| a.rule.rule_id == rule_id && concerns(a, entry)) {
                failures.push(format!("{name}: {rule_id} fired: {}", alert.to_json()));
            }
        }
    }
    let mut per_rule: Vec<(usize, &str)> = outcome.rules.iter().map(|r| (r.alerts, r.name.as_str())).collect();
    per_rule.sort();
    eprintln!("alerts per rule: {per_rule:#?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
