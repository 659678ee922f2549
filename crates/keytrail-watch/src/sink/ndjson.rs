//! Alerts as JSON lines: on standard output, or appended to a file.
//!
//! A file is exactly-once across crashes: the state records the file's length with each
//! delivery, and a file found longer than that when the watch starts holds an append the
//! watch did not live to record. It is cut back, and those alerts, still in the outbox, are
//! written again, once.
//!
//! A file can be rotated by day and by size ([`Rotation`]): the alerts then go to a series of
//! files beside the path given, `alerts-2026-12-08.ndjson`, `alerts-2026-12-08.1.ndjson`, …
//! (`alerts.ndjson`, `alerts.1.ndjson`, … by size alone). A new file is begun before a
//! delivery, and recorded in the state before anything is written to it, so that the only
//! unrecorded writes are still the tail of the recorded file. A file the watch has not
//! recorded is never written to: a series begins after the files already there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;

use super::{Outgoing, Position, Sink};

pub struct Stdout;

#[async_trait::async_trait]
impl Sink for Stdout {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for alert in alerts {
            writeln!(out, "{}", alert.document)?;
        }
        out.flush()?;
        Ok(None)
    }
}

/// When a file sink begins a new file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// A file per day (UTC) of delivery.
    pub daily: bool,
    /// A new file once the current one holds this many bytes.
    pub max_bytes: Option<u64>,
}

impl Rotation {
    fn rotates(&self) -> bool {
        self.daily || self.max_bytes.is_some()
    }
}

pub struct NdjsonFile {
    /// The path given: the file itself, or what the names of a rotated series derive from.
    path: PathBuf,
    rotation: Rotation,
    /// The file written now, and its length.
    current: PathBuf,
    length: u64,
    /// Opened at its first write: a file of a series exists once it holds an alert.
    file: Option<File>,
}

impl NdjsonFile {
    /// Opens the sink at `path` where its last recorded delivery left it (`recorded`): that
    /// file is cut back to the recorded length when it is longer.
    pub fn open(path: &Path, rotation: Rotation, recorded: Option<Position>) -> anyhow::Result<NdjsonFile> {
        let recorded_file = recorded.as_ref().map(|p| p.file.clone().unwrap_or_else(|| path.to_path_buf()));
        if let (Some(file), Some(position)) = (&recorded_file, &recorded) {
            cut_back(file, position.length)?;
        }
        let current = match recorded_file {
            _ if !rotation.rotates() => path.to_path_buf(),
            Some(file) => file,
            _ => Series::of(path).next(rotation.daily.then(|| chrono::Utc::now().date_naive()))?,
        };
        let length = file_length(&current)?;
        Ok(NdjsonFile { path: path.to_path_buf(), rotation, current, length, file: None })
    }

    fn write(&mut self, text: &str) -> anyhow::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.current)
                    .with_context(|| format!("cannot open the sink file {}", self.current.display()))?,
            ),
        };
        let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_data());
        written.with_context(|| format!("cannot write alerts to {}", self.current.display()))?;
        self.length += text.len() as u64;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Sink for NdjsonFile {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let mut text = String::new();
        for alert in alerts {
            text.push_str(alert.document);
            text.push('\n');
        }
        self.write(&text)?;
        Ok(self.position())
    }

    fn position(&self) -> Option<Position> {
        let file = self.rotation.rotates().then(|| self.current.clone());
        Some(Position { file, length: self.length })
    }

    fn rotate(&mut self, now: i64) -> anyhow::Result<Option<Position>> {
        if !self.rotation.rotates() {
            return Ok(None);
        }
        let series = Series::of(&self.path);
        let day = chrono::DateTime::from_timestamp_millis(now).map(|t| t.date_naive());
        let full = self.rotation.max_bytes.is_some_and(|max| self.length >= max);
        let stale = self.rotation.daily && series.day_and_number(&self.current).map(|(d, _)| d) != Some(day);
        if !full && !stale {
            return Ok(None);
        }
        self.current = series.next(if self.rotation.daily { day } else { None })?;
        self.length = file_length(&self.current)?;
        self.file = None;
        Ok(self.position())
    }
}

fn file_length(path: &Path) -> anyhow::Result<u64> {
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(metadata.len()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(error).with_context(|| format!("cannot read the length of {}", path.display())),
    }
}

/// Cuts `path` back to `length` when it is longer: what lies beyond was written by a
/// delivery that was not recorded.
fn cut_back(path: &Path, length: u64) -> anyhow::Result<()> {
    if file_length(path)? > length {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(length).with_context(|| format!("cannot cut {} back", path.display()))?;
    }
    Ok(())
}

/// The names of a rotated series: `STEM[-DAY][.N][.EXT]` beside the path given.
struct Series<'p> {
    dir: &'p Path,
    stem: String,
    extension: Option<String>,
}

