//! `keytrail watch SOURCE... --state DIR`: the rules on their schedule as logs arrive (the
//! design is keytrail_watch's crate doc).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use keytrail_detect::{EventStore, HuntOptions, hunt, reach_ms};
use keytrail_lake::{Lake, LakeTable};
use keytrail_rules::{Detection, RuleSet};
use keytrail_source::{DiscoverOptions, Sources, TimeRange};
use keytrail_watch::{RaisedAlert, Rotation, RuleRun, SinkSecrets, SinkSpec, State, Tick, latest_run};

use super::hunt::load_rules;
use super::ingest::ingest_new;
use crate::args::WatchArgs;
use crate::progress::Progress;
use crate::setup::{Events, Reading};

/// How much later than its delivery an event's own time may be and still be read for the
/// runs that see it by delivery time: the read is cut by `@timestamp`, the runs by
/// `event.ingested`.
const DELIVERY_DELAY_MS: i64 = 24 * 3_600_000;

/// After its first look a watch lists only the days of the logs' layout from yesterday on, so
/// that a bucket of years is not listed every minute; it lists everything again once a day,
/// for log files delivered days late.
const FULL_LISTING_EVERY_MS: i64 = 24 * 3_600_000;

pub async fn run(args: WatchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.status {
        print_status(&State::open_read_only(&args.state)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.read.workers.is_some() {
        anyhow::bail!("watch reads and writes its state from this process: --workers does not apply to it");
    }
    let rules = load_rules(&args.rules, args.no_builtin, quiet)?;
    let reading = Reading::open(&args.read).await?;
    if !matches!(reading.events, Events::Logs { .. }) {
        anyhow::bail!("watch reads logs (files, folders, s3://) into its own lake under --state, not a lake");
    }
    let lake = Lake::create(&args.state.join("lake"))?;
    let mut state = State::open(&args.state)?;
    let mut specs = if args.sinks.is_empty() { vec![SinkSpec::Stdout] } else { args.sinks.clone() };
    for spec in &mut specs {
        if let SinkSpec::Ndjson { rotation, .. } = spec {
            *rotation = Rotation { daily: args.rotate_daily, max_bytes: args.rotate_size.map(|size| size as u64) };
        }
    }
    let secrets = SinkSecrets::from_environment();
    let aws = args.read.aws.options();
    let mut sinks = Vec::new();
    for spec in &specs {
        let name = spec.name();
        let recorded = state.sink_position(&name)?;
        let sink = spec.open(recorded.clone(), &secrets, &aws)?;
        // Where a new sink file starts (what it held before is the user's), or where a sink
        // whose rotation was changed goes on.
        if sink.position() != recorded {
            state.delivered(&name, &[], sink.position().as_ref())?;
        }
        sinks.push((name, sink));
    }
    let sink_names = sinks.iter().map(|(name, _)| name.clone()).collect();
    let mut watch = Watch { rules, lake, reading, state, sinks, sink_names, last_full_listing: None };
    loop {
        let started = chrono::Utc::now().timestamp_millis();
        let now = args.now.map_or(started, |t| t.timestamp_millis());
        let wait_ms = match watch.tick(&args, started, now, quiet).await {
            Ok(()) if args.once => return Ok(ExitCode::SUCCESS),
            // The next look: the next run due, or the poll, whichever comes first.
            Ok(()) => {
                let clock = DueClock { now, settle_ms: args.settle };
                let next_run = watch.rules.detections.iter().map(|d| clock.next_due(d)).min().unwrap_or(i64::MAX);
                (next_run - now).clamp(0, args.poll as i64 * 1_000)
            }
            Err(error) if args.once => return Err(error),
            // Nothing of a failed tick was committed: the next one does its work again.
            Err(error) => {
                eprintln!("keytrail watch: the tick failed, trying again in {} s: {error:#}", args.poll);
                args.poll as i64 * 1_000
            }
        };
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)).await;
    }
}

/// A running watch: its rules, lake, state and sinks.
struct Watch {
    rules: RuleSet,
    lake: Lake,
    reading: Reading,
    state: State,
    sinks: Vec<keytrail_watch::NamedSink>,
    sink_names: Vec<String>,
    /// When the sources were last listed whole.
    last_full_listing: Option<i64>,
}

