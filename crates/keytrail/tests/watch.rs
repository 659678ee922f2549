//! `keytrail watch` end to end: a simulated estate's log files arrive in a folder a few hours
//! at a time, by the delivery time in their names, and a watch (`--once --now` the replay's
//! clock) takes each step; its alerts must be those of a hunt of the finished logs, each
//! delivered once. A watch killed (SIGKILL) at moments spread over its ticks, then started
//! again, must end with the alerts of one that never stopped, none twice, in its rotated files.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{keytrail, run};
use keytrail_testkit::files_under;

/// When CloudTrail delivered a log file: the time in its name (`…_20240501T0005Z_….json.gz`).
fn delivered(path: &Path) -> chrono::DateTime<chrono::Utc> {
    let name = path.file_name().unwrap().to_str().unwrap();
    let stamp = name.split('_').find(|part| part.len() == 14 && part.ends_with('Z')).unwrap();
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").unwrap().and_utc()
}

/// The alerts of NDJSON text as (id, rule, run time), and how many lines there were.
fn alerts(text: &str) -> (BTreeSet<(String, String, String)>, usize) {
    let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let keys = lines.iter().map(|alert| {
        let text = |value: &serde_json::Value| value.as_str().unwrap().to_string();
        (text(&alert["kibana"]["alert"]["uuid"]), text(&alert["rule"]["name"]), text(&alert["@timestamp"]))
    });
    (keys.collect(), lines.len())
}

/// A simulated estate's log files, arriving in a folder by the delivery time in their names.
#[derive(Clone)]
struct Arrivals {
    estate: PathBuf,
    files: Vec<(chrono::DateTime<chrono::Utc>, PathBuf)>,
    arrived: usize,
}

impl Arrivals {
    fn simulate(estate: &Path, days: &str, per_day: &str) -> Arrivals {
        run(
            0,
            &[
                "simulate",
                estate.to_str().unwrap(),
                "--days",
                days,
                "--events-per-day",
                per_day,
                "--start",
                "2024-05-01",
                "-q",
            ],
        );
        let mut files: Vec<_> = files_under(&estate.join("AWSLogs"))
            .into_iter()
            .filter(|path| path.to_string_lossy().ends_with(".json.gz") && !path.to_string_lossy().contains("Digest"))
            .map(|path| (delivered(&path), path))
            .collect();
        files.sort();
        Arrivals { estate: estate.to_path_buf(), files, arrived: 0 }
    }

