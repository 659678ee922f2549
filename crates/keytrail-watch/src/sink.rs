//! Where a watch's alerts go. Alerts reach a sink from the state's outbox, after the tick that
//! raised them is committed, and leave the outbox once the sink has them: a sink that fails
//! keeps them for the next tick, and detection goes on.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;

/// A sink as given on the command line (`--sink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// One JSON document per line on standard output.
    Stdout,
    /// One JSON document per line, appended to a file.
    Ndjson(PathBuf),
}

impl FromStr for SinkSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<SinkSpec, String> {
        match text.split_once(':') {
            _ if text == "stdout" => Ok(SinkSpec::Stdout),
            Some(("ndjson", path)) if !path.is_empty() => Ok(SinkSpec::Ndjson(PathBuf::from(path))),
            _ => Err(format!("unknown sink {text:?}: stdout, or ndjson:PATH")),
        }
    }
}

impl SinkSpec {
    /// The sink's name in the state: what its outbox and position are kept under.
    pub fn name(&self) -> String {
        match self {
            SinkSpec::Stdout => "stdout".to_string(),
            SinkSpec::Ndjson(path) => format!("ndjson:{}", path.display()),
        }
    }

    /// Opens the sink where its last recorded delivery left it (`position`, for files). A file
    /// longer than that holds an append the watch did not live to record: it is cut back, and
    /// those alerts, still in the outbox, are written again — once.
    pub fn open(&self, position: Option<u64>) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            SinkSpec::Stdout => Box::new(Stdout),
            SinkSpec::Ndjson(path) => {
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the sink file {}", path.display()))?;
                let length = file.metadata()?.len();
                if let Some(position) = position.filter(|&p| p < length) {
                    file.set_len(position).with_context(|| format!("cannot cut {} back", path.display()))?;
                }
                let position = file.seek(SeekFrom::End(0))?;
                Box::new(NdjsonFile { path: path.clone(), file, position })
            }
        })
    }
}

/// A place alerts are delivered to.
pub trait Sink {
    /// Delivers `documents` (one JSON text each) in order; returns where the sink now stands,
    /// for sinks whose restart needs it (files), which the state records with the delivery.
    fn deliver(&mut self, documents: &[&str]) -> anyhow::Result<Option<u64>>;

    /// Where the sink stands now, before any delivery (files: their length).
    fn position(&self) -> Option<u64>;
}

struct Stdout;

impl Sink for Stdout {
    fn deliver(&mut self, documents: &[&str]) -> anyhow::Result<Option<u64>> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for document in documents {
            writeln!(out, "{document}")?;
        }
        out.flush()?;
        Ok(None)
    }

    fn position(&self) -> Option<u64> {
        None
    }
}

struct NdjsonFile {
    path: PathBuf,
    file: File,
    position: u64,
}

impl Sink for NdjsonFile {
    fn deliver(&mut self, documents: &[&str]) -> anyhow::Result<Option<u64>> {
        let mut text = String::new();
        for document in documents {
            text.push_str(document);
            text.push('\n');
        }
        let written = self.file.write_all(text.as_bytes()).and_then(|()| self.file.sync_data());
        written.with_context(|| format!("cannot write alerts to {}", self.path.display()))?;
        self.position += text.len() as u64;
        Ok(Some(self.position))
    }

    fn position(&self) -> Option<u64> {
        Some(self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_named_on_the_command_line() {
        assert_eq!("stdout".parse(), Ok(SinkSpec::Stdout));
        assert_eq!("ndjson:/tmp/a.ndjson".parse(), Ok(SinkSpec::Ndjson("/tmp/a.ndjson".into())));
        let error = "webhook".parse::<SinkSpec>().unwrap_err();
        assert!(error.contains("unknown sink \"webhook\""), "{error}");
        assert!("ndjson:".parse::<SinkSpec>().is_err());
    }

    #[test]
    fn a_file_is_cut_back_to_its_last_recorded_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let spec = SinkSpec::Ndjson(path.clone());
        let mut sink = spec.open(None).unwrap();
        let recorded = sink.deliver(&["{\"a\":1}"]).unwrap();
        // A delivery the watch was killed before recording.
        sink.deliver(&["{\"b\":2}"]).unwrap();
        drop(sink);
        let mut sink = spec.open(recorded).unwrap();
        assert_eq!(sink.position(), recorded);
        sink.deliver(&["{\"b\":2}"]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }
}