impl Watch {
    /// One look at the sources at `now`: new logs into the lake, the runs due, their alerts
    /// committed and delivered.
    async fn tick(&mut self, args: &WatchArgs, started: i64, now: i64, quiet: bool) -> anyhow::Result<()> {
        let timer = std::time::Instant::now();
        // Folders and prefixes are listed anew each tick: what is new is what the lake lacks.
        let full_listing = self.last_full_listing.is_none_or(|at| now - at >= FULL_LISTING_EVERY_MS);
        let since =
            if full_listing { None } else { chrono::DateTime::from_timestamp_millis(now - FULL_LISTING_EVERY_MS) };
        let discover = DiscoverOptions { time_range: TimeRange { since, until: None }, aws: args.read.aws.options() };
        let sources = Sources::discover(&args.read.paths, &discover).await?;
        let progress = Progress::follow(self.reading.report.clone(), quiet || !args.once);
        let ingested = ingest_new(&self.reading, &sources, &self.lake, progress).await?;
        if full_listing {
            self.last_full_listing = Some(now);
        }
        if ingested.objects > 0 {
            // What the read skipped, so far: counted over the watch's life.
            self.reading.finish(quiet, args.read.errors.as_deref());
        }
        let clock = DueClock { now, settle_ms: args.settle };
        let outcome = run_due(&self.rules, &self.lake, &self.reading, &self.state, clock, args.baseline.into()).await?;
        let tick = Tick {
            started,
            now,
            objects: ingested.objects as u64,
            events: ingested.events,
            newest_delivery: outcome.newest_delivery,
            seconds: timer.elapsed().as_secs_f64(),
        };
        let new =
            self.state.commit_tick(&tick, outcome.estate_start, &outcome.runs, &outcome.alerts, &self.sink_names)?;
        let (_, failures) = keytrail_watch::deliver(&mut self.state, &mut self.sinks, now).await;
        for failure in failures {
            tracing::warn!("{failure:#}: its alerts wait in the outbox for the next tick");
        }
        if !quiet {
            eprintln!(
                "keytrail watch: {} new log files ({} events), {} rule runs, {new} new alerts, {:.1} s",
                ingested.objects,
                ingested.events,
                outcome.runs.len(),
                tick.seconds
            );
        }
        Ok(())
    }
}

/// When rules' runs are due.
#[derive(Clone, Copy)]
struct DueClock {
    now: i64,
    /// How far behind `now` rules that judge by `@timestamp` run.
    settle_ms: i64,
}

impl DueClock {
    /// The time by which a rule's runs are due: now, or for a rule whose window is by
    /// `@timestamp`, `settle_ms` before, since events arrive minutes after they happen.
    fn due_by(&self, detection: &Detection) -> i64 {
        match detection.schedule.timestamp_field {
            keytrail_ecs::Col::EventIngested => self.now,
            _ => self.now - self.settle_ms,
        }
    }

    /// The latest run of `detection` that is due.
    fn latest(&self, detection: &Detection) -> i64 {
        latest_run(self.due_by(detection), detection.schedule.interval_ms)
    }

    /// When the run after the latest due one becomes due (wall-clock time).
    fn next_due(&self, detection: &Detection) -> i64 {
        self.latest(detection) + detection.schedule.interval_ms + (self.now - self.due_by(detection))
    }
}

/// What a tick's rule runs gave.
struct DueOutcome {
    /// The estate's start, when this tick was the first to see events.
    estate_start: Option<i64>,
    /// Each rule run, with its latest run now done.
    runs: Vec<RuleRun>,
    alerts: Vec<RaisedAlert>,
    newest_delivery: Option<i64>,
}

