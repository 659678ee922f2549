//! Continuous detection: the rules run on their schedule as logs arrive.
//!
//! ```text
//!  sources ──► STATE/lake (keytrail_lake ingest: each log file once, committed with its events)
//!                 │
//!   every tick:   ▼  the rules' runs due by now: (last run, latest run ≤ now] on each rule's grid
//!              EventStore over the lake, from the earliest event a due run can see or compare
//!                 │  (its window, and a first-seen rule's history, before it)
//!                 ▼
//!              keytrail_detect::hunt for those runs, minus the alerts raised before (by id)
//!                 │
//!                 ▼  one SQLite transaction: the runs done, the new alerts, each sink's outbox
//!              STATE/state.sqlite ──► sinks (deliveries recorded as they succeed)
//! ```
//!
//! A rule's runs fall on multiples of its interval since the epoch ([`latest_run`]), so a
//! restarted watch takes up the same grid, and a hunt of the finished logs `--until` such a
//! time has the same runs. Killed at any point, the watch restarts from what was committed:
//! a log file is in the lake with its events or not at all, a tick's runs are recorded with
//! their alerts or not at all, and an alert leaves a sink's outbox only with its delivery.

mod sink;
mod state;

pub use sink::{Outgoing, Position, Rotation, Sink, SinkSecrets, SinkSpec, webhook_signature};
pub use state::{RaisedAlert, RuleRun, State, Status, Tick};

/// The latest run at or before `now` of a rule run every `interval_ms`.
pub fn latest_run(now: i64, interval_ms: i64) -> i64 {
    now - now.rem_euclid(interval_ms)
}

/// A sink opened, with its name in the state.
pub type NamedSink = (String, Box<dyn Sink>);

/// How many alerts a sink is handed at a time.
const DELIVERY_BATCH: usize = 500;

/// Hands each sink what its outbox holds, at `now` (epoch ms: when files rotate by day);
/// returns how many alerts were delivered, and the first failure of each sink that failed
/// (its alerts stay in the outbox for the next tick).
pub async fn deliver(state: &mut State, sinks: &mut [NamedSink], now: i64) -> (usize, Vec<anyhow::Error>) {
    let mut delivered = 0;
    let mut failures = Vec::new();
    for (name, sink) in sinks.iter_mut() {
        match deliver_to(state, name, sink.as_mut(), now).await {
            Ok(count) => delivered += count,
            Err(error) => failures.push(error.context(format!("sink {name}"))),
        }
    }
    (delivered, failures)
}

async fn deliver_to(state: &mut State, name: &str, sink: &mut dyn Sink, now: i64) -> anyhow::Result<usize> {
    let mut count = 0;
    loop {
        let batch = state.undelivered(name, DELIVERY_BATCH)?;
        if batch.is_empty() {
            return Ok(count);
        }
        if let Some(begun) = sink.rotate(now)? {
            state.delivered(name, &[], Some(&begun))?;
        }
        let alerts: Vec<Outgoing> = batch.iter().map(|(id, document)| Outgoing { id, document }).collect();
        let position = sink.deliver(&alerts).await?;
        let ids: Vec<String> = batch.into_iter().map(|(id, _)| id).collect();
        state.delivered(name, &ids, position.as_ref())?;
        count += ids.len();
    }
}

#[cfg(test)]
mod tests {
    use keytrail_source::AwsOptions;

    use super::*;

    #[test]
    fn runs_fall_on_multiples_of_the_interval() {
        assert_eq!(latest_run(1_000, 300), 900);
        assert_eq!(latest_run(900, 300), 900);
        assert_eq!(latest_run(-1, 300), -300);
    }

    #[tokio::test]
    async fn an_outbox_is_emptied_into_its_sink_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let spec = SinkSpec::Ndjson { path: path.clone(), rotation: Rotation::default() };
        let mut state = State::open(dir.path()).unwrap();
        let tick = Tick { started: 1, now: 1, objects: 0, events: 0, newest_delivery: None, seconds: 0.0 };
        let alert = |id: &str| RaisedAlert {
            id: id.into(),
            rule_id: "r".into(),
            run_time: 1,
            document: format!("{{\"id\":\"{id}\"}}"),
        };
        state.commit_tick(&tick, None, &[], &[alert("a"), alert("b")], &[spec.name()]).unwrap();
        let mut sinks = vec![(
            spec.name(),
            spec.open(state.sink_position(&spec.name()).unwrap(), &SinkSecrets::default(), &AwsOptions::default())
                .unwrap(),
        )];
        assert_eq!(deliver(&mut state, &mut sinks, 1).await.0, 2);
        drop((sinks, state));

        let mut state = State::open(dir.path()).unwrap();
        state.commit_tick(&tick, None, &[], &[alert("b"), alert("c")], &[spec.name()]).unwrap();
        let mut sinks = vec![(
            spec.name(),
            spec.open(state.sink_position(&spec.name()).unwrap(), &SinkSecrets::default(), &AwsOptions::default())
                .unwrap(),
        )];
        assert_eq!(deliver(&mut state, &mut sinks, 1).await.0, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
    }
}
