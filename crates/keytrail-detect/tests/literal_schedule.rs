//! The backfill checked against a literal replay of Elastic's scheduler. For each run t of the
//! grid (`end − k·interval`), the replay evaluates the rule from scratch on the window
//! `(t − from, t]`, drops what earlier runs alerted on, orders the rest and keeps
//! `max_signals`. Query and new_terms runs are evaluated here on the generated events
//! themselves; ES|QL runs are single hunts at `now = t` with no cap (a separate plan from the
//! backfill's windowed one). Random rules and events from fixed seeds: bursts denser than
//! `max_signals`, windows longer than, equal to and shorter than the interval.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use keytrail_detect::{Alert, Baseline, EventStore, HuntOptions, hunt};
use keytrail_ecs::Enrichment;
use keytrail_rules::{Detection, RuleSet, parse_rule};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const CASES: u64 = 200;
/// ES|QL runs are DataFusion plans, one per run: every fourth case replays them.
const ESQL_EVERY: u64 = 4;
/// 2024-05-01T10:00:00Z.
const START: i64 = 1_714_557_600_000;
const ACTIONS: [&str; 3] = ["ListUsers", "GetSecretValue", "CreateUser"];
const USERS: [&str; 3] = ["alice", "bob", "carol"];
const ADDRESSES: [&str; 3] = ["3.0.0.1", "5.0.0.2", "20.0.0.3"];
/// The actions the query, new_terms and aggregating ES|QL rules match.
const MATCHED: [&str; 2] = ["ListUsers", "GetSecretValue"];

struct Event {
    id: String,
    time: i64,
    action: &'static str,
    user: &'static str,
    address: &'static str,
}

impl Event {
    fn record(&self) -> String {
        let time = chrono::DateTime::from_timestamp_millis(self.time).unwrap().format("%Y-%m-%dT%H:%M:%SZ");
        serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", self.user),
                "arn": format!("arn:aws:iam::111122223333:user/{}", self.user), "accountId": "111122223333",
                "accessKeyId": format!("AKIA{}", self.user.to_uppercase()), "userName": self.user},
            "eventTime": time.to_string(), "eventSource": "iam.amazonaws.com", "eventName": self.action,
            "awsRegion": "us-east-1", "sourceIPAddress": self.address, "userAgent": "aws-cli/2.15.0",
            "eventID": self.id, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
        })
        .to_string()
    }
}

/// Events at distinct whole seconds (CloudTrail's precision, so run times and window edges
/// coincide with events), scattered over half an hour, with bursts of one user's calls.
fn events(random: &mut SmallRng) -> Vec<Event> {
    let mut seconds = HashSet::new();
    let mut pick = |random: &mut SmallRng, user, action| {
        for _ in 0..100 {
            let at = random.random_range(0..1_800i64);
            if seconds.insert(at) {
                return Some((at, user, action));
            }
        }
        None
    };
    let mut chosen = Vec::new();
    for _ in 0..random.random_range(5..30) {
        let (user, action) = (USERS[random.random_range(0..3)], ACTIONS[random.random_range(0..3)]);
        chosen.extend(pick(random, user, action));
    }
    for _ in 0..random.random_range(0..3) {
        let (user, action) = (USERS[random.random_range(0..3)], MATCHED[random.random_range(0..2)]);
        let center: i64 = random.random_range(0..1_800);
        for _ in 0..random.random_range(4..12) {
            let at = center + random.random_range(0..90);
            if seconds.insert(at) {
                chosen.push((at, user, action));
            }
        }
    }
    chosen.sort();
    chosen
        .into_iter()
        .enumerate()
        .map(|(index, (at, user, action))| Event {
            id: format!("e{index}"),
            time: START + at * 1_000,
            action,
            user,
            address: ADDRESSES[random.random_range(0..3)],
        })
        .collect()
}

struct Schedule {
    interval: i64,
    from: i64,
    history: i64,
    max_signals: usize,
}

fn schedule(random: &mut SmallRng) -> Schedule {
    let interval = [60, 120, 300][random.random_range(0..3)];
    let from = match random.random_range(0..5) {
        0 => interval / 2,
        1 => interval,
        2 => interval * 2,
        3 => interval * 3 + 30,
        _ => interval + 1,
    };
    let history = from + random.random_range(1..4) * interval + random.random_range(0..2) * 17;
    Schedule {
        interval: interval * 1_000,
        from: from * 1_000,
        history: history * 1_000,
        max_signals: random.random_range(1..6),
    }
}

