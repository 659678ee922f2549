//! A hunt: every detection over the stored events, on the schedule Elastic would have run
//! it. Each alert goes to the earliest run that sees it and has not yet raised `max_signals`
//! alerts; an alert Elastic would give the same id (same event; same event and terms; same
//! ES|QL row of a non-aggregating query) is raised once (see [`assign_runs`]).

use std::collections::HashSet;
use std::hash::Hash;

use datafusion::arrow::array::Array;
use datafusion::error::Result;
use keytrail_rules::{Detection, Logic};

use crate::alert::{Alert, alert_id};
use crate::baseline::{Baseline, History, mark_thin};
use crate::esql;
use crate::per_event::{EventRef, event_ids, events_in_time_order};
use crate::schedule::{Candidate, RunGrid, assign_runs};
use crate::store::{EventFields, EventStore, EventsFile};

/// The tag of ES|QL rules that alert on something seen for the first time within their
/// window: in a backfill, runs whose window reaches back before the data raise no alerts.
pub const BASELINE_TAG: &str = "Keytrail: First Seen Baseline";

#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// Run each rule once, at this time (epoch ms), instead of backfilling.
    pub now: Option<i64>,
    /// The span to backfill; default: the span of the data.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// How much of the data first-seen rules (new_terms, and ES|QL rules tagged
    /// [`BASELINE_TAG`]) take as history before they judge.
    pub baseline: Baseline,
    /// The first run to compute (epoch ms); default: `since`, else the start of the data. A
    /// watch computes only the runs it has not done, with the data before them as history.
    pub runs_from: Option<i64>,
    /// The ids of alerts raised before this hunt (by a watch's earlier ticks): not raised
    /// again and, as in Elastic, dropped before a run's `max_signals` is counted.
    pub raised: HashSet<String>,
}

/// What one detection did.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub origin: String,
    pub name: String,
    pub runs: usize,
    pub alerts: usize,
    /// Alerts Elastic would never have raised because every run that saw them had reached
    /// `max_signals`.
    pub capped: usize,
    /// For first-seen rules: the history they had to judge with.
    pub history: Option<History>,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct HuntReport {
    /// By run time, then rule name.
    pub alerts: Vec<Alert>,
    pub rules: Vec<RuleOutcome>,
}

/// How far back a first-seen rule looks for earlier occurrences: a new_terms rule's history
/// window; for an ES|QL rule tagged [`BASELINE_TAG`], its own window. None for other rules.
fn first_seen_window(detection: &Detection) -> Option<i64> {
    match &detection.logic {
        Logic::NewTerms { history_ms, .. } => Some(*history_ms),
        Logic::Esql(_) if detection.rule.tags.iter().any(|t| t == BASELINE_TAG) => Some(detection.schedule.lookback_ms),
        _ => None,
    }
}

/// How far before a run a rule reads events: its window, or a first-seen rule's history.
pub fn reach_ms(detection: &Detection) -> i64 {
    detection.schedule.lookback_ms.max(first_seen_window(detection).unwrap_or(0))
}

/// When the runs happen.
#[derive(Debug, Clone, Copy)]
enum Runs {
    Once(i64),
    Backfill { start: i64, end: i64 },
}

impl Runs {
    fn grid(self, interval: i64) -> RunGrid {
        match self {
            Runs::Once(now) => RunGrid { start: now, end: now, interval },
            Runs::Backfill { start, end } => RunGrid { start, end, interval },
        }
    }
}

