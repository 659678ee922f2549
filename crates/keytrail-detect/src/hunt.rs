//! A hunt: every detection over the stored events, on the schedule Elastic would have run
//! it, with alerts capped per run (`max_signals`) and identical alerts reported once.

use std::collections::{BTreeMap, HashSet};

use datafusion::error::Result;
use keytrail_rules::{Detection, Logic};

use crate::alert::Alert;
use crate::esql;
use crate::new_terms::{new_occurrences, term_keys};
use crate::per_event::{event_fields, events_in_time_order, matching};
use crate::schedule::{RunGrid, run_between};
use crate::store::EventStore;

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
    /// Let new_terms rules (and ES|QL rules tagged [`BASELINE_TAG`]) alert on the first
    /// history window of the data too.
    pub no_baseline: bool,
}

/// What one detection did.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub origin: String,
    pub name: String,
    pub runs: usize,
    pub alerts: usize,
    /// Alerts a run could not raise because it had reached `max_signals`.
    pub capped: usize,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct HuntReport {
    /// By run time, then rule name.
    pub alerts: Vec<Alert>,
    pub rules: Vec<RuleOutcome>,
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
            Runs::Backfill { start: options.since.unwrap_or(first), end: options.until.unwrap_or(last) }
        }
        (None, None) => return report,
    };
    let data_start = options.since.or(store.span.map(|s| s.0)).unwrap_or(i64::MIN);
    for detection in detections {
        let grid = runs.grid(detection.schedule.interval_ms);
        let mut outcome = RuleOutcome {
            origin: detection.origin.clone(),
            name: detection.rule.name.clone(),
            runs: grid.runs(),
            alerts: 0,
            capped: 0,
            error: None,
        };
        let started = std::time::Instant::now();
        let result = run_detection(store, detection, runs, &grid, data_start, options).await;
        tracing::debug!("{:.3} s: {}", started.elapsed().as_secs_f64(), detection.origin);
        match result {
            Ok(alerts) => {
                let (kept, capped) = cap_per_run(alerts, detection.schedule.max_signals as usize);
                outcome.alerts = kept.len();
                outcome.capped = capped;
                report.alerts.extend(kept);
            }
            Err(error) => outcome.error = Some(error.to_string()),
        }
        report.rules.push(outcome);
    }
    report
        .alerts
        .sort_by(|a, b| (a.run_time, &a.rule.name, a.first_event).cmp(&(b.run_time, &b.rule.name, b.first_event)));
    report
}

async fn run_detection(
    store: &EventStore,
    detection: &Detection,
    runs: Runs,
    grid: &RunGrid,
    data_start: i64,
    options: &HuntOptions,
) -> Result<Vec<Alert>> {
    let lookback = detection.schedule.lookback_ms;
    let window_field = detection.schedule.timestamp_field.def().name;
    let alert = |run_time, first_event, last_event, fields| Alert {
        rule: detection.rule.clone(),
        run_time,
        first_event,
        last_event,
        fields,
    };
    match &detection.logic {
        Logic::Query(query) => {
            let batches = matching(store, query)?;
            let events = events_in_time_order(&batches, window_field)?;
            Ok(events
                .into_iter()
                .filter_map(|event| {
                    let run = run_between(grid, event.window_time, event.window_time + lookback)?;
                    Some(alert(run, event.time, event.time, event_fields(&batches, event)))
                })
                .collect())
        }
        Logic::NewTerms { query, fields, history_ms } => {
            let batches = matching(store, query)?;
            let events = events_in_time_order(&batches, window_field)?;
            let keys = term_keys(&batches, fields)?;
            let baseline_end = if options.no_baseline || matches!(runs, Runs::Once(_)) {
                i64::MIN
            } else {
                data_start.saturating_add(*history_ms)
            };
            let mut alerts = Vec::new();
            for (event, key, earliest, latest) in new_occurrences(&events, &keys, *history_ms, lookback) {
                if event.time < baseline_end {
                    continue;
                }
                let Some(run) = run_between(grid, earliest, latest) else { continue };
                let mut fields_out = event_fields(&batches, event);
                let values = key.split('\u{0}').map(|v| serde_json::Value::String(v.to_string())).collect();
                fields_out.push(("kibana.alert.new_terms".to_string(), serde_json::Value::Array(values)));
                alerts.push(alert(run, event.time, event.time, fields_out));
            }
            alerts.sort_by_key(|a| (a.run_time, a.first_event));
            Ok(alerts)
        }
        Logic::Esql(query) => {
            // A "first seen" rule knows nothing before the data starts: its first window is a
            // baseline, as for new_terms rules.
            let baseline_end = if options.no_baseline
                || matches!(runs, Runs::Once(_))
                || !detection.rule.tags.iter().any(|t| t == BASELINE_TAG)
            {
                i64::MIN
            } else {
                data_start.saturating_add(lookback)
            };
            let rows = match runs {
                Runs::Once(now) => esql::run_once(store, query, now, lookback, window_field).await?,
                Runs::Backfill { .. } => {
                    // The runs before the baseline's end are dropped below: not computed.
                    let kept = RunGrid { start: grid.start.max(baseline_end), ..*grid };
                    esql::run_backfill(store, query, &kept, lookback, window_field).await?
                }
            };
            let data_end = store.span.map_or(i64::MAX, |s| s.1);
            let mut seen = HashSet::new();
            let mut rows = rows;
            rows.sort_by_key(|row| row.run_time);
            Ok(rows
                .into_iter()
                .filter(|row| row.run_time >= baseline_end)
                .filter(|row| seen.insert(serde_json::to_string(&row.fields).unwrap_or_default()))
                .map(|row| {
                    // An aggregate row's evidence is its run's window, clipped to the data.
                    let (first, last) = row
                        .event_time
                        .map_or(((row.run_time - lookback).max(data_start), row.run_time.min(data_end)), |t| (t, t));
                    alert(row.run_time, first, last, row.fields)
                })
                .collect())
        }
    }
}

/// Keeps the first `max_signals` alerts of each run (by evidence time).
fn cap_per_run(alerts: Vec<Alert>, max_signals: usize) -> (Vec<Alert>, usize) {
    let mut per_run: BTreeMap<i64, Vec<Alert>> = BTreeMap::new();
    for alert in alerts {
        per_run.entry(alert.run_time).or_default().push(alert);
    }
    let mut capped = 0;
    let mut kept = Vec::new();
    for (_, mut alerts) in per_run {
        alerts.sort_by_key(|a| a.first_event);
        if alerts.len() > max_signals {
            capped += alerts.len() - max_signals;
            alerts.truncate(max_signals);
        }
        kept.extend(alerts);
    }
    (kept, capped)
}