    /// Copies into `folder` what was delivered by `now` and has not arrived yet.
    fn arrive(&mut self, folder: &Path, now: chrono::DateTime<chrono::Utc>) {
        while self.arrived < self.files.len() && self.files[self.arrived].0 <= now {
            let path = &self.files[self.arrived].1;
            let to = folder.join(path.strip_prefix(&self.estate).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(path, to).unwrap();
            self.arrived += 1;
        }
    }
}

/// `keytrail watch FOLDER --state STATE --once --now NOW --sink ndjson:SINK -q`.
fn watch_once(folder: &Path, state: &Path, sink: &Path, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let args = ["watch", folder.to_str().unwrap(), "--state", state.to_str().unwrap(), "--once", "--now"];
    let sink = format!("ndjson:{}", sink.display());
    [&args[..], &[&now.to_rfc3339(), "--sink", &sink, "-q"]].concat().into_iter().map(str::to_string).collect()
}

fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[test]
fn a_watch_over_arriving_logs_raises_what_a_hunt_of_the_finished_logs_raises_once() {
    let dir = tempfile::tempdir().unwrap();
    let (incoming, state, sink) =
        (dir.path().join("incoming"), dir.path().join("state"), dir.path().join("alerts.ndjson"));
    let mut arrivals = Arrivals::simulate(&dir.path().join("estate"), "3", "2500");
    // Every 6 hours of the replay's clock, what was delivered by then arrives, and the watch
    // looks; the last look is 15 minutes after the end, when the runs by @timestamp up to the
    // end are due (`--settle`).
    let end = time("2024-05-05T00:00:00Z");
    assert!(arrivals.files.last().unwrap().0 <= end);
    let settled = end + chrono::Duration::minutes(15);
    let looks = (1..=16).map(|k| time("2024-05-01T00:00:00Z") + chrono::Duration::hours(6 * k));
    for now in looks.chain([settled]) {
        arrivals.arrive(&incoming, now);
        let args = watch_once(&incoming, &state, &sink, now);
        run(0, &args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let (watched, lines) = alerts(&std::fs::read_to_string(&sink).unwrap());
    assert_eq!(watched.len(), lines, "an alert delivered twice");

    let until = end.to_rfc3339();
    let logs = dir.path().join("estate/AWSLogs");
    let hunt = ["hunt", logs.to_str().unwrap(), "--until", &until, "--baseline", "window", "--format", "ndjson", "-q"];
    let (hunted, _) = alerts(&run(1, &hunt));
    assert!(hunted.len() > 5, "the simulated attacks raise alerts: {hunted:?}");
    let missed: Vec<_> = hunted.difference(&watched).collect();
    let extra: Vec<_> = watched.difference(&hunted).collect();
    assert!(missed.is_empty() && extra.is_empty(), "missed by the watch: {missed:#?}\nonly the watch: {extra:#?}");

    // Again at the same time: nothing new to read, no run due, nothing delivered again.
    let args = watch_once(&incoming, &state, &sink, settled);
    run(0, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(alerts(&std::fs::read_to_string(&sink).unwrap()).1, lines);
    let status = run(0, &["watch", "--status", "--state", state.to_str().unwrap()]);
    assert!(status.contains(&format!("alerts raised: {lines}")), "{status}");
    assert!(status.contains("events a minute"), "{status}");
}

#[test]
fn a_watch_killed_at_any_moment_loses_and_repeats_no_alert() {
    let dir = tempfile::tempdir().unwrap();
    let folder = |name: &str| dir.path().join(name);
    let mut arrivals = Arrivals::simulate(&folder("estate"), "2", "2000");
    let mut killed_arrivals = arrivals.clone();
    let end = time("2024-05-03T06:00:00Z");
    let mut now = time("2024-05-01T03:00:00Z");
    let mut tick = 0u64;
    while now <= end {
        arrivals.arrive(&folder("incoming"), now);
        let args = watch_once(&folder("incoming"), &folder("state"), &folder("alerts.ndjson"), now);
        run(0, &args.iter().map(String::as_str).collect::<Vec<_>>());

        killed_arrivals.arrive(&folder("incoming-killed"), now);
        let mut args = watch_once(&folder("incoming-killed"), &folder("state-killed"), &folder("killed.ndjson"), now);
        // Its file rotated by day and at every few alerts: killed across rotations too.
        args.extend(["--rotate-daily", "--rotate-size", "1KB"].map(str::to_string));
        // Killed (SIGKILL) after a delay that sweeps a tick's phases: listing, ingest, rules, commit, delivery.
        for attempt in 0..2u64 {
            let mut child = keytrail(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let delay = (tick * 7_919 + attempt * 104_729) % 2_500;
            std::thread::sleep(std::time::Duration::from_millis(delay));
            child.kill().unwrap();
            child.wait().unwrap();
        }
        run(0, &args.iter().map(String::as_str).collect::<Vec<_>>());
        now += chrono::Duration::hours(3);
        tick += 1;
    }
    let (uninterrupted, lines) = alerts(&std::fs::read_to_string(folder("alerts.ndjson")).unwrap());
    let series: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_string_lossy().starts_with("killed-"))
        .collect();
    let text: String = series.iter().map(|path| std::fs::read_to_string(path).unwrap()).collect();
    let (killed, killed_lines) = alerts(&text);
    assert!(lines > 0);
    assert!(series.len() >= 2, "rotated: {series:?}");
    assert_eq!(killed_lines, killed.len(), "an alert delivered twice");
    assert_eq!(killed, uninterrupted);
}

#[test]
fn every_alert_reaches_every_sink() {
    let dir = tempfile::tempdir().unwrap();
    let server = keytrail_testkit::http::Recorder::start(vec![(200, "{}".into())]);
    let arrivals = Arrivals::simulate(&dir.path().join("estate"), "2", "1500");
    let logs = arrivals.estate.join("AWSLogs");
    let (state, webhook) = (dir.path().join("state"), format!("webhook:{}/alerts", server.url));
    let args = [
        "watch",
        logs.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--once",
        "--now",
        "2024-05-04T00:00:00Z",
    ];
    let stdout = run(0, &[&args[..], &["--sink", "stdout", "--sink", &webhook, "-q"]].concat());
    let (on_stdout, lines) = alerts(&stdout);
    assert!(lines > 0);
    let posted: Vec<String> = server.requests().iter().map(|r| r.body.clone()).collect();
    assert_eq!(alerts(&posted.join("\n")).0, on_stdout);
}

#[test]
fn a_tick_that_fails_is_tried_again_and_the_watch_goes_on() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let arrivals = Arrivals::simulate(&dir.path().join("estate"), "1", "500");
    let (logs, away) = (arrivals.estate.join("AWSLogs"), dir.path().join("away"));
    let state = dir.path().join("state");
    let args = ["watch", logs.to_str().unwrap(), "--state", state.to_str().unwrap(), "--poll", "1"];
    let mut child = keytrail(&[&args[..], &["--now", "2024-05-03T00:00:00Z", "--sink", "ndjson:/dev/null"]].concat())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A watch that stops printing is stopped, and the test fails rather than hangs.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(180));
        let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
    });
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map(Result::unwrap);
    let mut next_tick = || lines.find(|line| line.starts_with("keytrail watch:")).expect("the watch goes on");
    assert!(next_tick().contains("new log files"), "the first tick reads the logs");
    // The logs' folder goes away (an unmounted disk): ticks fail and say so.
    std::fs::rename(&logs, &away).unwrap();
    let failed = loop {
        let line = next_tick();
        if line.contains("failed") {
            break line;
        }
    };
    assert!(failed.contains("trying again in 1 s"), "{failed}");
    // Back: the watch takes up its work.
    std::fs::rename(&away, &logs).unwrap();
    while !next_tick().contains("new log files") {}
    child.kill().unwrap();
    child.wait().unwrap();
}