pub async fn hunt(store: &EventStore, detections: &[Detection], options: &HuntOptions) -> HuntReport {
    let mut report = HuntReport::default();
    let runs = match (options.now, store.span) {
        (Some(now), _) => Runs::Once(now),
        (None, Some((first, last))) => {
            let start = options.runs_from.or(options.since).unwrap_or(first);
            Runs::Backfill { start, end: options.until.unwrap_or(last) }
        }
        (None, None) => return report,
    };
    let data_start = options.since.or(store.span.map(|s| s.0)).unwrap_or(i64::MIN);
    let data_end = options.until.or(store.span.map(|s| s.1)).unwrap_or(i64::MAX);
    for detection in detections {
        let grid = runs.grid(detection.schedule.interval_ms);
        let first_seen_window = first_seen_window(detection);
        let baseline_end = match (first_seen_window, runs) {
            (Some(window), Runs::Backfill { .. }) => options.baseline.end(window, data_start, data_end),
            _ => i64::MIN,
        };
        let mut outcome = RuleOutcome {
            origin: detection.origin.clone(),
            name: detection.rule.name.clone(),
            runs: grid.runs(),
            alerts: 0,
            capped: 0,
            history: None,
            error: None,
        };
        let started = std::time::Instant::now();
        let result = run_detection(store, detection, runs, &grid, data_start, baseline_end, &options.raised).await;
        tracing::debug!("{:.3} s: {}", started.elapsed().as_secs_f64(), detection.origin);
        match result {
            Ok((mut alerts, capped)) => {
                if let Some(window_ms) = first_seen_window {
                    let thin_alerts = mark_thin(&mut alerts, window_ms, data_start);
                    let baseline_ms = baseline_end.max(data_start).saturating_sub(data_start);
                    let data_ms = data_end.saturating_sub(data_start);
                    outcome.history = Some(History { window_ms, baseline_ms, data_ms, thin_alerts });
                }
                outcome.alerts = alerts.len();
                outcome.capped = capped;
                report.alerts.extend(alerts);
            }
            Err(error) => outcome.error = Some(error.to_string()),
        }
        report.rules.push(outcome);
    }
    // Alerts of one rule and run with the same evidence time (events of one second) are
    // ordered by their fields, so that the output does not depend on how the read was split.
    report.alerts.sort_by_cached_key(|a| (a.run_time, a.rule.name.clone(), a.first_event, fields_text(&a.fields)));
    report
}

fn fields_text(fields: &[(String, serde_json::Value)]) -> String {
    fields.iter().map(|(name, value)| format!("{name}={value}\n")).collect()
}

async fn run_detection(
    store: &EventStore,
    detection: &Detection,
    runs: Runs,
    grid: &RunGrid,
    data_start: i64,
    baseline_end: i64,
    raised: &HashSet<String>,
) -> Result<(Vec<Alert>, usize)> {
    let lookback = detection.schedule.lookback_ms;
    let window_field = detection.schedule.timestamp_field.def().name;
    let max_signals = detection.schedule.max_signals as usize;
    let rule_id = detection.rule.rule_id.as_str();
    // An event's alert without a CloudTrail event id (NDJSON input) is told by its fields.
    let id_or_fields = |id: Option<String>, fields: &[(String, serde_json::Value)], extra: &str| {
        id.unwrap_or_else(|| alert_id(rule_id, &[&fields_text(fields), extra]))
    };
    // Ids are made only when some alerts were raised before: a hunt makes them for its alerts alone.
    let was_raised =
        |id: &dyn Fn() -> Option<String>| !raised.is_empty() && id().is_some_and(|id| raised.contains(&id));
    let alert = |id, run_time, first_event, last_event, fields| Alert {
        id,
        rule: detection.rule.clone(),
        run_time,
        first_event,
        last_event,
        fields,
    };
    match &detection.logic {
        Logic::Query(query) => {
            let matched = store.matched(query)?;
            let keys = matched.keys()?;
            let events = events_in_time_order(keys.batches(), window_field)?;
            let ids: Vec<_> = keys.batches().iter().map(event_ids).collect();
            let id_of = |index: usize| {
                let event = &events[index];
                let ids = ids[event.batch].filter(|ids| ids.is_valid(event.row))?;
                Some(alert_id(rule_id, &[ids.value(event.row)]))
            };
            // A run at t sees (t − lookback, t].
            let candidates: Vec<_> = events
                .iter()
                .map(|event| Candidate {
                    identity: (event.batch, event.row),
                    runs: (event.window_time, event.window_time + lookback - 1),
                    // Elastic pages through hits sorted by the rule's timestamp field, then @timestamp.
                    order: (event.window_time, event.time, event.batch, event.row),
                })
                .collect();
            raise_matched(
                grid,
                max_signals,
                &candidates,
                |index| was_raised(&|| id_of(index)),
                matched.events(),
                |index| events[index],
                |index, run, fields| {
                    let event = events[index];
                    alert(id_or_fields(id_of(index), &fields, ""), run, event.time, event.time, fields)
                },
            )
        }
        Logic::NewTerms { .. } => {
            let first_seen = store.first_seen(detection)?;
            let occurrences: Vec<_> =
                first_seen.seen.new_occurrences().into_iter().filter(|o| o.event.time >= baseline_end).collect();
            let candidates: Vec<_> = occurrences
                .iter()
                .map(|o| Candidate {
                    identity: (o.event.batch, o.event.row, o.term),
                    runs: o.runs,
                    order: (o.event.window_time, o.event.time, o.event.batch, o.event.row, o.term),
                })
                .collect();
            let id_of = |index: usize| {
                let occurrence = &occurrences[index];
                occurrence.event_id.map(|event_id| alert_id(rule_id, &[event_id, occurrence.term]))
            };
            let already = |index| was_raised(&|| id_of(index));
            let event_of = |index: usize| occurrences[index].event;
            raise_matched(
                grid,
                max_signals,
                &candidates,
                already,
                &first_seen.events,
                event_of,
                |index, run, mut fields| {
                    let occurrence = &occurrences[index];
                    let id = id_or_fields(id_of(index), &fields, occurrence.term);
                    let values =
                        occurrence.term.split('\u{0}').map(|v| serde_json::Value::String(v.to_string())).collect();
                    fields.push(("kibana.alert.new_terms".to_string(), serde_json::Value::Array(values)));
                    alert(id, run, occurrence.event.time, occurrence.event.time, fields)
                },
            )
        }
        Logic::Esql(query) => {
            let rows = match runs {
                Runs::Once(now) => esql::run_once(store, query, now, lookback, window_field).await?,
                Runs::Backfill { .. } => {
                    // The runs before the baseline's end are dropped below: not computed.
                    let kept = RunGrid { start: grid.start.max(baseline_end), ..*grid };
                    esql::run_backfill(store, query, &kept, lookback, window_field).await?
                }
            };
            let data_end = store.span.map_or(i64::MAX, |s| s.1);
            // An aggregate row's evidence is its run's window, clipped to the data.
            let evidence = |row: &esql::EsqlRow| {
                row.event_time
                    .map_or(((row.run_time - lookback).max(data_start), row.run_time.min(data_end)), |t| (t, t))
            };
            let rows: Vec<_> = rows.into_iter().filter(|row| row.run_time >= baseline_end).collect();
            let texts: Vec<String> =
                rows.iter().map(|row| serde_json::to_string(&row.fields).unwrap_or_default()).collect();
            // Elastic gives an aggregating query's alerts ids of their run, so each run raises
            // its rows anew; a row of a non-aggregating query stands for its event.
            let aggregating = query.is_aggregating();
            let id_of = |index: usize| {
                let run = aggregating.then(|| rows[index].run_time.to_string());
                alert_id(rule_id, &[run.as_deref().unwrap_or(""), &texts[index]])
            };
            let candidates: Vec<_> = rows
                .iter()
                .zip(&texts)
                .map(|(row, text)| Candidate {
                    identity: (aggregating.then_some(row.run_time), text.as_str()),
                    runs: (row.run_time, row.run_time),
                    order: (evidence(row).0, text.as_str()),
                })
                .collect();
            let already = |index| was_raised(&|| Some(id_of(index)));
            Ok(raise(grid, max_signals, &candidates, already, |index, run| {
                let (first, last) = evidence(&rows[index]);
                alert(id_of(index), run, first, last, rows[index].fields.clone())
            }))
        }
    }
}

