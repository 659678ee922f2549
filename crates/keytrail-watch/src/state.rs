//! The watch's state: one SQLite file, `STATE/state.sqlite`.
//!
//! SQLite rather than a key-value store such as redb: a tick's alerts, the sinks' share of
//! them and the runs that raised them are written in one transaction, so a watch killed at any
//! moment restarts from a tick that is wholly recorded or not at all; `watch --status` reads
//! the file from another process while the watch writes it (write-ahead log); and a responder
//! can open it with the `sqlite3` shell.
//!
//! What is *not* here: which log files are done. The watch's lake records them with the
//! events they gave, in one commit (the lake's ingest); rule runs are recomputed from
//! the lake after a crash, and their alerts come out with the same ids.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::sink::Position;

const FILE_NAME: &str = "state.sqlite";

const SCHEMA: &str = "
create table if not exists estate (key text primary key, value integer not null);
create table if not exists rule_runs (
    rule_id text primary key,
    name text not null,
    last_run integer not null,
    interval_ms integer not null
);
create table if not exists alerts (
    id text primary key,
    rule_id text not null,
    run_time integer not null,
    raised_at integer not null,
    document text not null
);
create index if not exists alerts_by_rule on alerts (rule_id, run_time);
create table if not exists outbox (
    sink text not null,
    alert_id text not null references alerts (id),
    primary key (sink, alert_id)
);
create table if not exists sink_positions (sink text primary key, position integer not null, file text);
create table if not exists ticks (
    started integer primary key,
    now integer not null,
    objects integer not null,
    events integer not null,
    newest_delivery integer,
    alerts integer not null,
    seconds real not null
);
";

/// The state of one watch.
pub struct State {
    connection: Connection,
    path: PathBuf,
}

/// What one tick did, for `--status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// When it started (wall clock, epoch ms).
    pub started: i64,
    /// The time its rule runs were due by (epoch ms): the wall clock, or `--now`.
    pub now: i64,
    pub objects: u64,
    pub events: u64,
    /// The newest delivery time (`event.ingested`) among the events it read, if any.
    pub newest_delivery: Option<i64>,
    pub seconds: f64,
}

/// An alert as the watch keeps and delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlert {
    /// Deterministic: the same rule and evidence give the same id, whichever tick raises it.
    pub id: String,
    pub rule_id: String,
    pub run_time: i64,
    /// The alert's JSON document, one line.
    pub document: String,
}

/// A rule's last run done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRun {
    pub rule_id: String,
    pub name: String,
    /// Epoch ms.
    pub last_run: i64,
    pub interval_ms: i64,
}

/// What `watch --status` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub last_ticks: Vec<(Tick, u64)>,
    pub rules: Vec<RuleRun>,
    pub alerts: u64,
    /// Alerts not yet delivered, per sink.
    pub undelivered: Vec<(String, u64)>,
}