fn rule(id: &str, kind: &str, schedule: &Schedule, body: &str) -> String {
    format!(
        "[rule]\nrule_id = \"{id}\"\nname = \"{id}\"\ntype = \"{kind}\"\nlanguage = \"{language}\"\nrisk_score = 21\n\
         severity = \"low\"\nfrom = \"now-{from}s\"\ninterval = \"{interval}s\"\nmax_signals = {max}\n{body}\n",
        language = if kind == "esql" { "esql" } else { "kuery" },
        from = schedule.from / 1_000,
        interval = schedule.interval / 1_000,
        max = schedule.max_signals,
    )
}

/// What a rule alerts on, as the replay and the hunt both name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Raised {
    run: i64,
    identity: String,
}

/// One run's candidates, uncapped: (order, identity).
type Candidates = Vec<((i64, String), String)>;

/// Replays the runs: each keeps, in order, the first `max_signals` candidates whose identity
/// no earlier run (or earlier in this run) alerted on. Returns the alerts and how many
/// identities were seen but never alerted.
fn replay(runs: &[i64], max_signals: usize, mut candidates_at: impl FnMut(i64) -> Candidates) -> (Vec<Raised>, usize) {
    let mut alerted = HashSet::new();
    let mut seen = HashSet::new();
    let mut raised = Vec::new();
    for &run in runs {
        let mut candidates = candidates_at(run);
        candidates.sort();
        let mut taken = 0;
        for (_, identity) in candidates {
            seen.insert(identity.clone());
            if taken < max_signals && !alerted.contains(&identity) {
                alerted.insert(identity.clone());
                raised.push(Raised { run, identity });
                taken += 1;
            }
        }
    }
    let capped = seen.difference(&alerted).count();
    raised.sort();
    (raised, capped)
}

fn in_window(time: i64, from: i64, to: i64) -> bool {
    from < time && time <= to
}

fn query_candidates(events: &[Event], run: i64, lookback: i64) -> Candidates {
    events
        .iter()
        .filter(|e| MATCHED.contains(&e.action) && in_window(e.time, run - lookback, run))
        .map(|e| ((e.time, String::new()), e.id.clone()))
        .collect()
}

/// A term is new in a run when it occurs in the window and not in the history before it;
/// the alert is on its first event in the window.
fn new_terms_candidates(events: &[Event], run: i64, schedule: &Schedule, two_fields: bool) -> Candidates {
    let term = |e: &Event| if two_fields { format!("{}|{}", e.user, e.address) } else { e.user.to_string() };
    let matched: Vec<&Event> = events.iter().filter(|e| MATCHED.contains(&e.action)).collect();
    let history: HashSet<String> = matched
        .iter()
        .filter(|e| in_window(e.time, run - schedule.history, run - schedule.from))
        .map(|e| term(e))
        .collect();
    let mut first: BTreeMap<String, &Event> = BTreeMap::new();
    for e in matched.iter().filter(|e| in_window(e.time, run - schedule.from, run)) {
        first.entry(term(e)).or_insert(e);
    }
    first
        .into_iter()
        .filter(|(term, _)| !history.contains(term))
        .map(|(term, e)| ((e.time, term.clone()), format!("{} {term}", e.id)))
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(values) => values.iter().map(text).collect::<Vec<_>>().join("|"),
        other => other.to_string(),
    }
}

/// An alert's identity as the replay names it: the event, the event and its terms, or the
/// ES|QL row.
fn identity(alert: &Alert) -> String {
    match alert.rule.rule_type.get_ref().as_str() {
        "query" => text(alert.field("event.id").unwrap()),
        "new_terms" => format!(
            "{} {}",
            text(alert.field("event.id").unwrap()),
            text(alert.field("kibana.alert.new_terms").unwrap())
        ),
        _ => serde_json::to_string(&alert.fields).unwrap(),
    }
}

async fn store_of(events: &[Event], rules: &RuleSet) -> EventStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, events.iter().map(Event::record).collect::<Vec<_>>().join("\n")).unwrap();
    let (store, report) = common::read_for(&[path.display().to_string()], rules, Arc::new(Enrichment::default())).await;
    assert!(!report.had_errors(), "{:?}", report.errors());
    store
}

/// One ES|QL run at `run`, with no cap: the rows it returns, ordered as the scheduler orders
/// them (evidence, then the row).
async fn esql_candidates(store: &EventStore, detection: &Detection, run: i64, aggregating: bool) -> Candidates {
    let mut uncapped = detection.clone();
    uncapped.schedule.max_signals = u32::MAX;
    let report = hunt(store, &[uncapped], &HuntOptions { now: Some(run), ..HuntOptions::default() }).await;
    assert!(report.rules[0].error.is_none(), "{:?}", report.rules[0].error);
    report
        .alerts
        .iter()
        .map(|alert| {
            let row = identity(alert);
            let identity = if aggregating { format!("{run} {row}") } else { row.clone() };
            ((alert.first_event, row), identity)
        })
        .collect()
}