impl<'p> Series<'p> {
    fn of(path: &'p Path) -> Series<'p> {
        let text = |s: Option<&std::ffi::OsStr>| s.map(|s| s.to_string_lossy().into_owned());
        Series {
            dir: path.parent().unwrap_or(Path::new("")),
            stem: text(path.file_stem()).unwrap_or_default(),
            extension: text(path.extension()),
        }
    }

    fn name(&self, day: Option<NaiveDate>, number: u32) -> PathBuf {
        let mut name = self.stem.clone();
        if let Some(day) = day {
            name.push_str(&format!("-{}", day.format("%Y-%m-%d")));
        }
        if number > 0 {
            name.push_str(&format!(".{number}"));
        }
        if let Some(extension) = &self.extension {
            name.push_str(&format!(".{extension}"));
        }
        self.dir.join(name)
    }

    /// The day (when the name has one) and number of a file of the series.
    fn day_and_number(&self, path: &Path) -> Option<(Option<NaiveDate>, u32)> {
        if path.parent().unwrap_or(Path::new("")) != self.dir {
            return None;
        }
        let name = path.file_name()?.to_str()?;
        let mut rest = name.strip_prefix(self.stem.as_str())?;
        if let Some(extension) = &self.extension {
            rest = rest.strip_suffix(extension.as_str())?.strip_suffix('.')?;
        }
        let day = match rest.strip_prefix('-') {
            Some(dated) => {
                let (day, after) = dated.split_at_checked(10)?;
                rest = after;
                Some(NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?)
            }
            None => None,
        };
        let number = match rest {
            "" => 0,
            _ => rest.strip_prefix('.')?.parse().ok().filter(|&n| n > 0)?,
        };
        Some((day, number))
    }

    /// The file to begin for `day`: after every file of that day already there.
    fn next(&self, day: Option<NaiveDate>) -> anyhow::Result<PathBuf> {
        let entries = std::fs::read_dir(if self.dir.as_os_str().is_empty() { Path::new(".") } else { self.dir });
        let mut last = None;
        for entry in entries.with_context(|| format!("cannot list {}", self.dir.display()))? {
            let path = self.dir.join(entry?.file_name());
            if let Some((found, number)) = self.day_and_number(&path)
                && found == day
            {
                last = last.max(Some(number));
            }
        }
        Ok(self.name(day, last.map_or(0, |n| n + 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(document: &str) -> Outgoing<'_> {
        Outgoing { id: "id", document }
    }

    const DAY: i64 = 86_400_000;
    /// 2026-12-08T00:00:00Z.
    const DEC_8: i64 = 1_796_688_000_000;

    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        found.sort();
        found
    }

    #[tokio::test]
    async fn a_file_is_cut_back_to_its_last_recorded_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut sink = NdjsonFile::open(&path, Rotation::default(), None).unwrap();
        let recorded = sink.deliver(&[alert("{\"a\":1}")]).await.unwrap();
        // A delivery the watch was killed before recording.
        sink.deliver(&[alert("{\"b\":2}")]).await.unwrap();
        drop(sink);
        let mut sink = NdjsonFile::open(&path, Rotation::default(), recorded.clone()).unwrap();
        assert_eq!(sink.position(), recorded);
        sink.deliver(&[alert("{\"b\":2}")]).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }

    #[tokio::test]
    async fn a_daily_series_begins_a_file_each_day_and_after_a_full_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        // A file of the series that the watch did not write: left alone.
        std::fs::write(dir.path().join("alerts-2026-12-08.ndjson"), "old\n").unwrap();
        let rotation = Rotation { daily: true, max_bytes: Some(8) };
        let mut sink = NdjsonFile::open(&path, rotation, None).unwrap();
        for (now, document) in [(DEC_8, "{\"a\":1}"), (DEC_8 + 1, "{\"b\":2}"), (DEC_8 + DAY, "{\"c\":3}")] {
            sink.rotate(now).unwrap();
            sink.deliver(&[alert(document)]).await.unwrap();
        }
        let expected = [
            ("alerts-2026-12-08.1.ndjson", "{\"a\":1}\n"),
            ("alerts-2026-12-08.2.ndjson", "{\"b\":2}\n"),
            ("alerts-2026-12-08.ndjson", "old\n"),
            ("alerts-2026-12-09.ndjson", "{\"c\":3}\n"),
        ];
        assert_eq!(files(dir.path()), expected.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[tokio::test]
    async fn a_series_restarts_in_its_recorded_file_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let rotation = Rotation { daily: false, max_bytes: Some(16) };
        let mut sink = NdjsonFile::open(&path, rotation, None).unwrap();
        assert_eq!(sink.rotate(DEC_8).unwrap(), None);
        sink.deliver(&[alert("{\"a\":1}"), alert("{\"b\":2}")]).await.unwrap();
        let begun = sink.rotate(DEC_8).unwrap();
        assert_eq!(begun, Some(Position { file: Some(dir.path().join("alerts.1.ndjson")), length: 0 }));
        let recorded = sink.deliver(&[alert("{\"c\":3}")]).await.unwrap();
        // Killed before this delivery was recorded.
        sink.deliver(&[alert("{\"d\":4}")]).await.unwrap();
        drop(sink);
        let mut sink = NdjsonFile::open(&path, rotation, recorded).unwrap();
        assert_eq!(sink.rotate(DEC_8).unwrap(), None);
        sink.deliver(&[alert("{\"d\":4}")]).await.unwrap();
        let expected = [("alerts.1.ndjson", "{\"c\":3}\n{\"d\":4}\n"), ("alerts.ndjson", "{\"a\":1}\n{\"b\":2}\n")];
        assert_eq!(files(dir.path()), expected.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn names_of_a_series_are_read_back() {
        let path = Path::new("/var/log/alerts.ndjson");
        let series = Series::of(path);
        let day = NaiveDate::from_ymd_opt(2026, 12, 8);
        for (name, expected) in [
            ("alerts.ndjson", Some((None, 0))),
            ("alerts.3.ndjson", Some((None, 3))),
            ("alerts-2026-12-08.ndjson", Some((day, 0))),
            ("alerts-2026-12-08.12.ndjson", Some((day, 12))),
            ("alerts.0.ndjson", None),
            ("alerts-2026-13-08.ndjson", None),
            ("alerts-old.ndjson", None),
            ("other.ndjson", None),
            ("alerts.json", None),
        ] {
            assert_eq!(series.day_and_number(&Path::new("/var/log").join(name)), expected, "{name}");
        }
        assert_eq!(series.name(day, 2), Path::new("/var/log/alerts-2026-12-08.2.ndjson"));
    }
}