impl State {
    /// Opens the state in `dir` (created if missing), for the watch itself.
    pub fn open(dir: &Path) -> anyhow::Result<State> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the state folder {}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let connection = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        // A committed tick must survive a power loss too, not only a killed process.
        connection
            .execute_batch("pragma journal_mode = wal; pragma synchronous = full; pragma foreign_keys = on;")
            .and_then(|()| connection.execute_batch(SCHEMA))
            .with_context(|| format!("cannot set up {}", path.display()))?;
        Ok(State { connection, path })
    }

    /// Opens an existing state without writing to it, while a watch may be running.
    pub fn open_read_only(dir: &Path) -> anyhow::Result<State> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            anyhow::bail!("{} holds no watch state (no {FILE_NAME})", dir.display());
        }
        let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(State { connection, path })
    }

    fn context(&self, what: &str) -> String {
        format!("{what} ({})", self.path.display())
    }

    /// When the watched events begin (epoch ms): the first tick's earliest event, which
    /// first-seen rules take as the start of their history.
    pub fn estate_start(&self) -> anyhow::Result<Option<i64>> {
        self.connection
            .query_row("select value from estate where key = 'start'", [], |row| row.get(0))
            .optional()
            .with_context(|| self.context("cannot read the estate's start"))
    }

    /// Each rule's last run done (epoch ms), by rule id.
    pub fn last_runs(&self) -> anyhow::Result<HashMap<String, i64>> {
        let read = || -> rusqlite::Result<HashMap<String, i64>> {
            let mut statement = self.connection.prepare("select rule_id, last_run from rule_runs")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        };
        read().with_context(|| self.context("cannot read the rules' runs"))
    }

    /// The ids of the alerts `rule_id` raised in runs after `run_time`.
    pub fn raised_after(&self, rule_id: &str, run_time: i64) -> anyhow::Result<Vec<String>> {
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut statement =
                self.connection.prepare_cached("select id from alerts where rule_id = ?1 and run_time > ?2")?;
            let rows = statement.query_map(params![rule_id, run_time], |row| row.get(0))?;
            rows.collect()
        };
        read().with_context(|| self.context("cannot read the alerts raised"))
    }

    /// Records a tick in one transaction: the estate's start (the first time), each rule's
    /// last run, the alerts not raised before, and for each sink the alerts it is to deliver.
    /// Returns how many alerts were new.
    pub fn commit_tick(
        &mut self,
        tick: &Tick,
        estate_start: Option<i64>,
        runs: &[RuleRun],
        alerts: &[RaisedAlert],
        sinks: &[String],
    ) -> anyhow::Result<usize> {
        let path = self.path.clone();
        let write = |connection: &mut Connection| -> rusqlite::Result<usize> {
            let transaction = connection.transaction()?;
            if let Some(start) = estate_start {
                transaction.execute("insert or ignore into estate (key, value) values ('start', ?1)", [start])?;
            }
            for run in runs {
                transaction.execute(
                    "insert into rule_runs (rule_id, name, last_run, interval_ms) values (?1, ?2, ?3, ?4)
                     on conflict (rule_id) do update
                     set name = excluded.name, last_run = excluded.last_run, interval_ms = excluded.interval_ms",
                    params![run.rule_id, run.name, run.last_run, run.interval_ms],
                )?;
            }
            let mut new = 0;
            for alert in alerts {
                let inserted = transaction.execute(
                    "insert or ignore into alerts (id, rule_id, run_time, raised_at, document) values (?1, ?2, ?3, ?4, ?5)",
                    params![alert.id, alert.rule_id, alert.run_time, tick.started, alert.document],
                )?;
                if inserted == 0 {
                    continue;
                }
                new += 1;
                for sink in sinks {
                    transaction
                        .execute("insert into outbox (sink, alert_id) values (?1, ?2)", params![sink, alert.id])?;
                }
            }
            transaction.execute(
                "insert or replace into ticks (started, now, objects, events, newest_delivery, alerts, seconds)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    tick.started,
                    tick.now,
                    tick.objects as i64,
                    tick.events as i64,
                    tick.newest_delivery,
                    new as i64,
                    tick.seconds
                ],
            )?;
            transaction.commit()?;
            Ok(new)
        };
        write(&mut self.connection).with_context(|| format!("cannot record the tick in {}", path.display()))
    }

    /// Up to `limit` alerts `sink` has yet to deliver, oldest run first: (id, document).
    pub fn undelivered(&self, sink: &str, limit: usize) -> anyhow::Result<Vec<(String, String)>> {
        let read = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut statement = self.connection.prepare_cached(
                "select alerts.id, alerts.document from outbox join alerts on alerts.id = outbox.alert_id
                 where outbox.sink = ?1 order by alerts.run_time, alerts.id limit ?2",
            )?;
            let rows = statement.query_map(params![sink, limit as i64], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        };
        read().with_context(|| self.context("cannot read the outbox"))
    }

    /// Where `sink` stood after its last delivery (files: which file, and its length), if it
    /// has a position.
    pub fn sink_position(&self, sink: &str) -> anyhow::Result<Option<Position>> {
        let position: Option<(i64, Option<String>)> = self
            .connection
            .query_row("select position, file from sink_positions where sink = ?1", [sink], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .with_context(|| self.context("cannot read the sinks' positions"))?;
        Ok(position.map(|(length, file)| Position { file: file.map(PathBuf::from), length: length as u64 }))
    }

    /// `ids` are delivered to `sink`, which now stands at `position`: in one transaction, so
    /// that a restart knows exactly what the sink holds.
    pub fn delivered(&mut self, sink: &str, ids: &[String], position: Option<&Position>) -> anyhow::Result<()> {
        let path = self.path.clone();
        let write = |connection: &mut Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            for id in ids {
                transaction.execute("delete from outbox where sink = ?1 and alert_id = ?2", params![sink, id])?;
            }
            if let Some(Position { file, length }) = position {
                let file = file.as_ref().map(|f| f.to_string_lossy());
                transaction.execute(
                    "insert into sink_positions (sink, position, file) values (?1, ?2, ?3)
                     on conflict (sink) do update set position = excluded.position, file = excluded.file",
                    params![sink, *length as i64, file],
                )?;
            }
            transaction.commit()
        };
        write(&mut self.connection).with_context(|| format!("cannot record a delivery in {}", path.display()))
    }

    /// What the watch has done: its last `ticks` ticks (newest first, with their new alerts),
    /// each rule's last run, the alerts raised, and what each sink has yet to deliver.
    pub fn status(&self, ticks: usize) -> anyhow::Result<Status> {
        let read = || -> rusqlite::Result<Status> {
            let mut statement = self.connection.prepare(
                "select started, now, objects, events, newest_delivery, seconds, alerts from ticks
                 order by started desc limit ?1",
            )?;
            let last_ticks = statement
                .query_map([ticks as i64], |row| {
                    let tick = Tick {
                        started: row.get(0)?,
                        now: row.get(1)?,
                        objects: row.get::<_, i64>(2)? as u64,
                        events: row.get::<_, i64>(3)? as u64,
                        newest_delivery: row.get(4)?,
                        seconds: row.get(5)?,
                    };
                    Ok((tick, row.get::<_, i64>(6)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut statement =
                self.connection.prepare("select rule_id, name, last_run, interval_ms from rule_runs order by name")?;
            let rules = statement
                .query_map([], |row| {
                    Ok(RuleRun {
                        rule_id: row.get(0)?,
                        name: row.get(1)?,
                        last_run: row.get(2)?,
                        interval_ms: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let alerts: i64 = self.connection.query_row("select count(*) from alerts", [], |row| row.get(0))?;
            let mut statement =
                self.connection.prepare("select sink, count(*) from outbox group by sink order by sink")?;
            let undelivered = statement
                .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Status { last_ticks, rules, alerts: alerts as u64, undelivered })
        };
        read().with_context(|| self.context("cannot read the watch's status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(started: i64) -> Tick {
        Tick { started, now: started, objects: 2, events: 10, newest_delivery: Some(started - 5), seconds: 0.5 }
    }

    fn alert(id: &str, run_time: i64) -> RaisedAlert {
        RaisedAlert { id: id.into(), rule_id: "r1".into(), run_time, document: format!("{{\"id\":\"{id}\"}}") }
    }

    #[test]
    fn an_alert_raised_again_is_not_delivered_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(dir.path()).unwrap();
        let sinks = ["stdout".to_string()];
        let run = |last_run| RuleRun { rule_id: "r1".into(), name: "Rule 1".into(), last_run, interval_ms: 100 };
        let runs = [run(100)];
        assert_eq!(state.commit_tick(&tick(1), Some(7), &runs, &[alert("a", 100)], &sinks).unwrap(), 1);
        let again = [alert("a", 100), alert("b", 200)];
        assert_eq!(state.commit_tick(&tick(2), Some(9), &[run(200)], &again, &sinks).unwrap(), 1);
        assert_eq!(state.estate_start().unwrap(), Some(7), "the first tick's start stays");
        assert_eq!(state.last_runs().unwrap(), HashMap::from([("r1".to_string(), 200)]));
        assert_eq!(state.raised_after("r1", 100).unwrap(), ["b"]);

        let pending = state.undelivered("stdout", 10).unwrap();
        assert_eq!(pending.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let position = Position { file: Some("alerts.1.ndjson".into()), length: 42 };
        state.delivered("stdout", &["a".to_string()], Some(&position)).unwrap();
        assert_eq!(state.undelivered("stdout", 10).unwrap().len(), 1);
        assert_eq!(state.sink_position("stdout").unwrap(), Some(position));

        // Another process reads it while the watch holds it open.
        let status = State::open_read_only(dir.path()).unwrap().status(5).unwrap();
        assert_eq!((status.alerts, status.undelivered), (2, vec![("stdout".to_string(), 1)]));
        assert_eq!(status.last_ticks.iter().map(|(t, new)| (t.started, *new)).collect::<Vec<_>>(), [(2, 1), (1, 1)]);
    }

    #[test]
    fn a_folder_without_state_is_an_error_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let error = State::open_read_only(dir.path()).err().unwrap();
        assert!(error.to_string().contains("holds no watch state"), "{error}");
    }
}