#[tokio::test]
async fn the_backfill_raises_what_a_literal_replay_of_the_runs_raises() {
    let mut compared = BTreeMap::<String, (usize, usize)>::new();
    for seed in 0..CASES {
        let mut random = SmallRng::seed_from_u64(seed);
        let events = events(&mut random);
        let schedule = schedule(&mut random);
        let two_fields = random.random_bool(0.5);
        let keep = if random.random_bool(0.5) { "user.name, source.ip" } else { "event.id, user.name" };
        let matched = "event.action:(ListUsers or GetSecretValue)";
        let terms = if two_fields { r#"["user.name", "source.ip"]"# } else { r#"["user.name"]"# };
        let texts = [
            rule("query", "query", &schedule, &format!("query = '{matched}'")),
            rule(
                "new_terms",
                "new_terms",
                &schedule,
                &format!(
                    "query = '{matched}'\n[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = {terms}\n\
                     [[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-{}s\"",
                    schedule.history / 1_000
                ),
            ),
            rule(
                "esql_stats",
                "esql",
                &schedule,
                "query = '''\nfrom logs-aws.cloudtrail-*\n| where event.action in (\"ListUsers\", \"GetSecretValue\")\n\
                 | stats Esql.count = count(*) by user.name\n| keep user.name, Esql.count\n'''",
            ),
            rule(
                "esql_keep",
                "esql",
                &schedule,
                &format!(
                    "query = '''\nfrom logs-aws.cloudtrail-*\n| where event.action == \"GetSecretValue\"\n| keep {keep}\n'''"
                ),
            ),
        ];
        let mut rules = RuleSet::default();
        for text in &texts {
            rules.add_source(&parse_rule("literal", text.clone()).unwrap());
        }
        let schema = rules.table_schema();
        rules.check(schema.arrow());
        assert!(rules.problems.is_empty(), "seed {seed}: {:?}", rules.problems);
        assert_eq!(rules.detections.len(), texts.len());
        let store = store_of(&events, &rules).await;

        let backfill =
            hunt(&store, &rules.detections, &HuntOptions { baseline: Baseline::None, ..HuntOptions::default() }).await;
        let (first, last) = store.span.unwrap();
        let mut runs: Vec<i64> = (0..).map(|k| last - k * schedule.interval).take_while(|&t| t >= first).collect();
        runs.reverse();

        for detection in &rules.detections {
            let name = detection.rule.name.as_str();
            let text = texts.iter().find(|text| text.contains(&format!("name = \"{name}\""))).unwrap();
            let esql = name.starts_with("esql");
            let aggregating = name == "esql_stats";
            if esql && seed % ESQL_EVERY != 0 {
                continue;
            }
            let (expected, expected_capped) = if esql {
                let mut per_run = BTreeMap::new();
                for &run in &runs {
                    per_run.insert(run, esql_candidates(&store, detection, run, aggregating).await);
                }
                replay(&runs, schedule.max_signals, |run| per_run.remove(&run).unwrap())
            } else if name == "query" {
                replay(&runs, schedule.max_signals, |run| query_candidates(&events, run, schedule.from))
            } else {
                replay(&runs, schedule.max_signals, |run| new_terms_candidates(&events, run, &schedule, two_fields))
            };
            let mut got: Vec<Raised> = backfill
                .alerts
                .iter()
                .filter(|a| a.rule.name == name)
                .map(|a| {
                    let identity = if aggregating { format!("{} {}", a.run_time, identity(a)) } else { identity(a) };
                    Raised { run: a.run_time, identity }
                })
                .collect();
            got.sort();
            let outcome = backfill.rules.iter().find(|r| r.name == name).unwrap();
            assert!(outcome.error.is_none(), "seed {seed} {name}: {:?}", outcome.error);
            if got != expected || outcome.capped != expected_capped {
                let differs =
                    got.iter().zip(&expected).position(|(g, e)| g != e).unwrap_or(got.len().min(expected.len()));
                panic!(
                    "seed {seed}, rule {name}:\n{text}\nfirst difference at alert {differs}: backfill {:?}, replay {:?}\n\
                     capped: backfill {}, replay {expected_capped}\nruns: {runs:?}",
                    got.get(differs),
                    expected.get(differs),
                    outcome.capped
                );
            }
            let tally = compared.entry(name.to_string()).or_default();
            tally.0 += expected.len();
            tally.1 += expected_capped;
        }
    }
    eprintln!("alerts and capped alerts compared per rule: {compared:?}");
    for (rule, (alerts, capped)) in &compared {
        assert!(*alerts > 0 && *capped > 0, "{rule}: the cases never raise or never cap alerts");
    }
}