/// Runs every rule's due runs over the lake: the runs after its last recorded run up to the
/// latest due ([`DueClock`]); all runs since the data began, for a rule never run.
async fn run_due(
    rules: &RuleSet,
    lake: &Lake,
    reading: &Reading,
    state: &State,
    clock: DueClock,
    baseline: keytrail_detect::Baseline,
) -> anyhow::Result<DueOutcome> {
    let last_runs = state.last_runs()?;
    let estate_start = state.estate_start()?;
    // Rules whose runs are the same are hunted together: (interval, first run, last run) → rules.
    let mut groups: BTreeMap<(i64, Option<i64>, i64), Vec<Detection>> = BTreeMap::new();
    for detection in &rules.detections {
        let interval = detection.schedule.interval_ms;
        let latest = clock.latest(detection);
        let first_run = match last_runs.get(&detection.rule.rule_id) {
            Some(&last) if last >= latest => continue,
            Some(&last) => Some(last + interval),
            None => None,
        };
        groups.entry((interval, first_run, latest)).or_default().push(detection.clone());
    }
    let mut outcome = DueOutcome { estate_start: None, runs: Vec::new(), alerts: Vec::new(), newest_delivery: None };
    if groups.is_empty() {
        return Ok(outcome);
    }
    // The earliest event a due run reads: its window, or its history, before its first run.
    let since = groups
        .iter()
        .flat_map(|((_, first_run, _), detections)| detections.iter().map(move |d| first_run.map(|r| r - reach_ms(d))))
        .try_fold(i64::MAX, |earliest, from| from.map(|from| earliest.min(from)))
        .map(|earliest| earliest - DELIVERY_DELAY_MS);
    let due: Vec<Detection> = groups.values().flatten().cloned().collect();
    let time_range = TimeRange { since: since.and_then(chrono::DateTime::from_timestamp_millis), until: None };
    // The lake's events were counted when they were ingested: this read has a report of its own.
    let report = Arc::new(keytrail_engine::ReadReport::default());
    let table = LakeTable::new(lake, rules.table_schema(), time_range, report.clone())?;
    let context =
        keytrail_engine::session_over(Arc::new(table), keytrail_lake::session_config(), &reading.memory, report)?;
    let store = EventStore::read(&context, &due).await?;
    let Some((first_event, last_event)) = store.span else {
        // Nothing to judge yet: the rules wait for events, and keep no runs.
        return Ok(outcome);
    };
    outcome.newest_delivery = Some(last_event);
    let estate_start = match estate_start {
        Some(start) => start,
        None => {
            outcome.estate_start = Some(first_event);
            first_event
        }
    };
    for ((interval, first_run, latest), detections) in groups {
        let mut raised = HashSet::new();
        if let Some(first_run) = first_run {
            for detection in &detections {
                // An alert raised by a run that saw what these runs see, within its window.
                let seen_from = first_run - detection.schedule.lookback_ms - interval;
                raised.extend(state.raised_after(&detection.rule.rule_id, seen_from)?);
            }
        }
        let options = HuntOptions {
            since: Some(estate_start),
            until: Some(latest),
            runs_from: first_run,
            raised,
            baseline,
            ..HuntOptions::default()
        };
        let report = hunt(&store, &detections, &options).await;
        for rule in &report.rules {
            if let Some(error) = &rule.error {
                tracing::warn!("{}: {error} (its runs are tried again next tick)", rule.origin);
            }
        }
        let failed: HashSet<&str> =
            report.rules.iter().filter(|r| r.error.is_some()).map(|r| r.origin.as_str()).collect();
        for detection in &detections {
            if !failed.contains(detection.origin.as_str()) {
                outcome.runs.push(RuleRun {
                    rule_id: detection.rule.rule_id.clone(),
                    name: detection.rule.name.clone(),
                    last_run: latest,
                    interval_ms: interval,
                });
            }
        }
        outcome.alerts.extend(report.alerts.into_iter().map(|alert| RaisedAlert {
            id: alert.id.clone(),
            rule_id: alert.rule.rule_id.clone(),
            run_time: alert.run_time,
            document: alert.to_json().to_string(),
        }));
    }
    Ok(outcome)
}

fn print_status(state: &State) -> anyhow::Result<()> {
    let status = state.status(10)?;
    // Written, not printed: a closed pipe (`| head`) is an error main takes quietly, not a panic.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let time = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis)
            .map_or_else(|| millis.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    writeln!(out, "alerts raised: {}", status.alerts)?;
    for (sink, count) in &status.undelivered {
        writeln!(out, "  not yet delivered to {sink}: {count}")?;
    }
    writeln!(out, "last ticks (newest first):")?;
    for (tick, new) in &status.last_ticks {
        let lag = tick.newest_delivery.map_or("no events yet".to_string(), |newest| {
            format!("newest log delivered {} min before", (tick.now - newest) / 60_000)
        });
        writeln!(
            out,
            "  {}: {} new log files, {} events, {new} new alerts in {:.1} s; {lag}",
            time(tick.started),
            tick.objects,
            tick.events,
            tick.seconds
        )?;
    }
    // The pace: what the ticks after the oldest shown brought, per minute since it started.
    if let (Some((newest, _)), Some((oldest, _))) = (status.last_ticks.first(), status.last_ticks.last()) {
        let minutes = (newest.started - oldest.started) as f64 / 60_000.0;
        if minutes > 0.0 {
            let later = &status.last_ticks[..status.last_ticks.len() - 1];
            let objects: u64 = later.iter().map(|(tick, _)| tick.objects).sum();
            let events: u64 = later.iter().map(|(tick, _)| tick.events).sum();
            writeln!(
                out,
                "pace over the last {minutes:.1} min: {:.1} log files and {:.0} events a minute",
                objects as f64 / minutes,
                events as f64 / minutes
            )?;
        }
    }
    writeln!(out, "rules (last run, next run):")?;
    for rule in &status.rules {
        writeln!(out, "  {}  {}  {}", time(rule.last_run), time(rule.last_run + rule.interval_ms), rule.name)?;
    }
    Ok(())
}