/// [`raise`] for candidates that stand for matched events (`event_of` a candidate's index):
/// the fields of the raised ones are read back together, and `make` gets them.
fn raise_matched<Identity: Hash + Eq, Order: Ord>(
    grid: &RunGrid,
    max_signals: usize,
    candidates: &[Candidate<Identity, Order>],
    already_raised: impl Fn(usize) -> bool,
    events: &EventsFile,
    event_of: impl Fn(usize) -> EventRef,
    mut make: impl FnMut(usize, i64, EventFields) -> Alert,
) -> Result<(Vec<Alert>, usize)> {
    let assignment = assign_runs(grid, max_signals, candidates, already_raised);
    let fields = events.fields(assignment.raised.iter().map(|&(index, _)| event_of(index).at()))?;
    let alerts =
        assignment.raised.into_iter().map(|(index, run)| make(index, run, fields[&event_of(index).at()].clone()));
    Ok((alerts.collect(), assignment.capped))
}

/// Gives each candidate not `already_raised` its run ([`assign_runs`]) and makes the alert of
/// each raised one from its index and run: the alerts, and how many were capped.
fn raise<Identity: Hash + Eq, Order: Ord>(
    grid: &RunGrid,
    max_signals: usize,
    candidates: &[Candidate<Identity, Order>],
    already_raised: impl Fn(usize) -> bool,
    mut make: impl FnMut(usize, i64) -> Alert,
) -> (Vec<Alert>, usize) {
    let assignment = assign_runs(grid, max_signals, candidates, already_raised);
    (assignment.raised.into_iter().map(|(index, run)| make(index, run)).collect(), assignment.capped)
}
